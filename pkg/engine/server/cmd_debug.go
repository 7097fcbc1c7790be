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
	"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"AOF-FLUSH-SLEEP <microsec>",
	"    Server will sleep before flushing the AOF, this is used for testing.",
	"ASSERT",
	"    Crash by assertion failed.",
	"CHANGE-REPL-ID",
	"    Change the replication IDs of the instance.",
	"    Dangerous: should be used only for testing the replication subsystem.",
	"CONFIG-REWRITE-FORCE-ALL",
	"    Like CONFIG REWRITE but writes all configuration options, including",
	"    keywords not listed in original configuration file or default values.",
	"CRASH-AND-RECOVER [<milliseconds>]",
	"    Hard crash and restart after a <milliseconds> delay (default 0).",
	"DIGEST",
	"    Output a hex signature representing the current DB content.",
	"DIGEST-VALUE <key> [<key> ...]",
	"    Output a hex signature of the values of all the specified keys.",
	"ERROR <string>",
	"    Return a Redis protocol error with <string> as message. Useful for clients",
	"    unit tests to simulate Redis errors.",
	"LEAK <string>",
	"    Create a memory leak of the input string.",
	"LOG <message>",
	"    Write <message> to the server log.",
	"HTSTATS <dbid>",
	"    Return hash table statistics of the specified Redis database.",
	"HTSTATS-KEY <key>",
	"    Like HTSTATS but for the hash table stored at <key>'s value.",
	"LOADAOF",
	"    Flush the AOF buffers on disk and reload the AOF in memory.",
	"REPLICATE <string>",
	"    Replicates the provided string to replicas, allowing data divergence.",
	"MALLCTL <key> [<val>]",
	"    Get or set a malloc tuning integer.",
	"MALLCTL-STR <key> [<val>]",
	"    Get or set a malloc tuning string.",
	"OBJECT <key>",
	"    Show low level info about `key` and associated value.",
	"DROP-CLUSTER-PACKET-FILTER <packet-type>",
	"    Drop all packets that match the filtered type. Set to -1 allow all packets.",
	"OOM",
	"    Crash the server simulating an out-of-memory error.",
	"PANIC",
	"    Crash the server simulating a panic.",
	"POPULATE <count> [<prefix>] [<size>]",
	"    Create <count> string keys named key:<num>. If <prefix> is specified then",
	"    it is used instead of the 'key' prefix. These are not propagated to",
	"    replicas. Cluster slots are not respected so keys not belonging to the",
	"    current node can be created in cluster mode.",
	"PROTOCOL <type>",
	"    Reply with a test value of the specified type. <type> can be: string,",
	"    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
	"    true, false.",
	"RELOAD [option ...]",
	"    Save the RDB on disk and reload it back to memory. Valid <option> values:",
	"    * MERGE: conflicting keys will be loaded from RDB.",
	"    * NOFLUSH: the existing database will not be removed before load, but",
	"      conflicting keys will generate an exception and kill the server.",
	"    * NOSAVE: the database will be loaded from an existing RDB file.",
	"    Examples:",
	"    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
	"      the database.",
	"    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
	"      existing RDB file.",
	"    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
	"      file to the database.",
	"RESTART [<milliseconds>]",
	"    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
	"SDSLEN <key>",
	"    Show low level SDS string info representing `key` and value.",
	"SEGFAULT",
	"    Crash the server with sigsegv.",
	"SET-ACTIVE-EXPIRE <0|1>",
	"    Setting it to 0 disables expiring keys in background when they are not",
	"    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
	"    default.",
	"QUICKLIST-PACKED-THRESHOLD <size>",
	"    Sets the threshold for elements to be inserted as plain vs packed nodes",
	"    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
	"SET-SKIP-CHECKSUM-VALIDATION <0|1>",
	"    Enables or disables checksum checks for RDB files and RESTORE's payload.",
	"SLEEP <seconds>",
	"    Stop the server for <seconds>. Decimals allowed.",
	"STRINGMATCH-TEST",
	"    Run a fuzz tester against the stringmatchlen() function.",
	"STRUCTSIZE",
	"    Return the size of different Redis core C structures.",
	"LISTPACK <key>",
	"    Show low level info about the listpack encoding of <key>.",
	"QUICKLIST <key> [<0|1>]",
	"    Show low level info about the quicklist encoding of <key>.",
	"    The optional argument (0 by default) sets the level of detail",
	"CLIENT-EVICTION",
	"    Show low level client eviction pools info (maxmemory-clients).",
	"PAUSE-CRON <0|1>",
	"    Stop periodic cron job processing.",
	"REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
	"    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
	"    In case NEVER is provided the last observed peak will never be reset",
	"    In case RESET is provided the peak reset time will be restored to the default value",
	"REPLYBUFFER RESIZING <0|1>",
	"    Enable or disable the reply buffer resize cron job",
	"CLUSTERLINK KILL <to|from|all> <node-id>",
	"    Kills the link based on the direction to/from (both) with the provided node.",
	"HELP",
	"    Prints this help.",
}

func cmdDebug(c *Client, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	n := len(args)
	st := c.srv.debugState()
	switch {
	case sub == "help" && n == 2:
		c.writeHelp(debugHelp...)
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
