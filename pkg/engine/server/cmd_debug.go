package server

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/repl"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// DEBUG, with the subcommands tools and Redis's own test suite use, and
// redis-server 7.0's replies. What would crash or hang redis-server on
// purpose (SEGFAULT, PANIC, ASSERT, OOM, RESTART...) is refused: the engine
// never takes a node down for a client.

func init() {
	// nolock: RELOAD, LOADAOF and SLEEP take the store lock themselves,
	// each for as long as redis-server would keep its event loop busy.
	def("debug", -2, "admin noscript loading stale nolock", 0, 0, 0, cmdDebug)
}

// debugState is what DEBUG switches at runtime.
type debugState struct {
	noActiveExpire atomic.Bool // SET-ACTIVE-EXPIRE 0
	cronPaused     atomic.Bool // PAUSE-CRON 1
	// stallImports (SLOT-MIGRATION-STALL-IMPORTS 1, engine only) makes
	// import links stop reading: a test's way to hold a migration in
	// progress while the node still answers everyone else.
	stallImports atomic.Bool
	// dropDelayMs (SLOT-MIGRATION-DELAY-DROP ms, engine only): a source
	// waits this long after the target's claim before it drops its copies,
	// so a test can kill it in that window.
	dropDelayMs atomic.Int64
	// replyPeakResetMs (REPLYBUFFER PEAK-RESET-TIME): 0 is the default
	// (5 s), -1 never, -2 zero; replyResizeOff: REPLYBUFFER RESIZING 0.
	replyPeakResetMs atomic.Int64
	replyResizeOff   atomic.Bool
}

// debugStates holds each server's debugState, beside the Server struct
// so DEBUG stays out of the shared files.
var debugStates sync.Map // *Server -> *debugState

func (s *Server) debugState() *debugState {
	if st, ok := debugStates.Load(s); ok {
		return st.(*debugState)
	}
	st, _ := debugStates.LoadOrStore(s, &debugState{})
	return st.(*debugState)
}

// activeExpireOff says DEBUG turned the active expiry cycle off
// (SET-ACTIVE-EXPIRE 0) or paused the cron (PAUSE-CRON 1).
func (s *Server) activeExpireOff() bool {
	st := s.debugState()
	return st.noActiveExpire.Load() || st.cronPaused.Load()
}

// protectedRefusal is Redis's check of enable-debug-command: "no" refuses
// DEBUG to everyone, "local" to clients that are not on the loopback.
func (c *Client) protectedRefusal(cmd *command) string {
	if cmd.name != "debug" || c.srv.Cfg == nil {
		return ""
	}
	switch c.srv.Cfg.Get("enable-debug-command") {
	case "yes":
		return ""
	case "local":
		if c.isLocal() {
			return ""
		}
	}
	return "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
}

// isLocal: a unix socket or a loopback address, as Redis's islocalClient.
func (c *Client) isLocal() bool {
	if c.conn == nil {
		return true // the AOF and script clients
	}
	switch a := c.conn.RemoteAddr().(type) {
	case *net.UnixAddr:
		return true
	case *net.TCPAddr:
		return a.IP.Equal(net.IPv4(127, 0, 0, 1)) || a.IP.Equal(net.IPv6loopback)
	}
	return false
}

var debugHelp = []string{
	"AOF-FLUSH-SLEEP <microsec>",
	"    Delays each AOF flush (for tests).",
	"ASSERT",
	"    Stops the server as a failed assertion would.",
	"CHANGE-REPL-ID",
	"    Gives the server new replication ids (tests of replication only).",
	"CONFIG-REWRITE-FORCE-ALL",
	"    CONFIG REWRITE that writes every option, defaults included.",
	"CRASH-AND-RECOVER [<milliseconds>]",
	"    Stops abruptly, then starts again after the delay (0 if none).",
	"DIGEST",
	"    A hex checksum of the whole dataset.",
	"DIGEST-VALUE <key> [<key> ...]",
	"    A hex checksum of each named key's value.",
	"ERROR <string>",
	"    Answers <string> as an error reply (for client tests).",
	"LEAK <string>",
	"    Keeps a copy of <string> that is never freed.",
	"LOG <message>",
	"    Writes <message> to the server's log.",
	"HTSTATS <dbid>",
	"    Statistics of a database's key table.",
	"HTSTATS-KEY <key>",
	"    Statistics of the table inside <key>'s value.",
	"LOADAOF",
	"    Writes out the AOF, then loads the dataset from it again.",
	"REPLICATE <string>",
	"    Sends <string> down the replication stream as is (replicas may diverge).",
	"MALLCTL <key> [<val>]",
	"    Reads or sets an allocator number.",
	"MALLCTL-STR <key> [<val>]",
	"    Reads or sets an allocator string.",
	"OBJECT <key>",
	"    Internal details of <key>'s value.",
	"DROP-CLUSTER-PACKET-FILTER <packet-type>",
	"    Ignores cluster bus messages of one type (-1: none).",
	"OOM",
	"    Stops the server as a failed allocation would.",
	"PANIC",
	"    Stops the server as a panic would.",
	"POPULATE <count> [<prefix>] [<size>]",
	"    Adds <count> string keys <prefix>:<n> (default prefix key), not replicated, whatever their slot.",
	"PROTOCOL <type>",
	"    A sample reply of one type: string, integer, double, bignum, null, array, set, map, attrib, push, verbatim, true or false.",
	"RELOAD [option ...]",
	"    Saves an RDB and loads it back. NOSAVE loads the existing file, NOFLUSH keeps the current keys, MERGE lets the file's keys win.",
	"RESTART [<milliseconds>]",
	"    Saves, then starts the server again after the delay (0 if none).",
	"SDSLEN <key>",
	"    Internal string sizes of <key> and its value.",
	"SEGFAULT",
	"    Stops the server with a segmentation fault.",
	"SET-ACTIVE-EXPIRE <0|1>",
	"    0 stops the background removal of expired keys; 1 restores it.",
	"QUICKLIST-PACKED-THRESHOLD <size>",
	"    Size from which a list element gets a node of its own (0: the default, 1GB).",
	"SET-SKIP-CHECKSUM-VALIDATION <0|1>",
	"    1 loads RDB files and RESTORE payloads without checking their checksum.",
	"SLEEP <seconds>",
	"    Blocks the server for <seconds> (fractions allowed).",
	"STRINGMATCH-TEST",
	"    Fuzzes the glob matcher.",
	"STRUCTSIZE",
	"    Sizes of the server's core structures.",
	"LISTPACK <key>",
	"    Internal layout of <key>'s compact encoding.",
	"QUICKLIST <key> [<0|1>]",
	"    Internal layout of <key>'s list nodes; 1 for more detail.",
	"CLIENT-EVICTION",
	"    The state of client eviction (maxmemory-clients).",
	"PAUSE-CRON <0|1>",
	"    1 stops the periodic jobs; 0 resumes them.",
	"REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
	"    How often (ms) a client's reply buffer peak starts over; NEVER keeps it, RESET restores 5000.",
	"REPLYBUFFER RESIZING <0|1>",
	"    0 stops the resizing of reply buffers; 1 restores it.",
	"CLUSTERLINK KILL <to|from|all> <node-id>",
	"    Closes the cluster bus links to, from or both ways with a node.",
	"SLOT-MIGRATION-STALL-IMPORTS <0|1>",
	"    Engine only: 1 makes atomic slot migration imports stop reading (tests).",
	"SLOT-MIGRATION-DELAY-DROP <milliseconds>",
	"    Engine only: a migration's source waits this long after the target's claim before dropping its keys (tests).",
}

func cmdDebug(c *Client, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	n := len(args)
	st := c.srv.debugState()
	switch {
	case sub == "help" && n == 2:
		c.writeHelp("DEBUG", debugHelp)
	case sub == "segfault" || sub == "panic" || sub == "assert" || sub == "oom" ||
		sub == "restart" || sub == "crash-and-recover" || sub == "leak":
		c.w.WriteError("ERR DEBUG " + strings.ToUpper(sub) + " is not supported: the engine does not crash, restart or leak memory on request")
	case sub == "log" && n == 3:
		c.srv.Logger.Printf("DEBUG LOG: %s", printable(args[2], 4096))
		c.w.WriteRaw(okReply)
	case sub == "sleep" && n == 3:
		c.debugSleep(args[2])
	case sub == "set-active-expire" && n == 3:
		st.noActiveExpire.Store(cAtoi(args[2]) == 0)
		c.w.WriteRaw(okReply)
	case sub == "pause-cron" && n == 3:
		st.cronPaused.Store(cAtoi(args[2]) != 0)
		c.w.WriteRaw(okReply)
	case sub == "slot-migration-stall-imports" && n == 3:
		st.stallImports.Store(cAtoi(args[2]) != 0)
		c.w.WriteRaw(okReply)
	case sub == "slot-migration-delay-drop" && n == 3:
		st.dropDelayMs.Store(max(int64(cAtoi(args[2])), 0))
		c.w.WriteRaw(okReply)
	case (sub == "set-skip-checksum-validation" || sub == "aof-flush-sleep" ||
		sub == "set-disable-deny-scripts" || sub == "drop-cluster-packet-filter") && n == 3:
		if sub == "drop-cluster-packet-filter" {
			if _, ok := parseInt(args[2]); !ok {
				c.w.WriteError(errNotInt)
				return
			}
		}
		c.w.WriteRaw(okReply) // accepted; the engine has nothing these switch
	case sub == "quicklist-packed-threshold" && n == 3:
		if !validPackedThreshold(args[2]) {
			c.w.WriteError("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
			return
		}
		c.w.WriteRaw(okReply)
	case sub == "replybuffer" && n == 4:
		c.debugReplyBuffer(args)
	case sub == "error" && n == 3:
		// the client's text as the whole error line, no ERR added
		c.w.WriteRaw([]byte("-" + strings.NewReplacer("\r", " ", "\n", " ").Replace(string(args[2])) + "\r\n"))
	case sub == "change-repl-id" && n == 2:
		c.srv.Logger.Printf("Changing replication IDs after receiving DEBUG change-repl-id")
		c.srv.DB.Mu.Lock()
		c.srv.initRepl()
		c.srv.repl.id, c.srv.repl.id2, c.srv.repl.secondOff = repl.NewID(), repl.ZeroID, -1
		c.srv.DB.Mu.Unlock()
		c.w.WriteRaw(okReply)
	case sub == "protocol" && n == 3:
		c.debugProtocol(strings.ToLower(string(args[2])))
	case sub == "stringmatch-test" && n == 2:
		c.w.WriteSimple("Apparently Redis did not crash: test passed")
	case sub == "structsize" && n == 2:
		c.w.WriteBulkString("bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 ")
	case sub == "digest" && n == 2:
		c.withStore(func() { c.w.WriteSimple(hex20(c.srv.datasetDigest())) })
	case sub == "digest-value":
		c.withStore(func() {
			c.w.WriteArrayLen(n - 2)
			for _, key := range args[2:] {
				c.w.WriteSimple(hex20(c.srv.keyValueDigest(key)))
			}
		})
	case sub == "object" && n == 3:
		c.withStore(func() { c.debugObject(args[2]) })
	case (sub == "listpack" && n == 3) || (sub == "quicklist" && (n == 3 || n == 4)):
		c.withStore(func() { c.debugEncodingDump(sub, args[2]) })
	case sub == "sdslen" && n == 3:
		c.withStore(func() { c.debugSDSLen(args[2]) })
	case sub == "populate" && n >= 3 && n <= 5:
		c.withStore(func() { c.debugPopulate(args) })
	case sub == "reload":
		c.debugReload(args[2:])
	case sub == "loadaof" && n == 2:
		c.debugLoadAOF()
	default:
		c.w.WriteError(debugSyntaxError(args[1]))
	}
}

// withStore runs fn under the store lock, as the commands that do not
// take it themselves run.
func (c *Client) withStore(fn func()) {
	c.srv.DB.Mu.Lock()
	defer c.srv.DB.Mu.Unlock()
	fn()
}

// debugSleep holds the store for the given seconds, so every other client
// waits, as redis-server's single thread does. The number is read as
// strtod reads it: a bad one is 0, a negative one no sleep at all.
func (c *Client) debugSleep(arg []byte) {
	secs := cStrtod(arg)
	if d := time.Duration(secs * float64(time.Second)); d > 0 {
		c.withStore(func() { time.Sleep(d) })
	}
	c.w.WriteRaw(okReply)
}

func (c *Client) debugReplyBuffer(args [][]byte) {
	st := c.srv.debugState()
	switch opt := strings.ToLower(string(args[2])); opt {
	case "peak-reset-time":
		switch {
		case eq(args[3], "never"):
			st.replyPeakResetMs.Store(-1)
		case eq(args[3], "reset"):
			st.replyPeakResetMs.Store(0)
		default:
			ms, ok := parseInt(args[3])
			if !ok {
				c.w.WriteError(errNotInt)
				return
			}
			if ms == 0 {
				ms = -2 // zero itself: reset at every cron run
			}
			st.replyPeakResetMs.Store(ms)
		}
	case "resizing":
		st.replyResizeOff.Store(cAtoi(args[3]) == 0)
	default:
		c.w.WriteError(debugSyntaxError(args[1]))
		return
	}
	c.w.WriteRaw(okReply)
}

// debugSyntaxError answers an unknown subcommand or a known one with the
// wrong number of arguments, as Redis's addReplySubcommandSyntaxError.
func debugSyntaxError(sub []byte) string {
	return "ERR unknown subcommand or wrong number of arguments for '" + printable(sub, 128) + "'. Try DEBUG HELP."
}

// debugProtocol answers a sample of each reply type, in the client's
// protocol, as redis-server's DEBUG PROTOCOL does.
func (c *Client) debugProtocol(kind string) {
	w := c.w
	resp3 := w.Proto() == 3
	switch kind {
	case "string":
		w.WriteBulkString("Hello World")
	case "integer":
		w.WriteInt(12345)
	case "double":
		w.WriteDouble(3.141)
	case "bignum":
		const big = "1234567999999999999999999999999999999"
		if resp3 {
			w.WriteRaw([]byte("(" + big + "\r\n"))
		} else {
			w.WriteBulkString(big)
		}
	case "null":
		w.WriteNull()
	case "array", "set":
		if kind == "set" {
			w.WriteSetLen(3)
		} else {
			w.WriteArrayLen(3)
		}
		for i := range 3 {
			w.WriteInt(int64(i))
		}
	case "map":
		w.WriteMapLen(3)
		for i := range 3 {
			w.WriteInt(int64(i))
			w.WriteBool(i == 1)
		}
	case "attrib":
		if resp3 {
			w.WriteRaw([]byte("|1\r\n"))
			w.WriteBulkString("key-popularity")
			w.WriteArrayLen(2)
			w.WriteBulkString("key:123")
			w.WriteInt(90)
		}
		w.WriteBulkString("Some real reply following the attribute")
	case "push":
		if !resp3 {
			w.WriteError("ERR RESP2 is not supported by this command")
			return
		}
		w.WriteRaw([]byte(">2\r\n"))
		w.WriteBulkString("server-cpu-usage")
		w.WriteInt(42)
		w.WriteBulkString("Some real reply following the push reply")
	case "true", "false":
		w.WriteBool(kind == "true")
	case "verbatim":
		w.WriteVerbatim("This is a verbatim\nstring")
	default:
		w.WriteError("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
	}
}

// debugObject is DEBUG OBJECT's line. The engine keeps no robj, so the
// address is the key's place in no real memory and refcount is always 1;
// the encoding and serialized length are what redis-server would report.
func (c *Client) debugObject(key []byte) {
	db := c.srv.DB
	v, _, ok := db.StoredEntry(key)
	if !ok {
		c.w.WriteError(errNoSuchKey)
		return
	}
	enc := db.Encoding(key)
	if enc == "" { // expired but not yet deleted: Encoding does not see it
		enc = storedKindEncoding(v)
	}
	var extra string
	if v.Kind == rdb.KindList {
		extra = quicklistFields(v.List, c.srv.Cfg.Int("list-max-listpack-size"), c.srv.Cfg.Int("list-compress-depth"))
	}
	c.w.WriteSimple(fmt.Sprintf("Value at:0x%x refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d%s",
		debugAddress(key), enc, rdb.SerializedLen(v, enc == "listpack"),
		db.StoredLRUClock(key), db.StoredIdleSeconds(key), extra))
}

func (s *Server) encodingLimits() store.EncodingLimits {
	cfg := s.Cfg
	return store.EncodingLimits{
		HashEntries: cfg.Int("hash-max-listpack-entries"), HashValue: cfg.Int("hash-max-listpack-value"),
		SetIntsetEntries: cfg.Int("set-max-intset-entries"),
		ZSetEntries:      cfg.Int("zset-max-listpack-entries"), ZSetValue: cfg.Int("zset-max-listpack-value"),
	}
}

func storedKindEncoding(v rdb.Value) string {
	switch v.Kind {
	case rdb.KindList:
		return "quicklist"
	case rdb.KindStream:
		return "stream"
	case rdb.KindString:
		return "raw"
	}
	return "hashtable"
}
