package server

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// DEBUG against redis-server 7.0.15 started with enable-debug-command yes.

// startDebugPair starts a redis-server and an engine, both allowing DEBUG
// and snapshotting to their own directories, and connects to each.
func startDebugPair(t *testing.T) (real, eng *rawConn, srv *Server) {
	t.Helper()
	rs := redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--enable-debug-command", "yes"}})
	srv = startServerArgs(t, "--enable-debug-command", "yes", "--dir", t.TempDir())
	return dial(t, rs.Addr()), dial(t, srv.Addr().String()), srv
}

// startServerArgs is startServer with more configuration arguments.
func startServerArgs(t *testing.T, args ...string) *Server {
	t.Helper()
	cfg := config.Default()
	if err := cfg.ParseArgs(append([]string{"--port", "0", "--bind", "127.0.0.1"}, args...)); err != nil {
		t.Fatal(err)
	}
	s := New(cfg, store.New(), nil)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	s.Serve()
	t.Cleanup(func() { s.Close() })
	return s
}

// both sends one command to each server and fails unless they agree.
func both(t *testing.T, real, eng *rawConn, args ...string) string {
	t.Helper()
	want, got := real.do(t, args...), eng.do(t, args...)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%q:\n  redis:  %s\n  engine: %s", args, show(want), show(got))
	}
	return show(got)
}

// debugDataset builds keys of every type and encoding, with TTLs.
var debugDataset = [][]string{
	{"SET", "str", "hello"}, {"SET", "int", "12345"}, {"SET", "neg", "-7"},
	{"SET", "bigint", "123456789012345678"}, {"SET", "raw", strings.Repeat("r", 100)},
	{"SET", "empty", ""}, {"SET", "ttl", "v", "EX", "1000"},
	{"RPUSH", "list", "a", "b", "1", "2", "c"}, {"LPUSH", "list", "z"},
	{"HSET", "hsmall", "f1", "v1", "f2", "2", "n", "-5"},
	{"SADD", "intset", "1", "2", "3", "-100", "70000"},
	{"SADD", "set", "a", "b", "c", "1"},
	{"ZADD", "zsmall", "1", "a", "2.5", "b", "-3", "c", "0.1", "d"},
	{"ZADD", "zinf", "inf", "x", "-inf", "y", "1e20", "z", "1e-5", "w", "0", "v"},
	{"XADD", "stream", "1-1", "f", "v"}, {"XADD", "stream", "1-2", "f", "w", "g", "x"},
	{"XADD", "stream", "2-0", "a", "b"}, {"XDEL", "stream", "1-2"},
	{"XGROUP", "CREATE", "stream", "grp", "0"},
	{"EXPIRE", "list", "5000"}, {"PEXPIRE", "hsmall", "900000"},
}

// debugLargeDataset adds values past the compact encodings' limits.
func debugLargeDataset() [][]string {
	var cmds [][]string
	for i := range 300 {
		n := fmt.Sprint(i)
		cmds = append(cmds,
			[]string{"RPUSH", "biglist", "item-" + n, n},
			[]string{"HSET", "bighash", "field-" + n, strings.Repeat("v", i%70)},
			[]string{"SADD", "bigset", "m" + n},
			[]string{"SADD", "bigintset", n},
			[]string{"ZADD", "bigzset", fmt.Sprint(float64(i) / 7), "member-" + n},
			[]string{"XADD", "bigstream", "*", "k", n})
	}
	for range 600 {
		cmds = append(cmds, []string{"SADD", "bigintset", fmt.Sprint(len(cmds))})
	}
	return cmds
}

func allDebugKeys() []string {
	return []string{"str", "int", "neg", "bigint", "raw", "empty", "ttl", "list", "hsmall", "intset",
		"set", "zsmall", "zinf", "stream", "biglist", "bighash", "bigset", "bigintset", "bigzset", "nope"}
}

func TestDebugDigestMatchesRedisServer(t *testing.T) {
	real, eng, _ := startDebugPair(t)
	if got := both(t, real, eng, "DEBUG", "DIGEST"); got != `+"`+strings.Repeat("0", 40)+`"` {
		t.Errorf("empty dataset digest: %s", got)
	}
	for _, cmd := range debugDataset {
		both(t, real, eng, cmd...)
		both(t, real, eng, "DEBUG", "DIGEST")
	}
	for _, cmd := range debugLargeDataset() {
		real.do(t, cmd...)
		eng.do(t, cmd...)
	}
	// bigstream's IDs are times: only its length is the same on both
	both(t, real, eng, "DEL", "bigstream")
	both(t, real, eng, "DEBUG", "DIGEST")
	both(t, real, eng, append([]string{"DEBUG", "DIGEST-VALUE"}, allDebugKeys()...)...)
	both(t, real, eng, "DEBUG", "DIGEST-VALUE")
	// the same members added in another order: the same digest
	both(t, real, eng, "SADD", "set2", "1", "c", "b", "a")
	both(t, real, eng, "DEBUG", "DIGEST-VALUE", "set", "set2")
	both(t, real, eng, "PERSIST", "list")
	both(t, real, eng, "DEBUG", "DIGEST")
}

func TestDebugObjectMatchesRedisServer(t *testing.T) {
	real, eng, _ := startDebugPair(t)
	for _, cmd := range append(debugDataset, debugLargeDataset()...) {
		real.do(t, cmd...)
		eng.do(t, cmd...)
	}
	// The address and the access clock are the process's own.
	mask := regexp.MustCompile(`at:0x[0-9a-f]+|lru:\d+|lru_seconds_idle:\d+`)
	// Strings over 20 bytes are LZF-compressed in the RDB, and the
	// engine's compressor finds other matches than Redis's lzf.
	compressed := regexp.MustCompile(`serializedlength:\d+`)
	for _, key := range allDebugKeys() {
		if key == "bigstream" {
			continue
		}
		want, got := real.do(t, "DEBUG", "OBJECT", key), eng.do(t, "DEBUG", "OBJECT", key)
		w, g := mask.ReplaceAllString(show(want), "_"), mask.ReplaceAllString(show(got), "_")
		if key == "raw" || key == "biglist" || key == "bighash" {
			w, g = compressed.ReplaceAllString(w, "_"), compressed.ReplaceAllString(g, "_")
		}
		if w != g {
			t.Errorf("DEBUG OBJECT %s:\n  redis:  %s\n  engine: %s", key, w, g)
		}
	}
	if got := show(eng.do(t, "DEBUG", "OBJECT", "str")); !regexp.MustCompile(`^\+"Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:6 lru:\d+ lru_seconds_idle:\d+"$`).MatchString(got) {
		t.Errorf("DEBUG OBJECT str: %s", got)
	}
}

// readRaw sends one command followed by PING and returns the command's
// reply bytes as they came.
func readRaw(t *testing.T, c *rawConn, args ...string) string {
	t.Helper()
	var req []byte
	for _, a := range [][]string{args, {"PING"}} {
		req = append(req, fmt.Sprintf("*%d\r\n", len(a))...)
		for _, s := range a {
			req = append(req, fmt.Sprintf("$%d\r\n%s\r\n", len(s), s)...)
		}
	}
	c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write(req); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.HasSuffix(got, []byte("+PONG\r\n")) {
		n, err := c.br.Read(buf)
		if err != nil {
			t.Fatalf("%q: %v (read %q)", args, err, got)
		}
		got = append(got, buf[:n]...)
	}
	return string(bytes.TrimSuffix(got, []byte("+PONG\r\n")))
}

func TestDebugProtocolMatchesRedisServer(t *testing.T) {
	real, eng, _ := startDebugPair(t)
	kinds := []string{"string", "integer", "double", "bignum", "null", "array", "set", "map",
		"attrib", "push", "verbatim", "true", "false", "nosuch", "STRING"}
	for _, proto := range []string{"2", "3"} {
		readRaw(t, real, "HELLO", proto)
		readRaw(t, eng, "HELLO", proto)
		for _, k := range kinds {
			want, got := readRaw(t, real, "DEBUG", "PROTOCOL", k), readRaw(t, eng, "DEBUG", "PROTOCOL", k)
			if want != got {
				t.Errorf("RESP%s DEBUG PROTOCOL %s:\n  redis:  %q\n  engine: %q", proto, k, want, got)
			}
		}
	}
}

func TestDebugSubcommandsMatchRedisServer(t *testing.T) {
	real, eng, _ := startDebugPair(t)
	for _, cmd := range [][]string{
		{"DEBUG"}, {"DEBUG", "help", "x"}, {"DEBUG", "nosuch"}, {"DEBUG", "nosuch", "a", "b"},
		{"DEBUG", "JMAP"}, {"DEBUG", "STRINGMATCH-LEN"}, {"DEBUG", "DICT-RESIZING", "1"},
		{"DEBUG", "ERROR", "OOPS something\r\nbad"}, {"DEBUG", "ERROR", "plain"}, {"DEBUG", "ERROR"},
		{"DEBUG", "LOG", "hello from the test"}, {"DEBUG", "LOG"},
		{"DEBUG", "SLEEP", "0"}, {"DEBUG", "SLEEP", "abc"}, {"DEBUG", "SLEEP", "-1"}, {"DEBUG", "SLEEP", "0.01"}, {"DEBUG", "SLEEP"},
		{"DEBUG", "SET-ACTIVE-EXPIRE", "1"}, {"DEBUG", "SET-ACTIVE-EXPIRE"},
		{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"}, {"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1kb"},
		{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb"}, {"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "-1"},
		{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "abc"}, {"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "4294967296"},
		{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1073741824"},
		{"DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "NEVER"}, {"DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset"},
		{"DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100"}, {"DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "x"},
		{"DEBUG", "REPLYBUFFER", "RESIZING", "0"}, {"DEBUG", "REPLYBUFFER", "RESIZING", "1"}, {"DEBUG", "REPLYBUFFER", "FOO", "1"},
		{"DEBUG", "REPLYBUFFER", "RESIZING"},
		{"DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"}, {"DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0"},
		{"DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"}, {"DEBUG", "PAUSE-CRON", "0"},
		{"DEBUG", "CHANGE-REPL-ID"}, {"DEBUG", "CHANGE-REPL-ID", "x"},
		{"DEBUG", "OBJECT", "nope"}, {"DEBUG", "OBJECT"}, {"DEBUG", "DIGEST", "x"},
		{"RPUSH", "l", "a"}, {"HSET", "h", "f", "v"}, {"SET", "s", "abc"}, {"SET", "i", "12"},
		{"DEBUG", "LISTPACK", "h"}, {"DEBUG", "LISTPACK", "l"}, {"DEBUG", "LISTPACK", "nope"},
		{"DEBUG", "QUICKLIST", "l"}, {"DEBUG", "QUICKLIST", "l", "1"}, {"DEBUG", "QUICKLIST", "h"}, {"DEBUG", "QUICKLIST", "nope"},
		{"DEBUG", "SDSLEN", "i"}, {"DEBUG", "SDSLEN", "l"}, {"DEBUG", "SDSLEN", "nope"},
		{"DEBUG", "POPULATE", "10"}, {"DEBUG", "POPULATE", "-1"}, {"DEBUG", "POPULATE", "x"},
		{"DEBUG", "POPULATE", "5", "pre", "3"}, {"DEBUG", "POPULATE", "3", "pad", "12"},
		{"GET", "key:9"}, {"GET", "pre:4"}, {"GET", "pad:2"}, {"DBSIZE"},
		{"DEBUG", "RELOAD", "BAD"}, {"DEBUG", "RELOAD"}, {"DBSIZE"},
		{"MULTI"}, {"DEBUG", "DIGEST-VALUE", "s"}, {"EXEC"},
		{"EVAL", "return redis.call('debug', 'digest')", "0"},
	} {
		both(t, real, eng, cmd...)
	}
	// redis-server's STRINGMATCH-TEST fuzzes for seconds; the engine's
	// matcher is fuzzed by its own tests
	if r := eng.do(t, "DEBUG", "STRINGMATCH-TEST"); string(r.Str) != "Apparently Redis did not crash: test passed" {
		t.Errorf("DEBUG STRINGMATCH-TEST: %s", show(r))
	}
	// What would take redis-server down only answers an error here.
	for _, sub := range []string{"SEGFAULT", "PANIC", "ASSERT", "OOM", "RESTART", "CRASH-AND-RECOVER"} {
		if r := eng.do(t, "DEBUG", sub); r.Type != '-' {
			t.Errorf("DEBUG %s: %s", sub, show(r))
		}
	}
	if r := eng.do(t, "PING"); string(r.Str) != "PONG" {
		t.Fatalf("engine after DEBUG crash requests: %s", show(r))
	}
}

func TestDebugReloadKeepsDataset(t *testing.T) {
	real, eng, _ := startDebugPair(t)
	for _, cmd := range append(debugDataset, debugLargeDataset()...) {
		real.do(t, cmd...)
		eng.do(t, cmd...)
	}
	both(t, real, eng, "DEL", "bigstream") // its IDs are times: different on each server
	both(t, real, eng, "FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)")
	before := both(t, real, eng, "DEBUG", "DIGEST")
	for _, reload := range [][]string{{"DEBUG", "RELOAD"}, {"DEBUG", "RELOAD", "NOSAVE"}, {"DEBUG", "RELOAD", "MERGE", "NOFLUSH", "NOSAVE"}} {
		both(t, real, eng, reload...)
		if after := both(t, real, eng, "DEBUG", "DIGEST"); after != before {
			t.Errorf("%q changed the digest: %s -> %s", reload, before, after)
		}
		both(t, real, eng, "DBSIZE")
		both(t, real, eng, "FCALL", "f", "0")
		for _, key := range []string{"ttl", "list", "hsmall"} {
			if ttl := eng.do(t, "TTL", key); ttl.Int <= 0 {
				t.Errorf("after %q TTL %s = %s", reload, key, show(ttl))
			}
		}
		both(t, real, eng, "XINFO", "GROUPS", "stream")
	}
	// NOSAVE loads the last snapshot: what changed since is gone
	both(t, real, eng, "SET", "later", "1")
	both(t, real, eng, "DEBUG", "RELOAD", "NOSAVE")
	both(t, real, eng, "EXISTS", "later")
	// NOFLUSH without MERGE: a key of the file is already here (redis-server
	// stops there; the engine answers an error)
	if r := eng.do(t, "DEBUG", "RELOAD", "NOFLUSH"); r.Type != '-' {
		t.Errorf("DEBUG RELOAD NOFLUSH over the same keys: %s", show(r))
	}
}

func TestDebugSetActiveExpireMatchesRedisServer(t *testing.T) {
	real, eng, _ := startDebugPair(t)
	both(t, real, eng, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
	for i := range 10 {
		both(t, real, eng, "SET", fmt.Sprint("k", i), "v", "PX", "50")
	}
	both(t, real, eng, "SET", "live", "v")
	time.Sleep(400 * time.Millisecond) // several active expiry cycles on both
	both(t, real, eng, "DBSIZE")       // the expired keys still counted
	both(t, real, eng, "GET", "k3")    // until accessed
	both(t, real, eng, "DBSIZE")
	both(t, real, eng, "DEBUG", "SET-ACTIVE-EXPIRE", "1")
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && (real.do(t, "DBSIZE").Int != 1 || eng.do(t, "DBSIZE").Int != 1) {
		time.Sleep(50 * time.Millisecond)
	}
	both(t, real, eng, "DBSIZE")
}

func TestDebugSleepBlocksOtherClients(t *testing.T) {
	_, eng, srv := startDebugPair(t)
	other := dial(t, srv.Addr().String())
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		eng.do(t, "DEBUG", "SLEEP", "0.5")
		done <- time.Since(start)
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	other.do(t, "GET", "x")
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("GET during DEBUG SLEEP 0.5 answered after %v: it should wait", waited)
	}
	if slept := <-done; slept < 500*time.Millisecond {
		t.Errorf("DEBUG SLEEP 0.5 took %v", slept)
	}
}

// enable-debug-command: "no" (the default) refuses DEBUG, before
// authentication and inside MULTI as a rejected command; "local" accepts
// loopback clients; COMMAND INFO is redis-server's.
func TestDebugCommandProtectionMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	for _, cmd := range [][]string{
		{"CONFIG", "GET", "enable-debug-command"}, {"DEBUG", "HELP"}, {"DEBUG"}, {"DEBUG", "DIGEST"},
		{"MULTI"}, {"DEBUG", "DIGEST"}, {"SET", "a", "b"}, {"EXEC"},
		{"CONFIG", "SET", "enable-debug-command", "yes"},
		{"COMMAND", "GETKEYS", "DEBUG", "OBJECT", "k"},
	} {
		both(t, real, eng, cmd...)
	}
	// name, arity, flags and key positions (the engine lists every
	// command's ACL categories in its own order)
	want, got := real.do(t, "COMMAND", "INFO", "debug"), eng.do(t, "COMMAND", "INFO", "debug")
	if len(want.Elems) != 1 || len(got.Elems) != 1 || !reflect.DeepEqual(want.Elems[0].Elems[:6], got.Elems[0].Elems[:6]) {
		t.Errorf("COMMAND INFO debug:\n  redis:  %s\n  engine: %s", show(want), show(got))
	}
	localReal := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis", Password: "pw", Args: []string{"--enable-debug-command", "local"}}).Addr())
	localEng := dial(t, startServerArgs(t, "--enable-debug-command", "local", "--requirepass", "pw").Addr().String())
	for _, cmd := range [][]string{
		{"CONFIG", "GET", "enable-debug-command"}, {"DEBUG", "DIGEST"}, {"AUTH", "pw"},
		{"CONFIG", "GET", "enable-debug-command"}, {"DEBUG", "DIGEST"},
	} {
		both(t, localReal, localEng, cmd...)
	}
}

func TestDebugLoadAOFKeepsDataset(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--enable-debug-command", "yes", "--appendonly", "yes"}})
	srv := startServerArgs(t, "--enable-debug-command", "yes", "--dir", t.TempDir(), "--appendonly", "yes")
	if err := srv.LoadData(); err != nil {
		t.Fatal(err)
	}
	real, eng := dial(t, rs.Addr()), dial(t, srv.Addr().String())
	for _, cmd := range debugDataset {
		both(t, real, eng, cmd...)
	}
	both(t, real, eng, "MULTI")
	both(t, real, eng, "INCR", "int")
	both(t, real, eng, "LPOP", "list")
	both(t, real, eng, "EXEC")
	before := both(t, real, eng, "DEBUG", "DIGEST")
	for range 2 { // the second replays a log the first must not have doubled
		both(t, real, eng, "DEBUG", "LOADAOF")
		if after := both(t, real, eng, "DEBUG", "DIGEST"); after != before {
			t.Errorf("DEBUG LOADAOF changed the digest: %s -> %s", before, after)
		}
		both(t, real, eng, "XINFO", "GROUPS", "stream")
	}
	both(t, real, eng, "CONFIG", "SET", "appendonly", "no")
	both(t, real, eng, "SET", "x", "1")
	both(t, real, eng, "DEBUG", "LOADAOF") // from the files as they were left
	both(t, real, eng, "EXISTS", "x")
}
