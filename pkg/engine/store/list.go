package store

// List is a double-ended queue of byte strings with O(1) pushes and pops at
// both ends: items live in buf[head:head+n], with free room on both sides.
type List struct {
	buf  [][]byte
	head int
	n    int
}

// Len is the number of elements.
func (l *List) Len() int { return l.n }

// Index returns element i (0-based, 0 <= i < Len).
func (l *List) Index(i int) []byte { return l.buf[l.head+i] }

// SetIndex replaces element i.
func (l *List) SetIndex(i int, v []byte) { l.buf[l.head+i] = v }

// PushBack appends v.
func (l *List) PushBack(v []byte) {
	if l.head+l.n == len(l.buf) {
		l.grow(growBack)
	}
	l.buf[l.head+l.n] = v
	l.n++
}

// PushFront prepends v.
func (l *List) PushFront(v []byte) {
	if l.head == 0 {
		l.grow(growFront)
	}
	l.head--
	l.buf[l.head] = v
	l.n++
}

// Which end grow leaves most of the new room at.
const (
	growEven  = iota // after pops: room at both ends
	growFront        // LPUSH ran out of room
	growBack         // RPUSH ran out of room
)

// grow moves the items to a buffer twice their size. The end that ran out
// gets 3/4 of the free room, so a list filled from one end (LPUSH or RPUSH
// only) is copied about 1.3 times per element instead of 2.
func (l *List) grow(end int) {
	size := max(8, 2*l.n+8)
	nb := make([][]byte, size)
	free := size - l.n
	head := free / 2
	switch end {
	case growFront:
		head = free - free/4
	case growBack:
		head = free / 4
	}
	copy(nb[head:], l.buf[l.head:l.head+l.n])
	l.buf, l.head = nb, head
}

// PopFront removes and returns the first element (nil when empty).
func (l *List) PopFront() []byte {
	if l.n == 0 {
		return nil
	}
	v := l.buf[l.head]
	l.buf[l.head] = nil
	l.head++
	l.n--
	l.shrink()
	return v
}

// PopBack removes and returns the last element (nil when empty).
func (l *List) PopBack() []byte {
	if l.n == 0 {
		return nil
	}
	v := l.buf[l.head+l.n-1]
	l.buf[l.head+l.n-1] = nil
	l.n--
	l.shrink()
	return v
}

func (l *List) shrink() {
	if l.n == 0 {
		l.buf, l.head = nil, 0
	} else if len(l.buf) > 64 && l.n < len(l.buf)/4 {
		l.grow(growEven)
	}
}

// Slice returns elements [start, stop] (inclusive, already clamped by the caller).
func (l *List) Slice(start, stop int) [][]byte {
	return l.buf[l.head+start : l.head+stop+1]
}

// Items returns all elements in order (shares memory with the list).
func (l *List) Items() [][]byte { return l.buf[l.head : l.head+l.n] }

// Replace sets the list's contents to items (the slice is kept).
func (l *List) Replace(items [][]byte) {
	l.buf, l.head, l.n = items, 0, len(items)
	if l.n == 0 {
		l.buf = nil
	}
}

// Insert puts v at position i (0 <= i <= Len).
func (l *List) Insert(i int, v []byte) {
	l.PushBack(nil)
	items := l.Items()
	copy(items[i+1:], items[i:])
	items[i] = v
}
