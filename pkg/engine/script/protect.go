package script

import (
	"math/rand/v2"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Redis 7.0 makes the globals and every library table read-only, so that
// no script can change what the next one sees. gopher-lua has no read-only
// tables: each library is replaced by an empty proxy that reads through
// to it and refuses writes, and setmetatable, getmetatable and rawset are
// wrapped so that they cannot get around the proxies.

const readonlyErr = "Attempt to modify a readonly table"

type protector struct {
	protected map[*lua.LTable]bool
}

func (e *Engine) protectLibraries() {
	L := e.L
	g := e.globals
	p := &protector{protected: map[*lua.LTable]bool{}}
	refuseBytecode(L, g)
	deny := L.NewFunction(func(L *lua.LState) int {
		L.RaiseError(readonlyErr)
		return 0
	})
	proxy := func(real *lua.LTable) *lua.LTable {
		t := L.NewTable()
		mt := L.NewTable()
		mt.RawSetString("__index", real)
		mt.RawSetString("__newindex", deny)
		L.SetMetatable(t, mt)
		p.protected[t] = true
		return t
	}
	// Numeric strings are numbers to Lua 5.1's library functions (luaL_checkint);
	// gopher-lua's integer arguments need numbers.
	openRandom(L, g.RawGetString("math").(*lua.LTable))
	coerce(L, g.RawGetString("math").(*lua.LTable), 1, nil)
	coerce(L, g.RawGetString("string").(*lua.LTable), 2, []string{"sub", "rep", "byte"})
	coerce(L, g.RawGetString("string").(*lua.LTable), 1, []string{"char"})
	coerce(L, g.RawGetString("table").(*lua.LTable), 2, []string{"concat", "insert", "remove"})
	for _, name := range []string{"redis", "cjson", "cmsgpack", "bit", "struct", "string", "math", "table", "debug"} {
		if t, ok := g.RawGetString(name).(*lua.LTable); ok {
			g.RawSetString(name, proxy(t))
		}
	}
	p.protected[e.env] = true
	p.protected[g] = true

	setmt := g.RawGetString("setmetatable").(*lua.LFunction)
	g.RawSetString("setmetatable", L.NewFunction(func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok && p.protected[t] {
			L.RaiseError(readonlyErr)
		}
		L.Push(setmt)
		L.Push(L.Get(1))
		L.Push(L.Get(2))
		L.Call(2, 1)
		return 1
	}))
	// The metatables of protected tables and of strings are handed out as
	// read-only views.
	g.RawSetString("getmetatable", L.NewFunction(func(L *lua.LState) int {
		v := L.CheckAny(1)
		if !hasOwnMetatable(v) {
			L.Push(lua.LNil)
			return 1
		}
		mt := L.GetMetatable(v)
		t, isTable := v.(*lua.LTable)
		if real, ok := mt.(*lua.LTable); ok && (!isTable || p.protected[t]) {
			L.Push(proxy(real))
			return 1
		}
		L.Push(mt)
		return 1
	}))
	g.RawSetString("rawset", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		if p.protected[t] {
			L.RaiseError(readonlyErr)
		}
		L.RawSet(t, L.CheckAny(2), L.CheckAny(3))
		L.Push(t)
		return 1
	}))
}

// coerce wraps the functions of lib (all, or those named) so that numeric
// string arguments from position from on become numbers.
func coerce(L *lua.LState, lib *lua.LTable, from int, names []string) {
	wrap := func(name string, fn *lua.LFunction) {
		if !fn.IsG {
			return
		}
		inner := fn.GFunction
		lib.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			for i := from; i <= L.GetTop(); i++ {
				if s, ok := L.Get(i).(lua.LString); ok {
					if f, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64); err == nil {
						L.Replace(i, lua.LNumber(f))
					}
				}
			}
			return inner(L)
		}))
	}
	if names == nil {
		lib.ForEach(func(k, v lua.LValue) {
			if fn, ok := v.(*lua.LFunction); ok {
				wrap(k.String(), fn)
			}
		})
		return
	}
	for _, n := range names {
		if fn, ok := lib.RawGetString(n).(*lua.LFunction); ok {
			wrap(n, fn)
		}
	}
}

// openRandom gives math.random/math.randomseed a generator of the engine's
// own (gopher-lua's share the process-wide one), so that a seeded script
// always draws the same numbers.
func openRandom(L *lua.LState, m *lua.LTable) {
	rng := rand.New(rand.NewPCG(0, 0))
	m.RawSetString("randomseed", L.NewFunction(func(L *lua.LState) int {
		seed := uint64(int64(L.CheckNumber(1)))
		rng = rand.New(rand.NewPCG(seed, 0))
		return 0
	}))
	m.RawSetString("random", L.NewFunction(func(L *lua.LState) int {
		switch L.GetTop() {
		case 0:
			L.Push(lua.LNumber(rng.Float64()))
		case 1:
			hi := int64(L.CheckNumber(1))
			if hi < 1 {
				L.ArgError(1, "interval is empty")
			}
			L.Push(lua.LNumber(1 + rng.Int64N(hi)))
		default:
			lo, hi := int64(L.CheckNumber(1)), int64(L.CheckNumber(2))
			if lo > hi {
				L.ArgError(2, "interval is empty")
			}
			L.Push(lua.LNumber(lo + rng.Int64N(hi-lo+1)))
		}
		return 1
	}))
}
