package script

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// openCmsgpack installs "cmsgpack" (pack, unpack, unpack_one,
// unpack_limit) with lua-cmsgpack's encoding choices: integers in the
// smallest form, floats as float32 when exact, tables with keys 1..n as
// arrays and others as maps.
func openCmsgpack(L *lua.LState) {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(msgpackPack))
	t.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int { return msgpackUnpack(L, 0, 0, false) }))
	t.RawSetString("unpack_one", L.NewFunction(func(L *lua.LState) int {
		return msgpackUnpack(L, 1, L.OptInt(2, 0), true)
	}))
	t.RawSetString("unpack_limit", L.NewFunction(func(L *lua.LState) int {
		return msgpackUnpack(L, L.CheckInt(2), L.OptInt(3, 0), true)
	}))
	L.G.Global.RawSetString("cmsgpack", t)
}

const msgpackMaxNesting = 16

func msgpackPack(L *lua.LState) int {
	if L.GetTop() == 0 {
		L.ArgError(0, "MessagePack pack needs input.")
	}
	var out []byte
	for i := 1; i <= L.GetTop(); i++ {
		out = msgpackEncode(out, L.Get(i), 0)
	}
	L.Push(lua.LString(out))
	return 1
}

func msgpackEncode(b []byte, v lua.LValue, depth int) []byte {
	switch x := v.(type) {
	case lua.LBool:
		if x {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case lua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && f >= -9.2e18 && f <= 1.8e19 && !math.IsInf(f, 0) {
			if f >= 0 {
				return msgpackUint(b, uint64(f))
			}
			return msgpackInt(b, int64(f))
		}
		if float64(float32(f)) == f || math.IsNaN(f) {
			b = append(b, 0xca)
			return binary.BigEndian.AppendUint32(b, math.Float32bits(float32(f)))
		}
		b = append(b, 0xcb)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
	case lua.LString:
		n := len(x)
		switch {
		case n < 32:
			b = append(b, 0xa0|byte(n))
		case n < 256:
			b = append(b, 0xd9, byte(n))
		case n < 65536:
			b = append(b, 0xda)
			b = binary.BigEndian.AppendUint16(b, uint16(n))
		default:
			b = append(b, 0xdb)
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
		return append(b, x...)
	case *lua.LTable:
		if depth >= msgpackMaxNesting {
			return append(b, 0xc0)
		}
		count, maxKey, array := 0, 0, true
		forEachOrdered(x, func(k, _ lua.LValue) {
			count++
			if kn, ok := k.(lua.LNumber); ok && kn >= 1 && float64(kn) == math.Trunc(float64(kn)) {
				maxKey = max(maxKey, int(kn))
			} else {
				array = false
			}
		})
		if array && maxKey == count {
			b = msgpackLen(b, count, 0x90, 0xdc, 0xdd)
			for i := 1; i <= count; i++ {
				b = msgpackEncode(b, x.RawGetInt(i), depth+1)
			}
			return b
		}
		b = msgpackLen(b, count, 0x80, 0xde, 0xdf)
		forEachOrdered(x, func(k, val lua.LValue) {
			b = msgpackEncode(b, k, depth+1)
			b = msgpackEncode(b, val, depth+1)
		})
		return b
	}
	return append(b, 0xc0)
}

func msgpackLen(b []byte, n int, fix, b16, b32 byte) []byte {
	switch {
	case n < 16:
		return append(b, fix|byte(n))
	case n < 65536:
		return binary.BigEndian.AppendUint16(append(b, b16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, b32), uint32(n))
}

func msgpackUint(b []byte, n uint64) []byte {
	switch {
	case n < 128:
		return append(b, byte(n))
	case n < 256:
		return append(b, 0xcc, byte(n))
	case n < 65536:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
	case n < 1<<32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), n)
}

func msgpackInt(b []byte, n int64) []byte {
	switch {
	case n >= -32:
		return append(b, byte(int8(n)))
	case n >= -128:
		return append(b, 0xd0, byte(int8(n)))
	case n >= -32768:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(int16(n)))
	case n >= -1<<31:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(int32(n)))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

type msgpackDecoder struct {
	L   *lua.LState
	b   string
	pos int
}

func (d *msgpackDecoder) need(n int) {
	if n < 0 || d.pos+n > len(d.b) {
		d.L.RaiseError("Missing bytes in input.")
	}
}

func (d *msgpackDecoder) uint(n int) uint64 {
	d.need(n)
	var v uint64
	for i := 0; i < n; i++ {
		v = v<<8 | uint64(d.b[d.pos+i])
	}
	d.pos += n
	return v
}

func (d *msgpackDecoder) value(depth int) lua.LValue {
	if depth > 1000 {
		d.L.RaiseError("Bad data format in input.")
	}
	d.need(1)
	c := d.b[d.pos]
	d.pos++
	switch {
	case c < 0x80:
		return lua.LNumber(c)
	case c >= 0xe0:
		return lua.LNumber(int8(c))
	case c&0xf0 == 0x80:
		return d.mapOf(int(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return d.arrayOf(int(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		return d.str(int(c & 0x1f))
	}
	switch c {
	case 0xc0:
		return lua.LNil
	case 0xc2:
		return lua.LFalse
	case 0xc3:
		return lua.LTrue
	case 0xc4, 0xd9:
		return d.str(int(d.uint(1)))
	case 0xc5, 0xda:
		return d.str(int(d.uint(2)))
	case 0xc6, 0xdb:
		return d.str(int(d.uint(4)))
	case 0xca:
		return lua.LNumber(math.Float32frombits(uint32(d.uint(4))))
	case 0xcb:
		return lua.LNumber(math.Float64frombits(d.uint(8)))
	case 0xcc:
		return lua.LNumber(d.uint(1))
	case 0xcd:
		return lua.LNumber(d.uint(2))
	case 0xce:
		return lua.LNumber(d.uint(4))
	case 0xcf:
		return lua.LNumber(float64(d.uint(8)))
	case 0xd0:
		return lua.LNumber(int8(d.uint(1)))
	case 0xd1:
		return lua.LNumber(int16(d.uint(2)))
	case 0xd2:
		return lua.LNumber(int32(d.uint(4)))
	case 0xd3:
		return lua.LNumber(float64(int64(d.uint(8))))
	case 0xdc:
		return d.arrayOf(int(d.uint(2)), depth)
	case 0xdd:
		return d.arrayOf(int(d.uint(4)), depth)
	case 0xde:
		return d.mapOf(int(d.uint(2)), depth)
	case 0xdf:
		return d.mapOf(int(d.uint(4)), depth)
	}
	d.L.RaiseError("Bad data format in input.")
	return lua.LNil
}

func (d *msgpackDecoder) str(n int) lua.LValue {
	d.need(n)
	s := d.b[d.pos : d.pos+n]
	d.pos += n
	return lua.LString(s)
}

func (d *msgpackDecoder) arrayOf(n int, depth int) lua.LValue {
	d.need(n) // every element takes a byte at least
	t := d.L.CreateTable(n, 0)
	for i := 1; i <= n; i++ {
		t.RawSetInt(i, d.value(depth+1))
	}
	return t
}

func (d *msgpackDecoder) mapOf(n int, depth int) lua.LValue {
	d.need(2 * n)
	t := d.L.CreateTable(0, n)
	for i := 0; i < n; i++ {
		k := d.value(depth + 1)
		v := d.value(depth + 1)
		if k != lua.LNil {
			t.RawSet(k, v)
		}
	}
	return t
}

// msgpackUnpack decodes up to limit objects (0: all) from offset; with
// withOffset the next offset (or -1 at the end) comes first.
func msgpackUnpack(L *lua.LState, limit, offset int, withOffset bool) int {
	s := L.CheckString(1)
	if offset < 0 || offset > len(s) {
		L.ArgError(2, "Start offset greater than input length")
	}
	d := &msgpackDecoder{L: L, b: s, pos: offset}
	var vals []lua.LValue
	for d.pos < len(s) && (limit <= 0 || len(vals) < limit) {
		vals = append(vals, d.value(0))
	}
	if withOffset {
		next := d.pos
		if next >= len(s) {
			next = -1
		}
		L.Push(lua.LNumber(next))
	}
	for _, v := range vals {
		L.Push(v)
	}
	if withOffset {
		return len(vals) + 1
	}
	return len(vals)
}
