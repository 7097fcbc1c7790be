package server

import (
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// LMPOP/BLMPOP, ZMPOP/BZMPOP and BZPOPMIN/BZPOPMAX: pop from the first
// non-empty of several keys. They touch the key they popped from themselves
// (selfTouching), so WATCH sees only that key changed.

func init() {
	def("lmpop", -4, "write movablekeys", 0, 0, 0, cmdMPop).movable = numKeysAt(1)
	def("zmpop", -4, "write movablekeys", 0, 0, 0, cmdMPop).movable = numKeysAt(1)
	def("blmpop", -5, "write noscript blocking movablekeys nolock", 0, 0, 0, cmdMPop).movable = numKeysAt(2)
	def("bzmpop", -5, "write noscript blocking movablekeys nolock", 0, 0, 0, cmdMPop).movable = numKeysAt(2)
	def("bzpopmin", -3, "write noscript blocking fast nolock", 1, -2, 1, cmdBZPop)
	def("bzpopmax", -3, "write noscript blocking fast nolock", 1, -2, 1, cmdBZPop)
}

// selfTouching are write commands that touch the keys they change.
var selfTouching = map[string]bool{"lmpop": true, "zmpop": true, "blmpop": true, "bzmpop": true, "bzpopmin": true, "bzpopmax": true,
	"sort": true, "bitfield": true}

// cmdMPop: [B]LMPOP [timeout] numkeys key... LEFT|RIGHT [COUNT n] and
// [B]ZMPOP [timeout] numkeys key... MIN|MAX [COUNT n].
func cmdMPop(c *Client, args [][]byte) {
	name := string(lower(args[0]))
	blocking := name[0] == 'b'
	isList := name == "lmpop" || name == "blmpop"
	numIdx := 1
	if blocking {
		numIdx = 2
	}
	numkeys, ok := parseInt(args[numIdx])
	if !ok || numkeys < 1 { // Redis gives the range message for both
		c.w.WriteError("ERR numkeys should be greater than 0")
		return
	}
	if numkeys >= int64(len(args)-numIdx-1) {
		c.w.WriteError(errSyntax)
		return
	}
	whereIdx := numIdx + int(numkeys) + 1
	var front bool
	w := args[whereIdx]
	switch {
	case isList && eq(w, "left"), !isList && eq(w, "min"):
		front = true
	case isList && eq(w, "right"), !isList && eq(w, "max"):
	default:
		c.w.WriteError(errSyntax)
		return
	}
	count := int64(-1)
	for j := whereIdx + 1; j < len(args); j++ {
		if count == -1 && eq(args[j], "count") && j+1 < len(args) {
			j++
			n, ok := parseInt(args[j])
			if !ok || n < 1 {
				c.w.WriteError("ERR count should be greater than 0")
				return
			}
			count = n
			continue
		}
		c.w.WriteError(errSyntax)
		return
	}
	if count == -1 {
		count = 1
	}
	keys := args[numIdx+1 : whereIdx]
	kind := store.KindZSet
	if isList {
		kind = store.KindList
	}
	try := func(retry bool) bool {
		for _, k := range keys {
			if retry && c.srv.DB.Type(k) != kind {
				continue // a wrong type met after a wake-up leaves the client blocked, as Redis
			}
			var popped bool
			if isList {
				popped, ok = c.mpopList(k, front, count)
			} else {
				popped, ok = c.mpopZSet(k, front, count, true)
			}
			if !ok || popped {
				return true
			}
		}
		return false
	}
	if !blocking {
		if !try(false) {
			c.w.WriteNullArray()
		}
		return
	}
	timeout, ok := parseBlockTimeout(c, args[1])
	if !ok {
		return
	}
	if !c.block(timeout, try) && !c.closeNow {
		c.w.WriteNullArray()
	}
}

// mpopList pops up to count elements of the list at key and replies
// [key, [elements]]; popped is false (no reply) when it is missing.
func (c *Client) mpopList(key []byte, front bool, count int64) (popped, ok bool) {
	l, ok := c.list(key, false)
	if !ok || l == nil || l.Len() == 0 {
		return false, ok
	}
	n := int(min(count, int64(l.Len())))
	c.w.WriteArrayLen(2)
	c.w.WriteBulk(key)
	c.w.WriteArrayLen(n)
	for range n {
		if front {
			c.w.WriteBulk(l.PopFront())
		} else {
			c.w.WriteBulk(l.PopBack())
		}
	}
	c.popped(key, front, true, n)
	return true, true
}

// mpopZSet pops up to count members of the sorted set at key, replying
// [key, [[member, score]...]] (nested) or [key, member, score...].
func (c *Client) mpopZSet(key []byte, lowest bool, count int64, nested bool) (popped, ok bool) {
	z, ok := c.zset(key, false)
	if !ok || z == nil || z.Len() == 0 {
		return false, ok
	}
	n := int(min(count, int64(z.Len())))
	out := z.PopEnd(n, lowest)
	if nested {
		c.w.WriteArrayLen(2)
		c.w.WriteBulk(key)
		c.w.WriteArrayLen(n)
	} else {
		c.w.WriteArrayLen(2*n + 1)
		c.w.WriteBulk(key)
	}
	for _, m := range out {
		if nested {
			c.w.WriteArrayLen(2)
		}
		c.w.WriteBulk(m.Member)
		c.w.WriteDouble(m.Score)
	}
	c.popped(key, lowest, false, n)
	return true, true
}

// popped finishes a pop of n elements from key: an emptied key is deleted,
// watchers see the change, and replicas and the AOF get the equivalent
// [LR]POP / ZPOPMIN|MAX key count, as Redis 7 rewrites every MPOP.
func (c *Client) popped(key []byte, front, list bool, n int) {
	db := c.srv.DB
	db.DeleteIfEmpty(key)
	db.Touch(key)
	name := map[[2]bool]string{{true, true}: "LPOP", {false, true}: "RPOP", {true, false}: "ZPOPMIN", {false, false}: "ZPOPMAX"}[[2]bool{front, list}]
	args := [][]byte{[]byte(name), key, []byte(strconv.Itoa(n))}
	c.srv.afterWrite(lookupCommand(args[0]), args)
}

// cmdBZPop: BZPOPMIN|BZPOPMAX key [key ...] timeout.
func cmdBZPop(c *Client, args [][]byte) {
	timeout, ok := parseBlockTimeout(c, args[len(args)-1])
	if !ok {
		return
	}
	lowest := eq(args[0], "bzpopmin")
	keys := args[1 : len(args)-1]
	served := c.block(timeout, func(retry bool) bool {
		for _, k := range keys {
			if retry && c.srv.DB.Type(k) != store.KindZSet {
				continue
			}
			popped, ok := c.mpopZSet(k, lowest, 1, false)
			if !ok || popped {
				return true
			}
		}
		return false
	})
	if !served && !c.closeNow {
		c.w.WriteNullArray()
	}
}
