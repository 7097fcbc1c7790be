package store

import (
	"bytes"
	"slices"
)

// zTree is an order-statistic B+tree of sorted-set members ordered by
// (score, member). Members live in the leaves; an inner node keeps one
// separator key between each pair of children and the member count of every
// child, so search, insert, delete, rank and select-by-rank are O(log n) and
// a run of k neighbours costs O(log n + k). Small flat nodes beat a skiplist
// in Go: fewer pointers for the GC to trace, fewer cache misses per level.
type zTree struct {
	root *zNode
	n    int
}

const (
	zNodeMax = 64           // leaf members or inner children per node
	zNodeMin = zNodeMax / 4 // below this a node borrows from or merges with a neighbour
)

type zNode struct {
	items []ZMember // leaf: the members, in order
	// inner: every member under kids[i] < keys[i] <= every member under
	// kids[i+1]. A separator may outlive the member it was copied from; it
	// still divides the two children correctly.
	keys  []ZMember
	kids  []*zNode
	sizes []int // inner: member count under kids[i]
}

func (n *zNode) leaf() bool { return n.kids == nil }

// width is the number of members (leaf) or children (inner) in the node.
func (n *zNode) width() int {
	if n.leaf() {
		return len(n.items)
	}
	return len(n.kids)
}

func zcmp(as float64, am []byte, bs float64, bm []byte) int {
	switch {
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return bytes.Compare(am, bm)
}

// childFor is the child of an inner node whose range holds (score, member):
// the number of separators <= it.
func (n *zNode) childFor(score float64, member []byte) int {
	lo, hi := 0, len(n.keys)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if k := &n.keys[mid]; zcmp(k.Score, k.Member, score, member) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// position is the index of the first leaf member >= (score, member).
func (n *zNode) position(score float64, member []byte) int {
	lo, hi := 0, len(n.items)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if it := &n.items[mid]; zcmp(it.Score, it.Member, score, member) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// childAt finds the child of an inner node that holds rank r and the rank
// of its first member.
func (n *zNode) childAt(r int) (int, int) {
	before := 0
	for i, s := range n.sizes {
		if r < before+s || i == len(n.sizes)-1 {
			return i, before
		}
		before += s
	}
	return 0, 0
}

// insert adds m, which must be absent.
func (t *zTree) insert(m ZMember) {
	if t.root == nil {
		t.root = &zNode{}
	}
	t.n++
	if sep, right, rightSize := t.root.insert(m); right != nil {
		t.root = &zNode{
			keys:  []ZMember{sep},
			kids:  []*zNode{t.root, right},
			sizes: []int{t.n - rightSize, rightSize},
		}
	}
}

// insert adds m under n; when n splits it returns the separator, the new
// right sibling and its member count.
func (n *zNode) insert(m ZMember) (ZMember, *zNode, int) {
	if n.leaf() {
		if len(n.items) < zNodeMax {
			n.items = slices.Insert(n.items, n.position(m.Score, m.Member), m)
			return ZMember{}, nil, 0
		}
		// split a full leaf before inserting, so neither half outgrows
		// its backing array
		half := zNodeMax / 2
		right := &zNode{items: make([]ZMember, zNodeMax-half, zNodeMax)}
		copy(right.items, n.items[half:])
		clear(n.items[half:])
		n.items = n.items[:half]
		if first := &right.items[0]; zcmp(m.Score, m.Member, first.Score, first.Member) < 0 {
			n.items = slices.Insert(n.items, n.position(m.Score, m.Member), m)
		} else {
			right.items = slices.Insert(right.items, right.position(m.Score, m.Member), m)
		}
		return right.items[0], right, len(right.items)
	}
	i := n.childFor(m.Score, m.Member)
	n.sizes[i]++
	sep, right, rightSize := n.kids[i].insert(m)
	if right == nil {
		return ZMember{}, nil, 0
	}
	n.keys = slices.Insert(n.keys, i, sep)
	n.kids = slices.Insert(n.kids, i+1, right)
	n.sizes[i] -= rightSize
	n.sizes = slices.Insert(n.sizes, i+1, rightSize)
	if len(n.kids) <= zNodeMax {
		return ZMember{}, nil, 0
	}
	half := len(n.kids) / 2
	up := n.keys[half-1]
	split := &zNode{
		keys:  append(make([]ZMember, 0, zNodeMax), n.keys[half:]...),
		kids:  append(make([]*zNode, 0, zNodeMax+1), n.kids[half:]...),
		sizes: append(make([]int, 0, zNodeMax+1), n.sizes[half:]...),
	}
	clear(n.keys[half-1:])
	clear(n.kids[half:])
	n.keys, n.kids, n.sizes = n.keys[:half-1], n.kids[:half], n.sizes[:half]
	total := 0
	for _, s := range split.sizes {
		total += s
	}
	return up, split, total
}

// delete removes the member equal to (score, member) and returns it.
func (t *zTree) delete(score float64, member []byte) (ZMember, bool) {
	if t.root == nil {
		return ZMember{}, false
	}
	m, ok := t.root.delete(score, member)
	if ok {
		t.n--
		t.shrink()
	}
	return m, ok
}

func (n *zNode) delete(score float64, member []byte) (ZMember, bool) {
	if n.leaf() {
		i := n.position(score, member)
		if i == len(n.items) || n.items[i].Score != score || !bytes.Equal(n.items[i].Member, member) {
			return ZMember{}, false
		}
		m := n.items[i]
		n.items = slices.Delete(n.items, i, i+1)
		return m, true
	}
	i := n.childFor(score, member)
	m, ok := n.kids[i].delete(score, member)
	if ok {
		n.sizes[i]--
		n.rebalance(i)
	}
	return m, ok
}

// removeRun deletes up to count members from rank r on, all from one leaf,
// and returns into with them appended (so at most zNodeMax at a time).
func (t *zTree) removeRun(r, count int, into []ZMember) []ZMember {
	before := len(into)
	into = t.root.removeRun(r, count, into)
	t.n -= len(into) - before
	t.shrink()
	return into
}

func (n *zNode) removeRun(r, count int, into []ZMember) []ZMember {
	if n.leaf() {
		end := min(len(n.items), r+count)
		into = append(into, n.items[r:end]...)
		n.items = slices.Delete(n.items, r, end)
		return into
	}
	i, before := n.childAt(r)
	k := len(into)
	into = n.kids[i].removeRun(r-before, count, into)
	n.sizes[i] -= len(into) - k
	n.rebalance(i)
	return into
}

// shrink drops a root left with a single child.
func (t *zTree) shrink() {
	for !t.root.leaf() && len(t.root.kids) == 1 {
		t.root = t.root.kids[0]
	}
}

// rebalance refills child i of n when a deletion left it under zNodeMin, by
// merging it with a neighbour or, when both do not fit in one node, by
// sharing the neighbour's entries evenly.
func (n *zNode) rebalance(i int) {
	if len(n.kids) < 2 || n.kids[i].width() >= zNodeMin {
		return
	}
	j := min(i, len(n.kids)-2) // the pair is kids[j], kids[j+1]
	left, right := n.kids[j], n.kids[j+1]
	if left.width()+right.width() <= zNodeMax {
		if left.leaf() {
			left.items = append(left.items, right.items...)
		} else {
			left.keys = append(append(left.keys, n.keys[j]), right.keys...)
			left.kids = append(left.kids, right.kids...)
			left.sizes = append(left.sizes, right.sizes...)
		}
		n.sizes[j] += n.sizes[j+1]
		n.keys = slices.Delete(n.keys, j, j+1)
		n.kids = slices.Delete(n.kids, j+1, j+2)
		n.sizes = slices.Delete(n.sizes, j+1, j+2)
		return
	}
	moved := 0
	if left.leaf() {
		want := (len(left.items) + len(right.items)) / 2
		if k := want - len(left.items); k > 0 {
			moved = k
			left.items = append(left.items, right.items[:k]...)
			right.items = slices.Delete(right.items, 0, k)
		} else if k < 0 {
			k = -k
			moved = -k
			right.items = slices.Insert(right.items, 0, left.items[len(left.items)-k:]...)
			clear(left.items[len(left.items)-k:])
			left.items = left.items[:len(left.items)-k]
		}
		n.keys[j] = right.items[0]
	} else {
		want := (len(left.kids) + len(right.kids)) / 2
		if k := want - len(left.kids); k > 0 { // rotate k children left
			for _, s := range right.sizes[:k] {
				moved += s
			}
			left.keys = append(append(left.keys, n.keys[j]), right.keys[:k-1]...)
			n.keys[j] = right.keys[k-1]
			left.kids = append(left.kids, right.kids[:k]...)
			left.sizes = append(left.sizes, right.sizes[:k]...)
			right.keys = slices.Delete(right.keys, 0, k)
			right.kids = slices.Delete(right.kids, 0, k)
			right.sizes = slices.Delete(right.sizes, 0, k)
		} else if k < 0 { // rotate -k children right
			k = -k
			from := len(left.kids) - k
			for _, s := range left.sizes[from:] {
				moved -= s
			}
			keys := append(slices.Clone(left.keys[from:]), n.keys[j])
			right.keys = slices.Insert(right.keys, 0, keys...)
			n.keys[j] = left.keys[from-1]
			right.kids = slices.Insert(right.kids, 0, left.kids[from:]...)
			right.sizes = slices.Insert(right.sizes, 0, left.sizes[from:]...)
			clear(left.keys[from-1:])
			clear(left.kids[from:])
			left.keys, left.kids, left.sizes = left.keys[:from-1], left.kids[:from], left.sizes[:from]
		}
	}
	n.sizes[j] += moved
	n.sizes[j+1] -= moved
}

// rank is the 0-based rank of the member equal to (score, member).
func (t *zTree) rank(score float64, member []byte) int {
	r, n := 0, t.root
	for !n.leaf() {
		i := n.childFor(score, member)
		for _, s := range n.sizes[:i] {
			r += s
		}
		n = n.kids[i]
	}
	return r + n.position(score, member)
}

// at returns the member of rank r (0 <= r < n).
func (t *zTree) at(r int) ZMember {
	n := t.root
	for !n.leaf() {
		i, before := n.childAt(r)
		r -= before
		n = n.kids[i]
	}
	return n.items[r]
}

// firstWhere is the rank of the first member for which pred holds; pred must
// be false for a prefix of the order and true after it.
func (t *zTree) firstWhere(pred func(*ZMember) bool) int {
	if t.root == nil {
		return 0
	}
	r, n := 0, t.root
	for !n.leaf() {
		i := searchFirst(n.keys, pred)
		for _, s := range n.sizes[:i] {
			r += s
		}
		n = n.kids[i]
	}
	return r + searchFirst(n.items, pred)
}

func searchFirst(ms []ZMember, pred func(*ZMember) bool) int {
	lo, hi := 0, len(ms)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if pred(&ms[mid]) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// ascend yields members from rank r upwards until yield returns false.
func (n *zNode) ascend(r int, yield func(ZMember) bool) bool {
	if n.leaf() {
		for _, m := range n.items[r:] {
			if !yield(m) {
				return false
			}
		}
		return true
	}
	i, before := n.childAt(r)
	r -= before
	for ; i < len(n.kids); i++ {
		if !n.kids[i].ascend(r, yield) {
			return false
		}
		r = 0
	}
	return true
}

// descend yields members from rank r downwards until yield returns false.
func (n *zNode) descend(r int, yield func(ZMember) bool) bool {
	if n.leaf() {
		for i := r; i >= 0; i-- {
			if !yield(n.items[i]) {
				return false
			}
		}
		return true
	}
	i, before := n.childAt(r)
	r -= before
	for ; i >= 0; i-- {
		if !n.kids[i].descend(r, yield) {
			return false
		}
		if i > 0 {
			r = n.sizes[i-1] - 1
		}
	}
	return true
}
