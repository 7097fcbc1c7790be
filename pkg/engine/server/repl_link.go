package server

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The master's side of one replica connection. A write's replication
// bytes go on the replica's socket before the client's reply leaves: the
// client's goroutine writes them itself (sendReplication, where replies
// are flushed), as Redis writes replicas in the same event-loop pass as
// replies. A master killed right after acknowledging a write has then
// already handed the write to the kernel, which still delivers it. Those
// writes never wait: what a full socket does not take is left to the
// link's own goroutine, so a slow replica never stalls clients.

// The bytes queued for a replica are a list of chunks, not one growing
// buffer: a replica that falls behind by tens of MB (an atomic slot
// import, a snapshot) costs no copy of what is already queued, and a
// partial write only advances through the chunks.
const (
	// replChunkBytes is the size of a chunk; a bigger write gets a chunk
	// of its own size.
	replChunkBytes = 64 << 10
	// replSpareChunks bounds the written chunks a link keeps for reuse.
	replSpareChunks = 16
)

// replicaLink is the master's side of one connected replica.
type replicaLink struct {
	addr       string // the replica's announced ip:port
	client     *Client
	raw        syscall.RawConn // for writes that must not wait; nil: only the goroutine writes
	mu         sync.Mutex      // guards chunks, queued, unsent, spare and overflowed
	chunks     [][]byte        // queued, in order; the last one may take more
	queued     int             // bytes in chunks
	unsent     int             // bytes in rest
	spare      [][]byte        // written chunks, empty, for reuse
	overflowed bool
	pending    atomic.Int64 // unsent + queued: bytes not yet on the socket, for a look without mu
	full       atomic.Bool  // the socket refused bytes: only the link goroutine writes until it has room
	wmu        sync.Mutex   // one writer on the socket at a time, so the stream stays in order
	rest       [][]byte     // chunks the writer took and has not written in full (guarded by wmu)
	wake       chan struct{}
	hold       chan struct{} // tests: the link goroutine waits on it before each write
	online     atomic.Bool   // the snapshot (or backlog) went out
	ackOff     atomic.Int64  // last REPLCONF ACK offset
	ackTime    atomic.Int64  // unix seconds of the last ACK
}

func newReplicaLink(c *Client, addr string) *replicaLink {
	l := &replicaLink{addr: addr, client: c, wake: make(chan struct{}, 1)}
	if sc, ok := c.conn.(syscall.Conn); ok {
		l.raw, _ = sc.SyscallConn()
	}
	l.ackTime.Store(time.Now().Unix())
	return l
}

// queueOwned queues b itself, as one chunk (the snapshot or backlog that
// starts the stream).
func (l *replicaLink) queueOwned(b []byte) {
	l.mu.Lock()
	l.chunks = append(l.chunks, b)
	l.queued += len(b)
	l.pending.Store(int64(l.unsent + l.queued))
	l.mu.Unlock()
}

// push queues a copy of b.
func (l *replicaLink) push(b []byte) {
	l.mu.Lock()
	if l.unsent+l.queued+len(b) > maxReplicaBuffer {
		l.overflowed = true
	} else {
		l.appendChunk(b)
		l.queued += len(b)
		l.pending.Store(int64(l.unsent + l.queued))
	}
	l.mu.Unlock()
	l.signal()
}

// appendChunk copies b into the last chunk, or a new one (mu held).
func (l *replicaLink) appendChunk(b []byte) {
	if n := len(l.chunks); n > 0 && cap(l.chunks[n-1])-len(l.chunks[n-1]) >= len(b) {
		l.chunks[n-1] = append(l.chunks[n-1], b...)
		return
	}
	var c []byte
	if n := len(l.spare); n > 0 && len(b) <= replChunkBytes {
		c, l.spare = l.spare[n-1], l.spare[:n-1]
	} else {
		c = make([]byte, 0, max(replChunkBytes, len(b)))
	}
	l.chunks = append(l.chunks, append(c, b...))
}

func (l *replicaLink) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// drop ends the link (a replica whose history changed must resync).
func (l *replicaLink) drop() {
	l.mu.Lock()
	l.overflowed = true
	l.mu.Unlock()
	l.signal()
}

// take hands the queued chunks to the writer holding wmu, as rest.
func (l *replicaLink) take() (overflowed bool) {
	l.mu.Lock()
	l.rest, l.chunks = append(l.rest, l.chunks...), l.chunks[:0:0]
	l.unsent += l.queued
	l.queued = 0
	overflowed = l.overflowed
	l.mu.Unlock()
	return overflowed
}

// sent records that the socket took n more bytes of rest and keeps the
// chunks written in full for reuse (wmu held).
func (l *replicaLink) sent(n int) {
	l.mu.Lock()
	l.unsent -= n
	l.pending.Store(int64(l.unsent + l.queued))
	done := 0
	for done < len(l.rest) && n >= len(l.rest[done]) {
		n -= len(l.rest[done])
		done++
	}
	written := l.rest[:done]
	if done < len(l.rest) {
		l.rest[done] = l.rest[done][n:]
	}
	for _, c := range written {
		if cap(c) == replChunkBytes && len(l.spare) < replSpareChunks {
			l.spare = append(l.spare, c[:0])
		}
	}
	l.mu.Unlock()
	clear(written)
	l.rest = l.rest[done:]
}

// sendNow writes what is queued, from a client's goroutine, without
// waiting for room in the socket: what it does not take stays first in the
// queue for the link goroutine. Whoever holds wmu only ever makes such a
// write, so waiting for wmu is short; once we have it, our bytes are on
// the socket or queued behind a full one.
func (l *replicaLink) sendNow(s *Server) {
	if l.raw == nil || !l.online.Load() || l.full.Load() {
		return // the goroutine writes the snapshot, everything on TLS links, and behind a full socket
	}
	l.wmu.Lock()
	if l.pending.Load() > 0 {
		l.writeQueued(s)
	}
	l.wmu.Unlock()
}

// writeQueued writes what is queued without waiting for room in the
// socket (wmu held) and reports whether all of it is written; what the
// socket refused stays in rest, written first next time, and the link
// goroutine is told. err is the socket's.
func (l *replicaLink) writeQueued(s *Server) (drained bool, err error) {
	if l.take() {
		l.signal()
		return false, errReplicaOverflow
	}
	n := 0
	for _, c := range l.rest {
		m, werr := writeNoWait(l.raw, c)
		n += m
		if m < len(c) || werr != nil {
			err = werr
			break
		}
	}
	s.traffic.replOut.add(n)
	l.sent(n)
	if len(l.rest) == 0 {
		return true, nil
	}
	l.full.Store(true)
	l.signal()
	return false, err
}

var errReplicaOverflow = errors.New("replica output buffer overflow")

// writeNoWait is write(2) of p that does not wait for room in the socket:
// how much the kernel took, and the error unless it was only that the
// socket is full.
func writeNoWait(raw syscall.RawConn, p []byte) (int, error) {
	n := 0
	var werr error
	err := raw.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, err := syscall.Write(int(fd), p[n:])
			if err == syscall.EINTR {
				continue
			}
			if err != nil || m <= 0 {
				if err != syscall.EAGAIN {
					werr = err
				}
				return true
			}
			n += m
		}
		return true
	})
	if err != nil {
		return n, err
	}
	return n, werr
}

// waitWritable waits until the socket has room again (or failed), in
// slices of a second so that a replica that left or a server stopping
// ends the wait; false after limit.
func (l *replicaLink) waitWritable(s *Server, gone <-chan struct{}, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-gone:
			return false
		case <-s.done:
			return false
		default:
		}
		ready := false
		l.raw.Control(func(fd uintptr) { // not the write lock: clients keep writing meanwhile
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			n, err := unix.Poll(fds, 1000)
			ready = err == nil && n > 0
		})
		if ready {
			l.full.Store(false)
			return true
		}
	}
	return false
}

// sendReplication puts every queued replication byte on the replicas'
// sockets, before a client's replies are flushed.
func (s *Server) sendReplication() {
	if s.replicaCount.Load() == 0 {
		return
	}
	if links := s.replLinks.Load(); links != nil {
		for _, l := range *links {
			if l.pending.Load() > 0 {
				l.sendNow(s)
			}
		}
	}
}

// setReplicas replaces the replica list (under the store lock) and its
// copy for sendReplication, which reads it without that lock.
func (s *Server) setReplicas(links []*replicaLink) {
	s.replicas = links
	cp := append([]*replicaLink(nil), links...)
	s.replLinks.Store(&cp)
}

// writeLoop is the link goroutine: it writes whatever the clients' writes
// left queued (the snapshot first), until the replica leaves, overflows,
// stops reading for replicaWriteTimeout, or the server stops.
func (l *replicaLink) writeLoop(s *Server, gone <-chan struct{}) {
	for {
		if l.hold != nil {
			select {
			case <-l.hold:
			case <-gone:
				return
			}
		}
		var drained bool
		var err error
		l.wmu.Lock()
		if l.pending.Load() > 0 || l.overflowedNow() {
			if l.raw != nil {
				drained, err = l.writeQueued(s)
			} else {
				drained, err = l.writeBlocking(s)
			}
		} else {
			drained = true
		}
		l.wmu.Unlock()
		switch {
		case err != nil:
			return
		case !drained:
			if !l.waitWritable(s, gone, replicaWriteTimeout) {
				return
			}
			continue
		case !l.online.Load(): // the first write took the whole snapshot
			l.online.Store(true)
			s.DB.Mu.Lock()
			s.refreshGoodReplicas()
			s.DB.Mu.Unlock()
		}
		if l.pending.Load() > 0 {
			continue
		}
		select {
		case <-l.wake:
		case <-gone:
			return
		case <-s.done:
			return
		}
	}
}

// replicaWriteTimeout is how long a replica may take nothing before it is
// dropped.
const replicaWriteTimeout = 60 * time.Second

func (l *replicaLink) overflowedNow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.overflowed
}

// writeBlocking writes the queue with a blocking write, for links without
// a raw socket (TLS); wmu held.
func (l *replicaLink) writeBlocking(s *Server) (bool, error) {
	if l.take() {
		return false, errReplicaOverflow
	}
	c := l.client
	c.conn.SetWriteDeadline(time.Now().Add(replicaWriteTimeout))
	n := 0
	var err error
	for _, b := range l.rest {
		var m int
		m, err = c.conn.Write(b)
		if n += m; err != nil {
			break
		}
	}
	s.traffic.replOut.add(n)
	l.sent(n)
	if err != nil {
		return false, err
	}
	return true, nil
}
