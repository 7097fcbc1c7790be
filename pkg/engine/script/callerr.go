package script

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// gopher-lua reports every call of a value that is not a function as
// "attempt to call a non-function object". Lua 5.1, and so Redis, names the
// value and where it came from ("attempt to call field 'foo' (a nil value)"),
// which is what a script's author needs to find the typo. Nil, booleans and
// numbers get a __call metamethod that raises Lua 5.1's message; getmetatable
// still answers nil for them, as in Lua.
var callableLess = []lua.LValue{lua.LNil, lua.LFalse, lua.LNumber(0)}

func installCallErrors(L *lua.LState) {
	raise := L.NewFunction(func(L *lua.LState) int {
		msg := "attempt to call " + describeCallee(L, L.Get(1))
		// Called straight from a Go function (pcall(nil)): Lua gives no position.
		if caller, ok := L.GetStack(1); ok {
			if fn, _ := L.GetInfo("f", caller, lua.LNil); isGoFunction(fn) {
				L.Error(lua.LString(msg), 0)
			}
		}
		L.RaiseError("%s", msg)
		return 0
	})
	for _, v := range callableLess {
		mt := L.NewTable()
		mt.RawSetString("__call", raise)
		L.SetMetatable(v, mt)
	}
}

// hasOwnMetatable tells whether v's type has a metatable in Lua 5.1 itself
// (tables and userdata their own, strings the string library's).
func hasOwnMetatable(v lua.LValue) bool {
	switch v.Type() {
	case lua.LTNil, lua.LTBool, lua.LTNumber, lua.LTFunction:
		return false
	}
	return true
}

// describeCallee gives "local 'f' (a nil value)", or "a nil value" when the
// callee has no name (the result of another call, say), as Lua 5.1 words it.
func describeCallee(L *lua.LState, v lua.LValue) string {
	what := "a " + v.Type().String() + " value"
	self, ok := L.GetStack(0)
	if !ok {
		return what
	}
	if _, err := L.GetInfo("n", self, lua.LNil); err != nil || self.Name == "" || self.Name == "?" {
		return what
	}
	caller, ok := L.GetStack(1)
	if !ok {
		return what
	}
	fv, err := L.GetInfo("lf", caller, lua.LNil)
	fn, isFn := fv.(*lua.LFunction)
	if err != nil || !isFn || fn.Proto == nil {
		return what
	}
	p := fn.Proto
	for i := len(p.DbgCalls) - 1; i >= 0; i-- {
		call := p.DbgCalls[i]
		if call.Name != self.Name || call.Pc >= len(p.Code) || call.Pc >= len(p.DbgSourcePositions) || p.DbgSourcePositions[call.Pc] != caller.CurrentLine {
			continue
		}
		if kind := registerOrigin(p, call.Pc, int(p.Code[call.Pc]>>18)&0xff); kind != "" {
			return kind + " '" + self.Name + "' (" + what + ")"
		}
		break
	}
	return what
}

// registerOrigin says how register reg got its value before pc: "local",
// "global", "field", "method" or "upvalue", or "" when that cannot be told
// (Lua 5.1's getobjname, by a backward scan instead of symbolic execution).
func registerOrigin(p *lua.FunctionProto, pc, reg int) string {
	if activeLocal(p, pc, reg) {
		return "local"
	}
	for j := pc - 1; j >= 0; j-- {
		inst := p.Code[j]
		if int(inst>>18)&0xff != reg {
			continue
		}
		switch int(inst >> 26) {
		case lua.OP_GETGLOBAL:
			return "global"
		case lua.OP_GETTABLE, lua.OP_GETTABLEKS:
			return "field"
		case lua.OP_SELF:
			return "method"
		case lua.OP_GETUPVAL:
			return "upvalue"
		case lua.OP_MOVE:
			if from := int(inst & 0x1ff); from < reg {
				return registerOrigin(p, j, from)
			}
		}
		return ""
	}
	return ""
}

// activeLocal tells whether register reg holds a named local at pc: the
// reg-th local whose scope covers pc, as Lua numbers them.
func activeLocal(p *lua.FunctionProto, pc, reg int) bool {
	n := 0
	for _, l := range p.DbgLocals {
		if l.StartPc > pc {
			break
		}
		if pc < l.EndPc {
			if n == reg {
				return true
			}
			n++
		}
	}
	return false
}

func isGoFunction(v lua.LValue) bool {
	fn, ok := v.(*lua.LFunction)
	return ok && fn.IsG
}

// refuseBytecode keeps bytecode out, as Redis does: string.dump gives a
// chunk that only looks like Lua 5.1 bytecode, and loadstring refuses any
// binary chunk with the syntax error Redis's Lua gives.
func refuseBytecode(L *lua.LState, g *lua.LTable) {
	str := g.RawGetString("string").(*lua.LTable)
	str.RawSetString("dump", L.NewFunction(func(L *lua.LState) int {
		L.CheckFunction(1)
		L.Push(lua.LString("\x1bLuaQ\x00\x01\x04\x08\x04\x08\x00"))
		return 1
	}))
	load := g.RawGetString("loadstring")
	g.RawSetString("loadstring", L.NewFunction(func(L *lua.LState) int {
		chunk := L.CheckString(1)
		if !strings.HasPrefix(chunk, "\x1b") {
			nargs := L.GetTop()
			L.Insert(load, 1)
			L.Call(nargs, 2)
			return 2
		}
		name := L.OptString(2, chunk)
		if i := strings.IndexByte(name, '\n'); i >= 0 {
			name = name[:i] + "..."
		}
		L.Push(lua.LNil)
		L.Push(lua.LString(`[string "` + name + `"]:1: unexpected symbol near 'char(27)'`))
		return 2
	}))
}
