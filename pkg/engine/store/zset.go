package store

import (
	"bytes"
	"iter"
	"unsafe"
)

// ZMember is one sorted-set element.
type ZMember struct {
	Member []byte
	Score  float64
}

// ZSet is a sorted set: a member->score map plus a zTree ordering the
// members by (score, member), which answers rank and range queries in
// O(log n). The map key and the tree entry share the member's bytes.
type ZSet struct {
	scores map[string]float64
	tree   zTree
}

// NewZSet returns an empty sorted set.
func NewZSet() *ZSet { return &ZSet{scores: map[string]float64{}} }

// Len is the number of members.
func (z *ZSet) Len() int { return z.tree.n }

// Score returns member's score.
func (z *ZSet) Score(member []byte) (float64, bool) {
	s, ok := z.scores[string(member)]
	return s, ok
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
		m, _ := z.tree.delete(old, member)
		z.scores[string(member)] = score
		z.tree.insert(ZMember{Member: m.Member, Score: score})
		return false
	}
	key := string(member)
	z.scores[key] = score
	z.tree.insert(ZMember{Member: stringBytes(key), Score: score})
	return true
}

// stringBytes views s as bytes without copying; the bytes must never be
// written, which holds for members: nothing edits a member in place.
func stringBytes(s string) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// Remove deletes member and reports whether it was present.
func (z *ZSet) Remove(member []byte) bool {
	s, ok := z.scores[string(member)]
	if !ok {
		return false
	}
	delete(z.scores, string(member))
	z.tree.delete(s, member)
	return true
}

// Rank returns member's 0-based rank in ascending order.
func (z *ZSet) Rank(member []byte) (int, bool) {
	s, ok := z.scores[string(member)]
	if !ok {
		return 0, false
	}
	return z.tree.rank(s, member), true
}

// At returns the member of rank r (0 <= r < Len()).
func (z *ZSet) At(r int) ZMember { return z.tree.at(r) }

// Ascend yields the members from rank from (0 <= from) upwards.
func (z *ZSet) Ascend(from int) iter.Seq[ZMember] {
	return func(yield func(ZMember) bool) {
		if from < z.tree.n {
			z.tree.root.ascend(from, yield)
		}
	}
}

// Descend yields the members from rank from (< Len()) downwards.
func (z *ZSet) Descend(from int) iter.Seq[ZMember] {
	return func(yield func(ZMember) bool) {
		if from >= 0 && z.tree.n > 0 {
			z.tree.root.descend(min(from, z.tree.n-1), yield)
		}
	}
}

// All yields every member in ascending order.
func (z *ZSet) All() iter.Seq[ZMember] { return z.Ascend(0) }

// Slice copies the members with rank in [from, to), in descending order
// when rev is set.
func (z *ZSet) Slice(from, to int, rev bool) []ZMember {
	if from >= to {
		return nil
	}
	out := make([]ZMember, 0, to-from)
	seq := z.Ascend(from)
	if rev {
		seq = z.Descend(to - 1)
	}
	for m := range seq {
		if len(out) == to-from {
			break
		}
		out = append(out, m)
	}
	return out
}

// ScoreBound is one end of a score interval; Exclusive for "(" bounds.
type ScoreBound struct {
	Value     float64
	Exclusive bool
}

// FirstAbove is the rank of the first member with score above (or at) min.
func (z *ZSet) FirstAbove(min ScoreBound) int {
	if min.Exclusive {
		return z.tree.firstWhere(func(m *ZMember) bool { return m.Score > min.Value })
	}
	return z.tree.firstWhere(func(m *ZMember) bool { return m.Score >= min.Value })
}

// LastBelow is one past the rank of the last member with score below (or at) max.
func (z *ZSet) LastBelow(max ScoreBound) int {
	if max.Exclusive {
		return z.tree.firstWhere(func(m *ZMember) bool { return m.Score >= max.Value })
	}
	return z.tree.firstWhere(func(m *ZMember) bool { return m.Score > max.Value })
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
	from := z.tree.firstWhere(func(m *ZMember) bool {
		switch lo.Inf {
		case -1:
			return true
		case 1:
			return false
		}
		c := bytes.Compare(m.Member, lo.Value)
		return c > 0 || c == 0 && !lo.Exclusive
	})
	to := z.tree.firstWhere(func(m *ZMember) bool {
		switch hi.Inf {
		case -1:
			return true
		case 1:
			return false
		}
		c := bytes.Compare(m.Member, hi.Value)
		return c > 0 || c == 0 && hi.Exclusive
	})
	return from, max(from, to)
}

// RemoveRange deletes members with rank in [from, to), a leaf at a time.
func (z *ZSet) RemoveRange(from, to int) int {
	to = min(to, z.tree.n)
	removed := 0
	for removed < to-from {
		removed += z.tree.removeRun(from, to-from-removed, func(m ZMember) {
			delete(z.scores, unsafe.String(unsafe.SliceData(m.Member), len(m.Member)))
		})
	}
	return removed
}

// PopEnd removes and returns the n lowest members (lowest set) or the n
// highest, in the order they are popped.
func (z *ZSet) PopEnd(n int, lowest bool) []ZMember {
	n = min(n, z.Len())
	if lowest {
		out := z.Slice(0, n, false)
		z.RemoveRange(0, n)
		return out
	}
	out := z.Slice(z.Len()-n, z.Len(), true)
	z.RemoveRange(z.Len()-n, z.Len())
	return out
}
