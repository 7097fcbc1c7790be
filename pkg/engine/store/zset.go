package store

import (
	"bytes"
	"iter"
	"slices"
	"unsafe"
)

// ZMember is one sorted-set element.
type ZMember struct {
	Member []byte
	Score  float64
}

// ZSet is a sorted set. While it has at most zset-max-listpack-entries
// members, none longer than zset-max-listpack-value, it is a zpack (one
// byte buffer, zset_pack.go), as Redis keeps it in a listpack; past a
// limit it becomes a member->score map plus a zTree ordering the members by
// (score, member), which answers rank and range queries in O(log n), one
// way: it stays so after shrinking, as Redis's skiplist encoding does.
type ZSet struct {
	pack zpack
	big  *zBig // nil while compact
}

type zBig struct {
	scores map[string]float64 // the map key and the tree entry share the member's bytes
	tree   zTree
}

// NewZSet returns an empty sorted set in its tree form (a compact one is
// &ZSet{}, which Add keeps within the limits it is given).
func NewZSet() *ZSet { return &ZSet{big: &zBig{scores: map[string]float64{}}} }

// Compact reports whether z is in its listpack-like form.
func (z *ZSet) Compact() bool { return z.big == nil }

// Len is the number of members.
func (z *ZSet) Len() int {
	if z.big != nil {
		return z.big.tree.n
	}
	return z.pack.Len()
}

// Score returns member's score.
func (z *ZSet) Score(member []byte) (float64, bool) {
	if z.big != nil {
		s, ok := z.big.scores[string(member)]
		return s, ok
	}
	r, m, _, _ := z.pack.find(member)
	return m.Score, r >= 0
}

// Add sets member's score and reports whether the member is new. As
// Redis's zsetAdd, a new member that would pass lim (nil: no compact form)
// turns the set into its tree form first.
func (z *ZSet) Add(member []byte, score float64, lim *EncodingLimits) bool {
	if score == 0 {
		// a stored -0 reads back as 0 in Redis (its compact encoding keeps
		// scores as text), though the reply of ZINCRBY -0 itself is "-0"
		score = 0
	}
	if z.big == nil {
		r, old, off, end := z.pack.find(member)
		if r >= 0 {
			if old.Score != score {
				z.pack = z.pack.without(off, end, 1).with(ZMember{Member: member, Score: score})
			}
			return false
		}
		if lim != nil && z.pack.Len() < lim.ZSetEntries && len(member) <= lim.ZSetValue {
			z.pack = z.pack.with(ZMember{Member: member, Score: score})
			return true
		}
		z.convert()
	}
	return z.big.add(member, score)
}

func (z *ZSet) convert() {
	big := &zBig{scores: make(map[string]float64, z.pack.Len()+1)}
	for m := range z.All() {
		big.add(m.Member, m.Score)
	}
	z.big, z.pack = big, zpack{}
}

func (b *zBig) add(member []byte, score float64) bool {
	old, exists := b.scores[string(member)]
	if exists {
		if old == score {
			return false
		}
		m, _ := b.tree.delete(old, member)
		b.scores[string(member)] = score
		b.tree.insert(ZMember{Member: m.Member, Score: score})
		return false
	}
	key := string(member)
	b.scores[key] = score
	b.tree.insert(ZMember{Member: stringBytes(key), Score: score})
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
	if z.big == nil {
		r, _, off, end := z.pack.find(member)
		if r >= 0 {
			z.pack = z.pack.without(off, end, 1)
		}
		return r >= 0
	}
	s, ok := z.big.scores[string(member)]
	if !ok {
		return false
	}
	delete(z.big.scores, string(member))
	z.big.tree.delete(s, member)
	return true
}

// Rank returns member's 0-based rank in ascending order.
func (z *ZSet) Rank(member []byte) (int, bool) {
	if z.big == nil {
		r, _, _, _ := z.pack.find(member)
		return max(r, 0), r >= 0
	}
	s, ok := z.big.scores[string(member)]
	if !ok {
		return 0, false
	}
	return z.big.tree.rank(s, member), true
}

// At returns the member of rank r (0 <= r < Len()).
func (z *ZSet) At(r int) ZMember {
	if z.big != nil {
		return z.big.tree.at(r)
	}
	m, _ := decodeZMember(z.pack.body(), z.pack.offsetOf(r))
	return m
}

// Ascend yields the members from rank from (0 <= from) upwards.
func (z *ZSet) Ascend(from int) iter.Seq[ZMember] {
	return func(yield func(ZMember) bool) {
		if z.big == nil {
			z.pack.each(func(r int, m ZMember, _, _ int) bool { return r < from || yield(m) })
			return
		}
		if from < z.big.tree.n {
			z.big.tree.root.ascend(from, yield)
		}
	}
}

// Descend yields the members from rank from (< Len()) downwards.
func (z *ZSet) Descend(from int) iter.Seq[ZMember] {
	return func(yield func(ZMember) bool) {
		if from < 0 || z.Len() == 0 {
			return
		}
		if z.big == nil {
			all := slices.Collect(z.Ascend(0)) // small: within the listpack limits
			for r := min(from, len(all)-1); r >= 0; r-- {
				if !yield(all[r]) {
					return
				}
			}
			return
		}
		z.big.tree.root.descend(min(from, z.big.tree.n-1), yield)
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

// firstWhere is the rank of the first member pred holds for.
func (z *ZSet) firstWhere(pred func(*ZMember) bool) int {
	if z.big == nil {
		return z.pack.firstWhere(pred)
	}
	return z.big.tree.firstWhere(pred)
}

// ScoreBound is one end of a score interval; Exclusive for "(" bounds.
type ScoreBound struct {
	Value     float64
	Exclusive bool
}

// FirstAbove is the rank of the first member with score above (or at) min.
func (z *ZSet) FirstAbove(min ScoreBound) int {
	if min.Exclusive {
		return z.firstWhere(func(m *ZMember) bool { return m.Score > min.Value })
	}
	return z.firstWhere(func(m *ZMember) bool { return m.Score >= min.Value })
}

// LastBelow is one past the rank of the last member with score below (or at) max.
func (z *ZSet) LastBelow(max ScoreBound) int {
	if max.Exclusive {
		return z.firstWhere(func(m *ZMember) bool { return m.Score >= max.Value })
	}
	return z.firstWhere(func(m *ZMember) bool { return m.Score > max.Value })
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
	from := z.firstWhere(func(m *ZMember) bool {
		switch lo.Inf {
		case -1:
			return true
		case 1:
			return false
		}
		c := bytes.Compare(m.Member, lo.Value)
		return c > 0 || c == 0 && !lo.Exclusive
	})
	to := z.firstWhere(func(m *ZMember) bool {
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
	to = min(to, z.Len())
	if from >= to {
		return 0
	}
	if z.big == nil {
		z.pack = z.pack.without(z.pack.offsetOf(from), z.pack.offsetOf(to), to-from)
		return to - from
	}
	var buf [zNodeMax]ZMember // one leaf's worth: removeRun stays within a leaf
	removed := 0
	for removed < to-from {
		run := z.big.tree.removeRun(from, to-from-removed, buf[:0])
		z.big.forget(run)
		removed += len(run)
	}
	return removed
}

// forget drops removed tree entries from the member map.
func (b *zBig) forget(removed []ZMember) {
	for _, m := range removed {
		delete(b.scores, unsafe.String(unsafe.SliceData(m.Member), len(m.Member)))
	}
}

// PopEnd removes and returns the n lowest members (lowest set) or the n
// highest, in the order they are popped.
func (z *ZSet) PopEnd(n int, lowest bool) []ZMember {
	n = min(n, z.Len())
	if n <= 0 {
		return nil
	}
	from := 0
	if !lowest {
		from = z.Len() - n
	}
	if z.big == nil {
		out := z.Slice(from, from+n, !lowest)
		z.RemoveRange(from, from+n)
		return out
	}
	// the tree hands the removed entries over in ascending order, a leaf
	// at a time, with no copy of the rest and no callback
	out := make([]ZMember, 0, n)
	for len(out) < n {
		k := len(out)
		out = z.big.tree.removeRun(from, n-k, out)
		z.big.forget(out[k:])
	}
	if !lowest {
		slices.Reverse(out)
	}
	return out
}
