package store

import (
	"encoding/binary"
	"slices"
)

// intset is a set of int64s kept sorted in one packed allocation, each in
// the narrowest width (2, 4 or 8 bytes) that holds them all, as Redis's
// intset: five 4-byte integers cost a 24-byte allocation, not a map. The
// body is the values, little-endian (the width is its length over the
// count). Sets in this form are small (set-max-intset-entries), so every
// change builds a new one.
type intset struct{ packed }

func (s intset) width() int {
	if c, l, _ := s.header(); c > 0 {
		return l / c
	}
	return 2
}

// At is the i-th smallest value.
func (s intset) At(i int) int64 {
	b := s.body()
	switch w := len(b) / s.Len(); w {
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
	p, out := newPacked(n, n*w)
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
	return intset{p}
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
	fresh := vals[:0] // filtered in place: written at or behind the read
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
