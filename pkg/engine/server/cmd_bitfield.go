package server

import (
	"math"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("bitfield", -2, "write denyoom", 1, 1, 1, cmdBitField)
	def("bitfield_ro", -2, "readonly fast", 1, 1, 1, cmdBitField)
}

const (
	owWrap = iota
	owSat
	owFail
)

type bitfieldOp struct {
	op       byte // 'g', 's' or 'i'
	signed   bool
	bits     uint
	offset   uint64
	value    int64
	overflow int
}

const errBitfieldType = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."

// cmdBitField: BITFIELD key [GET type offset] [SET type offset value]
// [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ... and
// BITFIELD_RO key [GET type offset ...], as Redis's bitfieldGeneric.
func cmdBitField(c *Client, args [][]byte) {
	roCmd := eq(args[0], "bitfield_ro")
	var ops []bitfieldOp
	overflow := owWrap
	readonly := true
	var highest uint64
	for j := 2; j < len(args); j++ {
		rem := len(args) - j - 1
		var op byte
		switch {
		case eq(args[j], "get") && rem >= 2:
			op = 'g'
		case eq(args[j], "set") && rem >= 3:
			op = 's'
		case eq(args[j], "incrby") && rem >= 3:
			op = 'i'
		case eq(args[j], "overflow") && rem >= 1:
			j++
			switch {
			case eq(args[j], "wrap"):
				overflow = owWrap
			case eq(args[j], "sat"):
				overflow = owSat
			case eq(args[j], "fail"):
				overflow = owFail
			default:
				c.w.WriteError("ERR Invalid OVERFLOW type specified")
				return
			}
			continue
		default:
			c.w.WriteError(errSyntax)
			return
		}
		t := args[j+1]
		if len(t) < 2 || t[0] != 'i' && t[0] != 'u' {
			c.w.WriteError(errBitfieldType)
			return
		}
		signed := t[0] == 'i'
		n, ok := parseInt(t[1:])
		if !ok || n < 1 || signed && n > 64 || !signed && n > 63 {
			c.w.WriteError(errBitfieldType)
			return
		}
		bits := uint(n)
		off := args[j+2]
		hash := len(off) > 0 && off[0] == '#'
		if hash {
			off = off[1:]
		}
		o, ok := parseInt(off)
		if ok && hash {
			o *= int64(bits) // wraps on overflow, as in Redis
		}
		if !ok || o < 0 || o>>3 >= c.maxBulkLen() {
			c.w.WriteError(errBitOffset)
			return
		}
		bop := bitfieldOp{op: op, signed: signed, bits: bits, offset: uint64(o), overflow: overflow}
		if op != 'g' {
			readonly = false
			highest = max(highest, uint64(o)+uint64(bits)-1)
			v, ok := parseInt(args[j+3])
			if !ok {
				c.w.WriteError(errNotInt)
				return
			}
			bop.value = v
		}
		ops = append(ops, bop)
		if op == 'g' {
			j += 2
		} else {
			j += 3
		}
	}
	v, found, good := c.getString(args[1])
	if !good {
		return
	}
	var buf []byte
	if !readonly {
		if roCmd {
			c.w.WriteError("ERR BITFIELD_RO only supports the GET subcommand")
			return
		}
		size := int64(highest>>3) + 1
		if size > c.maxBulkLen() {
			c.w.WriteError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
			return
		}
		buf = make([]byte, max(int64(len(v)), size))
		copy(buf, v)
	}
	c.w.WriteArrayLen(len(ops))
	// as Redis counts them: each write, when the key is new or grew, or
	// the bits it wrote differ
	changes := 0
	grew := !found || len(buf) != len(v)
	for _, op := range ops {
		if op.op == 'g' {
			src := v
			if buf != nil {
				src = buf
			}
			var word [9]byte
			byteIdx := op.offset >> 3
			for i := uint64(0); i < 9 && byteIdx+i < uint64(len(src)); i++ {
				word[i] = src[byteIdx+i]
			}
			rel := op.offset - byteIdx*8
			if op.signed {
				c.w.WriteInt(getSignedBits(word[:], rel, op.bits))
			} else {
				c.w.WriteInt(int64(getBits(word[:], rel, op.bits)))
			}
			continue
		}
		if op.signed {
			old := getSignedBits(buf, op.offset, op.bits)
			var newv, ret, wrapped int64
			var over bool
			if op.op == 'i' {
				over, wrapped = signedOverflow(old, op.value, op.bits, op.overflow)
				newv = old + op.value
				if over {
					newv = wrapped
				}
				ret = newv
			} else {
				newv = op.value
				over, wrapped = signedOverflow(newv, 0, op.bits, op.overflow)
				if over {
					newv = wrapped
				}
				ret = old
			}
			if over && op.overflow == owFail {
				c.w.WriteNull()
				continue
			}
			c.w.WriteInt(ret)
			setBits(buf, op.offset, op.bits, uint64(newv))
			if grew || newv != old {
				changes++
			}
		} else {
			old := getBits(buf, op.offset, op.bits)
			var newv, ret, wrapped uint64
			var over bool
			if op.op == 'i' {
				newv = old + uint64(op.value)
				over, wrapped = unsignedOverflow(old, op.value, op.bits, op.overflow)
				if over {
					newv = wrapped
				}
				ret = newv
			} else {
				newv = uint64(op.value)
				over, wrapped = unsignedOverflow(newv, 0, op.bits, op.overflow)
				if over {
					newv = wrapped
				}
				ret = old
			}
			if over && op.overflow == owFail {
				c.w.WriteNull()
				continue
			}
			c.w.WriteInt(int64(ret))
			setBits(buf, op.offset, op.bits, newv)
			if grew || newv != old {
				changes++
			}
		}
	}
	if buf != nil { // a write made the value raw, as Redis, changed or not
		c.srv.DB.SetStringForm(args[1], buf, store.FormRaw)
		if changes > 0 {
			c.srv.DB.Touch(args[1])
		}
		c.changes = changes
	}
}

func getBits(p []byte, offset uint64, bits uint) uint64 {
	var v uint64
	for j := uint(0); j < bits; j++ {
		b := p[offset>>3]
		v = v<<1 | uint64(b>>(7-offset&7)&1)
		offset++
	}
	return v
}

func getSignedBits(p []byte, offset uint64, bits uint) int64 {
	v := getBits(p, offset, bits)
	if bits < 64 && v&(1<<(bits-1)) != 0 {
		v |= math.MaxUint64 << bits
	}
	return int64(v)
}

func setBits(p []byte, offset uint64, bits uint, value uint64) {
	for j := uint(0); j < bits; j++ {
		bit := byte(value>>(bits-1-j)) & 1
		shift := 7 - offset&7
		p[offset>>3] = p[offset>>3]&^(1<<shift) | bit<<shift
		offset++
	}
}

// unsignedOverflow is Redis's checkUnsignedBitfieldOverflow: whether
// value+incr leaves the type's range, and the value WRAP or SAT gives.
func unsignedOverflow(value uint64, incr int64, bits uint, ow int) (bool, uint64) {
	maxv := uint64(math.MaxUint64)
	if bits < 64 {
		maxv = 1<<bits - 1
	}
	maxincr := int64(maxv - value)
	minincr := -int64(value)
	wrap := func() uint64 { return (value + uint64(incr)) &^ (math.MaxUint64 << bits) }
	if value > maxv || incr > 0 && incr > maxincr {
		switch ow {
		case owWrap:
			return true, wrap()
		case owSat:
			return true, maxv
		}
		return true, 0
	}
	if incr < 0 && incr < minincr {
		switch ow {
		case owWrap:
			return true, wrap()
		case owSat:
			return true, 0
		}
		return true, 0
	}
	return false, 0
}

// signedOverflow is Redis's checkSignedBitfieldOverflow.
func signedOverflow(value, incr int64, bits uint, ow int) (bool, int64) {
	maxv := int64(math.MaxInt64)
	if bits < 64 {
		maxv = 1<<(bits-1) - 1
	}
	minv := -maxv - 1
	maxincr := int64(uint64(maxv) - uint64(value))
	minincr := minv - value
	wrap := func() int64 {
		c := uint64(value) + uint64(incr)
		if bits < 64 {
			mask := uint64(math.MaxUint64) << bits
			if c&(1<<(bits-1)) != 0 {
				c |= mask
			} else {
				c &^= mask
			}
		}
		return int64(c)
	}
	if value > maxv || bits != 64 && incr > maxincr || value >= 0 && incr > 0 && incr > maxincr {
		switch ow {
		case owWrap:
			return true, wrap()
		case owSat:
			return true, maxv
		}
		return true, 0
	}
	if value < minv || bits != 64 && incr < minincr || value < 0 && incr < 0 && incr < minincr {
		switch ow {
		case owWrap:
			return true, wrap()
		case owSat:
			return true, minv
		}
		return true, 0
	}
	return false, 0
}
