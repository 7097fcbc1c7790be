package server

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CLIENT PAUSE/UNPAUSE, UNBLOCK, KILL and NO-EVICT, with Redis 7.0's
// arguments and errors.

const (
	pauseOff = iota
	pauseWrite
	pauseAll
)

// pauseState is CLIENT PAUSE: a client whose command it covers waits in
// dispatch until the pause ends (UNPAUSE or its timeout).
type pauseState struct {
	mu      sync.Mutex
	mode    int
	end     time.Time     // zero: no timeout given (0)
	changed chan struct{} // closed and replaced when the pause changes
	// failover is FAILOVER's own pause of writes: it lasts until the
	// failover ends, whatever CLIENT PAUSE and UNPAUSE do.
	failover bool
	// on is mode != pauseOff || failover, for the check every command
	// makes without taking mu (a pause that ran out is found under mu)
	on atomic.Bool
}

// current is the pause in force, ending it when its time has passed.
func (p *pauseState) current() (mode int, changed chan struct{}, end time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != pauseOff && !p.end.After(time.Now()) {
		p.setLocked(pauseOff, time.Time{})
	}
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	mode, end = p.mode, p.end
	if p.failover && mode == pauseOff {
		mode, end = pauseWrite, time.Time{}
	}
	return mode, p.changed, end
}

// setFailover starts or ends FAILOVER's pause of writes.
func (p *pauseState) setFailover(on bool) {
	p.mu.Lock()
	p.failover = on
	p.setLocked(p.mode, p.end)
	p.mu.Unlock()
}

func (p *pauseState) setLocked(mode int, end time.Time) {
	p.mode, p.end = mode, end
	p.on.Store(mode != pauseOff || p.failover)
	if p.changed != nil {
		close(p.changed)
	}
	p.changed = make(chan struct{})
}

// writesPaused tells whether writes (and expiry) are paused now.
func (s *Server) writesPaused() bool {
	if !s.pause.on.Load() {
		return false
	}
	mode, _, _ := s.pause.current()
	return mode != pauseOff
}

// mayReplicate is Redis's is_may_replicate_command: a write, PUBLISH,
// PFCOUNT, or a script that may write (no shebang, or flags without
// no-writes); EXEC counts its queued commands.
func (c *Client) mayReplicate(cmd *command, args [][]byte) bool {
	switch cmd.name {
	case "exec":
		if c.multi == nil {
			return false
		}
		for _, q := range *c.multi {
			if qc := lookupCommand(q[0]); qc != nil && qc.name != "exec" && c.mayReplicate(qc, q) {
				return true
			}
		}
		return false
	case "eval", "evalsha", "fcall":
		if len(args) < 2 {
			return true
		}
		return !c.srv.scriptHasNoWrites(cmd.name, args[1])
	}
	return cmd.write || hasFlag(cmd, "may_replicate")
}

// waitWhilePaused holds a command CLIENT PAUSE covers until the pause ends;
// it counts as a blocked client meanwhile. False: the client was killed.
func (c *Client) waitWhilePaused(cmd *command, args [][]byte) bool {
	s := c.srv
	if !s.pause.on.Load() {
		return true
	}
	counted := false
	defer func() {
		if counted {
			s.blocked.Add(-1)
			c.waiting.Store(false)
		}
	}()
	for {
		mode, changed, end := s.pause.current()
		if mode == pauseOff || mode == pauseWrite && !c.mayReplicate(cmd, args) || c.replicaLink() {
			return true
		}
		if !counted {
			counted = true
			s.blocked.Add(1)
			c.waiting.Store(true)
		}
		var timer <-chan time.Time
		if !end.IsZero() {
			t := time.NewTimer(time.Until(end))
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-changed:
		case <-timer:
		case <-c.killed:
			c.closeNow = true
			return false
		case <-s.done:
			return false
		}
	}
}

// replicaLink: our replicas' links are never paused.
func (c *Client) replicaLink() bool {
	s := c.srv
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	for _, l := range s.replicas {
		if l.client == c {
			return true
		}
	}
	return false
}

// clientAdminSubcommand runs PAUSE, UNPAUSE, UNBLOCK, KILL and NO-EVICT;
// false: sub is none of them.
func (c *Client) clientAdminSubcommand(sub string, args [][]byte) bool {
	switch {
	case (sub == "pause" || sub == "unblock") && len(args) > 4:
		c.w.WriteError("ERR unknown subcommand or wrong number of arguments for '" + printable(args[1], 128) + "'. Try CLIENT HELP.")
	case sub == "pause" && (len(args) == 3 || len(args) == 4):
		c.clientPause(args)
	case sub == "unpause" && len(args) == 2:
		p := &c.srv.pause
		p.mu.Lock()
		p.setLocked(pauseOff, time.Time{})
		p.mu.Unlock()
		c.srv.syncExpiryPause()
		c.w.WriteRaw(okReply)
	case sub == "unblock" && (len(args) == 3 || len(args) == 4):
		c.clientUnblock(args)
	case sub == "kill" && len(args) >= 3:
		c.clientKill(args[2:])
	case sub == "no-evict" && len(args) == 3:
		if !eq(args[2], "on") && !eq(args[2], "off") {
			c.w.WriteError(errSyntax)
			return true
		}
		c.w.WriteRaw(okReply)
	default:
		return false
	}
	return true
}

func (c *Client) clientPause(args [][]byte) {
	mode := pauseAll
	if len(args) == 4 {
		switch {
		case eq(args[3], "write"):
			mode = pauseWrite
		case !eq(args[3], "all"):
			c.w.WriteError("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	}
	ms, ok := c.msTimeout(args[2])
	if !ok {
		return
	}
	end := time.Now().Add(time.Duration(min(ms, int64(100*365*24*time.Hour/time.Millisecond))) * time.Millisecond)
	p := &c.srv.pause
	p.mu.Lock()
	if p.mode != pauseOff && p.end.After(time.Now()) { // a pause in force only grows
		mode = max(mode, p.mode)
		if p.end.After(end) {
			end = p.end
		}
	}
	p.setLocked(mode, end)
	p.mu.Unlock()
	c.srv.syncExpiryPause()
	c.w.WriteRaw(okReply)
}

// clientUnblock: CLIENT UNBLOCK id [TIMEOUT|ERROR] ends a blocking command
// (BLPOP, BLMOVE, BZPOPMIN, BLMPOP, XREAD...) as its timeout would, or with
// an UNBLOCKED error.
func (c *Client) clientUnblock(args [][]byte) {
	withErr := false
	if len(args) == 4 {
		switch {
		case eq(args[3], "error"):
			withErr = true
		case !eq(args[3], "timeout"):
			c.w.WriteError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	id, ok := parseInt(args[2])
	if !ok {
		c.w.WriteError(errNotInt)
		return
	}
	s := c.srv
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	for _, w := range s.waiters {
		if w.c.id != id {
			continue
		}
		how := unblockTimeout
		if withErr {
			how = unblockError
		}
		if s.endWait(w, how, "UNBLOCKED client unblocked via CLIENT UNBLOCK", false) {
			c.w.WriteInt(1)
			return
		}
	}
	c.w.WriteInt(0)
}

// clientKill: CLIENT KILL addr, or filters ID, TYPE, ADDR, LADDR, USER,
// SKIPME (yes by default; the old form may kill its own client).
func (c *Client) clientKill(args [][]byte) {
	var filters []func(*Client) bool
	skipme := true
	killed := 0 // TYPE master counts the replication link it closes
	if len(args) == 1 {
		skipme = false
		addr := string(args[0])
		filters = append(filters, func(o *Client) bool { return o.conn.RemoteAddr().String() == addr })
	} else {
		for i := 0; i < len(args); i += 2 {
			if i+1 >= len(args) {
				c.w.WriteError(errSyntax)
				return
			}
			val := args[i+1]
			switch opt := strings.ToLower(string(args[i])); opt {
			case "id":
				id, ok := parseInt(val)
				if !ok || id <= 0 {
					c.w.WriteError("ERR client-id should be greater than 0")
					return
				}
				filters = append(filters, func(o *Client) bool { return o.id == id })
			case "type":
				f, closedMaster, ok := c.srv.clientKillType(string(val))
				killed += closedMaster
				if !ok {
					c.w.WriteError("ERR Unknown client type '" + cString(val) + "'")
					return
				}
				filters = append(filters, f)
			case "addr", "laddr":
				want := string(val)
				filters = append(filters, func(o *Client) bool {
					if opt == "addr" {
						return o.conn.RemoteAddr().String() == want
					}
					return o.conn.LocalAddr().String() == want
				})
			case "user":
				if c.srv.acl.user(string(val)) == nil {
					c.w.WriteError("ERR No such user '" + cString(val) + "'")
					return
				}
				name := string(val)
				filters = append(filters, func(o *Client) bool { return o.user == name })
			case "skipme":
				switch {
				case eq(val, "yes"):
					skipme = true
				case eq(val, "no"):
					skipme = false
				default:
					c.w.WriteError(errSyntax)
					return
				}
			default:
				c.w.WriteError(errSyntax)
				return
			}
		}
	}
	c.srv.mu.Lock()
	var victims []*Client
	for _, o := range c.srv.clients {
		select {
		case <-o.killed: // killed already, leaving: Redis frees it at once
			continue
		default:
		}
		match := !(o == c && skipme)
		for _, f := range filters {
			match = match && f(o)
		}
		if match {
			victims = append(victims, o)
		}
	}
	c.srv.mu.Unlock()
	for _, o := range victims {
		killed++
		if o == c {
			c.closeNow = true
		} else {
			o.kill()
		}
	}
	if len(args) == 1 {
		if killed == 0 {
			c.w.WriteError("ERR No such client")
		} else {
			c.w.WriteRaw(okReply)
		}
		return
	}
	c.w.WriteInt(int64(killed))
}

// kill disconnects a client, also one waiting out a CLIENT PAUSE.
func (c *Client) kill() {
	c.killOnce.Do(func() { close(c.killed) })
	c.conn.Close()
}

// clientKillType is CLIENT KILL TYPE's filter: normal, pubsub, replica
// (slave) or master. A monitor counts as normal, as in Redis. master closes
// a replica's link to its master at once and reports it in closedMaster.
func (s *Server) clientKillType(typ string) (filter func(*Client) bool, closedMaster int, ok bool) {
	if strings.EqualFold(typ, "pubsub") {
		return func(o *Client) bool { return o.subscribedMode() }, 0, true
	}
	f, closedMaster, ok := s.clientTypeFilter(typ)
	if ok && strings.EqualFold(typ, "normal") {
		return func(o *Client) bool { return f(o) && !o.subscribedMode() }, 0, true
	}
	return f, closedMaster, ok
}

// scriptHasNoWrites: the script EVAL, EVALSHA or FCALL would run declares
// no-writes (so CLIENT PAUSE WRITE lets it through).
func (s *Server) scriptHasNoWrites(cmdName string, arg []byte) bool {
	h := s.scripting()
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	var flags []string
	switch cmdName {
	case "fcall":
		flags, _ = h.eng.FunctionFlags(string(arg))
	case "eval":
		flags, _ = h.eng.EvalFlags(arg, nil)
	default:
		flags, _ = h.eng.EvalFlags(nil, arg)
	}
	for _, f := range flags {
		if f == "no-writes" {
			return true
		}
	}
	return false
}

// syncExpiryPause holds expiry back while CLIENT PAUSE is in force (keys
// past their TTL read as missing but are not deleted, so no replica or AOF
// sees a DEL) and reports whether it is.
func (s *Server) syncExpiryPause() bool {
	paused := s.writesPaused()
	s.DB.Mu.Lock()
	s.DB.KeepExpired = paused
	s.DB.Mu.Unlock()
	return paused
}

// msTimeout parses a timeout in milliseconds (CLIENT PAUSE, WAIT) with
// Redis's errors.
func (c *Client) msTimeout(b []byte) (int64, bool) {
	ms, ok := parseInt(b)
	if !ok {
		c.w.WriteError("ERR timeout is not an integer or out of range")
		return 0, false
	}
	if ms < 0 {
		c.w.WriteError("ERR timeout is negative")
		return 0, false
	}
	return ms, true
}
