package server

import (
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/resp"
	"github.com/gocluster/gocluster/pkg/engine/script"
)

// Lua scripting (EVAL, EVALSHA, SCRIPT) over pkg/engine/script. A script
// runs under the store lock, like any command, so it is atomic; other
// connections see BUSY once it has run longer than busy-reply-threshold
// (checked in dispatch before they wait for the lock) and SCRIPT KILL,
// which takes no lock, can stop it.

func init() {
	def("eval", -3, "noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys", 0, 0, 0, cmdEval).movable = numKeysAt(2)
	def("evalsha", -3, "noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys", 0, 0, 0, cmdEval).movable = numKeysAt(2)
	def("eval_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", 0, 0, 0, cmdEval).movable = numKeysAt(2)
	def("evalsha_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", 0, 0, 0, cmdEval).movable = numKeysAt(2)
	def("script", -2, "noscript nolock", 0, 0, 0, cmdScript)
}

// scriptsRunning counts servers of this process running a script: dispatch
// looks no further while it is zero.
var scriptsRunning atomic.Int32

var scriptHosts sync.Map // *Server -> *scriptHost

// scriptHost is a server's Lua engine and the pseudo client its scripts'
// commands run on.
type scriptHost struct {
	srv    *Server
	eng    *script.Engine
	client *Client
	caller *Client
	slot   int // the slot the script's keys live in, -1 before the first key
	// flagged: the running script has a shebang or is a function (Prepare);
	// allowOOM: its flags let it write out of memory
	flagged, allowOOM bool
}

func (s *Server) scripting() *scriptHost {
	if h, ok := scriptHosts.Load(s); ok {
		return h.(*scriptHost)
	}
	h := &scriptHost{srv: s}
	h.client = &Client{srv: s, user: "default", authed: true, inExec: true, scriptClient: true, created: time.Now()}
	h.client.w = resp.NewWriter(io.Discard)
	h.eng = script.New(h)
	h.eng.Cluster = s.Cluster != nil
	actual, loaded := scriptHosts.LoadOrStore(s, h)
	if loaded {
		h.eng.Close()
	}
	return actual.(*scriptHost)
}

// Log implements script.Host: redis.log lines go to the server log.
func (h *scriptHost) Log(level int, msg string) {
	h.srv.Logger.Printf("%s", msg)
}

// ACLCheck implements script.Host (redis.acl_check_cmd): the caller's
// permissions, as for the script's own calls.
func (h *scriptHost) ACLCheck(args [][]byte) (known, allowed bool) {
	cmd := lookupCommand(args[0])
	if cmd == nil {
		return false, false
	}
	if h.caller == nil {
		return true, true
	}
	perms := h.caller.aclUser.permissions()
	if cmd.arity > 0 && len(args) != cmd.arity || cmd.arity < 0 && len(args) < -cmd.arity {
		return true, perms.commandAllowed(cmd, args) // no keys to look at
	}
	reason, _ := perms.check(cmd, args)
	return true, reason == aclAllowed
}

// scriptAllowedNoLock are lock-free commands a script may run (it already
// holds the store lock, which the other lock-free handlers take themselves).
var scriptAllowedNoLock = map[string]bool{"select": true, "time": true, "lastsave": true, "publish": true,
	"spublish": true, "pubsub": true, "command": true}

func hasFlag(cmd *command, flag string) bool {
	for _, f := range cmd.flags {
		if f == flag {
			return true
		}
	}
	return false
}

// Call implements script.Host: one redis.call/pcall, run in-process under
// the store lock the script holds, and counted in INFO commandstats and
// errorstats.
func (h *scriptHost) Call(args [][]byte, proto int) []byte {
	cmd, ran, reply := h.call(args, proto)
	h.accountInner(cmd, ran, reply)
	return reply
}

// call runs or refuses one command of a script; ran tells which.
func (h *scriptHost) call(args [][]byte, proto int) (cmd *command, ran bool, reply []byte) {
	cmd = lookupCommand(args[0])
	refuse := func(msg string) (*command, bool, []byte) { return cmd, false, []byte(msg) }
	if cmd == nil {
		return refuse("-ERR Unknown Redis command called from script\r\n")
	}
	if cmd.arity > 0 && len(args) != cmd.arity || cmd.arity < 0 && len(args) < -cmd.arity {
		return refuse("-ERR Wrong number of args calling Redis command from script\r\n")
	}
	if hasFlag(cmd, "noscript") || cmd.noLock && !scriptAllowedNoLock[cmd.name] || cmd.name == "multi" || cmd.name == "exec" {
		return refuse("-ERR This Redis command is not allowed from script\r\n")
	}
	if (cmd.write || hasFlag(cmd, "may_replicate")) && h.eng.ReadOnly() { // may-replicate counts as a write, as in Redis
		return refuse("-ERR Write commands are not allowed from read-only scripts.\r\n")
	}
	if h.caller != nil {
		if reason, pos := h.caller.aclUser.permissions().check(cmd, args); reason != aclAllowed {
			h.srv.acl.log.addDenial(h.caller, reason, aclContextLua, cmd, args, pos, h.srv.aclLogMaxLen())
			return refuse("-" + scriptNoPermError(reasonWord(reason)) + "\r\n")
		}
	}
	if refused := h.scriptCommandGate(cmd); refused != nil {
		return cmd, false, refused
	}
	if h.srv.Cluster != nil {
		if msg := h.checkSlot(cmd, args); msg != "" {
			return refuse("-" + msg + "\r\n")
		}
	}
	c := h.client
	c.w.Reset(io.Discard)
	c.w.SetProto(proto)
	if cmd.write {
		if h.srv.Cluster != nil {
			if replica, _ := h.srv.Cluster.Role(); replica && (h.caller == nil || h.caller.r != nil) {
				return refuse("-READONLY You can't write against a read only replica.\r\n")
			}
		}
		h.eng.MarkWrite()
	}
	if cmd.noLock {
		cmd.fn(c, args)
	} else {
		func() {
			defer c.recoverCommand(cmd, c.w.Mark())
			c.callLocked(cmd, args)
		}()
	}
	c.feedMonitors(cmd, args)
	return cmd, true, c.w.Bytes()
}

// checkSlot refuses a command of a script on keys this node does not serve
// or in another slot than the script's other keys, as Redis 7.0 does.
func (h *scriptHost) checkSlot(cmd *command, args [][]byte) string {
	idx := cmd.keyIndexes(args, nil)
	if len(idx) == 0 {
		return ""
	}
	var slots []int
	for _, i := range idx {
		s := keySlot(args[i])
		if len(slots) == 0 || slots[len(slots)-1] != s {
			slots = append(slots, s)
		}
	}
	asking := h.caller != nil && h.caller.asking
	readonly := h.caller != nil && h.caller.readonly && !cmd.write
	db := h.srv.DB
	keysPresent := func() (all, none bool) { // the store lock is held
		all, none = true, true
		for _, i := range idx {
			if db.Exists(args[i]) {
				none = false
			} else {
				all = false
			}
		}
		return
	}
	if len(slots) > 1 {
		return "ERR Script attempted to access keys that do not hash to the same slot"
	}
	if msg := h.srv.Cluster.Route(slots, asking, readonly, keysPresent); msg != "" {
		if strings.HasPrefix(msg, "CLUSTERDOWN") {
			return "ERR Script attempted to execute a command while the cluster is down"
		}
		return "ERR Script attempted to access a non local key in a cluster node"
	}
	if h.slot == -1 {
		h.slot = slots[0]
	} else if h.slot != slots[0] {
		return "ERR Script attempted to access keys that do not hash to the same slot"
	}
	return ""
}

// evalArgs validates numkeys and splits keys from arguments.
func evalArgs(c *Client, args [][]byte, at int) (keys, argv [][]byte, ok bool) {
	n, isInt := parseInt(args[at])
	if !isInt {
		c.w.WriteError(errNotInt)
		return nil, nil, false
	}
	if n < 0 {
		c.w.WriteError("ERR Number of keys can't be negative")
		return nil, nil, false
	}
	if n > int64(len(args)-at-1) {
		c.w.WriteError("ERR Number of keys can't be greater than number of args")
		return nil, nil, false
	}
	return args[at+1 : at+1+int(n)], args[at+1+int(n):], true
}

func cmdEval(c *Client, args [][]byte) {
	keys, argv, ok := evalArgs(c, args, 2)
	if !ok {
		return
	}
	h := c.srv.scripting()
	name := strings.ToLower(string(args[0]))
	ro := strings.HasSuffix(name, "_ro")
	var body, sha []byte
	if strings.HasPrefix(name, "evalsha") {
		sha = args[1]
	} else {
		body = args[1]
	}
	h.begin(c, keys)
	defer h.end()
	h.eng.Eval(c.w, body, sha, keys, argv, ro)
}

// begin and end bracket one script run.
func (h *scriptHost) begin(c *Client, keys [][]byte) {
	h.caller = c
	h.slot = -1
	if len(keys) > 0 && h.srv.Cluster != nil {
		h.slot = keySlot(keys[0])
	}
	h.client.readonly = c.readonly
	scriptsRunning.Add(1)
	// The script's writes reach replicas by their effects, gathered so that
	// several go out in one MULTI/EXEC (propagate.go).
	h.srv.beginUnit()
}

func (h *scriptHost) end() {
	h.srv.endUnit()
	scriptsRunning.Add(-1)
	h.caller = nil
}

// scriptBusyReply is the BUSY error dispatch answers while a script has run
// for longer than busy-reply-threshold, or "" to let the command through.
func (c *Client) scriptBusyReply(cmd *command, args [][]byte) string {
	if scriptsRunning.Load() == 0 {
		return ""
	}
	h, ok := scriptHosts.Load(c.srv)
	if !ok {
		return ""
	}
	since, function := h.(*scriptHost).eng.Busy()
	if since.IsZero() || time.Since(since) < time.Duration(busyThreshold(c.srv))*time.Millisecond {
		return ""
	}
	switch cmd.name {
	case "auth", "hello", "replconf", "multi", "discard", "watch", "unwatch", "reset":
		return ""
	case "shutdown":
		if len(args) > 1 && eq(args[1], "nosave") {
			return ""
		}
	case "script", "function":
		if len(args) > 1 && (eq(args[1], "kill") || cmd.name == "function" && eq(args[1], "stats")) {
			return ""
		}
	}
	if function {
		return "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
	}
	return "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
}

// lockStore takes the store lock for cmd. While a script runs it does not
// queue behind it blindly: once the script passes busy-reply-threshold the
// command is answered BUSY (and false returned), as redis-server answers
// every client while a slow script runs.
func (c *Client) lockStore(cmd *command, args [][]byte) bool {
	mu := &c.srv.DB.Mu
	for {
		if mu.TryLock() {
			return true
		}
		if scriptsRunning.Load() == 0 && lockUnlessScriptStarts(mu) {
			return true
		}
		if msg := c.scriptBusyReply(cmd, args); msg != "" {
			c.w.WriteError(msg)
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// lockUnlessScriptStarts waits for mu as long as no script runs. A plain
// Lock could not be given up: a script that took the lock first (an EVAL
// that arrived a moment before) would keep this command waiting until it
// ends, where Redis answers BUSY once the script passes the threshold.
func lockUnlessScriptStarts(mu *sync.Mutex) bool {
	for spins := 0; ; spins++ {
		if mu.TryLock() {
			return true
		}
		if scriptsRunning.Load() > 0 {
			return false
		}
		if spins < 64 {
			runtime.Gosched() // the holder is usually mid-command: let it finish
		} else {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

func busyThreshold(s *Server) int {
	if s.Cfg == nil {
		return 5000
	}
	if v := s.Cfg.Get("busy-reply-threshold"); v != "" {
		return s.Cfg.Int("busy-reply-threshold")
	}
	return 5000
}

func cmdScript(c *Client, args [][]byte) {
	h := c.srv.scripting()
	sub := strings.ToLower(string(args[1]))
	if sub == "kill" {
		if len(args) != 2 {
			c.w.WriteError("ERR wrong number of arguments for 'script|kill' command")
			return
		}
		if msg := h.eng.Kill(false); msg != "" {
			c.w.WriteError(msg)
			return
		}
		c.w.WriteRaw(okReply)
		return
	}
	if sub == "help" && len(args) == 2 {
		c.writeHelp("SCRIPT", scriptHelp)
		return
	}
	db := c.srv.DB
	db.Mu.Lock()
	defer db.Mu.Unlock()
	switch {
	case sub == "load":
		if len(args) != 3 {
			c.w.WriteError("ERR wrong number of arguments for 'script|load' command")
			return
		}
		sha, msg := h.eng.Load(args[2])
		if msg != "" {
			c.w.WriteError(msg)
			return
		}
		c.w.WriteBulkString(sha) // not propagated: Redis 7 replicates scripts by their effects
	case sub == "exists":
		if len(args) < 3 {
			c.w.WriteError("ERR wrong number of arguments for 'script|exists' command")
			return
		}
		c.w.WriteArrayLen(len(args) - 2)
		for _, sha := range args[2:] {
			if h.eng.Exists(sha) {
				c.w.WriteInt(1)
			} else {
				c.w.WriteInt(0)
			}
		}
	case sub == "flush":
		if len(args) > 3 {
			c.w.WriteError("ERR wrong number of arguments for 'script|flush' command")
			return
		}
		if len(args) == 3 && !eq(args[2], "sync") && !eq(args[2], "async") {
			c.w.WriteError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
			return
		}
		h.eng.Flush()
		c.w.WriteRaw(okReply)
	case sub == "debug":
		c.w.WriteError("ERR SCRIPT DEBUG is not supported by this server")
	default:
		c.w.WriteError(unknownSubcommand(args[1], "SCRIPT"))
	}
}

// scriptStats is what INFO memory reports about scripts and functions:
// the cached EVAL scripts, their estimated size, the function libraries.
type scriptStats struct {
	scripts, functions, libraries int
	evalBytes                     int64
}

func (s *Server) scriptMemory() scriptStats {
	var st scriptStats
	if h, ok := scriptHosts.Load(s); ok { // no Lua state is made just to report on it
		s.DB.Mu.Lock()
		st.scripts, st.evalBytes = h.(*scriptHost).eng.Stats()
		st.libraries, st.functions = h.(*scriptHost).eng.FunctionCounts()
		s.DB.Mu.Unlock()
	}
	return st
}
