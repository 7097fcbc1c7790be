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
	var out []int
	if s == nil {
		return out
	}
	for i, w := range s.words {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			out = append(out, i*64+b)
			w &^= 1 << b
		}
	}
	return out
}

// Ranges returns the set as sorted, maximal ranges.
func (s *Set) Ranges() []Range {
	var out []Range
	for _, x := range s.Slots() {
		if n := len(out); n > 0 && out[n-1].End == x-1 {
			out[n-1].End = x
		} else {
			out = append(out, Range{x, x})
		}
	}
	return out
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
