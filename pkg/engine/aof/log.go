package aof

import (
	"errors"
	"os"
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
	mu       sync.Mutex // buf, appended
	buf      []byte
	appended int64 // bytes appended since Open, a logical offset

	fmu     sync.Mutex // f, written, err
	f       *os.File
	written int64
	size    atomic.Int64 // bytes in the current file
	err     error
	synced  atomic.Int64
	policy  atomic.Int32

	stop chan struct{}
	done chan struct{}
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
	l.fmu.Lock()
	defer l.fmu.Unlock()
	return l.err
}

// Commit makes everything up to off written to the file, and fsynced
// when appendfsync is always.
func (l *Log) Commit(off int64) error {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	if l.written < off {
		l.writeLocked()
	}
	if Policy(l.policy.Load()) == FsyncAlways && l.synced.Load() < off && l.err == nil {
		l.syncLocked()
	}
	return l.err
}

// writeLocked writes what is buffered; on failure the bytes stay queued
// for the next attempt, so the file never skips a command.
func (l *Log) writeLocked() {
	l.mu.Lock()
	p, upto := l.buf, l.appended
	l.buf = nil
	l.mu.Unlock()
	if len(p) == 0 {
		return
	}
	n, err := l.f.Write(p)
	l.size.Add(int64(n))
	if err != nil {
		l.err = err
		l.mu.Lock()
		l.buf = append(p[n:len(p):len(p)], l.buf...)
		l.mu.Unlock()
		l.written = upto - int64(len(p)-n)
		return
	}
	l.err = nil
	l.written = upto
}

func (l *Log) syncLocked() {
	if err := l.f.Sync(); err != nil {
		l.err = err
		return
	}
	l.synced.Store(l.written)
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
		f, upto := l.f, l.written
		l.fmu.Unlock()
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			l.fmu.Lock()
			l.err = err
			l.fmu.Unlock()
			continue
		}
		if upto > l.synced.Load() {
			l.synced.Store(upto)
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
