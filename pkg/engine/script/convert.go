package script

import (
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// maxDepth bounds nested tables in both directions, as Redis does (a
// self-referencing table must not hang the server).
const maxDepth = 64

// pushReply converts one RESP-encoded reply to a Lua value, with Redis's
// rules: integer -> number, bulk -> string, nil -> false (RESP2) or nil
// (RESP3), array -> table, status -> {ok=...}, error -> {err=...}, and the
// RESP3 types to {map=...}, {set=...}, {double=...}, booleans,
// {big_number=...}, {verbatim_string=...}. It returns the value and the
// bytes consumed.
func replyToLua(L *lua.LState, b []byte, proto int) (lua.LValue, int) {
	if len(b) < 3 {
		return lua.LFalse, len(b)
	}
	end := indexCRLF(b)
	if end < 0 {
		return lua.LFalse, len(b)
	}
	line := b[1:end]
	next := end + 2
	switch b[0] {
	case '+':
		t := L.CreateTable(0, 1)
		t.RawSetString("ok", lua.LString(line))
		return t, next
	case '-':
		t := L.CreateTable(0, 1)
		t.RawSetString("err", lua.LString(line))
		return t, next
	case ':':
		n, _ := strconv.ParseInt(string(line), 10, 64)
		return lua.LNumber(n), next
	case '$', '=':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return nullValue(proto), next
		}
		if next+n > len(b) {
			return lua.LFalse, len(b)
		}
		s := b[next : next+n]
		if b[0] == '=' && proto == 3 && len(s) >= 4 {
			t := L.CreateTable(0, 1)
			v := L.CreateTable(0, 2)
			v.RawSetString("format", lua.LString(s[:3]))
			v.RawSetString("string", lua.LString(s[4:]))
			t.RawSetString("verbatim_string", v)
			return t, next + n + 2
		}
		if b[0] == '=' && len(s) >= 4 {
			s = s[4:]
		}
		return lua.LString(s), next + n + 2
	case '_':
		return nullValue(proto), next
	case '#':
		return lua.LBool(len(line) == 1 && line[0] == 't'), next
	case ',':
		f, _ := strconv.ParseFloat(string(line), 64)
		t := L.CreateTable(0, 1)
		t.RawSetString("double", lua.LNumber(f))
		return t, next
	case '(':
		t := L.CreateTable(0, 1)
		t.RawSetString("big_number", lua.LString(line))
		return t, next
	case '*', '~', '%', '>':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return nullValue(proto), next
		}
		pos := next
		switch b[0] {
		case '%':
			m := L.CreateTable(0, n)
			for i := 0; i < n; i++ {
				k, used := replyToLua(L, b[pos:], proto)
				pos += used
				v, used := replyToLua(L, b[pos:], proto)
				pos += used
				m.RawSet(k, v)
			}
			t := L.CreateTable(0, 1)
			t.RawSetString("map", m)
			return t, pos
		case '~':
			m := L.CreateTable(0, n)
			for i := 0; i < n; i++ {
				k, used := replyToLua(L, b[pos:], proto)
				pos += used
				m.RawSet(k, lua.LTrue)
			}
			t := L.CreateTable(0, 1)
			t.RawSetString("set", m)
			return t, pos
		}
		t := L.CreateTable(n, 0)
		for i := 0; i < n; i++ {
			v, used := replyToLua(L, b[pos:], proto)
			pos += used
			t.RawSetInt(i+1, v)
		}
		return t, pos
	}
	return lua.LFalse, len(b)
}

func nullValue(proto int) lua.LValue {
	if proto == 3 {
		return lua.LNil
	}
	return lua.LFalse
}

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return -1
}

// writeValue writes a script's Lua value as a reply: number -> integer
// (truncated), string -> bulk, array part of a table (up to the first nil)
// -> array, {ok=} -> status, {err=} -> error, false/nil -> null, true -> 1
// (or RESP3 booleans after redis.setresp(3)), {double=}, {map=}, {set=},
// {big_number=} in RESP3 shapes (degraded by the writer for RESP2 clients).
func writeValue(L *lua.LState, w *resp.Writer, v lua.LValue, proto, depth int) {
	switch x := v.(type) {
	case lua.LString:
		w.WriteBulkString(string(x))
	case lua.LNumber:
		w.WriteInt(luaToInt(float64(x)))
	case lua.LBool:
		if proto == 3 {
			w.WriteBool(bool(x))
		} else if x {
			w.WriteInt(1)
		} else {
			w.WriteNull()
		}
	case *lua.LTable:
		if depth >= maxDepth {
			w.WriteError("ERR reached lua stack limit")
			return
		}
		if e, ok := x.RawGetString("err").(lua.LString); ok {
			writeError(w, string(e))
			return
		}
		if s, ok := x.RawGetString("ok").(lua.LString); ok {
			w.WriteSimple(cleanStatus(string(s)))
			return
		}
		if d, ok := x.RawGetString("double").(lua.LNumber); ok {
			w.WriteDouble(float64(d))
			return
		}
		if s, ok := x.RawGetString("big_number").(lua.LString); ok {
			if w.Proto() == 3 {
				w.WriteRaw([]byte("(" + cleanStatus(string(s)) + "\r\n"))
			} else {
				w.WriteBulkString(string(s))
			}
			return
		}
		if m, ok := x.RawGetString("map").(*lua.LTable); ok {
			var keys, vals []lua.LValue
			forEachOrdered(m, func(k, v lua.LValue) {
				keys = append(keys, k)
				vals = append(vals, v)
			})
			w.WriteMapLen(len(keys))
			for i := range keys {
				writeValue(L, w, keys[i], proto, depth+1)
				writeValue(L, w, vals[i], proto, depth+1)
			}
			return
		}
		if m, ok := x.RawGetString("set").(*lua.LTable); ok {
			var keys []lua.LValue
			forEachOrdered(m, func(k, v lua.LValue) { keys = append(keys, k) })
			w.WriteSetLen(len(keys))
			for _, k := range keys {
				writeValue(L, w, k, proto, depth+1)
			}
			return
		}
		n := 0
		for x.RawGetInt(n+1) != lua.LNil {
			n++
		}
		w.WriteArrayLen(n)
		for i := 1; i <= n; i++ {
			writeValue(L, w, x.RawGetInt(i), proto, depth+1)
		}
	default:
		w.WriteNull()
	}
}

// cleanStatus keeps a status line on one line.
func cleanStatus(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			b := []byte(s)
			for j := range b {
				if b[j] == '\r' || b[j] == '\n' {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return s
}

// luaToInt truncates like C's (long long) cast on x86: out of range and
// NaN give the minimum int64.
func luaToInt(f float64) int64 {
	if math.IsNaN(f) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
		return math.MinInt64
	}
	return int64(f)
}

// argBytes converts a redis.call argument: strings as they are, numbers
// as Redis prints them (%.17g), anything else refused.
func argBytes(v lua.LValue) ([]byte, bool) {
	switch x := v.(type) {
	case lua.LString:
		return []byte(x), true
	case lua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return strconv.AppendInt(nil, int64(f), 10), true
		}
		return strconv.AppendFloat(nil, f, 'g', 17, 64), true
	}
	return nil, false
}

// writeError writes s as an error reply verbatim (no "ERR " added).
func writeError(w *resp.Writer, s string) {
	b := make([]byte, 0, len(s)+3)
	b = append(b, '-')
	b = append(b, cleanStatus(s)...)
	w.WriteRaw(append(b, '\r', '\n'))
}

// forEachOrdered walks a table as Lua's next() does. gopher-lua's ForEach
// ranges over Go maps, so its order changes from run to run; scripts that
// encode a table (cmsgpack, cjson, RESP3 maps) must give the same bytes each time.
func forEachOrdered(t *lua.LTable, fn func(k, v lua.LValue)) {
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		fn(k, v)
	}
}
