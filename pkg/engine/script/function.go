package script

import (
	"context"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// Function is one function registered by a library.
type Function struct {
	Name  string
	Desc  string
	Flags []string
	fn    *lua.LFunction
	lib   *Library
}

// Library is one FUNCTION LOAD unit.
type Library struct {
	Name  string
	Code  string
	Funcs map[string]*Function
}

type libraries struct {
	libs  map[string]*Library
	funcs map[string]*Function

	env     *lua.LTable // the globals library code and functions see
	envMeta *lua.LTable
	loadG   *lua.LTable // what library code sees while it loads
	pending *Library    // the library being loaded

	nlibs, nfuncs atomic.Int64 // for FUNCTION STATS while a function runs
	running       atomic.Value // name of the running function (string)
	runningCmd    atomic.Value // the FCALL command name
}

// loadTimeout bounds the run of a library's code at FUNCTION LOAD.
const loadTimeout = 500 * time.Millisecond

var functionFlags = map[string]bool{"no-writes": true, "allow-oom": true, "allow-stale": true, "no-cluster": true, "allow-cross-slot-keys": true}

func (e *Engine) initFunctions() {
	L := e.L
	fl := &libraries{libs: map[string]*Library{}, funcs: map[string]*Function{}}
	fl.running.Store("")
	fl.runningCmd.Store([]string(nil))
	// Load-time API: redis.register_function, log and constants only.
	lr := L.NewTable()
	lr.RawSetString("register_function", L.NewFunction(e.registerFunction))
	lr.RawSetString("log", L.NewFunction(e.redisLog))
	for name, v := range map[string]int{"LOG_DEBUG": LogDebug, "LOG_VERBOSE": LogVerbose, "LOG_NOTICE": LogNotice, "LOG_WARNING": LogWarning} {
		lr.RawSetString(name, lua.LNumber(v))
	}
	lr.RawSetString("REDIS_VERSION", lua.LString("7.0.15"))
	lr.RawSetString("REDIS_VERSION_NUM", lua.LNumber(0x07000f))
	lrm := L.NewTable()
	lrm.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Script attempted to access nonexistent global variable '%s'", L.CheckAny(2).String())
		return 0
	}))
	lrm.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError(readonlyErr) // a library cannot plant things in redis or the globals
		return 0
	}))
	L.SetMetatable(lr, lrm)
	fl.loadG = L.NewTable()
	fl.loadG.RawSetString("redis", lr)
	// Nothing but redis is visible while a library loads (Redis 7.0).
	L.SetMetatable(fl.loadG, lrm)

	// Runtime: the library's functions see the usual globals, plus
	// redis.REDIS_VERSION; writes to globals fail as in scripts.
	rt := e.globals.RawGetString("redis").(*lua.LTable)
	rt.RawSetString("REDIS_VERSION", lua.LString("7.0.15"))
	rt.RawSetString("REDIS_VERSION_NUM", lua.LNumber(0x07000f))
	fl.env = L.NewTable()
	fl.envMeta = L.NewTable()
	fl.envMeta.RawSetString("__index", e.globals)
	fl.envMeta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	L.SetMetatable(fl.env, fl.envMeta)
	e.lib = fl
}

// registerFunction is redis.register_function, during FUNCTION LOAD.
// raiseBare raises msg as Redis's luaPushError does: without the
// "source:line:" position Lua would add.
func raiseBare(L *lua.LState, msg string) { L.Error(lua.LString(msg), 0) }

func (e *Engine) registerFunction(L *lua.LState) int {
	lib := e.lib.pending
	if lib == nil {
		raiseBare(L, "redis.register_function can only be called on FUNCTION LOAD command")
	}
	var name string
	var cb *lua.LFunction
	var desc string
	var flags []string
	switch L.GetTop() {
	case 1:
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			raiseBare(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
		}
		var bad string
		forEachOrdered(t, func(k, v lua.LValue) {
			switch k.String() {
			case "function_name":
				if s, ok := v.(lua.LString); ok {
					name = string(s)
				} else {
					bad = "function_name argument given to redis.register_function must be a string"
				}
			case "callback":
				if f, ok := v.(*lua.LFunction); ok {
					cb = f
				} else {
					bad = "callback argument given to redis.register_function must be a function"
				}
			case "description":
				if s, ok := v.(lua.LString); ok {
					desc = string(s)
				} else {
					bad = "description argument given to redis.register_function must be a string"
				}
			case "flags":
				ft, ok := v.(*lua.LTable)
				if !ok {
					bad = "flags argument to redis.register_function must be a table representing function flags"
					return
				}
				for i := 1; i <= ft.Len(); i++ {
					f, ok := ft.RawGetInt(i).(lua.LString)
					if !ok || !functionFlags[string(f)] {
						bad = "unknown flag given"
						return
					}
					flags = append(flags, string(f))
				}
			default:
				bad = "unknown argument given to redis.register_function"
			}
		})
		if bad != "" {
			raiseBare(L, bad)
		}
		if name == "" {
			raiseBare(L, "redis.register_function must get a function name argument")
		}
		if cb == nil {
			raiseBare(L, "redis.register_function must get a callback argument")
		}
	case 2:
		s, ok := L.Get(1).(lua.LString)
		if !ok {
			raiseBare(L, "first argument to redis.register_function must be a string")
		}
		f, ok := L.Get(2).(*lua.LFunction)
		if !ok {
			raiseBare(L, "second argument to redis.register_function must be a function")
		}
		name, cb = string(s), f
	default:
		raiseBare(L, "wrong number of arguments to redis.register_function")
	}
	if !validName(name) { // sic: Redis 7.0 says "Library" here too
		raiseBare(L, "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
	}
	if _, dup := lib.Funcs[name]; dup {
		raiseBare(L, "Function already exists in the library")
	}
	lib.Funcs[name] = &Function{Name: name, Desc: desc, Flags: flags, fn: cb, lib: lib}
	return 0
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// parseLibrary compiles a library's code and runs it to collect its
// functions; it does not install it.
func (e *Engine) parseLibrary(code []byte) (*Library, string) {
	text := string(code)
	if !strings.HasPrefix(text, "#!") {
		return nil, "ERR Missing library metadata"
	}
	// Parsed as Redis's functionExtractLibMetaData: quoted words, the
	// metadata before the engine name is looked up.
	first, _, found := strings.Cut(text, "\n")
	parts, err := config.SplitArgs(first)
	if !found || err != nil || len(parts) == 0 {
		return nil, "ERR Invalid library metadata"
	}
	engine := parts[0][2:]
	name, named := "", false
	for _, p := range parts[1:] {
		if len(p) >= 5 && strings.EqualFold(p[:5], "name=") {
			if named {
				return nil, "ERR Invalid metadata value, name argument was given multiple times"
			}
			name, named = p[5:], true
			continue
		}
		return nil, "ERR Invalid metadata value given: " + p
	}
	if !named {
		return nil, "ERR Library name was not given"
	}
	if !strings.EqualFold(engine, "lua") {
		return nil, "ERR Engine '" + engine + "' not found"
	}
	if !validName(name) {
		return nil, "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
	}
	// The shebang line stays, as a comment, so line numbers match.
	fn, err := e.L.Load(strings.NewReader("--"+text), "user_function")
	if err != nil {
		return nil, "ERR Error compiling function: " + compileError(err)
	}
	fl := e.lib
	fn.Env = fl.env
	compact(fn.Proto)
	lib := &Library{Name: name, Code: text, Funcs: map[string]*Function{}}
	fl.pending = lib
	fl.envMeta.RawSetString("__index", fl.loadG)
	// Loading may not run away with the server: 500 ms, as in Redis.
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	e.L.SetContext(ctx)
	e.L.Push(fn)
	err = e.L.PCall(0, 0, nil)
	timedOut := ctx.Err() != nil
	cancel()
	e.ctxMu.Lock()
	e.L.SetContext(e.ctx)
	e.ctxMu.Unlock()
	fl.envMeta.RawSetString("__index", e.globals)
	fl.pending = nil
	if timedOut {
		return nil, "ERR Error registering functions: ERR FUNCTION LOAD timeout"
	}
	if err != nil {
		msg := err.Error()
		if ae, ok := err.(*lua.ApiError); ok {
			msg = ae.Object.String()
		}
		return nil, "ERR Error registering functions: ERR " + msg
	}
	if len(lib.Funcs) == 0 {
		return nil, "ERR No functions registered"
	}
	return lib, ""
}

// install adds lib, replacing a library of the same name when replace is
// set; function names must not collide with other libraries'.
func (fl *libraries) install(lib *Library, replace bool) string {
	old := fl.libs[lib.Name]
	if old != nil && !replace {
		return "ERR Library '" + lib.Name + "' already exists"
	}
	for name := range lib.Funcs {
		if f := fl.funcs[strings.ToLower(name)]; f != nil && f.lib != old {
			return "ERR Function " + name + " already exists"
		}
	}
	if old != nil {
		fl.remove(old)
	}
	fl.libs[lib.Name] = lib
	for name, f := range lib.Funcs {
		fl.funcs[strings.ToLower(name)] = f
	}
	fl.count()
	return ""
}

func (fl *libraries) remove(lib *Library) {
	delete(fl.libs, lib.Name)
	for name := range lib.Funcs {
		delete(fl.funcs, strings.ToLower(name))
	}
	fl.count()
}

func (fl *libraries) count() {
	fl.nlibs.Store(int64(len(fl.libs)))
	fl.nfuncs.Store(int64(len(fl.funcs)))
}

// FunctionLoad is FUNCTION LOAD [REPLACE]: it returns the library name or
// an error line.
func (e *Engine) FunctionLoad(code []byte, replace bool) (string, string) {
	lib, msg := e.parseLibrary(code)
	if msg != "" {
		return "", msg
	}
	if msg := e.lib.install(lib, replace); msg != "" {
		return "", msg
	}
	return lib.Name, ""
}

// FunctionDelete is FUNCTION DELETE.
func (e *Engine) FunctionDelete(name string) string {
	lib := e.lib.libs[name]
	if lib == nil {
		return "ERR Library not found"
	}
	e.lib.remove(lib)
	return ""
}

// FunctionFlush is FUNCTION FLUSH.
func (e *Engine) FunctionFlush() {
	e.lib.libs = map[string]*Library{}
	e.lib.funcs = map[string]*Function{}
	e.lib.count()
}

// LibraryCodes returns the code of every library, sorted by library name:
// what RDB files, AOF base files and FUNCTION DUMP carry.
func (e *Engine) LibraryCodes() [][]byte {
	names := make([]string, 0, len(e.lib.libs))
	for n := range e.lib.libs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([][]byte, len(names))
	for i, n := range names {
		out[i] = []byte(e.lib.libs[n].Code)
	}
	return out
}

// FunctionCounts is how many libraries and functions are loaded.
func (e *Engine) FunctionCounts() (libraries, functions int) {
	return len(e.lib.libs), len(e.lib.funcs)
}

// FunctionDump is FUNCTION DUMP's payload.
func (e *Engine) FunctionDump() []byte { return rdb.EncodeFunctions(e.LibraryCodes()) }

// FunctionRestore is FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]:
// all or nothing.
func (e *Engine) FunctionRestore(payload []byte, policy string) string {
	codes, err := rdb.DecodeFunctions(payload)
	if err != nil {
		if strings.Contains(err.Error(), "CRC64") || strings.Contains(err.Error(), "version") || strings.Contains(err.Error(), "too short") {
			return "ERR DUMP payload version or checksum are wrong"
		}
		return "ERR payload is not a valid function payload"
	}
	return e.loadAll(codes, policy)
}

// LoadLibraries installs libraries read from an RDB or AOF file (REPLACE
// policy: a library in the file replaces one of the same name).
func (e *Engine) LoadLibraries(codes [][]byte) string { return e.loadAll(codes, "replace") }

func (e *Engine) loadAll(codes [][]byte, policy string) string {
	fl := e.lib
	savedLibs, savedFuncs := fl.libs, fl.funcs
	fl.libs, fl.funcs = map[string]*Library{}, map[string]*Function{}
	if policy != "flush" {
		for k, v := range savedLibs {
			fl.libs[k] = v
		}
		for k, v := range savedFuncs {
			fl.funcs[k] = v
		}
	}
	for _, code := range codes {
		lib, msg := e.parseLibrary(code)
		if msg == "" {
			if policy == "append" && fl.libs[lib.Name] != nil {
				msg = "ERR Library " + lib.Name + " already exists"
			} else {
				msg = fl.install(lib, policy == "replace")
			}
		}
		if msg != "" {
			fl.libs, fl.funcs = savedLibs, savedFuncs
			fl.count()
			return msg
		}
	}
	fl.count()
	return ""
}

// FunctionList writes FUNCTION LIST's reply; match filters library names.
func (e *Engine) FunctionList(w *resp.Writer, match func(name string) bool, withCode bool) {
	var libs []*Library
	for _, l := range e.lib.libs {
		if match == nil || match(l.Name) {
			libs = append(libs, l)
		}
	}
	sort.Slice(libs, func(i, j int) bool { return libs[i].Name < libs[j].Name })
	w.WriteArrayLen(len(libs))
	for _, l := range libs {
		if withCode {
			w.WriteMapLen(4)
		} else {
			w.WriteMapLen(3)
		}
		w.WriteBulkString("library_name")
		w.WriteBulkString(l.Name)
		w.WriteBulkString("engine")
		w.WriteBulkString("LUA")
		w.WriteBulkString("functions")
		names := make([]string, 0, len(l.Funcs))
		for n := range l.Funcs {
			names = append(names, n)
		}
		sort.Strings(names)
		w.WriteArrayLen(len(names))
		for _, n := range names {
			f := l.Funcs[n]
			w.WriteMapLen(3)
			w.WriteBulkString("name")
			w.WriteBulkString(f.Name)
			w.WriteBulkString("description")
			if f.Desc == "" {
				w.WriteNull()
			} else {
				w.WriteBulkString(f.Desc)
			}
			w.WriteBulkString("flags")
			w.WriteSetLen(len(f.Flags))
			for _, fl := range f.Flags {
				w.WriteSimple(fl)
			}
		}
		if withCode {
			w.WriteBulkString("library_code")
			w.WriteBulkString(l.Code)
		}
	}
}

// FunctionStats writes FUNCTION STATS's reply; safe while a function runs.
func (e *Engine) FunctionStats(w *resp.Writer) {
	w.WriteMapLen(2)
	w.WriteBulkString("running_script")
	since, function := e.Busy()
	name := e.lib.running.Load().(string)
	if since.IsZero() || !function || name == "" {
		w.WriteNull()
	} else {
		w.WriteMapLen(3)
		w.WriteBulkString("name")
		w.WriteBulkString(name)
		w.WriteBulkString("command")
		cmd := e.lib.runningCmd.Load().([]string)
		w.WriteArrayLen(len(cmd))
		for _, a := range cmd {
			w.WriteBulkString(a)
		}
		w.WriteBulkString("duration_ms")
		w.WriteInt(int64(timeSinceMs(since)))
	}
	w.WriteBulkString("engines")
	w.WriteMapLen(1)
	w.WriteBulkString("LUA")
	w.WriteMapLen(2)
	w.WriteBulkString("libraries_count")
	w.WriteInt(e.lib.nlibs.Load())
	w.WriteBulkString("functions_count")
	w.WriteInt(e.lib.nfuncs.Load())
}

// FunctionFlags returns a function's flags, or ok false when it does not exist.
func (e *Engine) FunctionFlags(name string) (flags []string, ok bool) {
	f := e.lib.funcs[strings.ToLower(name)]
	if f == nil {
		return nil, false
	}
	return f.Flags, true
}

// FCall runs a function (FCALL / FCALL_RO) and writes its reply; cmd is
// the whole command, for FUNCTION STATS.
func (e *Engine) FCall(w *resp.Writer, cmd [][]byte, name string, keys, argv [][]byte, ro bool) {
	f := e.lib.funcs[strings.ToLower(name)]
	if f == nil {
		w.WriteError("ERR Function not found")
		return
	}
	noWrites := false
	for _, fl := range f.Flags {
		if fl == "no-writes" {
			noWrites = true
		}
	}
	if ro && !noWrites {
		w.WriteError("ERR Can not execute a script with write flag using *_ro command.")
		return
	}
	if msg := e.host.Prepare(f.Flags, true); msg != "" {
		w.WriteError(msg)
		return
	}
	kt := e.L.CreateTable(len(keys), 0)
	for i, k := range keys {
		kt.RawSetInt(i+1, lua.LString(k))
	}
	at := e.L.CreateTable(len(argv), 0)
	for i, a := range argv {
		at.RawSetInt(i+1, lua.LString(a))
	}
	e.lib.running.Store(name)
	shown := make([]string, min(len(cmd), 64))
	for i := range shown {
		shown[i] = string(cmd[i])
	}
	e.lib.runningCmd.Store(shown)
	e.run(w, f.fn, []lua.LValue{kt, at}, ro || noWrites, true, name)
	e.lib.running.Store("")
}
