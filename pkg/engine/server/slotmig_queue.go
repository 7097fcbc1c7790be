package server

import (
	"net"
	"sync"
)

// sendQueue holds what an export has yet to write to its target, as a
// list of buffers written with one writev: key batches are queued as they
// are, not copied into one growing buffer, and go back to the exporter
// once written, to be filled again. Small commands (forwarded writes) are
// copied into a shared tail buffer. While deferring, new commands wait
// apart, to follow what the exporter queues next (big values encoded out
// of the store lock).
type sendQueue struct {
	mu        sync.Mutex
	bufs      net.Buffers
	n         int  // bytes in bufs
	tailOpen  bool // the last buffer is ours to append small commands to
	deferring bool
	deferred  []byte
	free      chan []byte // written key batch buffers
}

func newSendQueue() *sendQueue { return &sendQueue{free: make(chan []byte, 8)} }

// addCopy queues a copy of p (or holds it apart while deferring).
func (q *sendQueue) addCopy(p []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deferring {
		q.deferred = append(q.deferred, p...)
		return
	}
	q.appendTail(p)
}

func (q *sendQueue) appendTail(p []byte) {
	if !q.tailOpen {
		q.bufs = append(q.bufs, make([]byte, 0, max(4096, len(p))))
		q.tailOpen = true
	}
	last := &q.bufs[len(q.bufs)-1]
	*last = append(*last, p...)
	q.n += len(p)
}

// addCommand queues head, then body as it is (the queue owns it now),
// then tail.
func (q *sendQueue) addCommand(head, body, tail []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.appendTail(head)
	q.bufs = append(q.bufs, body)
	q.n += len(body)
	q.tailOpen = false
	q.appendTail(tail)
}

// deferFrom holds new commands apart until endDefer.
func (q *sendQueue) deferFrom() {
	q.mu.Lock()
	q.deferring = true
	q.mu.Unlock()
}

// endDefer queues p (owned), then the commands held apart.
func (q *sendQueue) endDefer(p []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(p) > 0 {
		q.bufs = append(q.bufs, p)
		q.n += len(p)
		q.tailOpen = false
	}
	if len(q.deferred) > 0 {
		q.appendTail(q.deferred)
	}
	q.deferred, q.deferring = nil, false
}

// take empties the queue and returns its buffers.
func (q *sendQueue) take() net.Buffers {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.bufs
	q.bufs, q.n, q.tailOpen = nil, 0, false
	return b
}

func (q *sendQueue) buffered() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// recycle offers written buffers of a key batch's size for reuse.
func (q *sendQueue) recycle(bufs net.Buffers) {
	for _, b := range bufs {
		if cap(b) >= keyBatchBytes && cap(b) <= 2*keyBatchBytes {
			select {
			case q.free <- b[:0]:
			default:
				return
			}
		}
	}
}

// batchBuffer returns an empty buffer for the next key batch.
func (q *sendQueue) batchBuffer() []byte {
	select {
	case b := <-q.free:
		return b
	default:
		return make([]byte, 0, keyBatchBytes+keyBatchBytes/4)
	}
}
