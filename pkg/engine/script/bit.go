package script

import (
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// openBit installs the LuaBitOp "bit" library: 32-bit operations on
// numbers, results as signed 32-bit integers.
func openBit(L *lua.LState) {
	t := L.NewTable()
	tobit := func(L *lua.LState, i int) int32 {
		f := float64(L.CheckNumber(i))
		// LuaBitOp normalises through a 2^52+2^51 add: modular 32-bit.
		return int32(uint32(int64(math.Mod(math.Trunc(f), 4294967296))))
	}
	ret := func(L *lua.LState, v int32) int {
		L.Push(lua.LNumber(v))
		return 1
	}
	fold := func(op func(a, b int32) int32) lua.LGFunction {
		return func(L *lua.LState) int {
			v := tobit(L, 1)
			for i := 2; i <= L.GetTop(); i++ {
				v = op(v, tobit(L, i))
			}
			return ret(L, v)
		}
	}
	fns := map[string]lua.LGFunction{
		"tobit": func(L *lua.LState) int { return ret(L, tobit(L, 1)) },
		"bnot":  func(L *lua.LState) int { return ret(L, ^tobit(L, 1)) },
		"band":  fold(func(a, b int32) int32 { return a & b }),
		"bor":   fold(func(a, b int32) int32 { return a | b }),
		"bxor":  fold(func(a, b int32) int32 { return a ^ b }),
		"lshift": func(L *lua.LState) int {
			return ret(L, int32(uint32(tobit(L, 1))<<(uint32(tobit(L, 2))&31)))
		},
		"rshift": func(L *lua.LState) int {
			return ret(L, int32(uint32(tobit(L, 1))>>(uint32(tobit(L, 2))&31)))
		},
		"arshift": func(L *lua.LState) int {
			return ret(L, tobit(L, 1)>>(uint32(tobit(L, 2))&31))
		},
		"rol": func(L *lua.LState) int {
			x, n := uint32(tobit(L, 1)), uint32(tobit(L, 2))&31
			return ret(L, int32(x<<n|x>>((32-n)&31)))
		},
		"ror": func(L *lua.LState) int {
			x, n := uint32(tobit(L, 1)), uint32(tobit(L, 2))&31
			return ret(L, int32(x>>n|x<<((32-n)&31)))
		},
		"bswap": func(L *lua.LState) int {
			x := uint32(tobit(L, 1))
			return ret(L, int32(x>>24|(x>>8)&0xff00|(x&0xff00)<<8|x<<24))
		},
		"tohex": func(L *lua.LState) int {
			x := uint32(tobit(L, 1))
			n := 8
			if L.GetTop() >= 2 {
				n = int(tobit(L, 2))
			}
			digits := "0123456789abcdef"
			if n < 0 {
				n = -n
				digits = "0123456789ABCDEF"
			}
			if n > 8 {
				n = 8
			}
			var b strings.Builder
			for i := n - 1; i >= 0; i-- {
				b.WriteByte(digits[(x>>(uint(i)*4))&15])
			}
			L.Push(lua.LString(b.String()))
			return 1
		},
	}
	for name, fn := range fns {
		t.RawSetString(name, L.NewFunction(fn))
	}
	L.G.Global.RawSetString("bit", t)
}
