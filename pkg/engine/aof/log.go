package aof

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Policy is appendfsync.
type Policy int32

const (
	FsyncEverySec Policy = iota
	FsyncAlways
	FsyncNo
)

// ParsePolicy reads appendfsync's value.
func ParsePolicy(s string) Policy {
	switch s {
	case "always":
		return FsyncAlways
	case "no":
		return FsyncNo
	}
	return FsyncEverySec
}

// Log appends commands to the current incremental file. Writers Append
// under the store lock (so the file order is the execution order); a
// client calls Commit with the offset of its last write before its reply
// leaves, so an acknowledged write is in the file (and on disk with
// appendfsync always) — clients waiting together share one write and one
// fsync. With everysec a background loop fsyncs once a second.
type Log struct {
	mu       sync.Mutex // buf, spare, appended
	buf      []byte
	spare    []byte // the buffer being written, reused for the next batch
	appended int64  // bytes appended since Open, a logical offset

	fmu     sync.Mutex // f, err, and writing
	f       *os.File
	written atomic.Int64 // offset up to which the file holds the appends
	synced  atomic.Int64 // offset up to which the file is fsynced
	size    atomic.Int64 // bytes in the current file
	err     error
	failed  atomic.Bool // err != nil
	policy  atomic.Int32

	stop chan struct{}
	done chan struct{}

	// onLatency, when set, is told how long each write and each fsync of
	// appendfsync always took, under Redis's latency event names.
	onLatency atomic.Pointer[func(event string, d time.Duration)]
	fsyncing  atomic.Bool // the everysec fsync is running
}

// OnLatency sets the function told of slow writes and fsyncs (the
// latency monitor's aof-write, aof-write-alone, aof-write-pending-fsync
// and aof-fsync-always events).
func (l *Log) OnLatency(f func(event string, d time.Duration)) { l.onLatency.Store(&f) }

// noteLatency reports how long the write or fsync begun at start took.
func (l *Log) noteLatency(start time.Time, events ...string) {
	if f := l.onLatency.Load(); f != nil {
		d := time.Since(start)
		for _, e := range events {
			(*f)(e, d)
		}
	}
}

// Open appends to f (positioned at its end, holding size bytes).
func Open(f *os.File, size int64, p Policy) *Log {
	l := &Log{f: f, stop: make(chan struct{}), done: make(chan struct{})}
	l.size.Store(size)
	l.policy.Store(int32(p))
	go l.everySec()
	return l
}

// SetPolicy follows CONFIG SET appendfsync.
func (l *Log) SetPolicy(p Policy) { l.policy.Store(int32(p)) }

// Append queues p and returns the offset just past it.
func (l *Log) Append(p []byte) int64 {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	l.appended += int64(len(p))
	off := l.appended
	l.mu.Unlock()
	return off
}

// AppendFunc appends what encode adds to the buffer (no copy of an
// encoded command) and returns the offset just past it.
func (l *Log) AppendFunc(encode func([]byte) []byte) int64 {
	l.mu.Lock()
	n := len(l.buf)
	l.buf = encode(l.buf)
	l.appended += int64(len(l.buf) - n)
	off := l.appended
	l.mu.Unlock()
	return off
}

// Offset is the end of what was appended so far.
func (l *Log) Offset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appended
}

// Pending is how many appended bytes are not written yet.
func (l *Log) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buf)
}

// Size is the current incremental file's size, pending bytes included.
func (l *Log) Size() int64 { return l.size.Load() + int64(l.Pending()) }

// Err is the last write or fsync error (nil when the last one worked).
func (l *Log) Err() error {
	if !l.failed.Load() {
		return nil
	}
	l.fmu.Lock()
	defer l.fmu.Unlock()
	return l.err
}

// Commit makes everything up to off written to the file, and fsynced
// when appendfsync is always.
func (l *Log) Commit(off int64) error {
	always := Policy(l.policy.Load()) == FsyncAlways
	if l.written.Load() >= off && (!always || l.synced.Load() >= off) && !l.failed.Load() {
		return nil // another client's write (and fsync) covered this one
	}
	// Let the other clients that are ready append first, so one write
	// carries all their commands, as redis-server writes once per pass of
	// its event loop.
	runtime.Gosched()
	if l.written.Load() >= off && (!always || l.synced.Load() >= off) && !l.failed.Load() {
		return nil
	}
	l.fmu.Lock()
	defer l.fmu.Unlock()
	if l.written.Load() < off {
		l.writeLocked()
	}
	if always && l.synced.Load() < off && l.err == nil {
		start := time.Now()
		l.syncLocked()
		l.noteLatency(start, "aof-fsync-always")
	}
	return l.err
}

func (l *Log) setErr(err error) {
	l.err = err
	l.failed.Store(err != nil)
}

// writeLocked writes what is buffered; on failure the bytes stay queued
// for the next attempt, so the file never skips a command.
func (l *Log) writeLocked() {
	l.mu.Lock()
	p, upto := l.buf, l.appended
	l.buf, l.spare = l.spare[:0], nil
	l.mu.Unlock()
	if len(p) == 0 {
		l.mu.Lock()
		l.spare = p
		l.mu.Unlock()
		return
	}
	start := time.Now()
	n, err := l.f.Write(p)
	if l.fsyncing.Load() {
		l.noteLatency(start, "aof-write-pending-fsync", "aof-write")
	} else {
		l.noteLatency(start, "aof-write-alone", "aof-write")
	}
	l.size.Add(int64(n))
	if err != nil {
		l.setErr(err)
		l.mu.Lock()
		l.buf = append(p[n:len(p):len(p)], l.buf...)
		l.mu.Unlock()
		l.written.Store(upto - int64(len(p)-n))
		return
	}
	l.setErr(nil)
	l.written.Store(upto)
	if cap(p) <= 4<<20 { // keep a batch buffer, not a huge one
		l.mu.Lock()
		l.spare = p[:0]
		l.mu.Unlock()
	}
}

func (l *Log) syncLocked() {
	if err := l.f.Sync(); err != nil {
		l.setErr(err)
		return
	}
	l.synced.Store(l.written.Load())
}

// everySec writes and fsyncs once a second under appendfsync everysec,
// the fsync outside the lock so clients keep appending meanwhile.
func (l *Log) everySec() {
	defer close(l.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		if Policy(l.policy.Load()) != FsyncEverySec {
			continue
		}
		l.fmu.Lock()
		l.writeLocked()
		f, upto := l.f, l.written.Load()
		l.fmu.Unlock()
		l.fsyncing.Store(true)
		err := f.Sync()
		l.fsyncing.Store(false)
		if err != nil && !errors.Is(err, os.ErrClosed) {
			l.fmu.Lock()
			l.setErr(err)
			l.fmu.Unlock()
			continue
		}
		for cur := l.synced.Load(); upto > cur && !l.synced.CompareAndSwap(cur, upto); cur = l.synced.Load() {
		}
	}
}

// Rotate writes and fsyncs what is queued into the current file, closes
// it, and continues in next (a new, empty incremental file).
func (l *Log) Rotate(next *os.File) error {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	l.writeLocked()
	if l.err == nil {
		l.syncLocked()
	}
	if err := l.err; err != nil {
		return err
	}
	l.f.Close()
	l.f = next
	l.size.Store(0)
	return nil
}

// Close writes, fsyncs and closes the file.
func (l *Log) Close() error {
	close(l.stop)
	<-l.done
	l.fmu.Lock()
	defer l.fmu.Unlock()
	l.writeLocked()
	if l.err == nil {
		l.syncLocked()
	}
	err := l.err
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
