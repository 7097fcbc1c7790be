package slots

import (
	"math/bits"
	"strings"
)

// Set is a set of slots, stored as a bitmap.
type Set struct{ words [Count / 64]uint64 }

// SetOf returns a set holding the given slots.
func SetOf(ss ...int) *Set {
	s := &Set{}
	for _, x := range ss {
		s.Add(x)
	}
	return s
}

// Add puts slot x in the set.
func (s *Set) Add(x int) { s.words[x>>6] |= 1 << (x & 63) }

// AddRange puts every slot of r in the set.
func (s *Set) AddRange(r Range) {
	for x := r.Start; x <= r.End; x++ {
		s.Add(x)
	}
}

// Remove takes slot x out of the set.
func (s *Set) Remove(x int) { s.words[x>>6] &^= 1 << (x & 63) }

// Has reports whether x is in the set.
func (s *Set) Has(x int) bool { return s != nil && Valid(x) && s.words[x>>6]&(1<<(x&63)) != 0 }

// Len is the number of slots in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	n := 0
	for _, w := range s.words {
		n += bits.OnesCount64(w)
	}
	return n
}

// Equal reports whether both sets hold the same slots.
func (s *Set) Equal(o *Set) bool {
	if s == nil || o == nil {
		return s.Len() == 0 && o.Len() == 0
	}
	return s.words == o.words
}

// Slots lists the slots in ascending order.
func (s *Set) Slots() []int {
	if s == nil {
		return nil
	}
	out := make([]int, 0, s.Len())
	for i, w := range s.words {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			out = append(out, i*64+b)
			w &^= 1 << b
		}
	}
	return out
}

// Ranges returns the set as sorted, maximal ranges. It walks the bitmap a
// word at a time: cluster views are compared by their ranges many times
// while waiting for convergence.
func (s *Set) Ranges() []Range {
	var out []Range
	if s == nil {
		return out
	}
	for x := 0; x < Count; {
		start := s.next(x, false)
		if start == Count {
			break
		}
		x = s.next(start, true)
		out = append(out, Range{start, x - 1})
	}
	return out
}

// next returns the first slot from x on that is in the set (or, with
// inverted, that is not in it), or Count when there is none.
func (s *Set) next(x int, inverted bool) int {
	for x < Count {
		w := s.words[x>>6]
		if inverted {
			w = ^w
		}
		if w >>= x & 63; w != 0 {
			return x + bits.TrailingZeros64(w)
		}
		x = (x | 63) + 1 // nothing more in this word
	}
	return Count
}

// String formats the set like redis-cli: "0-5460,5462".
func (s *Set) String() string {
	rs := s.Ranges()
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}
