package server

import (
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("hset", -4, "write denyoom fast", 1, 1, 1, cmdHSet)
	def("hmset", -4, "write denyoom fast", 1, 1, 1, cmdHSet)
	def("hsetnx", 4, "write denyoom fast", 1, 1, 1, cmdHSetNX)
	def("hget", 3, "readonly fast", 1, 1, 1, cmdHGet)
	def("hmget", -3, "readonly fast", 1, 1, 1, cmdHMGet)
	def("hdel", -3, "write fast", 1, 1, 1, cmdHDel)
	def("hlen", 2, "readonly fast", 1, 1, 1, cmdHLen)
	def("hstrlen", 3, "readonly fast", 1, 1, 1, cmdHStrlen)
	def("hexists", 3, "readonly fast", 1, 1, 1, cmdHExists)
	def("hgetall", 2, "readonly", 1, 1, 1, cmdHGetAll)
	def("hkeys", 2, "readonly", 1, 1, 1, cmdHGetAll)
	def("hvals", 2, "readonly", 1, 1, 1, cmdHGetAll)
	def("hincrby", 4, "write denyoom fast", 1, 1, 1, cmdHIncrBy)
	def("hincrbyfloat", 4, "write denyoom fast", 1, 1, 1, cmdHIncrByFloat)
	def("hrandfield", -2, "readonly", 1, 1, 1, cmdHRandField)
	def("hscan", -3, "readonly", 1, 1, 1, cmdHScan)
}

func (c *Client) hash(key []byte, create bool) (*store.Hash, bool) {
	h, err := c.srv.DB.Hash(key, create)
	if err != nil {
		c.w.WriteError(errWrongType)
		return nil, false
	}
	return h, true
}

func cmdHSet(c *Client, args [][]byte) {
	if len(args)%2 != 0 {
		c.w.WriteError("ERR wrong number of arguments for '" + string(lower(args[0])) + "' command")
		return
	}
	h, ok := c.hash(args[1], true)
	if !ok {
		return
	}
	added := h.SetPairs(args[2:], c.srv.DB.Limits())
	if eq(args[0], "hmset") {
		c.w.WriteRaw(okReply)
	} else {
		c.w.WriteInt(int64(added))
	}
}

func cmdHSetNX(c *Client, args [][]byte) {
	h, ok := c.hash(args[1], true)
	if !ok {
		return
	}
	if _, exists := h.Get(args[2]); exists {
		c.w.WriteInt(0)
		return
	}
	h.Set(args[2], args[3], c.srv.DB.Limits())
	c.w.WriteInt(1)
}

func cmdHGet(c *Client, args [][]byte) {
	h, ok := c.hash(args[1], false)
	if !ok {
		return
	}
	v, found := h.Get(args[2])
	c.writeMaybeNull(v, found)
}

func cmdHMGet(c *Client, args [][]byte) {
	h, ok := c.hash(args[1], false)
	if !ok {
		return
	}
	c.w.WriteArrayLen(len(args) - 2)
	for _, f := range args[2:] {
		v, found := h.Get(f)
		c.writeMaybeNull(v, found)
	}
}

func cmdHDel(c *Client, args [][]byte) {
	h, ok := c.hash(args[1], false)
	if !ok {
		return
	}
	n := 0
	for _, f := range args[2:] {
		if h.Delete(f) {
			n++
		}
	}
	c.srv.DB.DeleteIfEmpty(args[1])
	c.w.WriteInt(int64(n))
}

func cmdHLen(c *Client, args [][]byte) {
	if h, ok := c.hash(args[1], false); ok {
		c.w.WriteInt(int64(h.Len()))
	}
}

func cmdHStrlen(c *Client, args [][]byte) {
	if h, ok := c.hash(args[1], false); ok {
		v, _ := h.Get(args[2])
		c.w.WriteInt(int64(len(v)))
	}
}

func cmdHExists(c *Client, args [][]byte) {
	if h, ok := c.hash(args[1], false); ok {
		_, exists := h.Get(args[2])
		c.w.WriteInt(map[bool]int64{true: 1}[exists])
	}
}

// cmdHGetAll answers HGETALL, HKEYS and HVALS in the hash's own order:
// insertion order while it is compact, as redis-server's listpack.
func cmdHGetAll(c *Client, args [][]byte) {
	h, ok := c.hash(args[1], false)
	if !ok {
		return
	}
	cmd := string(lower(args[0]))
	if cmd == "hgetall" {
		c.w.WriteMapLen(h.Len())
	} else {
		c.w.WriteArrayLen(h.Len())
	}
	for f, v := range h.All() {
		if cmd != "hvals" {
			c.w.WriteBulkString(f)
		}
		if cmd != "hkeys" {
			c.w.WriteBulk(v)
		}
	}
}

func cmdHIncrBy(c *Client, args [][]byte) {
	delta, ok := parseInt(args[3])
	if !ok {
		c.w.WriteError(errNotInt)
		return
	}
	h, ok := c.hash(args[1], true)
	if !ok {
		return
	}
	var cur int64
	if v, exists := h.Get(args[2]); exists {
		if cur, ok = parseInt(v); !ok {
			c.srv.DB.DeleteIfEmpty(args[1])
			c.w.WriteError("ERR hash value is not an integer")
			return
		}
	}
	if delta > 0 && cur > math.MaxInt64-delta || delta < 0 && cur < math.MinInt64-delta {
		c.srv.DB.DeleteIfEmpty(args[1])
		c.w.WriteError(errOverflow)
		return
	}
	cur += delta
	h.Set(args[2], strconv.AppendInt(nil, cur, 10), c.srv.DB.Limits())
	c.w.WriteInt(cur)
}

func cmdHIncrByFloat(c *Client, args [][]byte) {
	delta, ok := parseLongDouble(args[3])
	if !ok {
		c.w.WriteError(errNotFloat)
		return
	}
	if delta.IsInf() {
		c.w.WriteError("ERR value is NaN or Infinity")
		return
	}
	h, ok := c.hash(args[1], true)
	if !ok {
		return
	}
	var cur *big.Float
	if v, exists := h.Get(args[2]); exists {
		if cur, ok = parseLongDouble(v); !ok {
			c.srv.DB.DeleteIfEmpty(args[1])
			c.w.WriteError("ERR hash value is not a float")
			return
		}
	}
	out, ok := ldIncr(cur, delta)
	if !ok {
		c.srv.DB.DeleteIfEmpty(args[1])
		c.w.WriteError("ERR increment would produce NaN or Infinity")
		return
	}
	h.Set(args[2], out, c.srv.DB.Limits())
	c.w.WriteBulk(out)
}

func cmdHRandField(c *Client, args [][]byte) {
	// Redis's order: the count, the syntax, then the key.
	var count int64
	withValues := len(args) == 4 && eq(args[3], "withvalues")
	if len(args) >= 3 {
		var ok bool
		if count, ok = c.randomCount(args[2]); !ok {
			return
		}
		if len(args) > 4 || len(args) == 4 && !withValues {
			c.w.WriteError(errSyntax)
			return
		}
		if withValues && (count < math.MinInt64/4 || count > math.MaxInt64/4) {
			c.w.WriteError("ERR value is out of range")
			return
		}
	}
	h, ok := c.hash(args[1], false)
	if !ok {
		return
	}
	if len(args) == 2 {
		if h.Len() == 0 {
			c.w.WriteNull()
			return
		}
		f := h.RandomField()
		c.w.WriteBulkString(f)
		return
	}
	fields := randomPick(h.Fields(), count)
	if withValues && c.w.Proto() == 3 {
		c.w.WriteArrayLen(len(fields))
		for _, f := range fields {
			c.w.WriteArrayLen(2)
			c.w.WriteBulkString(f)
			c.w.WriteBulk(hashValue(h, f))
		}
		return
	}
	n := len(fields)
	if withValues {
		n *= 2
	}
	c.w.WriteArrayLen(n)
	for _, f := range fields {
		c.w.WriteBulkString(f)
		if withValues {
			c.w.WriteBulk(hashValue(h, f))
		}
	}
}

// randomCount parses the count of SRANDMEMBER and HRANDFIELD, which Redis
// takes between -LONG_MAX and LONG_MAX.
func (c *Client) randomCount(b []byte) (int64, bool) {
	n, ok := parseInt(b)
	if !ok {
		c.w.WriteError(errNotInt)
		return 0, false
	}
	if n == math.MinInt64 {
		c.w.WriteError("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return 0, false
	}
	return n, true
}

// randomPick implements the count argument of HRANDFIELD/SRANDMEMBER:
// positive = distinct elements, negative = with repetitions.
// randomKey picks a key of a non-empty map without walking it all: Go
// starts each walk of a map at a random place, and a random number of
// further steps (bounded) spreads the pick over the neighbours. Small maps
// are walked whole for an exact uniform pick.
func randomKey[V any](m map[string]V) string {
	const spread = 64
	skip := rand.IntN(min(len(m), spread))
	if len(m) <= spread {
		skip = rand.IntN(len(m))
	}
	for k := range m {
		if skip == 0 {
			return k
		}
		skip--
	}
	panic("randomKey: the map changed under the walk")
}

// keysOf lists a map's keys in no particular order (random picks need no
// sort: O(n), not O(n log n)).
func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func randomPick(items []string, count int64) []string {
	if len(items) == 0 || count == 0 {
		return nil
	}
	if count < 0 {
		n := min(-count, 1<<20)
		out := make([]string, n)
		for i := range out {
			out[i] = items[rand.IntN(len(items))]
		}
		return out
	}
	rand.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	return items[:min(int(min(count, 1<<30)), len(items))]
}

func cmdHScan(c *Client, args [][]byte) {
	h, ok := c.hash(args[1], false)
	if !ok {
		return
	}
	if !h.Compact() {
		c.scanCollection(args, h.Fields(), func(f string) []byte { return hashValue(h, f) })
		return
	}
	// A compact hash comes whole in one page in its own order, cursor 0,
	// as redis-server scans a listpack.
	if _, ok := parseCursor(args[2]); !ok {
		c.w.WriteError("ERR invalid cursor")
		return
	}
	pattern, _, _, ok := c.scanOptions(args[3:], false)
	if !ok {
		return
	}
	var out []string
	for f := range h.All() {
		if pattern == nil || store.Match(pattern, []byte(f)) {
			out = append(out, f)
		}
	}
	c.w.WriteArrayLen(2)
	c.w.WriteBulkString("0")
	c.w.WriteArrayLen(2 * len(out))
	for _, f := range out {
		c.w.WriteBulkString(f)
		c.w.WriteBulk(hashValue(h, f))
	}
}

func hashValue(h *store.Hash, field string) []byte {
	v, _ := h.Get([]byte(field))
	return v
}

// scanCollection answers HSCAN/SSCAN/ZSCAN. Elements are visited in the
// order of a 63-bit hash and the cursor is the hash where the next page
// starts, so an element present for the whole scan is returned at least
// once however the collection changes in between (as Redis guarantees).
// value, if not nil, adds each element's value.
func (c *Client) scanCollection(args [][]byte, elems []string, value func(string) []byte) {
	cursor, ok := parseCursor(args[2])
	if !ok {
		c.w.WriteError("ERR invalid cursor")
		return
	}
	pattern, count, _, ok := c.scanOptions(args[3:], false)
	if !ok {
		return
	}
	if len(elems) <= 128 { // small collections come whole, as Redis's compact encodings do
		count = max(count, len(elems))
	}
	type hashed struct {
		h uint64
		e string
	}
	order := make([]hashed, 0, len(elems))
	for _, e := range elems {
		if h := scanHash(e); h >= cursor {
			order = append(order, hashed{h, e})
		}
	}
	sort.Slice(order, func(i, j int) bool {
		return order[i].h < order[j].h || order[i].h == order[j].h && order[i].e < order[j].e
	})
	end := min(count, len(order))
	for end < len(order) && end > 0 && order[end].h == order[end-1].h {
		end++ // never split elements of one hash across pages
	}
	next := uint64(0)
	if end < len(order) {
		next = order[end].h
	}
	var out []string
	for _, x := range order[:end] {
		if pattern == nil || store.Match(pattern, []byte(x.e)) {
			out = append(out, x.e)
		}
	}
	c.w.WriteArrayLen(2)
	c.w.WriteBulkString(strconv.FormatUint(next, 10))
	n := len(out)
	if value != nil {
		n *= 2
	}
	c.w.WriteArrayLen(n)
	for _, e := range out {
		c.w.WriteBulkString(e)
		if value != nil {
			c.w.WriteBulk(value(e))
		}
	}
}

// scanHash is FNV-1a folded to 63 bits and never 0 (0 is the start cursor).
func scanHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h>>1 | 1
}
