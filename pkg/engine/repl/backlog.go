// Package repl holds the parts of Redis replication that do not depend on
// connections: the replication ID, the stream offset and the circular
// backlog a reconnecting replica resumes from (PSYNC replid offset).
//
// Offsets follow Redis: master_repl_offset counts every byte ever fed to
// the stream, the first byte being offset 1; a replica that has applied
// the stream up to offset N asks for N+1.
package repl

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a fresh 40-hex-character replication ID.
func NewID() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ZeroID is the replid2 of a node that never changed history.
const ZeroID = "0000000000000000000000000000000000000000"

// Backlog is a fixed-size ring holding the last bytes of the stream.
type Backlog struct {
	buf    []byte
	pos    int   // where the next byte goes
	hist   int   // bytes held (<= len(buf))
	offset int64 // offset of the last byte written (master_repl_offset)
}

// NewBacklog makes a backlog of size bytes whose next byte will have
// offset off+1.
func NewBacklog(size int, off int64) *Backlog {
	return &Backlog{buf: make([]byte, max(size, 1)), offset: off}
}

// Offset is the offset of the last byte fed.
func (b *Backlog) Offset() int64 { return b.offset }

// Size is the capacity.
func (b *Backlog) Size() int { return len(b.buf) }

// HistLen is how many bytes are held.
func (b *Backlog) HistLen() int { return b.hist }

// FirstByte is the offset of the oldest byte held (Offset()+1 when empty).
func (b *Backlog) FirstByte() int64 { return b.offset - int64(b.hist) + 1 }

// Feed appends p to the stream.
func (b *Backlog) Feed(p []byte) {
	b.offset += int64(len(p))
	if len(p) >= len(b.buf) {
		p = p[len(p)-len(b.buf):]
		copy(b.buf, p)
		b.pos, b.hist = 0, len(b.buf)
		return
	}
	n := copy(b.buf[b.pos:], p)
	copy(b.buf, p[n:])
	b.pos = (b.pos + len(p)) % len(b.buf)
	b.hist = min(b.hist+len(p), len(b.buf))
}

// From returns a copy of the bytes from offset off (the first byte the
// replica lacks) to the end; ok is false when off is not in the backlog
// (older than what it holds, or past the end + 1).
func (b *Backlog) From(off int64) (out []byte, ok bool) {
	if off < b.FirstByte() || off > b.offset+1 {
		return nil, false
	}
	n := int(b.offset + 1 - off)
	start := (b.pos - n + len(b.buf)) % len(b.buf)
	out = make([]byte, 0, n)
	if start+n <= len(b.buf) {
		return append(out, b.buf[start:start+n]...), true
	}
	out = append(out, b.buf[start:]...)
	return append(out, b.buf[:n-(len(b.buf)-start)]...), true
}

// Resize changes the capacity, keeping the newest bytes that fit.
func (b *Backlog) Resize(size int) {
	size = max(size, 1)
	if size == len(b.buf) {
		return
	}
	data, _ := b.From(b.FirstByte())
	nb := NewBacklog(size, b.offset-int64(len(data)))
	nb.Feed(data)
	*b = *nb
}
