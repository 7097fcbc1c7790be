package store

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// zModel is the reference: members kept in a plainly sorted slice, plus a
// map to find a member's score.
type zModel struct {
	sorted []ZMember
	scores map[string]float64
}

func (m *zModel) cmpAt(i int, score float64, member []byte) int {
	return zcmp(m.sorted[i].Score, m.sorted[i].Member, score, member)
}

// find is member's index in sorted, or -1.
func (m *zModel) find(member []byte) int {
	s, ok := m.scores[string(member)]
	if !ok {
		return -1
	}
	i, _ := slices.BinarySearchFunc(m.sorted, ZMember{Member: member, Score: s}, func(a, b ZMember) int {
		return zcmp(a.Score, a.Member, b.Score, b.Member)
	})
	return i
}

func (m *zModel) remove(i int) {
	delete(m.scores, string(m.sorted[i].Member))
	m.sorted = slices.Delete(m.sorted, i, i+1)
}

func (m *zModel) removeRange(from, to int) {
	for _, x := range m.sorted[from:to] {
		delete(m.scores, string(x.Member))
	}
	m.sorted = slices.Delete(m.sorted, from, to)
}

func (m *zModel) add(member []byte, score float64) {
	if m.scores == nil {
		m.scores = map[string]float64{}
	}
	if i := m.find(member); i >= 0 {
		m.remove(i)
	}
	score += 0 // -0 is stored as 0
	i, _ := slices.BinarySearchFunc(m.sorted, ZMember{Member: member, Score: score}, func(a, b ZMember) int {
		return zcmp(a.Score, a.Member, b.Score, b.Member)
	})
	m.sorted = slices.Insert(m.sorted, i, ZMember{Member: slices.Clone(member), Score: score})
	m.scores[string(member)] = score
}

// firstWhere is a linear scan, independent of the tree's descent.
func (m *zModel) firstWhere(pred func(*ZMember) bool) int {
	for i := range m.sorted {
		if pred(&m.sorted[i]) {
			return i
		}
	}
	return len(m.sorted)
}

// checkTree verifies the B+tree's invariants: counts, order, separators,
// node fill and uniform leaf depth.
func checkTree(t *testing.T, tr *zTree) {
	t.Helper()
	if tr.root == nil {
		return
	}
	leafDepth := -1
	var prev *ZMember
	var walk func(n *zNode, depth int, lo, hi *ZMember, isRoot bool) int
	walk = func(n *zNode, depth int, lo, hi *ZMember, isRoot bool) int {
		if !isRoot && (n.width() < zNodeMin || n.width() > zNodeMax) {
			t.Fatalf("node width %d outside [%d, %d]", n.width(), zNodeMin, zNodeMax)
		}
		if n.leaf() {
			if leafDepth == -1 {
				leafDepth = depth
			} else if leafDepth != depth {
				t.Fatalf("leaves at depths %d and %d", leafDepth, depth)
			}
			for i := range n.items {
				it := &n.items[i]
				if prev != nil && zcmp(prev.Score, prev.Member, it.Score, it.Member) >= 0 {
					t.Fatalf("order broken at %q", it.Member)
				}
				if lo != nil && zcmp(it.Score, it.Member, lo.Score, lo.Member) < 0 ||
					hi != nil && zcmp(it.Score, it.Member, hi.Score, hi.Member) >= 0 {
					t.Fatalf("member %q outside its separators", it.Member)
				}
				prev = it
			}
			return len(n.items)
		}
		if len(n.keys) != len(n.kids)-1 || len(n.sizes) != len(n.kids) || isRoot && len(n.kids) < 2 {
			t.Fatalf("inner node with %d keys, %d kids, %d sizes", len(n.keys), len(n.kids), len(n.sizes))
		}
		total := 0
		for i, kid := range n.kids {
			klo, khi := lo, hi
			if i > 0 {
				klo = &n.keys[i-1]
			}
			if i < len(n.keys) {
				khi = &n.keys[i]
			}
			if got := walk(kid, depth+1, klo, khi, false); got != n.sizes[i] {
				t.Fatalf("child %d holds %d members, counted %d", i, got, n.sizes[i])
			}
			total += n.sizes[i]
		}
		return total
	}
	if got := walk(tr.root, 0, nil, nil, true); got != tr.n {
		t.Fatalf("tree holds %d members, counted %d", got, tr.n)
	}
}

func sameMembers(t *testing.T, what string, got, want []ZMember) {
	t.Helper()
	if !slices.EqualFunc(got, want, func(a, b ZMember) bool {
		return bytes.Equal(a.Member, b.Member) && a.Score == b.Score
	}) {
		t.Fatalf("%s: got %d members %v, want %d %v", what, len(got), got, len(want), want)
	}
}

// TestZSetAgainstModel runs random operations on a ZSet and on the sorted
// slice model and compares every answer, for sets that grow past several
// tree levels and shrink back to nothing, and for compact sets (zpack)
// that stay within their limits.
func TestZSetAgainstModel(t *testing.T) {
	tree := zsetModelCase{mk: NewZSet, pool: 20000, steps: 120000, growing: 70000, peak: 10000}
	compact := zsetModelCase{mk: func() *ZSet { return &ZSet{} }, lim: &EncodingLimits{ZSetEntries: 1000, ZSetValue: 64},
		pool: 400, steps: 30000, growing: 15000, peak: 150}
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("tree ", seed), func(t *testing.T) { tree.run(t, seed) })
		t.Run(fmt.Sprint("compact ", seed), func(t *testing.T) { compact.run(t, seed) })
	}
}

type zsetModelCase struct {
	mk                         func() *ZSet
	lim                        *EncodingLimits
	pool, steps, growing, peak int
}

func (c zsetModelCase) run(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	z, model := c.mk(), &zModel{}
	pool := c.pool
	member := func() []byte { return fmt.Appendf(nil, "m%d", rng.IntN(pool)) }
	score := func() float64 {
		if c.lim != nil { // every form a zpack keeps a score in
			switch rng.IntN(8) {
			case 0:
				return rng.Float64() * 1e3
			case 1:
				return math.Inf(rng.IntN(2)*2 - 1)
			case 2:
				return float64(rng.Int64())
			}
		}
		return float64(rng.IntN(50)-25) / 2 // many ties, and -0
	}
	hot, maxLen := 0, 0
	for step := range c.steps {
		if step%3000 == 0 {
			hot = rng.IntN(pool)
		}
		// grow for a while, then mostly shrink
		growing := step < c.growing
		op := rng.IntN(100)
		if growing && op >= 55 && op < 78 && rng.IntN(5) > 0 {
			op = 0 // most deletes become inserts while growing
		}
		switch {
		case op < 55 && growing || op < 20:
			m, s := member(), score()
			isNew := model.find(m) < 0
			if got := z.Add(m, s, c.lim); got != isNew {
				t.Fatalf("Add(%s) new=%v, want %v", m, got, isNew)
			}
			model.add(m, s)
		case op < 62:
			// deletes clustered around one rank drain a few nodes
			// while their neighbours stay full, so nodes borrow
			if len(model.sorted) > 0 {
				i := hot % len(model.sorted)
				if !z.Remove(model.sorted[i].Member) {
					t.Fatalf("Remove(%s) missed", model.sorted[i].Member)
				}
				model.remove(i)
			}
		case op < 70:
			m := member()
			i := model.find(m)
			if got := z.Remove(m); got != (i >= 0) {
				t.Fatalf("Remove(%s) = %v", m, got)
			}
			if i >= 0 {
				model.remove(i)
			}
		case op < 75 && len(model.sorted) > 0:
			from := rng.IntN(len(model.sorted))
			to := min(len(model.sorted), from+rng.IntN(20))
			if got := z.RemoveRange(from, to); got != to-from {
				t.Fatalf("RemoveRange(%d, %d) = %d", from, to, got)
			}
			model.removeRange(from, to)
		case op < 78:
			n, lowest := rng.IntN(10), rng.IntN(2) == 0
			n = min(n, len(model.sorted))
			want := slices.Clone(model.sorted[:n])
			if !lowest {
				want = slices.Clone(model.sorted[len(model.sorted)-n:])
				slices.Reverse(want)
			}
			sameMembers(t, "PopEnd", z.PopEnd(n, lowest), want)
			if lowest {
				model.removeRange(0, n)
			} else {
				model.removeRange(len(model.sorted)-n, len(model.sorted))
			}
		case op < 88:
			m := member()
			i := model.find(m)
			if r, ok := z.Rank(m); ok != (i >= 0) || ok && r != i {
				t.Fatalf("Rank(%s) = %d %v, want %d", m, r, ok, i)
			}
			if s, ok := z.Score(m); ok && s != model.sorted[i].Score {
				t.Fatalf("Score(%s) = %v", m, s)
			}
			if len(model.sorted) > 0 {
				r := rng.IntN(len(model.sorted))
				sameMembers(t, "At", []ZMember{z.At(r)}, model.sorted[r:r+1])
			}
		case op < 94:
			lo := ScoreBound{Value: score(), Exclusive: rng.IntN(2) == 0}
			hi := ScoreBound{Value: score(), Exclusive: rng.IntN(2) == 0}
			from, to := z.FirstAbove(lo), z.LastBelow(hi)
			wantFrom := model.firstWhere(func(m *ZMember) bool {
				return m.Score > lo.Value || !lo.Exclusive && m.Score == lo.Value
			})
			wantTo := model.firstWhere(func(m *ZMember) bool {
				return m.Score > hi.Value || hi.Exclusive && m.Score == hi.Value
			})
			if from != wantFrom || to != wantTo {
				t.Fatalf("score range %v..%v = [%d, %d), want [%d, %d)", lo, hi, from, to, wantFrom, wantTo)
			}
		default:
			if len(model.sorted) == 0 {
				continue
			}
			from, n := rng.IntN(len(model.sorted)), rng.IntN(300)
			to := min(len(model.sorted), from+n)
			sameMembers(t, "Slice", z.Slice(from, to, false), model.sorted[from:to])
			rev := slices.Clone(model.sorted[from:to])
			slices.Reverse(rev)
			sameMembers(t, "Slice rev", z.Slice(from, to, true), rev)
		}
		if z.Len() != len(model.sorted) {
			t.Fatalf("step %d: Len %d, model %d", step, z.Len(), len(model.sorted))
		}
		maxLen = max(maxLen, z.Len())
		if step%5000 == 0 {
			c.check(t, z, model)
		}
	}
	if maxLen < c.peak {
		t.Fatalf("the set peaked at %d members, below %d", maxLen, c.peak)
	}
	c.check(t, z, model)
	z.RemoveRange(0, z.Len())
	if z.Len() != 0 {
		t.Fatalf("after clearing: Len %d", z.Len())
	}
	c.check(t, z, &zModel{})
}

// check compares the whole set with the model, and the form it is in.
func (c zsetModelCase) check(t *testing.T, z *ZSet, model *zModel) {
	t.Helper()
	sameMembers(t, "All", slices.Collect(z.All()), model.sorted)
	if c.lim != nil {
		if !z.Compact() {
			t.Fatal("a set within its limits left its compact form")
		}
		return
	}
	checkTree(t, &z.big.tree)
	if len(z.big.scores) != len(model.sorted) {
		t.Fatalf("score map holds %d members, model %d", len(z.big.scores), len(model.sorted))
	}
}

// TestZSetLexRangeAgainstModel checks lex intervals on a set where every
// member has the same score, the only case Redis defines them for.
func TestZSetLexRangeAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	z, model := NewZSet(), &zModel{}
	word := func() []byte {
		b := make([]byte, rng.IntN(4))
		for i := range b {
			b[i] = byte('a' + rng.IntN(4))
		}
		return b
	}
	for range 3000 {
		m := word()
		if rng.IntN(4) == 0 {
			m = fmt.Appendf(m, "%d", rng.IntN(1000))
		}
		z.Add(m, 0, nil)
		model.add(m, 0)
	}
	bound := func() LexBound {
		switch rng.IntN(8) {
		case 0:
			return LexBound{Inf: -1}
		case 1:
			return LexBound{Inf: 1}
		}
		return LexBound{Value: word(), Exclusive: rng.IntN(2) == 0}
	}
	above := func(b LexBound, m []byte, exclusiveMeansAbove bool) bool {
		if b.Inf != 0 {
			return b.Inf < 0
		}
		c := bytes.Compare(m, b.Value)
		return c > 0 || c == 0 && b.Exclusive != exclusiveMeansAbove
	}
	for range 2000 {
		lo, hi := bound(), bound()
		from, to := z.LexRange(lo, hi)
		wantFrom := model.firstWhere(func(m *ZMember) bool { return above(lo, m.Member, true) })
		wantTo := max(wantFrom, model.firstWhere(func(m *ZMember) bool { return above(hi, m.Member, false) }))
		if from != wantFrom || to != wantTo {
			t.Fatalf("lex %+v..%+v = [%d, %d), want [%d, %d)", lo, hi, from, to, wantFrom, wantTo)
		}
	}
}

// TestZSetIterators checks Ascend and Descend from every rank, stopping
// early, and that -0 reads back as 0.
func TestZSetIterators(t *testing.T) {
	z := NewZSet()
	const n = 1000
	for i := range n {
		z.Add(fmt.Appendf(nil, "%04d", i), float64(i/3), nil)
	}
	z.Add([]byte("neg"), -1*0.0, nil)
	if s, _ := z.Score([]byte("neg")); s != 0 || 1/s < 0 {
		t.Fatalf("-0 stored as %v", s)
	}
	all := slices.Collect(z.All())
	for from := 0; from <= z.Len(); from += 7 {
		var got []ZMember
		for m := range z.Ascend(from) {
			if len(got) == 10 {
				break
			}
			got = append(got, m)
		}
		sameMembers(t, "Ascend", got, all[from:min(len(all), from+10)])
	}
	for from := z.Len() - 1; from >= 0; from -= 7 {
		var got []ZMember
		for m := range z.Descend(from) {
			if len(got) == 10 {
				break
			}
			got = append(got, m)
		}
		want := slices.Clone(all[max(0, from-9) : from+1])
		slices.Reverse(want)
		sameMembers(t, "Descend", got, want)
	}
	if got := slices.Collect(NewZSet().All()); len(got) != 0 {
		t.Fatal("empty set yields members")
	}
}

// TestZTreeBorrows drains one region of a tree whose other nodes are full,
// so that underfull nodes (leaves, then inner nodes) borrow from a
// neighbour instead of merging; random operations seldom get there.
func TestZTreeBorrows(t *testing.T) {
	z, model := NewZSet(), &zModel{}
	add := func(i int) {
		m := fmt.Appendf(nil, "%06d", i)
		z.Add(m, 1, nil)
		model.add(m, 1)
	}
	const n = 40000
	for i := 0; i < n; i += 2 { // in order: leaves half full
		add(i)
	}
	for i := 1; i < n; i += 2 { // fill them up, splitting a few
		if i%128 != 1 {
			add(i)
		}
	}
	checkTree(t, &z.big.tree)
	rng := rand.New(rand.NewPCG(5, 5))
	for round := range 4 {
		hot := rng.IntN(len(model.sorted))
		for range 400 { // single deletes drain a leaf
			i := hot % len(model.sorted)
			z.Remove(model.sorted[i].Member)
			model.remove(i)
		}
		for range 60 { // runs drain whole leaves and then inner nodes
			from := hot % len(model.sorted)
			to := min(from+100, len(model.sorted))
			z.RemoveRange(from, to)
			model.removeRange(from, to)
		}
		checkTree(t, &z.big.tree)
		sameMembers(t, fmt.Sprint("round ", round), slices.Collect(z.All()), model.sorted)
	}
}

// TestZTreeInnerBorrows builds a two-level tree where one inner node is
// nearly full, then drains its neighbour (on either side) until that
// neighbour must borrow children through the root's separator.
func TestZTreeInnerBorrows(t *testing.T) {
	// the drained node borrows from its right neighbour, or from its left
	// one when it is the root's last child
	for _, lastDrained := range []bool{false, true} {
		z, model := NewZSet(), &zModel{}
		add := func(score float64) {
			m := fmt.Appendf(nil, "m%v", score)
			z.Add(m, score, nil)
			model.add(m, score)
		}
		for i := range 5000 { // in order: leaves of 32, inner nodes of 32 leaves
			add(float64(i * 1000))
		}
		root := z.big.tree.root
		full, drained := 2, 1
		if lastDrained {
			full, drained = len(root.kids)-2, len(root.kids)-1
		}
		if len(root.kids) < 4 || root.kids[full].leaf() || len(root.kids[full].kids) != 32 {
			t.Fatalf("unexpected shape: %d root children", len(root.kids))
		}
		for _, leaf := range root.kids[full].kids[:31] { // split 31 leaves: 63 children
			base := leaf.items[0].Score
			for k := range 33 {
				add(base + float64(k) + 1)
			}
		}
		if got := len(root.kids[full].kids); got != 63 {
			t.Fatalf("filled node has %d children", got)
		}
		// drain until the node's width grows back: it borrowed
		for prev := 64; ; {
			width := len(z.big.tree.root.kids[drained].kids)
			if width > prev {
				break
			}
			prev = width
			from := 0
			for _, s := range z.big.tree.root.sizes[:drained] {
				from += s
			}
			z.RemoveRange(from, from+20)
			model.removeRange(from, from+20)
		}
		checkTree(t, &z.big.tree)
		sameMembers(t, "after borrowing", slices.Collect(z.All()), model.sorted)
	}
}
