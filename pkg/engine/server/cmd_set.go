package server

import (
	"sort"

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
	sets := make([]store.Set, n)
	for i, k := range args[2 : 2+n] {
		s, good := c.set(k, false)
		if !good {
			return
		}
		sets[i] = s
	}
	count := int64(0)
	for m := range sets[0] {
		in := true
		for _, s := range sets[1:] {
			if _, ok := s[m]; !ok {
				in = false
				break
			}
		}
		if in {
			count++
			if limit > 0 && count >= limit {
				break
			}
		}
	}
	c.w.WriteInt(count)
}

func (c *Client) set(key []byte, create bool) (store.Set, bool) {
	s, err := c.srv.DB.Set(key, create)
	if err != nil {
		c.w.WriteError(errWrongType)
		return nil, false
	}
	return s, true
}

// sortedMembers lists a set in a stable order: numerically when every
// member is an integer (the order Redis's intset encoding replies in),
// else bytewise.
func sortedMembers(s store.Set) []string {
	out := make([]string, 0, len(s))
	allInts := true
	for m := range s {
		out = append(out, m)
		if allInts {
			_, allInts = parseInt([]byte(m))
		}
	}
	if allInts {
		sort.Slice(out, func(i, j int) bool {
			a, _ := parseInt([]byte(out[i]))
			b, _ := parseInt([]byte(out[j]))
			return a < b
		})
		return out
	}
	sort.Strings(out)
	return out
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
	n := 0
	for _, m := range args[2:] {
		if _, exists := s[string(m)]; !exists {
			s[string(m)] = struct{}{}
			n++
		}
	}
	c.w.WriteInt(int64(n))
}

func cmdSRem(c *Client, args [][]byte) {
	s, ok := c.set(args[1], false)
	if !ok {
		return
	}
	n := 0
	for _, m := range args[2:] {
		if _, exists := s[string(m)]; exists {
			delete(s, string(m))
			n++
		}
	}
	c.srv.DB.DeleteIfEmpty(args[1])
	c.w.WriteInt(int64(n))
}

func cmdSMembers(c *Client, args [][]byte) {
	if s, ok := c.set(args[1], false); ok {
		c.writeMembers(sortedMembers(s))
	}
}

func cmdSIsMember(c *Client, args [][]byte) {
	if s, ok := c.set(args[1], false); ok {
		_, exists := s[string(args[2])]
		c.w.WriteInt(map[bool]int64{true: 1}[exists])
	}
}

func cmdSMIsMember(c *Client, args [][]byte) {
	if s, ok := c.set(args[1], false); ok {
		c.w.WriteArrayLen(len(args) - 2)
		for _, m := range args[2:] {
			_, exists := s[string(m)]
			c.w.WriteInt(map[bool]int64{true: 1}[exists])
		}
	}
}

func cmdSCard(c *Client, args [][]byte) {
	if s, ok := c.set(args[1], false); ok {
		c.w.WriteInt(int64(len(s)))
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
		if len(s) == 0 {
			c.w.WriteNull()
			return
		}
		m := randomKey(s)
		delete(s, m)
		c.srv.DB.DeleteIfEmpty(args[1])
		c.w.WriteBulkString(m)
		return
	}
	picked := randomPick(keysOf(s), count)
	for _, m := range picked {
		delete(s, m)
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
		if len(s) == 0 {
			c.w.WriteNull()
			return
		}
		c.w.WriteBulkString(randomKey(s))
		return
	}
	picked := randomPick(keysOf(s), count)
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
	if _, exists := src[string(args[3])]; !exists {
		c.w.WriteInt(0)
		return
	}
	delete(src, string(args[3]))
	dst, _ := c.srv.DB.Set(args[2], true)
	dst[string(args[3])] = struct{}{}
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
	sets := make([]store.Set, len(keys))
	for i, k := range keys {
		s, ok := c.set(k, false)
		if !ok {
			return
		}
		sets[i] = s
	}
	result := store.Set{}
	switch name[:5] {
	case "sinte":
		for m := range sets[0] {
			in := true
			for _, s := range sets[1:] {
				if _, ok := s[m]; !ok {
					in = false
					break
				}
			}
			if in {
				result[m] = struct{}{}
			}
		}
	case "sunio":
		for _, s := range sets {
			for m := range s {
				result[m] = struct{}{}
			}
		}
	default:
		for m := range sets[0] {
			in := false
			for _, s := range sets[1:] {
				if _, ok := s[m]; ok {
					in = true
					break
				}
			}
			if !in {
				result[m] = struct{}{}
			}
		}
	}
	if !storeTo {
		c.writeMembers(sortedMembers(result))
		return
	}
	db := c.srv.DB
	db.Delete(args[1])
	if len(result) > 0 {
		dst, _ := db.Set(args[1], true)
		for m := range result {
			dst[m] = struct{}{}
		}
	}
	c.w.WriteInt(int64(len(result)))
}

func cmdSScan(c *Client, args [][]byte) {
	if s, ok := c.set(args[1], false); ok {
		c.scanCollection(args, sortedMembers(s), nil)
	}
}
