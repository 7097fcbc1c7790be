package server

import (
	"math/bits"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("setbit", 4, "write denyoom", 1, 1, 1, cmdSetBit)
	def("getbit", 3, "readonly fast", 1, 1, 1, cmdGetBit)
	def("bitcount", -2, "readonly", 1, 1, 1, cmdBitCount)
}

const errBitOffset = "ERR bit offset is not an integer or out of range"

// bitOffset parses a bit offset: the byte it falls in must be below
// proto-max-bulk-len, as in Redis.
func (c *Client) bitOffset(b []byte) (int64, bool) {
	off, ok := parseInt(b)
	if !ok || off < 0 || off>>3 >= c.maxBulkLen() {
		c.w.WriteError(errBitOffset)
		return 0, false
	}
	return off, true
}

func cmdSetBit(c *Client, args [][]byte) {
	off, ok := c.bitOffset(args[2])
	if !ok {
		return
	}
	if len(args[3]) != 1 || args[3][0] != '0' && args[3][0] != '1' {
		c.w.WriteError("ERR bit is not an integer or out of range")
		return
	}
	v, found, good := c.getString(args[1])
	if !good {
		return
	}
	byteIdx := int(off >> 3)
	nv := make([]byte, max(len(v), byteIdx+1))
	copy(nv, v)
	mask := byte(0x80) >> (off & 7)
	old := 0
	if nv[byteIdx]&mask != 0 {
		old = 1
	}
	if args[3][0] == '1' {
		nv[byteIdx] |= mask
	} else {
		nv[byteIdx] &^= mask
	}
	// as Redis, the value turns raw even when the bit was already so, but
	// only a new key, a longer value or a flipped bit counts as a change
	c.srv.DB.SetStringForm(args[1], nv, store.FormRaw)
	if found && len(nv) == len(v) && old == int(args[3][0]-'0') {
		c.changes = 0
	}
	c.w.WriteInt(int64(old))
}

func cmdGetBit(c *Client, args [][]byte) {
	off, ok := c.bitOffset(args[2])
	if !ok {
		return
	}
	v, _, good := c.getString(args[1])
	if !good {
		return
	}
	byteIdx := int(off >> 3)
	if byteIdx >= len(v) || v[byteIdx]&(byte(0x80)>>(off&7)) == 0 {
		c.w.WriteInt(0)
		return
	}
	c.w.WriteInt(1)
}

// cmdBitCount: BITCOUNT key [start end [BYTE|BIT]].
func cmdBitCount(c *Client, args [][]byte) {
	// Redis 7.0 looks the key up first: a missing key counts 0 whatever the
	// other arguments are.
	v, found, good := c.getString(args[1])
	if !good {
		return
	}
	if !found {
		c.w.WriteInt(0)
		return
	}
	if len(args) != 2 && len(args) != 4 && len(args) != 5 {
		c.w.WriteError(errSyntax)
		return
	}
	var start, end int64
	bitUnit := false
	if len(args) >= 4 {
		var ok bool
		if start, end, ok = c.twoInts(args[2], args[3]); !ok {
			return
		}
		if len(args) == 5 {
			if bitUnit, ok = c.bitRangeUnit(args[4]); !ok {
				return
			}
		}
	}
	if len(args) == 2 {
		c.w.WriteInt(int64(popcount(v)))
		return
	}
	if start < 0 && end < 0 && start > end {
		c.w.WriteInt(0)
		return
	}
	total := int64(len(v))
	if bitUnit {
		total *= 8
	}
	// Redis's clamping, which differs from LRANGE's: a negative end past
	// the start of the string counts the first byte or bit
	if start < 0 {
		start = max(total+start, 0)
	}
	if end < 0 {
		end = max(total+end, 0)
	}
	end = min(end, total-1)
	if start > end {
		c.w.WriteInt(0)
		return
	}
	from, to := int(start), int(end)
	if !bitUnit {
		c.w.WriteInt(int64(popcount(v[from : to+1])))
		return
	}
	n := 0
	for i := from; i <= to; i++ {
		if v[i>>3]&(byte(0x80)>>(i&7)) != 0 {
			n++
		}
	}
	c.w.WriteInt(int64(n))
}

// bitRangeUnit parses BITCOUNT's and BITPOS's BYTE|BIT: true for BIT.
func (c *Client) bitRangeUnit(b []byte) (bit, ok bool) {
	switch {
	case eq(b, "bit"):
		return true, true
	case eq(b, "byte"):
		return false, true
	}
	c.w.WriteError(errSyntax)
	return false, false
}

func popcount(b []byte) int {
	n := 0
	for _, x := range b {
		n += bits.OnesCount8(x)
	}
	return n
}
