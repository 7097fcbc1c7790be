package store

import (
	"encoding/binary"
	"unsafe"
)

// packed is a small collection in one byte allocation (intset, zpack):
//
//	uvarint(count) uvarint(len body) body
//
// nil is the empty collection. It is never written after it is built:
// every change makes a new one of the exact size, so what it hands out
// stays valid, and a pointer (not a slice header) is all a value keeps.
type packed struct{ p *byte }

// header decodes the count and the body's length and offset.
func (b packed) header() (count, bodyLen, off int) {
	if b.p == nil {
		return 0, 0, 0
	}
	c, n1 := readUvarint(unsafe.Pointer(b.p), 0)
	l, n2 := readUvarint(unsafe.Pointer(b.p), n1)
	return int(c), int(l), n1 + n2
}

func (b packed) Len() int {
	c, _, _ := b.header()
	return c
}

func (b packed) body() []byte {
	_, l, off := b.header()
	if l == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(b.p), off)), l)
}

// size is the allocation's length, for memory accounting.
func (b packed) size() int {
	_, l, off := b.header()
	return off + l
}

// newPacked allocates a packed of count elements and returns it with its
// body (bodyLen bytes) for the caller to fill; count 0 is nil.
func newPacked(count, bodyLen int) (packed, []byte) {
	if count == 0 {
		return packed{}, nil
	}
	b := make([]byte, uvarintLen(count)+uvarintLen(bodyLen)+bodyLen)
	off := binary.PutUvarint(b, uint64(count))
	off += binary.PutUvarint(b[off:], uint64(bodyLen))
	return packed{&b[0]}, b[off:]
}

// buildPacked makes a packed of count elements whose body is parts, in
// order.
func buildPacked(count int, parts ...[]byte) packed {
	l := 0
	for _, part := range parts {
		l += len(part)
	}
	p, body := newPacked(count, l)
	for _, part := range parts {
		body = body[copy(body, part):]
	}
	return p
}
