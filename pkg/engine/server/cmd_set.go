package server

import (
	"slices"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("sadd", -3, "write denyoom fast", 1, 1, 1, cmdSAdd)
	def("srem", -3, "write fast", 1, 1, 1, cmdSRem)
	def("smembers", 2, "readonly", 1, 1, 1, cmdSMembers)
	def("sismember", 3, "readonly fast", 1, 1, 1, cmdSIsMember)
	def("smismember", -3, "readonly fast", 1, 1, 1, cmdSMIsMember)
	def("scard", 2, "readonly fast", 1, 1, 1, cmdSCard)
	def("spop", -2, "write fast", 1, 1, 1, cmdSPop)
	def("srandmember", -2, "readonly", 1, 1, 1, cmdSRandMember)
	def("smove", 4, "write fast", 1, 2, 1, cmdSMove)
	def("sinter", -2, "readonly", 1, -1, 1, cmdSetOp)
	def("sunion", -2, "readonly", 1, -1, 1, cmdSetOp)
	def("sdiff", -2, "readonly", 1, -1, 1, cmdSetOp)
	def("sinterstore", -3, "write denyoom", 1, -1, 1, cmdSetOp)
	def("sunionstore", -3, "write denyoom", 1, -1, 1, cmdSetOp)
	def("sdiffstore", -3, "write denyoom", 1, -1, 1, cmdSetOp)
	def("sscan", -3, "readonly", 1, 1, 1, cmdSScan)
	def("sintercard", -3, "readonly movablekeys", 0, 0, 0, cmdSInterCard).movable = numKeysAt(1)
}

// numKeysAt finds keys for commands shaped "CMD numkeys key... [options]"
// with numkeys at position pos.
func numKeysAt(pos int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if len(args) <= pos {
			return nil
		}
		n, ok := parseInt(args[pos])
		if !ok || n <= 0 || int64(len(args)-pos-1) < n {
			return nil
		}
		out := make([]int, n)
		for i := range out {
			out[i] = pos + 1 + i
		}
		return out
	}
}

func cmdSInterCard(c *Client, args [][]byte) {
	n, ok := parseInt(args[1])
	if !ok || n <= 0 {
		c.w.WriteError("ERR numkeys should be greater than 0")
		return
	}
	if n > int64(len(args)-2) {
		c.w.WriteError("ERR Number of keys can't be greater than number of args")
		return
	}
	limit := int64(0)
	rest := args[2+n:]
	if len(rest) == 2 && eq(rest[0], "limit") {
		l, good := parseInt(rest[1])
		if !good || l < 0 {
			c.w.WriteError("ERR LIMIT can't be negative")
			return
		}
		limit = l
	} else if len(rest) != 0 {
		c.w.WriteError(errSyntax)
		return
	}
	sets, ok := c.sets(args[2 : 2+n])
	if !ok {
		return
	}
	count := int64(0)
	for m := range sets[0].All() {
		if inAll(m, sets[1:]) {
			count++
			if limit > 0 && count >= limit {
				break
			}
		}
	}
	c.w.WriteInt(count)
}

// inAll reports whether m is a member of every set.
func inAll(m string, sets []*store.Set) bool {
	for _, s := range sets {
		if !s.Has([]byte(m)) {
			return false
		}
	}
	return true
}

func (c *Client) set(key []byte, create bool) (*store.Set, bool) {
	s, err := c.srv.DB.Set(key, create)
	if err != nil {
		c.w.WriteError(errWrongType)
		return nil, false
	}
	return s, true
}

// sets reads the sets at keys (nil for a missing one), or writes
// WRONGTYPE.
func (c *Client) sets(keys [][]byte) ([]*store.Set, bool) {
	out := make([]*store.Set, len(keys))
	for i, k := range keys {
		s, ok := c.set(k, false)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

func (c *Client) writeMembers(members []string) {
	c.w.WriteSetLen(len(members))
	for _, m := range members {
		c.w.WriteBulkString(m)
	}
}

func cmdSAdd(c *Client, args [][]byte) {
	s, ok := c.set(args[1], true)
	if !ok {
		return
	}
	c.w.WriteInt(int64(s.AddAll(args[2:], c.srv.DB.Limits())))
}

func cmdSRem(c *Client, args [][]byte) {
	s, ok := c.set(args[1], false)
	if !ok {
		return
	}
	n := 0
	for _, m := range args[2:] {
		if s.Remove(m) {
			n++
		}
	}
	c.srv.DB.DeleteIfEmpty(args[1])
	c.w.WriteInt(int64(n))
}

func cmdSMembers(c *Client, args [][]byte) {
	if s, ok := c.set(args[1], false); ok {
		c.writeMembers(s.Members())
	}
}

func cmdSIsMember(c *Client, args [][]byte) {
	if s, ok := c.set(args[1], false); ok {
		c.w.WriteInt(int64(boolInt(s.Has(args[2]))))
	}
}

func cmdSMIsMember(c *Client, args [][]byte) {
	if s, ok := c.set(args[1], false); ok {
		c.w.WriteArrayLen(len(args) - 2)
		for _, m := range args[2:] {
			c.w.WriteInt(int64(boolInt(s.Has(m))))
		}
	}
}

func cmdSCard(c *Client, args [][]byte) {
	if s, ok := c.set(args[1], false); ok {
		c.w.WriteInt(int64(s.Len()))
	}
}

// Like Redis, SPOP and SRANDMEMBER check their arguments before the key.

func cmdSPop(c *Client, args [][]byte) {
	count, withCount, ok := c.popCount(args)
	if !ok {
		return
	}
	if !withCount {
		count = -1 // no count: one member, or nil
	}
	s, ok := c.set(args[1], false)
	if !ok {
		return
	}
	if count < 0 {
		if s.Len() == 0 {
			c.w.WriteNull()
			return
		}
		m := s.Random()
		s.Remove([]byte(m))
		c.srv.DB.DeleteIfEmpty(args[1])
		c.w.WriteBulkString(m)
		return
	}
	picked := randomPick(slices.Collect(s.All()), count)
	for _, m := range picked {
		s.Remove([]byte(m))
	}
	c.srv.DB.DeleteIfEmpty(args[1])
	c.writeMembers(picked)
}

func cmdSRandMember(c *Client, args [][]byte) {
	if len(args) > 3 {
		c.w.WriteError(errSyntax)
		return
	}
	var count int64
	if len(args) == 3 {
		var ok bool
		if count, ok = c.randomCount(args[2]); !ok {
			return
		}
	}
	s, ok := c.set(args[1], false)
	if !ok {
		return
	}
	if len(args) == 2 {
		if s.Len() == 0 {
			c.w.WriteNull()
			return
		}
		c.w.WriteBulkString(s.Random())
		return
	}
	picked := randomPick(slices.Collect(s.All()), count)
	c.w.WriteArrayLen(len(picked))
	for _, m := range picked {
		c.w.WriteBulkString(m)
	}
}

func cmdSMove(c *Client, args [][]byte) {
	src, ok := c.set(args[1], false)
	if !ok {
		return
	}
	if src == nil { // like Redis: a missing source answers 0 before the destination's type is checked
		c.w.WriteInt(0)
		return
	}
	if _, err := c.srv.DB.Set(args[2], false); err != nil {
		c.w.WriteError(errWrongType)
		return
	}
	if !src.Remove(args[3]) {
		c.w.WriteInt(0)
		return
	}
	dst, _ := c.srv.DB.Set(args[2], true)
	dst.Add(args[3], c.srv.DB.Limits())
	c.srv.DB.DeleteIfEmpty(args[1])
	c.w.WriteInt(1)
}

func cmdSetOp(c *Client, args [][]byte) {
	name := string(lower(args[0]))
	storeTo := len(name) > 5 && name[len(name)-5:] == "store"
	keys := args[1:]
	if storeTo {
		keys = args[2:]
	}
	sets, ok := c.sets(keys)
	if !ok {
		return
	}
	db := c.srv.DB
	// built as Redis builds it (an intset while it can be one), so a
	// stored result has Redis's encoding
	result := &store.Set{}
	add := func(m string) { result.Add([]byte(m), db.Limits()) }
	switch name[:5] {
	case "sinte":
		for m := range sets[0].All() {
			if inAll(m, sets[1:]) {
				add(m)
			}
		}
	case "sunio":
		for _, s := range sets {
			for m := range s.All() {
				add(m)
			}
		}
	default:
		for m := range sets[0].All() {
			if !inAny(m, sets[1:]) {
				add(m)
			}
		}
	}
	if !storeTo {
		c.writeMembers(result.Members())
		return
	}
	db.Delete(args[1])
	if result.Len() > 0 {
		db.PutSet(args[1], result)
	}
	c.w.WriteInt(int64(result.Len()))
}

// inAny reports whether m is a member of one of the sets.
func inAny(m string, sets []*store.Set) bool {
	for _, s := range sets {
		if s.Has([]byte(m)) {
			return true
		}
	}
	return false
}

func cmdSScan(c *Client, args [][]byte) {
	if s, ok := c.set(args[1], false); ok {
		c.scanCollection(args, s.Members(), nil)
	}
}
