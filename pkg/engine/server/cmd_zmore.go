package server

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// ZRANDMEMBER, ZINTERCARD and ZRANGESTORE.

func init() {
	def("zrandmember", -2, "readonly", 1, 1, 1, cmdZRandMember)
	def("zintercard", -3, "readonly movablekeys", 0, 0, 0, cmdZInterCard).movable = numKeysAt(1)
	def("zrangestore", -5, "write denyoom", 1, 2, 1, cmdZRangeStore)
}

// cmdZRandMember: ZRANDMEMBER key [count [WITHSCORES]], checked in Redis's
// order (the count, the syntax, the range, then the key).
func cmdZRandMember(c *Client, args [][]byte) {
	var count int64
	withScores := len(args) == 4 && eq(args[3], "withscores")
	if len(args) >= 3 {
		var ok bool
		if count, ok = c.randomCount(args[2]); !ok {
			return
		}
		if len(args) > 4 || len(args) == 4 && !withScores {
			c.w.WriteError(errSyntax)
			return
		}
		if withScores && (count < -math.MaxInt64/2 || count > math.MaxInt64/2) {
			c.w.WriteError("ERR value is out of range")
			return
		}
	}
	z, ok := c.zset(args[1], false)
	if !ok {
		return
	}
	if len(args) == 2 {
		if z == nil {
			c.w.WriteNull()
			return
		}
		c.w.WriteBulk(z.At(rand.IntN(z.Len())).Member)
		return
	}
	var picked []store.ZMember
	if z != nil && count != 0 {
		picked = randomZMembers(z, count)
	}
	c.writeZMembers(picked, withScores)
}

// cmdZInterCard: ZINTERCARD numkeys key... [LIMIT limit]; plain sets count
// as sorted sets.
func cmdZInterCard(c *Client, args [][]byte) {
	n, ok := parseInt(args[1])
	if !ok {
		c.w.WriteError(errNotInt)
		return
	}
	if n < 1 {
		c.w.WriteError("ERR at least 1 input key is needed for 'zintercard' command")
		return
	}
	if n > int64(len(args)-2) {
		c.w.WriteError(errSyntax)
		return
	}
	keys := args[2 : 2+n]
	inputs := make([]map[string]float64, n)
	for i, k := range keys {
		m, good := c.zsetOrSetScores(k)
		if !good {
			return
		}
		inputs[i] = m
	}
	limit := int64(0)
	for i := 2 + int(n); i < len(args); i++ {
		if eq(args[i], "limit") && i+1 < len(args) {
			l, ok := parseInt(args[i+1])
			if !ok || l < 0 { // Redis gives the LIMIT message for both
				c.w.WriteError("ERR LIMIT can't be negative")
				return
			}
			limit = l
			i++
			continue
		}
		c.w.WriteError(errSyntax)
		return
	}
	smallest := 0
	for i, m := range inputs {
		if len(m) < len(inputs[smallest]) {
			smallest = i
		}
	}
	var card int64
	for m := range inputs[smallest] {
		in := true
		for i, other := range inputs {
			if i == smallest {
				continue
			}
			if _, ok := other[m]; !ok {
				in = false
				break
			}
		}
		if in {
			card++
			if limit > 0 && card >= limit {
				break
			}
		}
	}
	c.w.WriteInt(card)
}

// cmdZRangeStore: ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT
// offset count]; an empty range deletes dst.
func cmdZRangeStore(c *Client, args [][]byte) {
	members, _, ok := c.zrangeMembers("zrange", args[1:], true)
	if !ok {
		return
	}
	db := c.srv.DB
	dst := args[1]
	if len(members) == 0 {
		db.Delete(dst)
		c.w.WriteInt(0)
		return
	}
	members = append([]store.ZMember(nil), members...) // dst may be src
	db.Delete(dst)
	z, _ := db.ZSet(dst, true)
	for _, m := range members {
		z.Add(copyBytes(m.Member), m.Score, db.Limits())
	}
	c.w.WriteInt(int64(len(members)))
}

// randomZMembers picks -count members with repeats (count < 0) or
// min(count, Len) distinct ones, in random order. A few distinct picks
// from a large set are drawn by rank instead of shuffling the whole set.
func randomZMembers(z *store.ZSet, count int64) []store.ZMember {
	size := z.Len()
	if count < 0 {
		n := int64(1 << 20) // a cap; also keeps -count from overflowing
		if count > -n {
			n = -count
		}
		picked := make([]store.ZMember, n)
		for i := range picked {
			picked[i] = z.At(rand.IntN(size))
		}
		return picked
	}
	want := int(min(count, int64(size)))
	if want*4 < size {
		picked := make([]store.ZMember, 0, want)
		seen := make(map[int]bool, want)
		for len(picked) < want {
			if r := rand.IntN(size); !seen[r] {
				seen[r] = true
				picked = append(picked, z.At(r))
			}
		}
		return picked
	}
	picked := slices.Collect(z.All())
	rand.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	return picked[:want]
}
