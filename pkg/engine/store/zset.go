package store

import (
	"bytes"
	"sort"
)

// ZMember is one sorted-set element.
type ZMember struct {
	Member []byte
	Score  float64
}

// ZSet is a sorted set: a member->score map plus members kept sorted by
// (score, member) in a slice, which gives rank queries by index. Inserts are
// O(n) memmoves, fast enough for the sizes a cluster test node holds.
type ZSet struct {
	scores map[string]float64
	sorted []ZMember
}

// NewZSet returns an empty sorted set.
func NewZSet() *ZSet { return &ZSet{scores: map[string]float64{}} }

// Len is the number of members.
func (z *ZSet) Len() int { return len(z.sorted) }

// Score returns member's score.
func (z *ZSet) Score(member []byte) (float64, bool) {
	s, ok := z.scores[string(member)]
	return s, ok
}

func less(as float64, am []byte, bs float64, bm []byte) bool {
	if as != bs {
		return as < bs
	}
	return bytes.Compare(am, bm) < 0
}

// find returns the index where (score, member) is or would be.
func (z *ZSet) find(score float64, member []byte) int {
	return sort.Search(len(z.sorted), func(i int) bool {
		e := &z.sorted[i]
		return !less(e.Score, e.Member, score, member)
	})
}

// Add sets member's score and reports whether the member is new.
func (z *ZSet) Add(member []byte, score float64) bool {
	if score == 0 {
		// a stored -0 reads back as 0 in Redis (its compact encoding keeps
		// scores as text), though the reply of ZINCRBY -0 itself is "-0"
		score = 0
	}
	old, exists := z.scores[string(member)]
	if exists {
		if old == score {
			return false
		}
		z.removeSorted(old, member)
	}
	m := append([]byte(nil), member...)
	z.scores[string(m)] = score
	i := z.find(score, m)
	z.sorted = append(z.sorted, ZMember{})
	copy(z.sorted[i+1:], z.sorted[i:])
	z.sorted[i] = ZMember{Member: m, Score: score}
	return !exists
}

func (z *ZSet) removeSorted(score float64, member []byte) {
	i := z.find(score, member)
	if i < len(z.sorted) && bytes.Equal(z.sorted[i].Member, member) {
		z.cut(i, i+1)
	}
}

// cut removes ranks [from, to). Removing from the front (ZPOPMIN, the
// lowest ranks) moves the slice's start instead of copying what is left,
// so popping stays O(1) however large the set.
func (z *ZSet) cut(from, to int) {
	if from == 0 {
		clear(z.sorted[:to]) // let the popped members be collected
		z.sorted = z.sorted[to:]
		return
	}
	z.sorted = append(z.sorted[:from], z.sorted[to:]...)
}

// Remove deletes member and reports whether it was present.
func (z *ZSet) Remove(member []byte) bool {
	s, ok := z.scores[string(member)]
	if !ok {
		return false
	}
	delete(z.scores, string(member))
	z.removeSorted(s, member)
	return true
}

// Rank returns member's 0-based rank in ascending order.
func (z *ZSet) Rank(member []byte) (int, bool) {
	s, ok := z.scores[string(member)]
	if !ok {
		return 0, false
	}
	return z.find(s, member), true
}

// Range returns members with rank in [start, stop] (clamped by the caller).
func (z *ZSet) Range(start, stop int) []ZMember { return z.sorted[start : stop+1] }

// All returns every member in ascending order (shares memory).
func (z *ZSet) All() []ZMember { return z.sorted }

// ScoreBound is one end of a score interval; Exclusive for "(" bounds.
type ScoreBound struct {
	Value     float64
	Exclusive bool
}

// FirstAbove is the rank of the first member with score above (or at) min.
func (z *ZSet) FirstAbove(min ScoreBound) int {
	return sort.Search(len(z.sorted), func(i int) bool {
		s := z.sorted[i].Score
		if min.Exclusive {
			return s > min.Value
		}
		return s >= min.Value
	})
}

// LastBelow is one past the rank of the last member with score below (or at) max.
func (z *ZSet) LastBelow(max ScoreBound) int {
	return sort.Search(len(z.sorted), func(i int) bool {
		s := z.sorted[i].Score
		if max.Exclusive {
			return s >= max.Value
		}
		return s > max.Value
	})
}

// LexBound is one end of a lexicographic interval: "-" / "+" are infinite.
type LexBound struct {
	Value     []byte
	Exclusive bool
	Inf       int // -1 for "-", +1 for "+", 0 otherwise
}

// LexRange returns the rank interval [from, to) of members within the lex
// bounds; meaningful when all members share one score, as in Redis.
func (z *ZSet) LexRange(lo, hi LexBound) (int, int) {
	from := sort.Search(len(z.sorted), func(i int) bool {
		switch lo.Inf {
		case -1:
			return true
		case 1:
			return false
		}
		c := bytes.Compare(z.sorted[i].Member, lo.Value)
		return c > 0 || c == 0 && !lo.Exclusive
	})
	to := sort.Search(len(z.sorted), func(i int) bool {
		switch hi.Inf {
		case -1:
			return true
		case 1:
			return false
		}
		c := bytes.Compare(z.sorted[i].Member, hi.Value)
		return c > 0 || c == 0 && hi.Exclusive
	})
	return from, max(from, to)
}

// RemoveRange deletes members with rank in [from, to).
func (z *ZSet) RemoveRange(from, to int) int {
	if from >= to {
		return 0
	}
	for _, m := range z.sorted[from:to] {
		delete(z.scores, string(m.Member))
	}
	z.cut(from, to)
	return to - from
}
