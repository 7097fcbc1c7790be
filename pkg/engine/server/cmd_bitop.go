package server

import "github.com/gocluster/gocluster/pkg/engine/store"

func init() {
	def("bitop", -4, "write denyoom", 2, -1, 1, cmdBitOp)
	def("bitpos", -3, "readonly", 1, 1, 1, cmdBitPos)
}

// cmdBitOp: BITOP AND|OR|XOR|NOT destkey key [key ...]. Missing sources
// are empty strings padded with zero bytes; an empty result deletes destkey.
func cmdBitOp(c *Client, args [][]byte) {
	var op func(acc, b byte) byte
	switch {
	case eq(args[1], "and"):
		op = func(acc, b byte) byte { return acc & b }
	case eq(args[1], "or"):
		op = func(acc, b byte) byte { return acc | b }
	case eq(args[1], "xor"):
		op = func(acc, b byte) byte { return acc ^ b }
	case eq(args[1], "not"):
		if len(args) != 4 {
			c.w.WriteError("ERR BITOP NOT must be called with a single source key.")
			return
		}
	default:
		c.w.WriteError(errSyntax)
		return
	}
	srcs := make([][]byte, 0, len(args)-3)
	maxLen := 0
	for _, key := range args[3:] {
		v, _, ok := c.getString(key)
		if !ok {
			return
		}
		srcs = append(srcs, v)
		maxLen = max(maxLen, len(v))
	}
	if maxLen == 0 {
		c.srv.DB.Delete(args[2])
		c.w.WriteInt(0)
		return
	}
	res := make([]byte, maxLen)
	copy(res, srcs[0])
	if op == nil { // NOT
		for i := range res {
			res[i] = ^res[i]
		}
	}
	for _, src := range srcs[1:] {
		for i := range res {
			var b byte
			if i < len(src) {
				b = src[i]
			}
			res[i] = op(res[i], b)
		}
	}
	c.srv.DB.Delete(args[2]) // a new value: no TTL
	c.srv.DB.SetStringForm(args[2], res, store.FormRaw)
	c.w.WriteInt(int64(maxLen))
}

// cmdBitPos: BITPOS key bit [start [end [BYTE|BIT]]].
func cmdBitPos(c *Client, args [][]byte) {
	bit, ok := parseInt(args[2])
	if !ok {
		c.w.WriteError(errNotInt)
		return
	}
	if bit != 0 && bit != 1 {
		c.w.WriteError("ERR The bit argument must be 1 or 0.")
		return
	}
	v, found, good := c.getString(args[1])
	if !good {
		return
	}
	if !found { // an endless run of zero bits
		c.w.WriteInt(-bit)
		return
	}
	if len(args) > 6 {
		c.w.WriteError(errSyntax)
		return
	}
	total := int64(len(v))
	start, end := int64(0), total-1
	bitUnit, endGiven := false, len(args) >= 5
	if len(args) >= 4 {
		if start, ok = parseInt(args[3]); !ok {
			c.w.WriteError(errNotInt)
			return
		}
		if len(args) == 6 {
			if bitUnit, ok = c.bitRangeUnit(args[5]); !ok {
				return
			}
		}
		if bitUnit {
			total *= 8
			end = total - 1
		}
		if endGiven {
			if end, ok = parseInt(args[4]); !ok {
				c.w.WriteError(errNotInt)
				return
			}
		}
		if start < 0 {
			start = max(total+start, 0)
		}
		if end < 0 {
			end = max(total+end, 0)
		}
		end = min(end, total-1)
	}
	if start > end {
		c.w.WriteInt(-1)
		return
	}
	if !bitUnit { // byte range to bit range
		start, end = start*8, end*8+7
	}
	want := byte(bit)
	skip := byte(0xff) * (1 - want) // a byte with no bit we look for
	for i := start; i <= end; i++ {
		if i&7 == 0 && i+7 <= end && v[i>>3] == skip {
			i += 7
			continue
		}
		if (v[i>>3]>>(7-i&7))&1 == want {
			c.w.WriteInt(i)
			return
		}
	}
	if bit == 1 || endGiven {
		c.w.WriteInt(-1)
		return
	}
	// Looking for a clear bit with no end given: the string continues
	// with zeros right after its last byte in range.
	c.w.WriteInt((end>>3 + 1) * 8)
}
