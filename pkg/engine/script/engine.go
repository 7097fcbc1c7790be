// Package script runs Redis Lua scripts (EVAL and friends) and Lua
// functions (FUNCTION LOAD / FCALL) on gopher-lua, a Lua 5.1 VM, with the
// sandbox, the redis.* API and the reply conversions of Redis 7.0.
//
// The package knows nothing about the server: commands issued by scripts go
// through a Host, and replies come back RESP-encoded. Everything here runs
// under the server's store lock (one script at a time, like Redis); only
// the Busy/Kill accessors are safe from other goroutines.
package script

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// Host runs the Redis commands a script issues.
type Host interface {
	// Call executes args (command name first) for redis.call/pcall and
	// returns its RESP-encoded reply in protocol proto (2 or 3). Refusals
	// (unknown command, not allowed from scripts, wrong slot...) are error
	// replies ("-ERR ...\r\n"). A write command must call Engine.MarkWrite.
	Call(args [][]byte, proto int) []byte
	// Log writes a redis.log line at a Redis log level (0 debug .. 3 warning).
	Log(level int, msg string)
	// ACLCheck answers redis.acl_check_cmd: known is false for an unknown
	// command, allowed tells whether the running user may run args.
	ACLCheck(args [][]byte) (known, allowed bool)
	// Prepare runs before a script or function: flags are its declared
	// flags and flagged whether it declared any (a shebang, or a function);
	// a non-empty result is the error that refuses it (OOM, NOREPLICAS).
	Prepare(flags []string, flagged bool) string
}

// Log levels and replication flags, as redis.LOG_* and redis.REPL_*.
const (
	LogDebug, LogVerbose, LogNotice, LogWarning = 0, 1, 2, 3
)

type cached struct {
	fn    *lua.LFunction
	sha   string
	flags []string // from a "#!lua flags=..." shebang
	// shebang: the script starts with "#!lua", so its flags (maybe none)
	// decide before it runs; without one, Redis checks command by command
	shebang bool
}

// shebangFlags reads an EVAL script's "#!lua flags=a,b" line as Redis 7.0
// does: it returns the flags, the length of the line and an error text.
func shebangFlags(body []byte) (flags []string, n int, msg string) {
	if !strings.HasPrefix(string(body), "#!") {
		return nil, 0, ""
	}
	end := strings.IndexByte(string(body), '\n')
	if end < 0 {
		return nil, 0, "Invalid script shebang"
	}
	parts := strings.Fields(string(body[:end]))
	if len(parts) == 0 {
		return nil, 0, "Invalid engine in script shebang"
	}
	if parts[0] != "#!lua" {
		return nil, 0, "Unexpected engine in script shebang: " + parts[0]
	}
	for _, p := range parts[1:] {
		list, ok := strings.CutPrefix(p, "flags=")
		if !ok {
			return nil, 0, "Unknown lua shebang option: " + p
		}
		if list == "" { // "flags=" declares no flags: allowed, and not the same as no shebang
			continue
		}
		for _, f := range strings.Split(list, ",") {
			if !functionFlags[f] {
				return nil, 0, "Unexpected flag in script shebang: " + f
			}
			flags = append(flags, f)
		}
	}
	return flags, end, ""
}

// compact trims the compiler's generous slice capacities (a 1024-entry
// code buffer per function among them) so that a cached script costs
// about what its code needs.
func compact(p *lua.FunctionProto) {
	p.Code = slices.Clone(p.Code)
	p.Constants = slices.Clone(p.Constants)
	p.FunctionPrototypes = slices.Clone(p.FunctionPrototypes)
	p.DbgSourcePositions = slices.Clone(p.DbgSourcePositions)
	p.DbgLocals = slices.Clone(p.DbgLocals)
	p.DbgCalls = slices.Clone(p.DbgCalls)
	p.DbgUpvalues = slices.Clone(p.DbgUpvalues)
	for _, c := range p.FunctionPrototypes {
		compact(c)
	}
}

// Engine is the one Lua state of a server with its script cache.
type Engine struct {
	L       *lua.LState
	host    Host
	globals *lua.LTable // the real globals, read through env
	env     *lua.LTable // what scripts see as their globals: read-only
	keys    *lua.LTable
	argv    *lua.LTable
	scripts map[string]*cached
	size    int64 // bytes of script bodies held

	// per run
	proto  int  // redis.setresp
	ro     bool // EVAL_RO / FCALL_RO / no-writes
	caller string

	// state seen by other goroutines (BUSY, SCRIPT KILL)
	ctxMu    sync.Mutex
	ctx      context.Context
	cancel   context.CancelFunc
	running  atomic.Int64 // start time in ns of the running script, 0 when idle
	function atomic.Bool  // the running one is a function (FUNCTION KILL)
	wrote    atomic.Bool
	killed   atomic.Bool

	lib *libraries // FUNCTION state

	// Cluster is set when the server is a cluster node (no-cluster flag).
	Cluster bool
}

// disableCompatVarArg turns off gopher-lua's package-wide "arg" table once:
// Lua 5.1's compatibility table would be built on every call of a script's
// main chunk (a vararg function), and scripts use "..." instead. Once, because
// several servers in one process build engines concurrently.
var disableCompatVarArg sync.Once

// New builds the Lua state: the Redis 7.0 library set, the redis table and
// read-only globals.
func New(host Host) *Engine {
	disableCompatVarArg.Do(func() { lua.CompatVarArg = false })
	// The data stack grows on demand (unpack of 8000 values works, as in
	// Redis's Lua, whose C stack limit is LUAI_MAXCSTACK = 8000).
	L := lua.NewState(lua.Options{SkipOpenLibs: true, RegistrySize: 1024 * 4, RegistryMaxSize: 1024 * 1024, RegistryGrowStep: 1024, CallStackSize: 256})
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.DebugLibName, lua.OpenDebug},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	e := &Engine{L: L, host: host, scripts: map[string]*cached{}, proto: 2}
	g := L.G.Global
	e.globals = g
	for _, name := range []string{"dofile", "loadfile", "print", "module", "require", "newproxy", "gcinfo", "collectgarbage"} {
		g.RawSetString(name, lua.LNil)
	}
	g.RawSetString("pcall", L.NewFunction(e.luaPcall))
	e.openRedis()
	openBit(L)
	openCjson(L)
	openStruct(L)
	openCmsgpack(L)
	e.keys = L.NewTable()
	e.argv = L.NewTable()
	g.RawSetString("KEYS", e.keys)
	g.RawSetString("ARGV", e.argv)

	// Reads of unknown globals fail; scripts see a proxy whose writes fail.
	gmt := L.NewTable()
	gmt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Script attempted to access nonexistent global variable '%s'", L.CheckAny(2).String())
		return 0
	}))
	L.SetMetatable(g, gmt)
	e.env = L.NewTable()
	emt := L.NewTable()
	emt.RawSetString("__index", g)
	emt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	L.SetMetatable(e.env, emt)
	g.RawSetString("_G", e.env)
	L.Env = e.env
	installCallErrors(L)
	e.protectLibraries()
	e.newContext()
	e.initFunctions()
	return e
}

func (e *Engine) newContext() {
	e.ctxMu.Lock()
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.L.SetContext(e.ctx)
	e.ctxMu.Unlock()
}

// Close frees the Lua state.
func (e *Engine) Close() { e.L.Close() }

// SHA1Hex is the script name Redis uses: the hex SHA1 of its body.
func SHA1Hex(body []byte) string {
	s := sha1.Sum(body)
	return hex.EncodeToString(s[:])
}

// Load compiles body and caches it under its SHA1 (SCRIPT LOAD; EVAL loads
// first). A compile error comes back as Redis's error text.
func (e *Engine) Load(body []byte) (string, string) {
	sha := SHA1Hex(body)
	if _, ok := e.scripts[sha]; ok {
		return sha, ""
	}
	flags, skip, msg := shebangFlags(body)
	if msg != "" {
		return "", "ERR " + msg
	}
	// The shebang line is left out, its line feed kept for line numbers.
	fn, err := e.L.Load(strings.NewReader(string(body[skip:])), "user_script")
	if err != nil {
		return "", "ERR Error compiling script (new function): " + compileError(err)
	}
	fn.Env = e.env
	compact(fn.Proto)
	e.scripts[sha] = &cached{fn: fn, sha: sha, flags: flags, shebang: skip > 0}
	e.size += int64(len(body))
	return sha, ""
}

func compileError(err error) string {
	msg := err.Error()
	if ae, ok := err.(*lua.ApiError); ok {
		msg = ae.Object.String()
	}
	return strings.ReplaceAll(msg, "\n", " ")
}

// Exists reports whether a script is cached (SCRIPT EXISTS). sha is
// matched case-insensitively, as Redis does.
func (e *Engine) Exists(sha []byte) bool {
	_, ok := e.scripts[strings.ToLower(string(sha))]
	return ok
}

// Flush empties the script cache (SCRIPT FLUSH).
func (e *Engine) Flush() {
	e.scripts = map[string]*cached{}
	e.size = 0
}

// Stats returns the number of cached scripts and the bytes of their bodies.
func (e *Engine) Stats() (n int, bytes int64) { return len(e.scripts), e.size }

func timeSinceMs(t time.Time) int64 { return time.Since(t).Milliseconds() }

// Busy reports, from any goroutine, since when a script has been running
// (zero when none runs) and whether it is a function.
func (e *Engine) Busy() (since time.Time, function bool) {
	ns := e.running.Load()
	if ns == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns), e.function.Load()
}

// Kill stops the running script (SCRIPT KILL / FUNCTION KILL, function
// telling which) and returns the reply: "" for +OK or an error line.
func (e *Engine) Kill(function bool) string {
	if e.running.Load() == 0 {
		return "NOTBUSY No scripts in execution right now."
	}
	if e.function.Load() != function {
		if function {
			return "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
		}
		return "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
	}
	if e.wrote.Load() {
		return "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
	}
	e.killed.Store(true)
	e.ctxMu.Lock()
	e.cancel()
	e.ctxMu.Unlock()
	return ""
}

// MarkWrite records that the running script wrote: it cannot be killed now.
func (e *Engine) MarkWrite() { e.wrote.Store(true) }

// ReadOnly reports whether the running script may not write.
func (e *Engine) ReadOnly() bool { return e.ro }

// Eval runs a cached script (EVALSHA) or body (EVAL, which caches it first)
// and writes its reply to w. sha is used when body is nil; a missing script
// answers NOSCRIPT.
func (e *Engine) Eval(w *resp.Writer, body []byte, sha []byte, keys, argv [][]byte, ro bool) {
	var sc *cached
	if body != nil {
		s, errMsg := e.Load(body)
		if errMsg != "" {
			w.WriteError(errMsg)
			return
		}
		sc = e.scripts[s]
	} else {
		if len(sha) == 40 {
			var buf [40]byte
			for i, ch := range sha {
				if ch >= 'A' && ch <= 'Z' {
					ch += 'a' - 'A'
				}
				buf[i] = ch
			}
			sc = e.scripts[string(buf[:])]
		}
		if sc == nil {
			w.WriteError("NOSCRIPT No matching script. Please use EVAL.")
			return
		}
	}
	for _, f := range sc.flags {
		switch f {
		case "no-writes":
			ro = true
		case "no-cluster":
			if e.Cluster {
				w.WriteError("ERR Can not run script on cluster, 'no-cluster' flag is set.")
				return
			}
		}
	}
	if msg := e.host.Prepare(sc.flags, sc.shebang); msg != "" {
		w.WriteError(msg)
		return
	}
	fillArgs(e.L, e.keys, keys)
	fillArgs(e.L, e.argv, argv)
	e.caller = sc.sha
	e.run(w, sc.fn, nil, ro, false, "")
}

func fillArgs(L *lua.LState, t *lua.LTable, args [][]byte) {
	n := t.Len()
	for i, a := range args {
		t.RawSetInt(i+1, lua.LString(a))
	}
	for i := len(args) + 1; i <= n; i++ {
		t.RawSetInt(i, lua.LNil)
	}
}

// run calls fn (with the given arguments) as one script execution and
// writes its reply; name is the function name for FCALL errors.
func (e *Engine) run(w *resp.Writer, fn *lua.LFunction, args []lua.LValue, ro, function bool, name string) {
	L := e.L
	e.proto = 2
	e.ro = ro
	e.wrote.Store(false)
	e.killed.Store(false)
	e.function.Store(function)
	e.running.Store(time.Now().UnixNano())
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	err := L.PCall(len(args), 1, nil)
	e.running.Store(0)
	if e.killed.Load() {
		e.killed.Store(false)
		e.newContext()
		if err != nil {
			if function {
				writeError(w, "ERR Script killed by user with FUNCTION KILL..."+e.suffix(err, function, name))
			} else {
				writeError(w, "ERR Script killed by user with SCRIPT KILL..."+e.suffix(err, function, name))
			}
			return
		}
	}
	if err != nil {
		writeError(w, e.errorText(err, function, name))
		return
	}
	ret := L.Get(-1)
	L.Pop(1)
	writeValue(L, w, ret, e.proto, 0)
}

// suffix is what Redis appends to a script's error: where it happened.
func (e *Engine) suffix(err error, function bool, name string) string {
	line := "?"
	src := "user_script"
	if function {
		src = "user_function"
	}
	if ae, ok := err.(*lua.ApiError); ok {
		if l := lineOf(ae.StackTrace, src); l != "" {
			line = l
		}
	}
	if function {
		return " script: " + name + ", on @" + src + ":" + line + "."
	}
	return " script: " + e.currentSHA() + ", on @" + src + ":" + line + "."
}

func lineOf(trace, src string) string {
	i := strings.Index(trace, src+":")
	if i < 0 {
		return ""
	}
	rest := trace[i+len(src)+1:]
	j := strings.IndexByte(rest, ':')
	if j <= 0 {
		return ""
	}
	if _, err := strconv.Atoi(rest[:j]); err != nil {
		return ""
	}
	return rest[:j]
}

func (e *Engine) currentSHA() string { return e.caller }

// errorText renders a Lua error as Redis's error reply.
func (e *Engine) errorText(err error, function bool, name string) string {
	ae, ok := err.(*lua.ApiError)
	if !ok {
		return "ERR " + err.Error()
	}
	suffix := e.suffix(err, function, name)
	switch v := ae.Object.(type) {
	case *lua.LTable:
		if m, ok := v.RawGetString("err").(lua.LString); ok {
			return string(m) + suffix
		}
		return "ERR unknown error" + suffix
	case lua.LString:
		return "ERR " + string(v) + suffix
	case *lua.LNilType:
		return "ERR nil" + suffix
	default:
		return "ERR " + v.String() + suffix
	}
}

// EvalFlags is what Redis reads of a script before EVAL or EVALSHA runs it
// (evalGetCommandFlags): the flags of body's shebang, or of the cached
// script sha; shebang false when there is none, or no such script.
func (e *Engine) EvalFlags(body, sha []byte) (flags []string, shebang bool) {
	if body != nil {
		flags, n, msg := shebangFlags(body)
		return flags, n > 0 && msg == ""
	}
	if s, ok := e.scripts[strings.ToLower(string(sha))]; ok {
		return s.flags, s.shebang
	}
	return nil, false
}
