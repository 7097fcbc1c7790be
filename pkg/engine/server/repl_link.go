package server

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"
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

// sendNow writes what is queued without waiting: what the socket does not
// take now goes back to the front of the queue for the link goroutine. A
// writer already at work (wmu taken) sends these bytes too, since every
// writer looks at the queue again after letting go of wmu.
func (l *replicaLink) sendNow(s *Server) {
	if l.raw == nil || !l.online.Load() {
		return // the goroutine writes the snapshot, and everything on TLS links
	}
	for l.pending.Load() > 0 {
		if !l.wmu.TryLock() {
			return
		}
		out, overflowed := l.take()
		if overflowed {
			l.wmu.Unlock()
			l.signal()
			return
		}
		n := writeNoWait(l.raw, out)
		s.traffic.replOut.add(n)
		if n < len(out) {
			l.mu.Lock()
			l.buf = append(append(make([]byte, 0, len(out)-n+len(l.buf)), out[n:]...), l.buf...)
			l.pending.Store(int64(len(l.buf)))
			l.mu.Unlock()
			l.wmu.Unlock()
			l.signal()
			return
		}
		l.wrote(out)
		l.wmu.Unlock()
	}
}

// writeNoWait is one write(2) of p that does not wait for room in the
// socket: it returns how much the kernel took (an error counts as none;
// the link goroutine's blocking write meets it again and ends the link).
func writeNoWait(raw syscall.RawConn, p []byte) int {
	n := 0
	err := raw.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, err := syscall.Write(int(fd), p[n:])
			if m <= 0 || err != nil {
				return true
			}
			n += m
		}
		return true
	})
	if err != nil && n == 0 {
		return 0
	}
	return n
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

// writeLoop is the link goroutine: it writes, blocking, whatever the
// clients' writes left queued (the snapshot first), until the replica
// leaves, overflows, or the server stops.
func (l *replicaLink) writeLoop(s *Server, gone <-chan struct{}) {
	c := l.client
	for {
		if l.hold != nil {
			select {
			case <-l.hold:
			case <-gone:
				return
			}
		}
		l.wmu.Lock()
		out, overflowed := l.take()
		if overflowed {
			l.wmu.Unlock()
			return
		}
		if len(out) > 0 {
			// A replica that reads nothing for a minute is dropped. The
			// deadline is lifted after the write: the clients' writes
			// (sendNow) would fail at once on a deadline gone by.
			c.conn.SetWriteDeadline(time.Now().Add(60 * time.Second))
			n, err := c.conn.Write(out)
			c.conn.SetWriteDeadline(time.Time{})
			s.traffic.replOut.add(n)
			if err == nil {
				l.wrote(out)
			}
			l.wmu.Unlock()
			if err != nil {
				return
			}
			if !l.online.Swap(true) {
				s.DB.Mu.Lock()
				s.refreshGoodReplicas()
				s.DB.Mu.Unlock()
			}
			continue
		}
		l.wmu.Unlock()
		select {
		case <-l.wake:
		case <-gone:
			return
		case <-s.done:
			return
		}
	}
}
