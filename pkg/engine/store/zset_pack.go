package store

import (
	"encoding/binary"
	"math"
)

// zpack is a small sorted set in one packed allocation, ordered by
// (score, member) as Redis's listpack form of a sorted set: a 5-member set
// costs one allocation of a few dozen bytes instead of a map and a tree.
// Like Redis, a score that is an integer is kept as one (a varint); others
// as a float32 when that is exact, else a float64. The body is, per member,
//
//	uvarint(len member << 2 | score form) member score
type zpack struct{ packed }

// decode reads the member at off and returns it and the offset past it.
func decodeZMember(b []byte, off int) (ZMember, int) {
	h, k := binary.Uvarint(b[off:])
	off += k
	ml := int(h >> 2)
	m := ZMember{Member: b[off : off+ml : off+ml]}
	off += ml
	switch h & 3 {
	case scoreFloat32:
		m.Score = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[off:])))
		return m, off + 4
	case scoreFloat64:
		m.Score = math.Float64frombits(binary.LittleEndian.Uint64(b[off:]))
		return m, off + 8
	}
	v, k := binary.Varint(b[off:])
	m.Score = float64(v)
	return m, off + k
}

// The forms of a score in a zpack.
const (
	scoreInt = iota
	scoreFloat32
	scoreFloat64
)

func scoreForm(s float64) uint64 {
	switch {
	case s == math.Trunc(s) && math.Abs(s) < 1<<53:
		return scoreInt
	case float64(float32(s)) == s:
		return scoreFloat32
	}
	return scoreFloat64
}

func appendZMember(b []byte, m ZMember) []byte {
	form := scoreForm(m.Score)
	b = binary.AppendUvarint(b, uint64(len(m.Member))<<2|form)
	b = append(b, m.Member...)
	switch form {
	case scoreInt:
		return binary.AppendVarint(b, int64(m.Score))
	case scoreFloat32:
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(m.Score)))
	}
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(m.Score))
}

// each yields every member in order with its rank and its body offsets.
func (z zpack) each(yield func(rank int, m ZMember, off, end int) bool) {
	b := z.body()
	for off, r := 0, 0; off < len(b); r++ {
		m, end := decodeZMember(b, off)
		if !yield(r, m, off, end) {
			return
		}
		off = end
	}
}

// find is member's rank, entry and offsets, or rank -1.
func (z zpack) find(member []byte) (rank int, m ZMember, off, end int) {
	rank = -1
	z.each(func(r int, x ZMember, o, e int) bool {
		if string(x.Member) == string(member) {
			rank, m, off, end = r, x, o, e
			return false
		}
		return true
	})
	return rank, m, off, end
}

// firstWhere is the rank of the first member pred holds for (pred is
// false then true along the order), Len() when none.
func (z zpack) firstWhere(pred func(*ZMember) bool) int {
	at := z.Len()
	z.each(func(r int, m ZMember, _, _ int) bool {
		if pred(&m) {
			at = r
			return false
		}
		return true
	})
	return at
}

// without returns the set less the body bytes [off, end) of n members.
func (z zpack) without(off, end, n int) zpack {
	b := z.body()
	return zpack{buildPacked(z.Len()-n, b[:off], b[end:])}
}

// with returns the set plus m, which must not be in it.
func (z zpack) with(m ZMember) zpack {
	b := z.body()
	at := len(b)
	z.each(func(_ int, x ZMember, off, _ int) bool {
		if zcmp(x.Score, x.Member, m.Score, m.Member) > 0 {
			at = off
			return false
		}
		return true
	})
	var buf [64]byte
	entry := appendZMember(buf[:0], m)
	return zpack{buildPacked(z.Len()+1, b[:at], entry, b[at:])}
}

// offsetOf is the body offset of rank r (the body's length for Len()).
func (z zpack) offsetOf(r int) int {
	at := len(z.body())
	z.each(func(rank int, _ ZMember, off, _ int) bool {
		if rank == r {
			at = off
			return false
		}
		return true
	})
	return at
}
