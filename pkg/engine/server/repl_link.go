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

// maxSpareReplicaBuffer bounds the output buffer a replica link keeps
// between writes (a bigger one is left to the collector).
const maxSpareReplicaBuffer = 4 << 20

// replicaLink is the master's side of one connected replica.
type replicaLink struct {
	addr       string // the replica's announced ip:port
	client     *Client
	raw        syscall.RawConn // for writes that must not wait; nil: only the goroutine writes
	mu         sync.Mutex      // guards buf and overflowed
	buf        []byte
	overflowed bool
	pending    atomic.Int64 // len(buf), for a look without mu
	full       atomic.Bool  // the socket refused bytes: only the link goroutine writes until it has room
	wmu        sync.Mutex   // one writer on the socket at a time, so the stream stays in order
	spare      []byte       // the last buffer written, reused (guarded by wmu)
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

func (l *replicaLink) push(b []byte) {
	l.mu.Lock()
	if len(l.buf)+len(b) > maxReplicaBuffer {
		l.overflowed = true
	} else {
		l.buf = append(l.buf, b...)
		l.pending.Store(int64(len(l.buf)))
	}
	l.mu.Unlock()
	l.signal()
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

// take hands the queued bytes to the writer holding wmu.
func (l *replicaLink) take() (out []byte, overflowed bool) {
	l.mu.Lock()
	out, overflowed = l.buf, l.overflowed
	l.buf, l.spare = l.spare[:0], nil
	l.pending.Store(0)
	l.mu.Unlock()
	return out, overflowed
}

// wrote recycles a buffer written in full (wmu held).
func (l *replicaLink) wrote(out []byte) {
	if cap(out) <= maxSpareReplicaBuffer {
		l.spare = out
	}
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

// writeQueued makes one write of the queue that does not wait (wmu held)
// and reports whether the queue is now empty; what the socket refused goes
// back to the front, and the link goroutine is told. err is the socket's.
func (l *replicaLink) writeQueued(s *Server) (drained bool, err error) {
	out, overflowed := l.take()
	if overflowed {
		l.signal()
		return false, errReplicaOverflow
	}
	n, err := writeNoWait(l.raw, out)
	s.traffic.replOut.add(n)
	if n == len(out) {
		l.wrote(out)
		return true, nil
	}
	l.mu.Lock()
	l.buf = append(append(make([]byte, 0, len(out)-n+len(l.buf)), out[n:]...), l.buf...)
	l.pending.Store(int64(len(l.buf)))
	l.mu.Unlock()
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
	out, overflowed := l.take()
	if overflowed {
		return false, errReplicaOverflow
	}
	c := l.client
	c.conn.SetWriteDeadline(time.Now().Add(replicaWriteTimeout))
	n, err := c.conn.Write(out)
	s.traffic.replOut.add(n)
	if err != nil {
		return false, err
	}
	l.wrote(out)
	return true, nil
}
