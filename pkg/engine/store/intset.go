package store

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unsafe"
)

// intset is a set of int64s kept sorted in one byte allocation, each in
// the narrowest width (2, 4 or 8 bytes) that holds them all, as Redis's
// intset: five 4-byte integers cost a 24-byte allocation, not a map. The
// allocation is uvarint(count << 2 | log2(width)) then the values,
// little-endian; nil is the empty set. Every change builds a new
// allocation of the exact size (sets in this form are small:
// set-max-intset-entries).
type intset struct{ p *byte }

// header decodes the count, the width and the header's length.
func (s intset) header() (count, width, n int) {
	if s.p == nil {
		return 0, 2, 0
	}
	h, n := readUvarint(unsafe.Pointer(s.p), 0)
	return int(h >> 2), 1 << (h & 3), n
}

func (s intset) width() int {
	_, w, _ := s.header()
	return w
}

func (s intset) Len() int {
	c, _, _ := s.header()
	return c
}

// size is the allocation's length, for memory accounting.
func (s intset) size() int {
	c, w, n := s.header()
	return n + c*w
}

// At is the i-th smallest value.
func (s intset) At(i int) int64 {
	_, w, n := s.header()
	b := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(s.p), n)), (i+1)*w)
	switch w {
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return int64(binary.LittleEndian.Uint64(b[8*i:]))
}

// search is the index of v, or where it would go, and whether it is there.
func (s intset) search(v int64) (int, bool) {
	lo, hi := 0, s.Len()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.At(mid) < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < s.Len() && s.At(lo) == v
}

func (s intset) Has(v int64) bool {
	_, ok := s.search(v)
	return ok
}

func widthOf(v int64) int {
	switch {
	case v >= -1<<15 && v < 1<<15:
		return 2
	case v >= -1<<31 && v < 1<<31:
		return 4
	}
	return 8
}

// makeIntset makes an intset of n values of width w, read from at(i) for
// i = 0, 1, ... in turn.
func makeIntset(n, w int, at func(i int) int64) intset {
	if n == 0 {
		return intset{}
	}
	h := uint64(n)<<2 | uint64(bits.TrailingZeros(uint(w)))
	b := make([]byte, uvarintLen(int(h))+n*w)
	out := b[binary.PutUvarint(b, h):]
	for i := range n {
		v := at(i)
		switch w {
		case 2:
			binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
		case 4:
			binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
		default:
			binary.LittleEndian.PutUint64(out[8*i:], uint64(v))
		}
	}
	return intset{&b[0]}
}

// with returns the set plus v, and whether v was new.
func (s intset) with(v int64) (intset, bool) {
	at, found := s.search(v)
	if found {
		return s, false
	}
	return makeIntset(s.Len()+1, max(s.width(), widthOf(v)), func(i int) int64 {
		switch {
		case i < at:
			return s.At(i)
		case i == at:
			return v
		}
		return s.At(i - 1)
	}), true
}

// without returns the set less v, and whether v was there.
func (s intset) without(v int64) (intset, bool) {
	at, found := s.search(v)
	if !found {
		return s, false
	}
	// the width stays, as Redis never narrows an intset
	return makeIntset(s.Len()-1, s.width(), func(i int) int64 {
		if i < at {
			return s.At(i)
		}
		return s.At(i + 1)
	}), true
}

// union returns the set plus vals, and how many of them were new, in one
// new allocation.
func (s intset) union(vals []int64) (intset, int) {
	slices.Sort(vals)
	vals = slices.Compact(vals)
	fresh := vals[:0:0]
	w := s.width()
	for _, v := range vals {
		if !s.Has(v) {
			fresh = append(fresh, v)
			w = max(w, widthOf(v))
		}
	}
	if len(fresh) == 0 {
		return s, 0
	}
	n := s.Len()
	i, j := 0, 0 // merge s and fresh, both sorted
	return makeIntset(n+len(fresh), w, func(int) int64 {
		if j == len(fresh) || i < n && s.At(i) < fresh[j] {
			i++
			return s.At(i - 1)
		}
		j++
		return fresh[j-1]
	}), len(fresh)
}
