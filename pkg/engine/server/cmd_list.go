package server

import (
	"bytes"
	"math"
	"strings"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("lpush", -3, "write denyoom fast", 1, 1, 1, cmdPush)
	def("rpush", -3, "write denyoom fast", 1, 1, 1, cmdPush)
	def("lpushx", -3, "write denyoom fast", 1, 1, 1, cmdPush)
	def("rpushx", -3, "write denyoom fast", 1, 1, 1, cmdPush)
	def("lpop", -2, "write fast", 1, 1, 1, cmdPop)
	def("rpop", -2, "write fast", 1, 1, 1, cmdPop)
	def("llen", 2, "readonly fast", 1, 1, 1, cmdLLen)
	def("lrange", 4, "readonly", 1, 1, 1, cmdLRange)
	def("lindex", 3, "readonly", 1, 1, 1, cmdLIndex)
	def("lset", 4, "write denyoom", 1, 1, 1, cmdLSet)
	def("lrem", 4, "write", 1, 1, 1, cmdLRem)
	def("ltrim", 4, "write", 1, 1, 1, cmdLTrim)
	def("linsert", 5, "write denyoom", 1, 1, 1, cmdLInsert)
	def("lpos", -3, "readonly", 1, 1, 1, cmdLPos)
	def("rpoplpush", 3, "write denyoom", 1, 2, 1, cmdRPopLPush)
	def("lmove", 5, "write denyoom", 1, 2, 1, cmdLMove)
}

// list fetches key's list, writing WRONGTYPE on error; l is nil when missing.
func (c *Client) list(key []byte, create bool) (l *store.List, ok bool) {
	l, err := c.srv.DB.List(key, create)
	if err != nil {
		c.w.WriteError(errWrongType)
		return nil, false
	}
	return l, true
}

func cmdPush(c *Client, args [][]byte) {
	name := string(lower(args[0]))
	onlyExisting := name == "lpushx" || name == "rpushx"
	l, ok := c.list(args[1], !onlyExisting)
	if !ok {
		return
	}
	if l == nil {
		c.w.WriteInt(0)
		return
	}
	for _, v := range args[2:] {
		if name[0] == 'l' {
			l.PushFront(copyBytes(v))
		} else {
			l.PushBack(copyBytes(v))
		}
	}
	c.w.WriteInt(int64(l.Len()))
}

// popCount reads the optional count of LPOP/RPOP, SPOP and ZPOPMIN/MAX
// (key [count]), checked before the key as Redis does: 1 and false when
// absent; ok is false when an error reply was written.
func (c *Client) popCount(args [][]byte) (count int64, withCount, ok bool) {
	if len(args) > 3 {
		c.w.WriteError(errSyntax)
		return 0, false, false
	}
	if len(args) < 3 {
		return 1, false, true
	}
	n, good := parseInt(args[2])
	if !good || n < 0 {
		c.w.WriteError("ERR value is out of range, must be positive")
		return 0, false, false
	}
	return n, true, true
}

func cmdPop(c *Client, args [][]byte) {
	if len(args) > 3 { // LPOP/RPOP count this as arity, SPOP and ZPOP* as syntax
		c.w.WriteError("ERR wrong number of arguments for '" + strings.ToLower(string(args[0])) + "' command")
		return
	}
	count, withCount, ok := c.popCount(args)
	if !ok {
		return
	}
	l, ok := c.list(args[1], false)
	if !ok {
		return
	}
	if l == nil {
		if withCount {
			c.w.WriteNullArray()
		} else {
			c.w.WriteNull()
		}
		return
	}
	front := args[0][0] == 'l' || args[0][0] == 'L'
	pop := l.PopBack
	if front {
		pop = l.PopFront
	}
	if !withCount {
		c.w.WriteBulk(pop())
	} else {
		n := min(int(count), l.Len())
		c.w.WriteArrayLen(n)
		for range n {
			c.w.WriteBulk(pop())
		}
	}
	c.srv.DB.DeleteIfEmpty(args[1])
}

func cmdLLen(c *Client, args [][]byte) {
	if l, ok := c.list(args[1], false); ok {
		if l == nil {
			c.w.WriteInt(0)
		} else {
			c.w.WriteInt(int64(l.Len()))
		}
	}
}

// rangeIndexes converts Redis start/stop (negative = from the end) into a
// clamped inclusive range; empty reports an empty result.
func rangeIndexes(start, stop int64, n int) (int, int, bool) {
	if start < 0 {
		start += int64(n)
	}
	if stop < 0 {
		stop += int64(n)
	}
	start = max(start, 0)
	if start > stop || start >= int64(n) {
		return 0, 0, false
	}
	stop = min(stop, int64(n)-1)
	return int(start), int(stop), true
}

func (c *Client) twoInts(a, b []byte) (int64, int64, bool) {
	x, ok1 := parseInt(a)
	y, ok2 := parseInt(b)
	if !ok1 || !ok2 {
		c.w.WriteError(errNotInt)
		return 0, 0, false
	}
	return x, y, true
}

func cmdLRange(c *Client, args [][]byte) {
	start, stop, ok := c.twoInts(args[2], args[3])
	if !ok {
		return
	}
	l, ok := c.list(args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.w.WriteArrayLen(0)
		return
	}
	from, to, nonEmpty := rangeIndexes(start, stop, l.Len())
	if !nonEmpty {
		c.w.WriteArrayLen(0)
		return
	}
	c.writeKeyList(l.Slice(from, to))
}

// LINDEX and LSET look the key up before they parse the index, as Redis does.
func cmdLIndex(c *Client, args [][]byte) {
	l, ok := c.list(args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.w.WriteNull()
		return
	}
	i, in, ok := c.listIndex(l, args[2])
	switch {
	case !ok:
	case !in:
		c.w.WriteNull()
	default:
		c.w.WriteBulk(l.Index(i))
	}
}

// listIndex parses a LINDEX/LSET index, counting from the end when
// negative. ok is false after a bad integer (the error is written); in
// tells whether the index falls inside the list.
func (c *Client) listIndex(l *store.List, arg []byte) (i int, in, ok bool) {
	n, ok := parseInt(arg)
	if !ok {
		c.w.WriteError(errNotInt)
		return 0, false, false
	}
	if n < 0 {
		n += int64(l.Len())
	}
	return int(n), n >= 0 && n < int64(l.Len()), true
}

func cmdLSet(c *Client, args [][]byte) {
	l, ok := c.list(args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.w.WriteError(errNoSuchKey)
		return
	}
	i, in, ok := c.listIndex(l, args[2])
	switch {
	case !ok:
	case !in:
		c.w.WriteError(errIndexRange)
	default:
		l.SetIndex(i, copyBytes(args[3]))
		c.w.WriteRaw(okReply)
	}
}

func cmdLRem(c *Client, args [][]byte) {
	count, ok := parseInt(args[2])
	if !ok {
		c.w.WriteError(errNotInt)
		return
	}
	l, ok := c.list(args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.w.WriteInt(0)
		return
	}
	items := l.Items()
	removed := int64(0)
	keep := make([][]byte, 0, len(items))
	if count >= 0 {
		for _, v := range items {
			if (count == 0 || removed < count) && bytes.Equal(v, args[3]) {
				removed++
				continue
			}
			keep = append(keep, v)
		}
	} else {
		for i := len(items) - 1; i >= 0; i-- {
			if (count == math.MinInt64 || removed < -count) && bytes.Equal(items[i], args[3]) { // -MinInt64 has no limit
				removed++
				continue
			}
			keep = append(keep, items[i])
		}
		for i, j := 0, len(keep)-1; i < j; i, j = i+1, j-1 {
			keep[i], keep[j] = keep[j], keep[i]
		}
	}
	l.Replace(keep)
	c.srv.DB.DeleteIfEmpty(args[1])
	c.w.WriteInt(removed)
}

func cmdLTrim(c *Client, args [][]byte) {
	start, stop, ok := c.twoInts(args[2], args[3])
	if !ok {
		return
	}
	l, ok := c.list(args[1], false)
	if !ok {
		return
	}
	if l != nil {
		from, to, nonEmpty := rangeIndexes(start, stop, l.Len())
		if nonEmpty {
			l.Replace(append([][]byte(nil), l.Slice(from, to)...))
		} else {
			l.Replace(nil)
		}
		c.srv.DB.DeleteIfEmpty(args[1])
	}
	c.w.WriteRaw(okReply)
}

func cmdLInsert(c *Client, args [][]byte) {
	before := eq(args[2], "before")
	if !before && !eq(args[2], "after") {
		c.w.WriteError(errSyntax)
		return
	}
	l, ok := c.list(args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.w.WriteInt(0)
		return
	}
	for i, v := range l.Items() {
		if bytes.Equal(v, args[3]) {
			if !before {
				i++
			}
			l.Insert(i, copyBytes(args[4]))
			c.w.WriteInt(int64(l.Len()))
			return
		}
	}
	c.w.WriteInt(-1)
}

func cmdLPos(c *Client, args [][]byte) {
	// count -1: no COUNT option (one reply, not an array)
	rank, count, maxLen := int64(1), int64(-1), int64(0)
	for i := 3; i < len(args); i++ {
		more := i+1 < len(args)
		switch {
		case eq(args[i], "rank") && more:
			i++
			n, ok := parseInt(args[i])
			if !ok {
				c.w.WriteError(errNotInt)
				return
			}
			if n == 0 {
				c.w.WriteError("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
			rank = n
		case eq(args[i], "count") && more:
			i++
			if count = c.nonNegative(args[i], "ERR COUNT can't be negative"); count < 0 {
				return
			}
		case eq(args[i], "maxlen") && more:
			i++
			if maxLen = c.nonNegative(args[i], "ERR MAXLEN can't be negative"); maxLen < 0 {
				return
			}
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	fromTail := rank < 0
	if fromTail {
		// wraps for the smallest int64, which then admits every match, as
		// in redis-server
		rank = -rank
	}
	l, ok := c.list(args[1], false)
	if !ok {
		return
	}
	var items [][]byte
	if l != nil {
		items = l.Items()
	}
	var found []int64
	matches := int64(0)
	for step := 0; step < len(items) && (maxLen == 0 || int64(step) < maxLen); step++ {
		i := step
		if fromTail {
			i = len(items) - 1 - step
		}
		if !bytes.Equal(items[i], args[2]) {
			continue
		}
		matches++
		if matches < rank {
			continue
		}
		found = append(found, int64(i))
		if count == -1 || count > 0 && matches-rank+1 >= count {
			break
		}
	}
	if count == -1 {
		if len(found) == 0 {
			c.w.WriteNull()
		} else {
			c.w.WriteInt(found[0])
		}
		return
	}
	c.w.WriteArrayLen(len(found))
	for _, m := range found {
		c.w.WriteInt(m)
	}
}

// nonNegative parses an integer option that may not be negative: -1 after
// replying msg.
func (c *Client) nonNegative(b []byte, msg string) int64 {
	n, ok := parseInt(b)
	if !ok || n < 0 { // Redis answers msg for both
		c.w.WriteError(msg)
		return -1
	}
	return n
}

func cmdRPopLPush(c *Client, args [][]byte) {
	c.move(args[1], args[2], false, true)
}

func cmdLMove(c *Client, args [][]byte) {
	srcLeft, dstLeft := eq(args[3], "left"), eq(args[4], "left")
	if !srcLeft && !eq(args[3], "right") || !dstLeft && !eq(args[4], "right") {
		c.w.WriteError(errSyntax)
		return
	}
	c.move(args[1], args[2], srcLeft, dstLeft)
}

func (c *Client) move(src, dst []byte, fromLeft, toLeft bool) {
	sl, ok := c.list(src, false)
	if !ok {
		return
	}
	if sl == nil {
		c.w.WriteNull()
		return
	}
	if _, err := c.srv.DB.List(dst, false); err != nil {
		c.w.WriteError(errWrongType)
		return
	}
	var v []byte
	if fromLeft {
		v = sl.PopFront()
	} else {
		v = sl.PopBack()
	}
	dl, _ := c.srv.DB.List(dst, true)
	if toLeft {
		dl.PushFront(v)
	} else {
		dl.PushBack(v)
	}
	c.srv.DB.DeleteIfEmpty(src)
	c.w.WriteBulk(v)
}
