package server

import (
	"math"
	"sort"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("zunionstore", -4, "write denyoom movablekeys", 0, 0, 0, cmdZSetOp).movable = storeNumKeys
	def("zinterstore", -4, "write denyoom movablekeys", 0, 0, 0, cmdZSetOp).movable = storeNumKeys
	def("zdiffstore", -4, "write denyoom movablekeys", 0, 0, 0, cmdZSetOp).movable = storeNumKeys
	def("zunion", -3, "readonly movablekeys", 0, 0, 0, cmdZSetOp).movable = numKeysAt(1)
	def("zinter", -3, "readonly movablekeys", 0, 0, 0, cmdZSetOp).movable = numKeysAt(1)
	def("zdiff", -3, "readonly movablekeys", 0, 0, 0, cmdZSetOp).movable = numKeysAt(1)
}

// storeNumKeys finds keys of "CMD destination numkeys key...": the
// destination and the sources.
func storeNumKeys(args [][]byte) []int {
	src := numKeysAt(2)(args)
	if src == nil {
		return nil
	}
	return append([]int{1}, src...)
}

// cmdZSetOp serves ZUNION[STORE], ZINTER[STORE] and ZDIFF[STORE] with
// WEIGHTS, AGGREGATE SUM|MIN|MAX and WITHSCORES. Plain sets count as
// sorted sets with every score 1, as in Redis.
func cmdZSetOp(c *Client, args [][]byte) {
	name := string(lower(args[0]))
	op := name[1:5] // "unio", "inte" or "diff"
	storeTo := len(name) > 5 && name[len(name)-5:] == "store"
	pos := 1
	if storeTo {
		pos = 2
	}
	n, ok := parseInt(args[pos])
	if !ok {
		c.w.WriteError(errNotInt)
		return
	}
	if n < 1 {
		c.w.WriteError("ERR at least 1 input key is needed for '" + name + "' command")
		return
	}
	if n > int64(len(args)-pos-1) {
		c.w.WriteError(errSyntax)
		return
	}
	keys := args[pos+1 : pos+1+int(n)]
	// Redis reads (and type-checks) the inputs before it parses the options.
	inputs := make([]map[string]float64, n)
	for i, k := range keys {
		m, good := c.zsetOrSetScores(k)
		if !good {
			return
		}
		inputs[i] = m
	}
	weights := make([]float64, n)
	for i := range weights {
		weights[i] = 1
	}
	aggregate, withScores := "sum", false
	for i := pos + 1 + int(n); i < len(args); i++ {
		switch {
		case eq(args[i], "weights") && op != "diff" && i+int(n) < len(args):
			for j := range weights {
				w, good := parseDouble(args[i+1+j])
				if !good {
					c.w.WriteError("ERR weight value is not a float")
					return
				}
				weights[j] = w
			}
			i += int(n)
		case eq(args[i], "aggregate") && op != "diff" && i+1 < len(args):
			aggregate = string(lower(args[i+1]))
			if aggregate != "sum" && aggregate != "min" && aggregate != "max" {
				c.w.WriteError(errSyntax)
				return
			}
			i++
		case eq(args[i], "withscores") && !storeTo:
			withScores = true
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	result := combineScores(op, aggregate, inputs, weights)
	members := make([]store.ZMember, 0, len(result))
	for m, s := range result {
		members = append(members, store.ZMember{Member: []byte(m), Score: s})
	}
	sort.Slice(members, func(i, j int) bool {
		a, b := members[i], members[j]
		return a.Score < b.Score || a.Score == b.Score && string(a.Member) < string(b.Member)
	})
	if !storeTo {
		c.writeZMembers(members, withScores)
		return
	}
	db := c.srv.DB
	db.Delete(args[1])
	if len(members) > 0 {
		z, _ := db.ZSet(args[1], true)
		for _, m := range members {
			z.Add(m.Member, m.Score, db.Limits())
		}
	}
	c.w.WriteInt(int64(len(members)))
}

// zsetOrSetScores reads a sorted set, or a set with scores 1; nil for a
// missing key. It writes WRONGTYPE for other types.
func (c *Client) zsetOrSetScores(key []byte) (map[string]float64, bool) {
	db := c.srv.DB
	switch db.Type(key) {
	case store.KindNone:
		return nil, true
	case store.KindSet:
		s, _ := db.Set(key, false)
		out := make(map[string]float64, s.Len())
		for m := range s.All() {
			out[m] = 1
		}
		return out, true
	case store.KindZSet:
		z, _ := db.ZSet(key, false)
		out := make(map[string]float64, z.Len())
		for m := range z.All() {
			out[string(m.Member)] = m.Score
		}
		return out, true
	}
	c.w.WriteError(errWrongType)
	return nil, false
}

func combineScores(op, aggregate string, inputs []map[string]float64, weights []float64) map[string]float64 {
	result := map[string]float64{}
	weigh := func(s, w float64) float64 {
		v := s * w
		if math.IsNaN(v) { // inf * 0
			return 0
		}
		return v
	}
	merge := func(old, v float64) float64 {
		var r float64
		switch aggregate {
		case "min":
			r = math.Min(old, v)
		case "max":
			r = math.Max(old, v)
		default:
			r = old + v
		}
		if math.IsNaN(r) { // +inf + -inf
			return 0
		}
		return r
	}
	switch op {
	case "unio":
		for i, in := range inputs {
			for m, s := range in {
				v := weigh(s, weights[i])
				if old, ok := result[m]; ok {
					result[m] = merge(old, v)
				} else {
					result[m] = v
				}
			}
		}
	case "inte":
		for m, s := range inputs[0] {
			v := weigh(s, weights[0])
			in := true
			for i, other := range inputs[1:] {
				os, ok := other[m]
				if !ok {
					in = false
					break
				}
				v = merge(v, weigh(os, weights[i+1]))
			}
			if in {
				result[m] = v
			}
		}
	default: // diff
		for m, s := range inputs[0] {
			in := false
			for _, other := range inputs[1:] {
				if _, ok := other[m]; ok {
					in = true
					break
				}
			}
			if !in {
				result[m] = s
			}
		}
	}
	return result
}
