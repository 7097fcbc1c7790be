package script

import (
	"encoding/binary"
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// openStruct installs the "struct" library (pack, unpack, size) with the
// format language of Roberto Ierusalimschy's struct module that Redis
// embeds: < > = ! x b B h H l L T i[n] I[n] f d s c[n].
func openStruct(L *lua.LState) {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(structPack))
	t.RawSetString("unpack", L.NewFunction(structUnpack))
	t.RawSetString("size", L.NewFunction(structSize))
	L.G.Global.RawSetString("struct", t)
}

type structFmt struct {
	f      string
	pos    int
	little bool
	align  int
}

// next returns the next option and its size (0 for none), skipping the
// endianness and alignment controls.
func (s *structFmt) next(L *lua.LState) (op byte, size int, ok bool) {
	for s.pos < len(s.f) {
		c := s.f[s.pos]
		s.pos++
		switch c {
		case ' ':
			continue
		case '>':
			s.little = false
			continue
		case '<', '=':
			s.little = true
			continue
		case '!':
			s.align = s.num(8)
			continue
		case 'x', 'b', 'B':
			return c, 1, true
		case 'h', 'H':
			return c, 2, true
		case 'l', 'L', 'T':
			return c, 8, true
		case 'f':
			return c, 4, true
		case 'd':
			return c, 8, true
		case 's':
			return c, 0, true
		case 'c':
			return c, s.num(1), true
		case 'i', 'I':
			n := s.num(4)
			if n < 1 || n > 8 {
				L.RaiseError("integral size %d is larger than limit of 8", n)
			}
			return c, n, true
		default:
			L.RaiseError("invalid format option '%c'", c)
		}
	}
	return 0, 0, false
}

func (s *structFmt) num(def int) int {
	if s.pos >= len(s.f) || s.f[s.pos] < '0' || s.f[s.pos] > '9' {
		return def
	}
	n := 0
	for s.pos < len(s.f) && s.f[s.pos] >= '0' && s.f[s.pos] <= '9' && n < 1<<20 {
		n = n*10 + int(s.f[s.pos]-'0')
		s.pos++
	}
	return n
}

func (s *structFmt) pad(n, size int, op byte) int {
	if op == 'c' || op == 's' || size <= 1 || s.align <= 1 {
		return 0
	}
	a := min(size, s.align)
	return (a - (n & (a - 1))) & (a - 1)
}

func putInt(b []byte, v uint64, little bool) {
	n := len(b)
	for i := 0; i < n; i++ {
		if little {
			b[i] = byte(v >> (8 * i))
		} else {
			b[n-1-i] = byte(v >> (8 * i))
		}
	}
}

func structPack(L *lua.LState) int {
	s := &structFmt{f: L.CheckString(1), little: true}
	var out []byte
	arg := 2
	for {
		op, size, ok := s.next(L)
		if !ok {
			break
		}
		for i := s.pad(len(out), size, op); i > 0; i-- {
			out = append(out, 0)
		}
		switch op {
		case 'x':
			out = append(out, 0)
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			f := float64(L.CheckNumber(arg))
			arg++
			var v uint64
			if f < 0 {
				v = uint64(int64(f))
			} else if f >= 1<<63 {
				v = uint64(f)
			} else {
				v = uint64(int64(f))
			}
			b := make([]byte, size)
			putInt(b, v, s.little)
			out = append(out, b...)
		case 'f':
			b := make([]byte, 4)
			bits := math.Float32bits(float32(L.CheckNumber(arg)))
			arg++
			putInt(b, uint64(bits), s.little)
			out = append(out, b...)
		case 'd':
			b := make([]byte, 8)
			putInt(b, math.Float64bits(float64(L.CheckNumber(arg))), s.little)
			arg++
			out = append(out, b...)
		case 'c', 's':
			str := L.CheckString(arg)
			arg++
			n := size
			if op == 's' || size == 0 {
				n = len(str)
			}
			if len(str) < n {
				L.ArgError(arg-1, "string too short")
			}
			out = append(out, str[:n]...)
			if op == 's' {
				out = append(out, 0)
			}
		}
	}
	L.Push(lua.LString(out))
	return 1
}

func structUnpack(L *lua.LState) int {
	s := &structFmt{f: L.CheckString(1), little: true}
	data := L.CheckString(2)
	pos := L.OptInt(3, 1) - 1
	if pos < 0 || pos > len(data) {
		L.ArgError(3, "offset must be 1 or greater")
	}
	n := 0
	var last lua.LValue = lua.LNil
	need := func(k int) {
		if pos+k > len(data) || k < 0 {
			L.ArgError(2, "data string too short")
		}
	}
	for {
		op, size, ok := s.next(L)
		if !ok {
			break
		}
		pos += s.pad(pos, size, op)
		switch op {
		case 'x':
			need(1)
			pos++
			continue
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			need(size)
			b := []byte(data[pos : pos+size])
			var v uint64
			for i := 0; i < size; i++ {
				if s.little {
					v |= uint64(b[i]) << (8 * i)
				} else {
					v = v<<8 | uint64(b[i])
				}
			}
			pos += size
			signed := op == 'b' || op == 'h' || op == 'l' || op == 'i'
			if signed && size < 8 && v&(1<<(uint(size)*8-1)) != 0 {
				v |= ^uint64(0) << (uint(size) * 8)
			}
			if signed {
				last = lua.LNumber(float64(int64(v)))
			} else {
				last = lua.LNumber(float64(v))
			}
		case 'f':
			need(4)
			var v uint32
			if s.little {
				v = binary.LittleEndian.Uint32([]byte(data[pos:]))
			} else {
				v = binary.BigEndian.Uint32([]byte(data[pos:]))
			}
			pos += 4
			last = lua.LNumber(math.Float32frombits(v))
		case 'd':
			need(8)
			var v uint64
			if s.little {
				v = binary.LittleEndian.Uint64([]byte(data[pos:]))
			} else {
				v = binary.BigEndian.Uint64([]byte(data[pos:]))
			}
			pos += 8
			last = lua.LNumber(math.Float64frombits(v))
		case 'c':
			k := size
			if k == 0 {
				ln, ok := last.(lua.LNumber)
				if !ok || n == 0 {
					L.RaiseError("format 'c0' needs a previous size")
				}
				k = int(ln)
				L.Pop(1)
				n--
			}
			need(k)
			last = lua.LString(data[pos : pos+k])
			pos += k
		case 's':
			end := strings.IndexByte(data[pos:], 0)
			if end < 0 {
				L.RaiseError("unfinished string in data")
			}
			last = lua.LString(data[pos : pos+end])
			pos += end + 1
		}
		L.Push(last)
		n++
	}
	L.Push(lua.LNumber(pos + 1))
	return n + 1
}

func structSize(L *lua.LState) int {
	s := &structFmt{f: L.CheckString(1), little: true}
	total := 0
	for {
		op, size, ok := s.next(L)
		if !ok {
			break
		}
		if op == 's' || op == 'c' && size == 0 {
			L.ArgError(1, "options 'c0' - 's' have undefined sizes")
		}
		total += s.pad(total, size, op) + size
	}
	L.Push(lua.LNumber(total))
	return 1
}
