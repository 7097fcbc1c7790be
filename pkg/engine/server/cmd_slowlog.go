package server

import (
	"strconv"
	"sync"
	"time"
)

func init() {
	def("slowlog", -2, "nolock", 0, 0, 0, cmdSlowlog)
}

// The slow log: commands that ran longer than slowlog-log-slower-than
// microseconds (0 logs every command, negative none), newest first, at
// most slowlog-max-len of them, as Redis keeps it.

const (
	slowlogMaxArgs  = 32  // Redis's SLOWLOG_ENTRY_MAX_ARGC
	slowlogMaxBytes = 128 // and SLOWLOG_ENTRY_MAX_STRING
)

type slowlogEntry struct {
	id       int64
	at       int64 // unix seconds
	duration int64 // microseconds
	args     [][]byte
	addr     string
	name     string
}

type slowlog struct {
	mu      sync.Mutex
	entries []slowlogEntry // newest first
	nextID  int64
}

var slowlogs sync.Map // *Server -> *slowlog

func (s *Server) slowlog() *slowlog {
	if l, ok := slowlogs.Load(s); ok {
		return l.(*slowlog)
	}
	l, _ := slowlogs.LoadOrStore(s, &slowlog{})
	return l.(*slowlog)
}

// noteSlow logs a command c ran, if it was slow enough.
func (c *Client) noteSlow(cmd *command, args [][]byte, took time.Duration) {
	s := c.srv
	threshold := s.latency.slowlogThreshold.Load()
	us := took.Microseconds()
	if threshold < 0 || us < threshold || cmd.name == "exec" {
		return
	}
	args = redactedArgs(cmd.name, args)
	n := min(len(args), slowlogMaxArgs)
	kept := make([][]byte, n)
	for i := range kept {
		a := args[i]
		switch {
		case n < len(args) && i == n-1:
			a = []byte("... (" + strconv.Itoa(len(args)-n+1) + " more arguments)")
		case len(a) > slowlogMaxBytes:
			a = append(append([]byte(nil), a[:slowlogMaxBytes]...), "... ("+strconv.Itoa(len(a)-slowlogMaxBytes)+" more bytes)"...)
		default:
			a = append([]byte(nil), a...)
		}
		kept[i] = a
	}
	e := slowlogEntry{at: time.Now().Unix(), duration: us, args: kept}
	if c.scriptClient || c.conn == nil {
		e.addr = ""
	} else {
		e.addr = c.conn.RemoteAddr().String()
	}
	c.infoMu.Lock()
	e.name = c.name
	c.infoMu.Unlock()
	l := s.slowlog()
	l.mu.Lock()
	defer l.mu.Unlock()
	e.id = l.nextID
	l.nextID++
	l.entries = append([]slowlogEntry{e}, l.entries...)
	if max := s.Cfg.Int("slowlog-max-len"); len(l.entries) > max {
		l.entries = l.entries[:max]
	}
}

func cmdSlowlog(c *Client, args [][]byte) {
	l := c.srv.slowlog()
	switch sub := string(lower(args[1])); {
	case sub == "help" && len(args) == 2:
		c.writeHelp("SLOWLOG", slowlogHelp)
	case sub == "reset" && len(args) == 2:
		l.mu.Lock()
		l.entries = nil
		l.mu.Unlock()
		c.w.WriteRaw(okReply)
	case sub == "len" && len(args) == 2:
		l.mu.Lock()
		n := len(l.entries)
		l.mu.Unlock()
		c.w.WriteInt(int64(n))
	case sub == "get" && (len(args) == 2 || len(args) == 3):
		count := int64(10)
		if len(args) == 3 {
			n, ok := parseInt(args[2])
			if !ok || n < -1 {
				c.w.WriteError("ERR count should be greater than or equal to -1")
				return
			}
			count = n
		}
		l.mu.Lock()
		entries := l.entries
		l.mu.Unlock()
		if count >= 0 && int64(len(entries)) > count {
			entries = entries[:count]
		}
		c.w.WriteArrayLen(len(entries))
		for _, e := range entries {
			c.w.WriteArrayLen(6)
			c.w.WriteInt(e.id)
			c.w.WriteInt(e.at)
			c.w.WriteInt(e.duration)
			c.writeKeyList(e.args)
			c.w.WriteBulkString(e.addr)
			c.w.WriteBulkString(e.name)
		}
	case sub == "get":
		c.w.WriteError("ERR unknown subcommand or wrong number of arguments for '" + printable(args[1], 128) + "'. Try SLOWLOG HELP.")
	case sub == "help" || sub == "reset" || sub == "len":
		c.w.WriteError("ERR wrong number of arguments for 'slowlog|" + sub + "' command")
	default:
		c.w.WriteError(unknownSubcommand(args[1], "SLOWLOG"))
	}
}
