package server

func init() {
	def("lcs", -3, "readonly", 1, 2, 1, cmdLCS)
}

// cmdLCS: LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN], the
// longest common subsequence by Redis's dynamic programming, so that the
// string and the match ranges it reports are Redis's own.
func cmdLCS(c *Client, args [][]byte) {
	db := c.srv.DB
	a, _, errA := db.GetString(args[1])
	b, _, errB := db.GetString(args[2])
	if errA != nil || errB != nil {
		c.w.WriteError("ERR The specified keys must contain string values")
		return
	}
	var getLen, getIdx, withMatchLen bool
	var minMatch int64
	for j := 3; j < len(args); j++ {
		switch {
		case eq(args[j], "idx"):
			getIdx = true
		case eq(args[j], "len"):
			getLen = true
		case eq(args[j], "withmatchlen"):
			withMatchLen = true
		case eq(args[j], "minmatchlen") && j+1 < len(args):
			n, ok := parseInt(args[j+1])
			if !ok {
				c.w.WriteError(errNotInt)
				return
			}
			minMatch = max(n, 0)
			j++
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	if getLen && getIdx {
		c.w.WriteError("ERR If you want both the length and indexes, please just use IDX.")
		return
	}
	alen, blen := len(a), len(b)
	if limit := c.srv.Cfg.Int("proto-max-bulk-len"); int64(alen+1)*int64(blen+1)*4 > int64(limit) {
		c.w.WriteError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
		return
	}
	w := blen + 1
	lcs := make([]uint32, (alen+1)*w)
	for i := 1; i <= alen; i++ {
		for j := 1; j <= blen; j++ {
			if a[i-1] == b[j-1] {
				lcs[i*w+j] = lcs[(i-1)*w+j-1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i-1)*w+j], lcs[i*w+j-1])
			}
		}
	}
	total := lcs[alen*w+blen]
	if getLen {
		c.w.WriteInt(int64(total))
		return
	}
	result := make([]byte, total)
	type match struct{ a0, a1, b0, b1 int }
	var matches []match
	idx := int(total)
	unset := alen
	as, ae, bs, be := unset, 0, 0, 0
	i, j := alen, blen
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if as == unset {
				as, ae, bs, be = i-1, i-1, j-1, j-1
			} else if as == i && bs == j {
				as--
				bs--
			} else {
				emit = true
			}
			if as == 0 || bs == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if lcs[(i-1)*w+j] > lcs[i*w+j-1] {
				i--
			} else {
				j--
			}
			if as != unset {
				emit = true
			}
		}
		if emit {
			if minMatch == 0 || int64(ae-as+1) >= minMatch {
				matches = append(matches, match{as, ae, bs, be})
			}
			as = unset
		}
	}
	if !getIdx {
		c.w.WriteBulk(result)
		return
	}
	c.w.WriteMapLen(2)
	c.w.WriteBulkString("matches")
	c.w.WriteArrayLen(len(matches))
	for _, m := range matches {
		if withMatchLen {
			c.w.WriteArrayLen(3)
		} else {
			c.w.WriteArrayLen(2)
		}
		c.w.WriteArrayLen(2)
		c.w.WriteInt(int64(m.a0))
		c.w.WriteInt(int64(m.a1))
		c.w.WriteArrayLen(2)
		c.w.WriteInt(int64(m.b0))
		c.w.WriteInt(int64(m.b1))
		if withMatchLen {
			c.w.WriteInt(int64(m.a1 - m.a0 + 1))
		}
	}
	c.w.WriteBulkString("len")
	c.w.WriteInt(int64(total))
}
