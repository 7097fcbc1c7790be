package server

import (
	"math"
	"strings"

	"github.com/gocluster/gocluster/pkg/engine/resp"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("zadd", -4, "write denyoom fast", 1, 1, 1, cmdZAdd)
	def("zincrby", 4, "write denyoom fast", 1, 1, 1, cmdZIncrBy)
	def("zrem", -3, "write fast", 1, 1, 1, cmdZRem)
	def("zscore", 3, "readonly fast", 1, 1, 1, cmdZScore)
	def("zmscore", -3, "readonly fast", 1, 1, 1, cmdZMScore)
	def("zcard", 2, "readonly fast", 1, 1, 1, cmdZCard)
	def("zcount", 4, "readonly fast", 1, 1, 1, cmdZCount)
	def("zlexcount", 4, "readonly fast", 1, 1, 1, cmdZCount)
	def("zrank", 3, "readonly fast", 1, 1, 1, cmdZRank)
	def("zrevrank", 3, "readonly fast", 1, 1, 1, cmdZRank)
	def("zrange", -4, "readonly", 1, 1, 1, cmdZRange)
	def("zrevrange", -4, "readonly", 1, 1, 1, cmdZRange)
	def("zrangebyscore", -4, "readonly", 1, 1, 1, cmdZRange)
	def("zrevrangebyscore", -4, "readonly", 1, 1, 1, cmdZRange)
	def("zrangebylex", -4, "readonly", 1, 1, 1, cmdZRange)
	def("zrevrangebylex", -4, "readonly", 1, 1, 1, cmdZRange)
	def("zremrangebyrank", 4, "write", 1, 1, 1, cmdZRemRange)
	def("zremrangebyscore", 4, "write", 1, 1, 1, cmdZRemRange)
	def("zremrangebylex", 4, "write", 1, 1, 1, cmdZRemRange)
	def("zpopmin", -2, "write fast", 1, 1, 1, cmdZPop)
	def("zpopmax", -2, "write fast", 1, 1, 1, cmdZPop)
	def("zscan", -3, "readonly", 1, 1, 1, cmdZScan)
}

func (c *Client) zset(key []byte, create bool) (*store.ZSet, bool) {
	z, err := c.srv.DB.ZSet(key, create)
	if err != nil {
		c.w.WriteError(errWrongType)
		return nil, false
	}
	return z, true
}

func cmdZAdd(c *Client, args [][]byte) {
	var nx, xx, gt, lt, ch, incr bool
	i := 2
	for ; i < len(args); i++ {
		switch {
		case eq(args[i], "nx"):
			nx = true
		case eq(args[i], "xx"):
			xx = true
		case eq(args[i], "gt"):
			gt = true
		case eq(args[i], "lt"):
			lt = true
		case eq(args[i], "ch"):
			ch = true
		case eq(args[i], "incr"):
			incr = true
		default:
			goto pairs
		}
	}
pairs:
	rest := args[i:]
	if len(rest) == 0 || len(rest)%2 != 0 {
		c.w.WriteError(errSyntax)
		return
	}
	if nx && xx {
		c.w.WriteError("ERR XX and NX options at the same time are not compatible")
		return
	}
	if gt && lt || (gt || lt) && nx {
		c.w.WriteError("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	}
	if incr && len(rest) != 2 {
		c.w.WriteError("ERR INCR option supports a single increment-element pair")
		return
	}
	var small [16]float64 // ZADD's usual few members need no heap slice
	scores := small[:0]
	for j := 0; j < len(rest); j += 2 {
		f, ok := parseDouble(rest[j])
		if !ok {
			c.w.WriteError(errNotFloat)
			return
		}
		scores = append(scores, f)
	}
	z, ok := c.zset(args[1], !xx)
	if !ok {
		return
	}
	if z == nil { // XX on a missing key
		if incr {
			c.w.WriteNull()
		} else {
			c.w.WriteInt(0)
		}
		return
	}
	added, changed := 0, 0
	var last float64
	skipped := false
	for j, score := range scores {
		member := rest[2*j+1]
		old, exists := z.Score(member)
		if exists && nx || !exists && xx {
			skipped = true
			continue
		}
		if incr && exists {
			score += old
			if math.IsNaN(score) {
				c.srv.DB.DeleteIfEmpty(args[1])
				c.w.WriteError("ERR resulting score is not a number (NaN)")
				return
			}
		}
		if exists && (gt && score <= old || lt && score >= old) {
			skipped = true
			continue
		}
		last = score
		if z.Add(member, score, c.srv.DB.Limits()) {
			added++
		} else if exists && old != score {
			changed++
		}
	}
	c.srv.DB.DeleteIfEmpty(args[1])
	c.keyChanged = added+changed > 0 // without CH the reply leaves out changed scores
	if incr {
		if skipped {
			c.w.WriteNull()
		} else {
			c.w.WriteDouble(last)
		}
		return
	}
	if ch {
		c.w.WriteInt(int64(added + changed))
	} else {
		c.w.WriteInt(int64(added))
	}
}

func cmdZIncrBy(c *Client, args [][]byte) {
	delta, ok := parseDouble(args[2])
	if !ok {
		c.w.WriteError(errNotFloat)
		return
	}
	z, ok := c.zset(args[1], true)
	if !ok {
		return
	}
	score := delta // a new member keeps the increment as given, -0 included
	if old, exists := z.Score(args[3]); exists {
		score = old + delta
	}
	if math.IsNaN(score) {
		c.srv.DB.DeleteIfEmpty(args[1])
		c.w.WriteError("ERR resulting score is not a number (NaN)")
		return
	}
	z.Add(args[3], score, c.srv.DB.Limits())
	c.w.WriteDouble(score)
}

func cmdZRem(c *Client, args [][]byte) {
	z, ok := c.zset(args[1], false)
	if !ok {
		return
	}
	n := 0
	if z != nil {
		for _, m := range args[2:] {
			if z.Remove(m) {
				n++
			}
		}
		c.srv.DB.DeleteIfEmpty(args[1])
	}
	c.w.WriteInt(int64(n))
}

func cmdZScore(c *Client, args [][]byte) {
	z, ok := c.zset(args[1], false)
	if !ok {
		return
	}
	if z == nil {
		c.w.WriteNull()
		return
	}
	if s, found := z.Score(args[2]); found {
		c.w.WriteDouble(s)
	} else {
		c.w.WriteNull()
	}
}

func cmdZMScore(c *Client, args [][]byte) {
	z, ok := c.zset(args[1], false)
	if !ok {
		return
	}
	c.w.WriteArrayLen(len(args) - 2)
	for _, m := range args[2:] {
		if z == nil {
			c.w.WriteNull()
		} else if s, found := z.Score(m); found {
			c.w.WriteDouble(s)
		} else {
			c.w.WriteNull()
		}
	}
}

func cmdZCard(c *Client, args [][]byte) {
	if z, ok := c.zset(args[1], false); ok {
		if z == nil {
			c.w.WriteInt(0)
		} else {
			c.w.WriteInt(int64(z.Len()))
		}
	}
}

func parseScoreBound(b []byte) (store.ScoreBound, bool) {
	excl := len(b) > 0 && b[0] == '('
	if excl {
		b = b[1:]
	}
	f, ok := parseRangeDouble(b)
	return store.ScoreBound{Value: f, Exclusive: excl}, ok
}

func parseLexBound(b []byte) (store.LexBound, bool) {
	switch {
	case len(b) == 1 && b[0] == '-':
		return store.LexBound{Inf: -1}, true
	case len(b) == 1 && b[0] == '+':
		return store.LexBound{Inf: 1}, true
	case len(b) > 0 && b[0] == '(':
		return store.LexBound{Value: b[1:], Exclusive: true}, true
	case len(b) > 0 && b[0] == '[':
		return store.LexBound{Value: b[1:]}, true
	}
	return store.LexBound{}, false
}

// zBounds is a parsed score or lex interval. Redis parses it before it
// looks the key up, so a bad bound is reported even for a missing key or
// one of another type.
type zBounds struct {
	byLex            bool
	lexLo, lexHi     store.LexBound
	scoreLo, scoreHi store.ScoreBound
}

// parseBounds parses lo and hi, replying with Redis's error when invalid.
func (c *Client) parseBounds(lo, hi []byte, byLex bool) (zBounds, bool) {
	b := zBounds{byLex: byLex}
	var ok1, ok2 bool
	if byLex {
		b.lexLo, ok1 = parseLexBound(lo)
		b.lexHi, ok2 = parseLexBound(hi)
		if !ok1 || !ok2 {
			c.w.WriteError("ERR min or max not valid string range item")
		}
	} else {
		b.scoreLo, ok1 = parseScoreBound(lo)
		b.scoreHi, ok2 = parseScoreBound(hi)
		if !ok1 || !ok2 {
			c.w.WriteError("ERR min or max is not a float")
		}
	}
	return b, ok1 && ok2
}

// rankRange resolves the bounds into a rank interval [from, to) of z.
func (b zBounds) rankRange(z *store.ZSet) (int, int) {
	if z == nil {
		return 0, 0
	}
	if b.byLex {
		return z.LexRange(b.lexLo, b.lexHi)
	}
	from, to := z.FirstAbove(b.scoreLo), z.LastBelow(b.scoreHi)
	return from, max(from, to)
}

func cmdZCount(c *Client, args [][]byte) {
	bounds, ok := c.parseBounds(args[2], args[3], eq(args[0], "zlexcount"))
	if !ok {
		return
	}
	z, ok := c.zset(args[1], false)
	if !ok {
		return
	}
	from, to := bounds.rankRange(z)
	c.w.WriteInt(int64(to - from))
}

func cmdZRank(c *Client, args [][]byte) {
	z, ok := c.zset(args[1], false)
	if !ok {
		return
	}
	if z == nil {
		c.w.WriteNull()
		return
	}
	r, found := z.Rank(args[2])
	if !found {
		c.w.WriteNull()
		return
	}
	if eq(args[0], "zrevrank") {
		r = z.Len() - 1 - r
	}
	c.w.WriteInt(int64(r))
}

// cmdZRange serves ZRANGE with all its forms and the older ZREVRANGE,
// ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX and ZREVRANGEBYLEX.
func cmdZRange(c *Client, args [][]byte) {
	if members, withScores, ok := c.zrangeMembers(string(lower(args[0])), args, false); ok {
		c.writeZMembers(members, withScores)
	}
}

// zrangeMembers is the range of the ZRANGE family (args: name key min max
// [options]); storing is ZRANGESTORE, which takes no WITHSCORES. ok is
// false when an error reply was written.
func (c *Client) zrangeMembers(name string, args [][]byte, storing bool) (members []store.ZMember, withScores, ok bool) {
	byScore := strings.Contains(name, "byscore")
	byLex := strings.Contains(name, "bylex")
	rev := strings.HasPrefix(name, "zrev")
	withScores, limited := false, false
	var offset, count int64 = 0, -1
	for i := 4; i < len(args); i++ {
		switch {
		case !storing && eq(args[i], "withscores"):
			withScores = true
		case eq(args[i], "limit") && i+2 < len(args) && (name == "zrange" || byScore || byLex):
			o, ok1 := parseInt(args[i+1])
			n, ok2 := parseInt(args[i+2])
			if !ok1 || !ok2 {
				c.w.WriteError(errNotInt)
				return nil, false, false
			}
			offset, count, limited = o, n, true
			i += 2
		case name == "zrange" && eq(args[i], "byscore") && !byLex:
			byScore = true
		case name == "zrange" && eq(args[i], "bylex") && !byScore:
			byLex = true
		case name == "zrange" && eq(args[i], "rev"):
			rev = true
		default:
			c.w.WriteError(errSyntax)
			return nil, false, false
		}
	}
	if byLex && withScores {
		c.w.WriteError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return nil, false, false
	}
	if limited && !byScore && !byLex {
		c.w.WriteError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return nil, false, false
	}
	// Redis parses the range before it looks the key up.
	var bounds zBounds
	var start, stop int64
	if byScore || byLex {
		lo, hi := args[2], args[3]
		if rev {
			lo, hi = hi, lo
		}
		bounds, ok = c.parseBounds(lo, hi, byLex)
	} else {
		start, stop, ok = c.twoInts(args[2], args[3])
	}
	if !ok {
		return nil, false, false
	}
	z, ok := c.zset(args[1], false)
	if !ok {
		return nil, false, false
	}
	if z == nil {
		return nil, withScores, true
	}
	var from, to int // the ascending rank interval [from, to) to reply with
	if byScore || byLex {
		from, to = bounds.rankRange(z)
	} else if f, t, nonEmpty := rangeIndexes(start, stop, z.Len()); nonEmpty {
		if rev { // ranks counted from the highest score
			f, t = z.Len()-1-t, z.Len()-1-f
		}
		from, to = f, t+1
	}
	if limited { // offset and count walk in the reply's direction
		n := int64(to - from)
		if offset < 0 || offset >= n {
			return nil, withScores, true
		}
		keep := n - offset
		if count >= 0 {
			keep = min(keep, count)
		}
		if rev {
			to -= int(offset)
			from = to - int(keep)
		} else {
			from += int(offset)
			to = from + int(keep)
		}
	}
	return z.Slice(from, to, rev), withScores, true
}

// writeZMembers writes members (and scores): RESP3 gets [member, score] pairs.
func (c *Client) writeZMembers(members []store.ZMember, withScores bool) {
	if withScores && c.w.Proto() == 3 {
		c.w.WriteArrayLen(len(members))
		for _, m := range members {
			c.w.WriteArrayLen(2)
			c.w.WriteBulk(m.Member)
			c.w.WriteDouble(m.Score)
		}
		return
	}
	n := len(members)
	if withScores {
		n *= 2
	}
	c.w.WriteArrayLen(n)
	for _, m := range members {
		c.w.WriteBulk(m.Member)
		if withScores {
			c.w.WriteDouble(m.Score)
		}
	}
}

func cmdZRemRange(c *Client, args [][]byte) {
	name := string(lower(args[0]))
	byRank := name == "zremrangebyrank"
	// Redis parses the range before it looks the key up.
	var bounds zBounds
	var start, stop int64
	var ok bool
	if byRank {
		start, stop, ok = c.twoInts(args[2], args[3])
	} else {
		bounds, ok = c.parseBounds(args[2], args[3], name == "zremrangebylex")
	}
	if !ok {
		return
	}
	z, ok := c.zset(args[1], false)
	if !ok {
		return
	}
	var from, to int
	if !byRank {
		from, to = bounds.rankRange(z)
	} else if z != nil {
		if f, t, nonEmpty := rangeIndexes(start, stop, z.Len()); nonEmpty {
			from, to = f, t+1
		}
	}
	n := 0
	if z != nil {
		n = z.RemoveRange(from, to)
		c.srv.DB.DeleteIfEmpty(args[1])
	}
	c.w.WriteInt(int64(n))
}

func cmdZPop(c *Client, args [][]byte) {
	count, withCount, ok := c.popCount(args)
	if !ok {
		return
	}
	z, ok := c.zset(args[1], false)
	if !ok {
		return
	}
	var popped []store.ZMember
	if z != nil {
		n := min(int(min(count, 1<<30)), z.Len())
		popped = z.PopEnd(n, eq(args[0], "zpopmin"))
		c.srv.DB.DeleteIfEmpty(args[1])
	}
	if withCount && c.w.Proto() == 3 {
		c.writeZMembers(popped, true)
		return
	}
	c.w.WriteArrayLen(2 * len(popped))
	for _, m := range popped {
		c.w.WriteBulk(m.Member)
		c.w.WriteDouble(m.Score)
	}
}

func appendScore(f float64) []byte { return resp.AppendFloat(nil, f) }

func cmdZScan(c *Client, args [][]byte) {
	z, ok := c.zset(args[1], false)
	if !ok {
		return
	}
	var members []string
	scores := map[string]float64{}
	if z != nil {
		for m := range z.All() {
			members = append(members, string(m.Member))
			scores[string(m.Member)] = m.Score
		}
	}
	c.scanCollection(args, members, func(m string) []byte {
		return appendScore(scores[m])
	})
}
