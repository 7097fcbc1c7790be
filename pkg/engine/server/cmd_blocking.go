package server

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("blpop", -3, "write noscript nolock", 1, -2, 1, cmdBlockingPop)
	def("brpop", -3, "write noscript nolock", 1, -2, 1, cmdBlockingPop)
	def("blmove", 6, "write denyoom noscript nolock", 1, 2, 1, cmdBlockingMove)
	def("brpoplpush", 4, "write denyoom noscript nolock", 1, 2, 1, cmdBlockingMove)
}

// blockedClient is a client waiting in BLPOP and friends. Waiters are
// served by the client whose write made them ready, in the order they
// blocked (Redis's FIFO), once that whole command, transaction or script
// is done: the writer runs their try under the store lock it holds and
// wakes them with the reply already written.
type blockedClient struct {
	c      *Client
	try    func(retry bool) bool
	gone   chan struct{} // closed when the client disconnects
	served chan struct{}
	done   bool // served (guarded by DB.Mu)
	// unblocked is closed by endWait, which says how in unblock, with the
	// error to answer and whether to close the connection after it (all
	// guarded by DB.Mu)
	unblocked  chan struct{}
	unblock    unblockHow
	errReply   string
	closeAfter bool
	// slot of the command's first key (-1 outside cluster mode) and
	// whether it is a READONLY read, for redirectBlocked
	slot     int
	readonly bool
}

type unblockHow uint8

const (
	unblockNone    unblockHow = iota
	unblockTimeout            // answer as the timeout would
	unblockError              // answer errReply
)

// endWait ends w's wait as how says, unless it was served or ended
// already; it reports whether it did. Called under the store lock.
func (s *Server) endWait(w *blockedClient, how unblockHow, errReply string, closeAfter bool) bool {
	if w.done || w.unblock != unblockNone {
		return false
	}
	w.unblock, w.errReply, w.closeAfter = how, errReply, closeAfter
	close(w.unblocked)
	s.dropWaiter(w) // no write may serve it now
	return true
}

func parseBlockTimeout(c *Client, b []byte) (time.Duration, bool) {
	f, ok := parseFloat(b)
	if !ok {
		// Redis reads a long double: what overflows a float64 is still a
		// (huge) number there, and too far in the future is "negative"
		// below; what underflows is a tiny positive timeout
		g, err := strconv.ParseFloat(string(b), 64)
		if !errors.Is(err, strconv.ErrRange) || b[0] == ' ' || len(b) > maxFloatChars {
			c.w.WriteError("ERR timeout is not a float or out of range")
			return 0, false
		}
		f = g
		if g == 0 {
			f = 1e-300
		}
	}
	// Redis converts to whole milliseconds; what does not fit (infinities
	// included) becomes the smallest integer there: "negative"
	ms := math.Ceil(f * 1000)
	if ms < 0 || ms >= math.MaxInt64 {
		c.w.WriteError("ERR timeout is negative")
		return 0, false
	}
	if ms >= float64(math.MaxInt64/int64(time.Millisecond)) {
		return 0, true // beyond any wait: forever
	}
	return time.Duration(ms) * time.Millisecond, true
}

// block runs try (under the store lock) until it reports done, waiting
// for writes in between, up to timeout (0 = forever). try is told whether
// it is a retry after a wake-up: then a key of the wrong type is not an
// error (Redis leaves the client blocked), only the first attempt reports
// it. Inside MULTI it does not wait, like Redis. It returns false on
// timeout, server shutdown or when the client disconnected.
func (c *Client) block(timeout time.Duration, try func(retry bool) (done bool)) bool {
	s := c.srv
	db := s.DB
	db.Mu.Lock()
	if try(false) {
		s.serveBlocked() // what try wrote (BLMOVE's push) may serve others
		db.Mu.Unlock()
		return true
	}
	db.Mu.Unlock()
	if c.inExec || c.r == nil {
		return false
	}
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	gone := c.watchDisconnect()
	w := &blockedClient{c: c, try: try, gone: gone, served: make(chan struct{}), unblocked: make(chan struct{})}
	w.slot, w.readonly = c.blockedRoute()
	db.Mu.Lock()
	if try(true) { // a write came in while the watch started
		s.serveBlocked()
		db.Mu.Unlock()
		c.stopWatching(gone)
		return true
	}
	s.waiters = append(s.waiters, w)
	s.blocked.Add(1)
	db.Mu.Unlock()
	waitFrom := time.Now()
	c.waiting.Store(true)
	select {
	case <-w.served:
	case <-w.unblocked:
	case <-expired:
	case <-gone:
	case <-s.done:
	}
	c.blockedFor += time.Since(waitFrom)
	c.waiting.Store(false)
	db.Mu.Lock()
	if !w.done {
		s.dropWaiter(w)
	}
	how, errReply, closeAfter := w.unblock, w.errReply, w.closeAfter
	c.unserved = !w.done
	db.Mu.Unlock()
	c.stopWatching(gone)
	if how == unblockError && !w.done {
		c.w.WriteError(errReply)
		c.closeNow = c.closeNow || closeAfter
		return true // answered
	}
	return w.done
}

// serveBlocked serves the waiting clients a write made ready, first
// blocked first served; what they write (a BLMOVE's push) may serve more.
// Called under the store lock at the end of a command.
func (s *Server) serveBlocked() {
	for s.blockedReady {
		s.blockedReady = false
		for i := 0; i < len(s.waiters); {
			w := s.waiters[i]
			select {
			case <-w.gone: // it left: its value stays for the next one
				i++
				continue
			default:
			}
			start := time.Now()
			if !w.try(true) {
				i++
				continue
			}
			s.noteLatency("command-unblocking", time.Since(start)) // the reply's making
			w.done = true
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			s.blocked.Add(-1)
			close(w.served)
		}
	}
}

func (s *Server) dropWaiter(w *blockedClient) {
	for i, x := range s.waiters {
		if x == w {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			s.blocked.Add(-1)
			return
		}
	}
}

// locked runs f under the store lock, released even if f panics.
func (s *Server) locked(f func() bool) bool {
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	return f()
}

// watchDisconnect notices a client that leaves while blocked, so a value
// pushed later is not popped for a dead connection. Pipelined input also
// ends the watch (it stays buffered); only an error closes the channel.
func (c *Client) watchDisconnect() chan struct{} {
	gone := make(chan struct{})
	c.watchDone = make(chan struct{})
	go func(finished chan struct{}) {
		defer close(finished)
		if err := c.r.WaitReadable(); err != nil && !isTimeout(err) {
			close(gone)
		}
	}(c.watchDone)
	return gone
}

func (c *Client) stopWatching(gone chan struct{}) {
	if gone == nil {
		return
	}
	c.conn.SetReadDeadline(time.Now()) // interrupt the watcher's read
	<-c.watchDone
	c.conn.SetReadDeadline(time.Time{})
	select {
	case <-gone:
		c.closeNow = true
	default:
	}
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	t, ok := err.(timeout)
	return ok && t.Timeout()
}

// cmdBlockingPop: BLPOP/BRPOP key [key ...] timeout.
func cmdBlockingPop(c *Client, args [][]byte) {
	timeout, ok := parseBlockTimeout(c, args[len(args)-1])
	if !ok {
		return
	}
	left := eq(args[0], "blpop")
	pop := []byte("RPOP")
	if left {
		pop = []byte("LPOP")
	}
	keys := args[1 : len(args)-1]
	served := c.block(timeout, func(retry bool) bool {
		for _, k := range keys {
			if retry && c.srv.DB.Type(k) != store.KindList {
				continue
			}
			l, good := c.list(k, false)
			if !good {
				return true // WRONGTYPE was written
			}
			if l == nil {
				continue
			}
			var v []byte
			if left {
				v = l.PopFront()
			} else {
				v = l.PopBack()
			}
			c.srv.DB.DeleteIfEmpty(k)
			c.srv.DB.Touch(k)
			c.w.WriteArrayLen(2)
			c.w.WriteBulk(k)
			c.w.WriteBulk(v)
			c.srv.afterWrite(lookupCommand(pop), [][]byte{pop, k})
			return true
		}
		return false
	})
	if !served && !c.closeNow {
		c.w.WriteNullArray()
	}
}

// cmdBlockingMove: BLMOVE src dst LEFT|RIGHT LEFT|RIGHT timeout and
// BRPOPLPUSH src dst timeout.
func cmdBlockingMove(c *Client, args [][]byte) {
	fromLeft, toLeft := false, true
	if eq(args[0], "blmove") {
		fromLeft, toLeft = eq(args[3], "left"), eq(args[4], "left")
		if !fromLeft && !eq(args[3], "right") || !toLeft && !eq(args[4], "right") {
			c.w.WriteError(errSyntax)
			return
		}
	}
	timeout, ok := parseBlockTimeout(c, args[len(args)-1])
	if !ok {
		return
	}
	side := func(left bool) []byte {
		if left {
			return []byte("LEFT")
		}
		return []byte("RIGHT")
	}
	served := c.block(timeout, func(retry bool) bool {
		if retry && c.srv.DB.Type(args[1]) != store.KindList {
			return false
		}
		l, good := c.list(args[1], false)
		if !good {
			return true
		}
		if l == nil {
			return false
		}
		c.move(args[1], args[2], fromLeft, toLeft)
		c.srv.DB.Touch(args[1])
		c.srv.DB.Touch(args[2])
		lmove := [][]byte{[]byte("LMOVE"), args[1], args[2], side(fromLeft), side(toLeft)}
		c.srv.afterWrite(lookupCommand(lmove[0]), lmove)
		return true
	})
	if !served && !c.closeNow {
		c.w.WriteNullArray() // Redis answers every blocked timeout so, BLMOVE's too
	}
}
