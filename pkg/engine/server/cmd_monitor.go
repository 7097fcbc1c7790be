package server

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func init() {
	def("monitor", 1, "admin noscript loading stale nolock", 0, 0, 0, cmdMonitor)
}

// MONITOR streams every command the node runs to the monitoring clients,
// one "+<time> [<db> <addr>] "arg" ..." line each, as Redis's
// replicationFeedMonitors. Lines are queued and written by a goroutine per
// monitor, so a command (which may hold the store lock, or its own
// connection's write lock) never waits for another connection.

// monitorSet is the server's monitoring clients.
type monitorSet struct {
	mu      sync.Mutex
	clients map[*Client]*monitorQueue
	n       atomic.Int32 // len(clients), read without the lock on every command
}

// monitorQueue holds the lines not yet written to one monitor.
type monitorQueue struct {
	mu    sync.Mutex
	lines [][]byte
	wake  chan struct{}
	stop  chan struct{}
}

func cmdMonitor(c *Client, args [][]byte) {
	if c.inExec {
		c.w.WriteError("ERR MONITOR isn't allowed for DENY BLOCKING client")
		return
	}
	s := &c.srv.monitors
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.monitoring() {
		return // already monitoring: Redis ignores it, with no reply
	}
	if s.clients == nil {
		s.clients = map[*Client]*monitorQueue{}
	}
	q := &monitorQueue{wake: make(chan struct{}, 1), stop: make(chan struct{})}
	s.clients[c] = q
	s.n.Store(int32(len(s.clients)))
	c.infoMu.Lock()
	c.monitor = q
	c.infoMu.Unlock()
	c.w.WriteRaw(okReply)
	go c.writeMonitorLines(q)
}

// monitoring tells whether the client ran MONITOR (CLIENT LIST flag O).
func (c *Client) monitoring() bool {
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	return c.monitor != nil
}

// stopMonitor ends monitor mode (RESET, disconnect).
func (c *Client) stopMonitor() {
	s := &c.srv.monitors
	s.mu.Lock()
	defer s.mu.Unlock()
	c.infoMu.Lock()
	q := c.monitor
	c.monitor = nil
	c.infoMu.Unlock()
	if q == nil {
		return
	}
	delete(s.clients, c)
	s.n.Store(int32(len(s.clients)))
	close(q.stop)
}

func (c *Client) writeMonitorLines(q *monitorQueue) {
	for {
		select {
		case <-q.stop:
			return
		case <-q.wake:
		}
		q.mu.Lock()
		lines := q.lines
		q.lines = nil
		q.mu.Unlock()
		c.wmu.Lock()
		for _, l := range lines {
			c.w.WriteRaw(l)
		}
		err := c.w.Flush()
		c.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// feedsMonitorsFirst: the script commands show before the commands their
// script runs, and a blocking command when it starts to wait.
var feedsMonitorsFirst = map[string]bool{"eval": true, "evalsha": true, "eval_ro": true, "evalsha_ro": true,
	"fcall": true, "fcall_ro": true, "blpop": true, "brpop": true, "brpoplpush": true, "blmove": true,
	"blmpop": true, "bzpopmin": true, "bzpopmax": true, "bzmpop": true, "xread": true, "xreadgroup": true, "wait": true}

// monitorHidden: administrative commands are never shown, as in Redis
// (its "admin" flag, which is also the @admin ACL category).
func monitorHidden(cmd *command, args [][]byte) bool {
	cats, ok := "", false
	if len(args) > 1 {
		cats, ok = redisACLCategories[cmd.name+"|"+string(lower(args[1]))]
	}
	if !ok {
		cats = redisACLCategories[cmd.name]
	}
	return strings.Contains(" "+cats+" ", " admin ")
}

// monitorBefore and monitorAfter are called around a client's command:
// one of them shows it (feedsMonitorsFirst).
func (c *Client) monitorBefore(cmd *command, args [][]byte) {
	if c.srv.monitors.n.Load() != 0 && feedsMonitorsFirst[cmd.name] {
		c.feedMonitors(cmd, args)
	}
}

func (c *Client) monitorAfter(cmd *command, args [][]byte) {
	if c.srv.monitors.n.Load() != 0 && !feedsMonitorsFirst[cmd.name] {
		c.feedMonitors(cmd, args)
	}
}

// feedMonitors shows a command c ran to every monitor.
func (c *Client) feedMonitors(cmd *command, args [][]byte) {
	s := &c.srv.monitors
	if s.n.Load() == 0 || monitorHidden(cmd, args) {
		return
	}
	line := monitorLine(c, redactedArgs(cmd.name, args))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.clients {
		q.mu.Lock()
		q.lines = append(q.lines, line)
		q.mu.Unlock()
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

func monitorLine(c *Client, args [][]byte) []byte {
	now := time.Now()
	b := []byte{'+'}
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '.')
	us := strconv.Itoa(now.Nanosecond() / 1000)
	b = append(b, "000000"[len(us):]...)
	b = append(b, us...)
	b = append(b, " [0 "...)
	if c.scriptClient {
		b = append(b, "lua"...)
	} else if c.conn != nil {
		b = append(b, c.conn.RemoteAddr().String()...)
	}
	b = append(b, "] "...)
	for i, a := range args {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendRepr(b, a)
	}
	return append(b, '\r', '\n')
}

// appendRepr quotes s as Redis's sdscatrepr does.
func appendRepr(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, ch := range s {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch >= ' ' && ch < 127 {
				b = append(b, ch)
			} else {
				b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(b, '"')
}

var redacted = []byte("(redacted)")

// sensitiveConfigs are the parameters whose values CONFIG SET hides.
var sensitiveConfigs = map[string]bool{"requirepass": true, "masterauth": true}

// redactedArgs hides passwords and user names as Redis does in what it
// shows (AUTH, HELLO ... AUTH, MIGRATE ... AUTH|AUTH2, ACL SETUSER,
// CONFIG SET of requirepass and masterauth).
func redactedArgs(name string, args [][]byte) [][]byte {
	var hide func(i int) int // how many arguments from i to hide
	switch name {
	case "acl":
		if len(args) < 3 || !eq(args[1], "setuser") {
			return args
		}
		out := append([][]byte(nil), args...)
		for i := 2; i < len(out); i++ {
			out[i] = redacted
		}
		return out
	case "config":
		if len(args) < 4 || !eq(args[1], "set") {
			return args
		}
		var out [][]byte
		for i := 2; i+1 < len(args); i += 2 {
			if sensitiveConfigs[strings.ToLower(string(args[i]))] {
				if out == nil {
					out = append([][]byte(nil), args...)
				}
				out[i+1] = redacted
			}
		}
		if out == nil {
			return args
		}
		return out
	case "auth":
		hide = func(i int) int { return len(args) }
	case "hello":
		hide = func(i int) int {
			if i >= 2 && eq(args[i], "auth") {
				return 2
			}
			return 0
		}
	case "migrate":
		hide = func(i int) int {
			switch {
			case i >= 6 && eq(args[i], "auth"):
				return 1
			case i >= 6 && eq(args[i], "auth2"):
				return 2
			case i >= 6 && eq(args[i], "keys"):
				return len(args)
			}
			return 0
		}
	default:
		return args
	}
	out := append([][]byte(nil), args...)
	for i := 1; i < len(out); i++ {
		n := hide(i)
		if name == "auth" {
			out[i] = redacted
			continue
		}
		if n >= len(args) {
			break
		}
		for j := i + 1; j <= i+n && j < len(out); j++ {
			out[j] = redacted
		}
		i += n
	}
	return out
}
