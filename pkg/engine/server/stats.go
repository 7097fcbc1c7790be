package server

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/resp"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// INFO commandstats and errorstats, counted as Redis 7.0 counts them: a
// command that ran adds a call (and a failed call when it answered an
// error); one refused before it ran (arity, OOM, NOREPLICAS, redirection,
// a script's refusal...) adds a rejected call; every error reply counts
// once under its code (its first word), including errors of commands run
// by scripts, and a script's error reply is not counted again when it
// repeats an error already counted inside it.

// cmdStat is one command's counters.
type cmdStat struct {
	calls, usec, rejected, failed atomic.Int64
}

// serverStats are a server's command and error counters.
type serverStats struct {
	once     sync.Once
	commands map[*command]*cmdStat // every command, made once: read without a lock

	errMu       sync.Mutex
	errors      map[string]int64
	totalErrors atomic.Int64

	// keyspace_hits and keyspace_misses: the keys read-only commands looked
	// up, found or not (Redis counts its read lookups the same way)
	hits, misses atomic.Int64
}

// countLookups counts a read-only command's keys as hits or misses, store
// lock held, before the command runs (and may expire them).
func (st *serverStats) countLookups(c *Client, cmd *command, args [][]byte) {
	var buf [8]int
	for _, i := range cmd.keyIndexes(args, buf[:0]) {
		if c.srv.DB.TypeNoTouch(args[i]) != store.KindNone {
			st.hits.Add(1)
		} else {
			st.misses.Add(1)
		}
	}
}

func (st *serverStats) of(cmd *command) *cmdStat {
	st.once.Do(func() {
		st.commands = make(map[*command]*cmdStat, len(commandTable))
		for _, c := range commandTable {
			st.commands[c] = &cmdStat{}
		}
	})
	return st.commands[cmd]
}

// countError records an error reply ("-CODE message\r\n" or the text).
func (st *serverStats) countError(reply []byte) {
	text := bytes.TrimPrefix(reply, []byte("-"))
	if i := bytes.IndexAny(text, " \r"); i >= 0 {
		text = text[:i]
	}
	code := string(text)
	if code == "" {
		code = "ERR"
	}
	st.totalErrors.Add(1)
	st.errMu.Lock()
	if st.errors == nil {
		st.errors = map[string]int64{}
	}
	// Redis caps the table, so that made-up codes cannot grow it forever
	if _, ok := st.errors[code]; ok || len(st.errors) < 128 {
		st.errors[code]++
	}
	st.errMu.Unlock()
}

func (st *serverStats) reset() {
	for _, s := range st.commandsByName() {
		s.stat.calls.Store(0)
		s.stat.usec.Store(0)
		s.stat.rejected.Store(0)
		s.stat.failed.Store(0)
	}
	st.errMu.Lock()
	st.errors = nil
	st.errMu.Unlock()
	st.totalErrors.Store(0)
	st.hits.Store(0)
	st.misses.Store(0)
}

type namedStat struct {
	name string
	stat *cmdStat
}

func (st *serverStats) commandsByName() []namedStat {
	st.of(nil) // make the table
	out := make([]namedStat, 0, len(st.commands))
	for c, s := range st.commands {
		out = append(out, namedStat{c.name, s})
	}
	slices.SortFunc(out, func(a, b namedStat) int { return strings.Compare(a.name, b.name) })
	return out
}

// commandStatsInfo writes INFO commandstats: the commands called or
// rejected since the start or CONFIG RESETSTAT.
func (st *serverStats) commandStatsInfo(b *strings.Builder) {
	b.WriteString("# Commandstats\r\n")
	for _, s := range st.commandsByName() {
		calls, rejected, failed := s.stat.calls.Load(), s.stat.rejected.Load(), s.stat.failed.Load()
		if calls == 0 && rejected == 0 && failed == 0 {
			continue
		}
		usec := s.stat.usec.Load()
		perCall := 0.0
		if calls > 0 {
			perCall = float64(usec) / float64(calls)
		}
		fmt.Fprintf(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
			s.name, calls, usec, perCall, rejected, failed)
	}
}

// errorStatsInfo writes INFO errorstats.
func (st *serverStats) errorStatsInfo(b *strings.Builder) {
	b.WriteString("# Errorstats\r\n")
	st.errMu.Lock()
	codes := make([]string, 0, len(st.errors))
	for code := range st.errors {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		fmt.Fprintf(b, "errorstat_%s:count=%d\r\n", code, st.errors[code])
	}
	st.errMu.Unlock()
}

// commandRan is told by call that the dispatched command is executing,
// which makes it a call rather than a rejection.
func (c *Client) commandRan() {
	if !c.ran {
		c.ran = true
		c.ranAt = time.Now()
	}
}

// accountCommand counts the command dispatch just finished, given what it
// wrote (reply).
func (c *Client) accountCommand(cmd *command, args [][]byte, reply []byte) {
	st := &c.srv.stats
	isErr := len(reply) > 0 && reply[0] == '-'
	if isErr && !c.repeatsInnerError(reply) {
		st.countError(reply)
	}
	c.innerErrors = c.innerErrors[:0]
	blockedFor, unserved := c.blockedFor, c.unserved
	c.blockedFor, c.unserved = 0, false
	if !c.ran {
		c.doneAt = time.Now()
		if s := st.of(cmd); s != nil && isErr {
			s.rejected.Add(1)
		}
		return
	}
	c.ran = false
	c.doneAt = c.ranAt.Add(c.ranFor)
	s := st.of(cmd)
	if s == nil {
		return
	}
	took := c.ranFor - blockedFor
	s.calls.Add(1)
	s.usec.Add(took.Microseconds())
	c.srv.noteCommandLatency(cmd, args, took, !unserved)
	if isErr {
		s.failed.Add(1)
	}
}

// repeatsInnerError: the reply starts with an error a command inside the
// running script already counted.
func (c *Client) repeatsInnerError(reply []byte) bool {
	for _, e := range c.innerErrors {
		if bytes.HasPrefix(reply, e) {
			return true
		}
	}
	return false
}

// accountInner counts a command a script ran (or refused, ran false) and
// notes its error, so the script's own error reply does not count it twice.
func (h *scriptHost) accountInner(cmd *command, ran bool, reply []byte) {
	st := &h.srv.stats
	isErr := len(reply) > 0 && reply[0] == '-'
	if cmd != nil {
		if s := st.of(cmd); s != nil {
			switch {
			case ran:
				s.calls.Add(1)
				if isErr {
					s.failed.Add(1)
				}
			case isErr:
				s.rejected.Add(1)
			}
		}
	}
	if isErr {
		st.countError(reply)
		if c := h.caller; c != nil {
			c.innerErrors = append(c.innerErrors, bytes.TrimSuffix(reply, []byte("\r\n")))
		}
	}
}

// accountQueued counts a command EXEC ran, from its part of EXEC's reply.
func (c *Client) accountQueued(cmd *command, mark resp.Mark) {
	reply, _ := c.w.Since(mark)
	st := &c.srv.stats
	isErr := len(reply) > 0 && reply[0] == '-'
	if s := st.of(cmd); s != nil {
		s.calls.Add(1)
		if isErr {
			s.failed.Add(1)
		}
	}
	if isErr {
		st.countError(reply)
	}
}
