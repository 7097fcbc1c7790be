package resp

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// The query buffer, as Redis 7.0 keeps it and CLIENT LIST shows it: the
// bytes read from a client and not yet run (qbuf) and the room left
// (qbuf-free). Here it is the reader's 16 KB read buffer plus the arena
// that holds a command's arguments. As Redis's clientsCron does, Tidy
// shrinks an arena grown by one big command once smaller ones follow, and
// a client idle for more than two seconds gives both up; its next command
// brings a fresh read buffer.

const (
	ioBufLen          = 16 * 1024 // Redis's PROTO_IOBUF_LEN: one read's size
	resizeThreshold   = 32 * 1024 // Redis's PROTO_RESIZE_THRESHOLD
	wasteWorthFreeing = 4 * 1024  // Redis trims only buffers wasting more
)

// errIdle stops a read that Tidy interrupted to free an idle client's buffers.
var errIdle = errors.New("resp: idle client's read interrupted")

// readDeadliner is a connection whose blocked read Tidy can interrupt.
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// queryBuf is what another goroutine may see or change of a Reader, under mu.
type queryBuf struct {
	mu          sync.Mutex
	waiting     bool // blocked reading between commands, nothing buffered
	interrupted bool // Tidy set a read deadline to free the buffers
	released    bool // the buffers are given up until the next command
	used, free  int  // as of the last read
	waits       int  // how many waits between commands began
	// the wait Tidy last saw, and when it first saw it
	seenWait   int
	seenWaitAt time.Time
	argv       int // the arguments of a command read so far
}

// source is what a Reader's buffered reader reads from: the connection,
// with the bookkeeping above around each read.
type source struct {
	in      io.Reader
	dl      readDeadliner // nil: reads cannot be interrupted
	r       *Reader
	pending int // a byte read while the buffers were released, or -1
}

func (s *source) Read(p []byte) (int, error) {
	if s.pending >= 0 && len(p) > 0 {
		p[0] = byte(s.pending)
		s.pending = -1
		return 1, nil
	}
	r, q := s.r, &s.r.qb
	q.mu.Lock()
	q.waiting = r.atBoundary
	if q.waiting {
		q.waits++
	}
	r.publishLocked()
	q.mu.Unlock()
	n, err := s.in.Read(p)
	q.mu.Lock()
	q.waiting = false
	stopped := q.interrupted
	q.interrupted = false
	q.mu.Unlock()
	if stopped {
		s.dl.SetReadDeadline(time.Time{})
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, errIdle
		}
	}
	return n, err
}

// publishLocked records the query buffer's size for QueryBuf. Called by
// the reader's goroutine while it reads, with qb.mu held.
func (r *Reader) publishLocked() {
	buffered := r.br.Buffered()
	argv := 0 // the arguments read whole are argv-mem on redis-server
	if n := len(r.offs); n > 0 {
		argv = r.offs[n-1]
	}
	r.qb.used = len(r.arena) - argv + buffered
	r.qb.argv = argv
	r.qb.free = r.br.Size() - buffered + cap(r.arena) - len(r.arena)
}

// Settled publishes the query buffer once the commands read have run and
// their replies are about to leave: what a client that saw a reply reads
// in CLIENT LIST is what the buffer holds while it waits for more.
func (r *Reader) Settled() {
	if r.src == nil {
		return
	}
	r.qb.mu.Lock()
	r.offs = r.offs[:0]
	r.arena = r.arena[:0]
	r.publishLocked()
	r.qb.mu.Unlock()
}

// QueryBuf is the query buffer's bytes received and not yet run, and its
// room left, as of the client's last read (CLIENT LIST of another client).
func (r *Reader) QueryBuf() (used, free, argv int) {
	r.qb.mu.Lock()
	defer r.qb.mu.Unlock()
	if r.qb.released {
		return 0, 0, 0
	}
	return r.qb.used, r.qb.free, r.qb.argv
}

// OwnQueryBuf is QueryBuf for the reader's own goroutine while it runs a
// command of cmdLen bytes (CLIENT LIST or INFO of the client itself): the
// command counts as still in the buffer, as on redis-server.
func (r *Reader) OwnQueryBuf(cmdLen int) (used, free int) {
	buffered := r.br.Buffered()
	return cmdLen + buffered, max(r.br.Size()-buffered-cmdLen, 0)
}

// idleAfter is how long a client waits between commands before its
// buffers go (Redis: idle for more than 2 whole seconds).
const idleAfter = 2 * time.Second

// Tidy is Redis's query buffer upkeep (clientsCronResizeQueryBuffer), for
// a server to call about ten times a second per client. Only a reader
// waiting between commands is touched; it is idle once Tidy has seen it
// in the same wait for idleAfter.
func (r *Reader) Tidy(now time.Time) {
	q := &r.qb
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.waiting || q.released || q.interrupted {
		return
	}
	if q.waits != q.seenWait {
		q.seenWait, q.seenWaitAt = q.waits, now
	}
	idle := now.Sub(q.seenWaitAt) > idleAfter
	if q.free > wasteWorthFreeing {
		switch {
		case idle && r.src.dl != nil:
			// The blocked read ends with errIdle; ReadCommand then lets go
			// of the buffers and waits for one byte.
			q.interrupted = true
			r.src.dl.SetReadDeadline(time.Now())
		case cap(r.arena) > resizeThreshold && cap(r.arena)/2 > r.peak:
			r.arena = make([]byte, 0, r.peak)
		}
	}
	r.peak = len(r.arena)
	r.publishLocked()
}

// wake is ReadCommand's answer to errIdle: the buffers go, and the next
// byte is read without them; a fresh read buffer then starts with it.
func (r *Reader) wake() (byte, error) {
	q := &r.qb
	q.mu.Lock()
	q.released = true
	r.br, r.arena, r.offs, r.args = nil, nil, nil, nil
	q.mu.Unlock()
	var one [1]byte
	_, err := io.ReadFull(r.src.in, one[:])
	q.mu.Lock()
	q.released = false
	r.br = bufio.NewReaderSize(r.src, ioBufLen)
	q.mu.Unlock()
	if err != nil {
		return 0, err
	}
	r.src.pending = int(one[0])
	return r.br.ReadByte()
}
