package script

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// openCjson installs a cjson table (encode, decode, null) compatible with
// lua-cjson for what scripts commonly do.
func openCjson(L *lua.LState) {
	t := L.NewTable()
	null := L.NewUserData()
	t.RawSetString("null", null)
	encodeMax, decodeMax := 1000, 1000
	invalidNumbers := false
	t.RawSetString("encode", L.NewFunction(func(L *lua.LState) int {
		var b bytes.Buffer
		if msg := encodeJSON(&b, L.CheckAny(1), null, 0, encodeMax, invalidNumbers); msg != "" {
			L.RaiseError("%s", msg)
		}
		L.Push(lua.LString(b.String()))
		return 1
	}))
	t.RawSetString("decode", L.NewFunction(func(L *lua.LState) int {
		s := L.CheckString(1)
		dec := json.NewDecoder(bytes.NewReader([]byte(s)))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil || dec.More() {
			L.RaiseError("Expected value but found invalid token at character 1")
		}
		if d := jsonDepth(v); d > decodeMax {
			L.RaiseError("Found too many nested data structures (%d) at character 1", decodeMax+1)
		}
		L.Push(jsonToLua(L, v, null))
		return 1
	}))
	depthSetting := func(p *int) lua.LGFunction {
		return func(L *lua.LState) int {
			if L.GetTop() >= 1 {
				n := L.CheckInt(1)
				if n < 1 || n > 2147483647 {
					L.ArgError(1, "expected integer between 1 and 2147483647")
				}
				*p = n
			}
			L.Push(lua.LNumber(*p))
			return 1
		}
	}
	t.RawSetString("encode_max_depth", L.NewFunction(depthSetting(&encodeMax)))
	t.RawSetString("decode_max_depth", L.NewFunction(depthSetting(&decodeMax)))
	t.RawSetString("encode_invalid_numbers", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() >= 1 {
			invalidNumbers = lua.LVAsBool(L.Get(1))
		}
		L.Push(lua.LBool(invalidNumbers))
		return 1
	}))
	for _, name := range []string{"encode_keep_buffer", "encode_number_precision", "decode_invalid_numbers", "encode_sparse_array"} {
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int { return 0 }))
	}
	L.G.Global.RawSetString("cjson", t)
}

func encodeJSON(b *bytes.Buffer, v lua.LValue, null *lua.LUserData, depth, maxDepth int, invalidOK bool) string {
	switch x := v.(type) {
	case *lua.LNilType:
		b.WriteString("null")
	case lua.LBool:
		b.WriteString(strconv.FormatBool(bool(x)))
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			if !invalidOK {
				return "Cannot serialise number: must not be NaN or Inf"
			}
			switch {
			case math.IsNaN(f):
				b.WriteString("nan")
			case f > 0:
				b.WriteString("inf")
			default:
				b.WriteString("-inf")
			}
			return ""
		}
		b.WriteString(strconv.FormatFloat(f, 'g', 14, 64))
	case lua.LString:
		writeJSONString(b, string(x))
	case *lua.LUserData:
		if x == null {
			b.WriteString("null")
			return ""
		}
		return "Cannot serialise userdata: type not supported"
	case *lua.LTable:
		if depth >= maxDepth {
			return "Cannot serialise, excessive nesting (" + strconv.Itoa(depth+1) + ")"
		}
		n, isArray := 0, true
		maxIdx := 0
		forEachOrdered(x, func(k, _ lua.LValue) {
			n++
			if kn, ok := k.(lua.LNumber); ok && kn >= 1 && float64(kn) == math.Trunc(float64(kn)) {
				maxIdx = max(maxIdx, int(kn))
			} else {
				isArray = false
			}
		})
		if n > 0 && isArray && maxIdx <= 2*n+10 {
			b.WriteByte('[')
			for i := 1; i <= maxIdx; i++ {
				if i > 1 {
					b.WriteByte(',')
				}
				if msg := encodeJSON(b, x.RawGetInt(i), null, depth+1, maxDepth, invalidOK); msg != "" {
					return msg
				}
			}
			b.WriteByte(']')
			return ""
		}
		type kv struct {
			k string
			v lua.LValue
		}
		var kvs []kv
		var bad string
		forEachOrdered(x, func(k, val lua.LValue) {
			switch kk := k.(type) {
			case lua.LString:
				kvs = append(kvs, kv{string(kk), val})
			case lua.LNumber:
				kvs = append(kvs, kv{strconv.FormatFloat(float64(kk), 'g', 14, 64), val})
			default:
				bad = "Cannot serialise " + k.Type().String() + ": table key must be a number or string"
			}
		})
		if bad != "" {
			return bad
		}
		sort.Slice(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
		b.WriteByte('{')
		for i, p := range kvs {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, p.k)
			b.WriteByte(':')
			if msg := encodeJSON(b, p.v, null, depth+1, maxDepth, invalidOK); msg != "" {
				return msg
			}
		}
		b.WriteByte('}')
	default:
		return "Cannot serialise " + v.Type().String() + ": type not supported"
	}
	return ""
}

func writeJSONString(b *bytes.Buffer, s string) {
	const hexd = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '/':
			b.WriteString(`\/`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 || c == 0x7f {
				b.WriteString(`\u00`)
				b.WriteByte(hexd[c>>4])
				b.WriteByte(hexd[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

func jsonToLua(L *lua.LState, v any, null *lua.LUserData) lua.LValue {
	switch x := v.(type) {
	case nil:
		return null
	case bool:
		return lua.LBool(x)
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64)
		return lua.LNumber(f)
	case string:
		return lua.LString(x)
	case []any:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			t.RawSetInt(i+1, jsonToLua(L, e, null))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			t.RawSetString(k, jsonToLua(L, e, null))
		}
		return t
	}
	return lua.LNil
}

// jsonDepth is how deeply arrays and objects nest in v.
func jsonDepth(v any) int {
	d := 0
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	case map[string]any:
		for _, e := range x {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	}
	return 0
}
