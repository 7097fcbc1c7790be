package script

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// openRedis installs the redis table of Redis 7.0's script API.
func (e *Engine) openRedis() {
	L := e.L
	r := L.NewTable()
	fns := map[string]lua.LGFunction{
		"call":         func(L *lua.LState) int { return e.redisCall(L, true) },
		"pcall":        func(L *lua.LState) int { return e.redisCall(L, false) },
		"error_reply":  redisErrorReply,
		"status_reply": redisStatusReply,
		"sha1hex":      redisSha1hex,
		"log":          e.redisLog,
		"setresp":      e.redisSetresp,
		"set_repl":     redisSetRepl,
		"replicate_commands": func(L *lua.LState) int {
			L.Push(lua.LTrue)
			return 1
		},
		"breakpoint": func(L *lua.LState) int {
			L.Push(lua.LFalse)
			return 1
		},
		"debug": func(L *lua.LState) int { return 0 },
		"acl_check_cmd": func(L *lua.LState) int {
			n := L.GetTop()
			if n == 0 {
				raiseReply(L, "ERR Please specify at least one argument for this redis lib call")
			}
			args := make([][]byte, n)
			for i := 1; i <= n; i++ {
				b, ok := argBytes(L.Get(i))
				if !ok {
					raiseReply(L, "ERR Lua redis lib command arguments must be strings or integers")
				}
				args[i-1] = b
			}
			known, allowed := e.host.ACLCheck(args)
			if !known {
				raiseReply(L, "ERR Invalid command passed to redis.acl_check_cmd()")
			}
			L.Push(lua.LBool(allowed))
			return 1
		},
	}
	for name, fn := range fns {
		r.RawSetString(name, L.NewFunction(fn))
	}
	for name, v := range map[string]int{
		"LOG_DEBUG": LogDebug, "LOG_VERBOSE": LogVerbose, "LOG_NOTICE": LogNotice, "LOG_WARNING": LogWarning,
		"REPL_NONE": 0, "REPL_AOF": 1, "REPL_SLAVE": 2, "REPL_REPLICA": 2, "REPL_ALL": 3,
	} {
		r.RawSetString(name, lua.LNumber(v))
	}
	L.G.Global.RawSetString("redis", r)
}

// raiseReply raises a Redis error reply as a Lua error: a table {err=msg},
// which becomes the script's error reply unless the script catches it.
func raiseReply(L *lua.LState, msg string) {
	t := L.CreateTable(0, 1)
	t.RawSetString("err", lua.LString(msg))
	L.Error(t, 0)
}

func (e *Engine) redisCall(L *lua.LState, raise bool) int {
	n := L.GetTop()
	if n == 0 {
		return e.callFailed(L, raise, "ERR Please specify at least one argument for this redis lib call")
	}
	args := make([][]byte, n)
	for i := 1; i <= n; i++ {
		b, ok := argBytes(L.Get(i))
		if !ok {
			return e.callFailed(L, raise, "ERR Lua redis lib command arguments must be strings or integers")
		}
		args[i-1] = b
	}
	reply := e.host.Call(args, e.proto)
	if len(reply) > 0 && reply[0] == '-' {
		end := indexCRLF(reply)
		if end < 0 {
			end = len(reply)
		}
		return e.commandFailed(L, raise, string(reply[1:end]))
	}
	v, _ := replyToLua(L, reply, e.proto)
	L.Push(v)
	return 1
}

// commandFailed is callFailed for the error reply of a command that ran:
// its table also says ignore_error_stats_update, as in Redis 7.0.
func (e *Engine) commandFailed(L *lua.LState, raise bool, msg string) int {
	t := L.CreateTable(0, 2)
	t.RawSetString("err", lua.LString(msg))
	t.RawSetString("ignore_error_stats_update", lua.LTrue)
	if raise {
		L.Error(t, 0)
		return 0
	}
	L.Push(t)
	return 1
}

func (e *Engine) callFailed(L *lua.LState, raise bool, msg string) int {
	if raise {
		raiseReply(L, msg)
		return 0
	}
	t := L.CreateTable(0, 1)
	t.RawSetString("err", lua.LString(msg))
	L.Push(t)
	return 1
}

// luaPcall is Lua's pcall, except that a Redis error table caught by it
// comes back as its text (as in Redis 7.0) and a SCRIPT KILL is not caught.
func (e *Engine) luaPcall(L *lua.LState) int {
	top := L.GetTop()
	if top == 0 {
		L.ArgError(1, "value expected")
	}
	err := L.PCall(top-1, lua.MultRet, nil)
	if e.killed.Load() {
		L.RaiseError("Script killed by user")
	}
	if err != nil {
		L.SetTop(0)
		L.Push(lua.LFalse)
		obj := lua.LValue(lua.LString(err.Error()))
		if ae, ok := err.(*lua.ApiError); ok {
			obj = ae.Object
			if t, ok := obj.(*lua.LTable); ok {
				if m, ok := t.RawGetString("err").(lua.LString); ok {
					obj = m
				}
			}
		}
		L.Push(obj)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

func redisErrorReply(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseReply(L, "ERR wrong number or type of arguments")
	}
	s, ok := L.Get(1).(lua.LString)
	if !ok {
		raiseReply(L, "ERR wrong number or type of arguments")
	}
	msg := string(s)
	if strings.HasPrefix(msg, "-") {
		msg = msg[1:]
	} else if !hasCode(msg) {
		msg = "ERR " + msg
	}
	t := L.CreateTable(0, 1)
	t.RawSetString("err", lua.LString(msg))
	L.Push(t)
	return 1
}

func hasCode(s string) bool {
	i := 0
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] == '_' || s[i] >= '0' && s[i] <= '9' && i > 0) {
		i++
	}
	return i > 0 && (i == len(s) || s[i] == ' ')
}

func redisStatusReply(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		raiseReply(L, "ERR wrong number or type of arguments")
	}
	t := L.CreateTable(0, 1)
	t.RawSetString("ok", s)
	L.Push(t)
	return 1
}

func redisSha1hex(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.RaiseError("wrong number of arguments")
	}
	b, ok := argBytes(L.Get(1))
	if !ok {
		b = []byte(L.Get(1).String())
	}
	L.Push(lua.LString(SHA1Hex(b)))
	return 1
}

func (e *Engine) redisLog(L *lua.LState) int {
	if L.GetTop() < 2 {
		L.RaiseError("redis.log() requires two arguments or more.")
	}
	lv, ok := L.Get(1).(lua.LNumber)
	if !ok {
		L.RaiseError("First argument must be a number")
	}
	if lv < LogDebug || lv > LogWarning {
		L.RaiseError("Invalid debug level.")
	}
	var b strings.Builder
	for i := 2; i <= L.GetTop(); i++ {
		if i > 2 {
			b.WriteByte(' ')
		}
		if s, ok := argBytes(L.Get(i)); ok {
			b.Write(s)
		} else {
			b.WriteString(L.Get(i).String())
		}
	}
	e.host.Log(int(lv), b.String())
	return 0
}

func (e *Engine) redisSetresp(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseReply(L, "ERR redis.setresp() requires one argument.")
	}
	n, ok := L.Get(1).(lua.LNumber)
	if !ok || (n != 2 && n != 3) {
		raiseReply(L, "ERR RESP version must be 2 or 3.")
	}
	e.proto = int(n)
	return 0
}

func redisSetRepl(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseReply(L, "ERR redis.set_repl() requires one argument.")
	}
	n, ok := L.Get(1).(lua.LNumber)
	if !ok || n < 0 || n > 3 || n != lua.LNumber(int(n)) {
		raiseReply(L, "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
	}
	return 0
}
