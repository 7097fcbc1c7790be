package server

import (
	"bufio"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/resp"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// fuzzValues are the arguments FuzzDispatch draws from, besides raw bytes
// from the fuzzer: boundary numbers, option words the parsers look for,
// keys of every type and one megabyte.
var fuzzValues = []string{
	"0", "1", "-1", "2", "-2", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
	"-9223372036854775809", "18446744073709551615", "18446744073709551616", "4294967296", "536870912",
	"nan", "inf", "-inf", "+inf", "1e309", "1.5", "(1", "[a", "-", "+", "", "*", "a*a*a*a*a*a*a*a*a*b", "[^",
	"k", "s", "l", "h", "st", "z", "WITHSCORES", "LIMIT", "COUNT", "MATCH", "TYPE", "REV", "BYSCORE",
	"BYLEX", "EX", "PX", "EXAT", "PXAT", "KEEPTTL", "GET", "NX", "XX", "GT", "LT", "CH", "INCR", "RANK",
	"MAXLEN", "WEIGHTS", "AGGREGATE", "MAX", "LEFT", "RIGHT", "BEFORE", "AFTER", "WITHVALUES", "BIT",
	"BYTE", "REPLACE", "DB", "ABSTTL", "IDLETIME", "FREQ", "SAMPLES", "LEN", "ENCODING", strings.Repeat("x", 1<<20),
}

// fuzzSkipped are commands that would stop the test rather than the node:
// they end the process's server, turn the connection into a replication
// stream, reconfigure or lock out the test client, or wait by design.
var fuzzSkipped = map[string]bool{
	"shutdown": true, "sync": true, "psync": true, "replconf": true, "replicaof": true, "slaveof": true, "config": true,
	"acl": true, "migrate": true, "auth": true, "quit": true, "client": true, "wait": true,
	"blpop": true, "brpop": true, "blmove": true, "brpoplpush": true, "multi": true, "hello": true,
	"blmpop": true, "bzmpop": true, "bzpopmin": true, "bzpopmax": true, "xread": true, "xreadgroup": true,
}

func fuzzCommandNames() []string {
	var names []string
	for name := range commandTable {
		if !fuzzSkipped[name] && !strings.HasPrefix(name, "test-") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// fuzzCommand decodes a command from fuzz input: the first byte picks the
// command, then each argument is either one of fuzzValues (a byte below
// their count) or raw bytes (a length byte, then that many bytes).
func fuzzCommand(names []string, data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	args := []string{names[int(data[0])%len(names)]}
	data = data[1:]
	for len(data) > 0 && len(args) < 12 {
		sel := int(data[0])
		data = data[1:]
		if sel < len(fuzzValues) {
			args = append(args, fuzzValues[sel])
			continue
		}
		n := min(sel-len(fuzzValues), len(data))
		args = append(args, string(data[:n]))
		data = data[n:]
	}
	return args
}

// FuzzDispatch sends commands built from boundary values and fuzz bytes to
// a real server over a socket. Whatever the command, the node must answer
// it (an error is fine, an internal error is a bug: a recovered panic) and
// then answer PING within seconds.
func FuzzDispatch(f *testing.F) {
	names := fuzzCommandNames()
	index := map[string]byte{}
	for i, n := range names {
		index[n] = byte(i)
	}
	val := map[string]byte{}
	for i, v := range fuzzValues {
		val[v] = byte(i)
	}
	for _, seed := range [][]string{
		{"setrange", "k", "9223372036854775807", "x"}, {"scan", "18446744073709551615", "COUNT", "9223372036854775807"},
		{"keys", "a*a*a*a*a*a*a*a*a*b"}, {"setbit", "s", "9223372036854775807", "1"}, {"lrange", "l", "-9223372036854775808", "9223372036854775807"},
		{"zrange", "z", "(1", "+inf", "BYSCORE", "LIMIT", "0", "-1"}, {"zunionstore", "k", "9223372036854775807", "z"},
		{"lpos", "l", "a", "RANK", "-9223372036854775808", "COUNT", "0"}, {"srandmember", "st", "-9223372036854775808"},
		{"hrandfield", "h", "-9223372036854775807", "WITHVALUES"}, {"expire", "k", "9223372036854775807"},
		{"set", "k", "x", "PXAT", "9223372036854775807"}, {"getex", "s", "EXAT", "-1"}, {"restore", "k", "0", ""},
		{"incrbyfloat", "s", "1e309"}, {"bitcount", "s", "-9223372036854775808", "-1", "BIT"}, {"object", "FREQ", "s"},
		{"append", "s", strings.Repeat("x", 1<<20)}, {"exec"}, {"sintercard", "9223372036854775807", "st"},
	} {
		data := []byte{index[seed[0]]}
		for _, a := range seed[1:] {
			data = append(data, val[a])
		}
		f.Add(data)
	}

	cfg := config.Default()
	// keep what one command may build small: fuzzing must not allocate 512 MB per run
	// SAVE, BGREWRITEAOF and CONFIG SET appendonly write into dir: a temporary one
	if err := cfg.ParseArgs([]string{"--port", "0", "--bind", "127.0.0.1", "--proto-max-bulk-len", "4mb", "--dir", f.TempDir()}); err != nil {
		f.Fatal(err)
	}
	s := New(cfg, store.New(), nil)
	if err := s.Listen(); err != nil {
		f.Fatal(err)
	}
	s.Serve()
	f.Cleanup(func() { s.Close() })
	addr := s.Addr().String()
	var conn net.Conn
	var br *bufio.Reader
	setup := resp.AppendCommand(nil, []byte("FLUSHALL"))
	for _, c := range [][]string{{"SET", "s", "hello"}, {"RPUSH", "l", "a", "b", "a"}, {"HSET", "h", "f", "1"},
		{"SADD", "st", "a", "b"}, {"ZADD", "z", "1", "a", "2", "b"}} {
		var bs [][]byte
		for _, a := range c {
			bs = append(bs, []byte(a))
		}
		setup = resp.AppendCommand(setup, bs...)
	}

	var previous []string // the command before, when the stream is out of step
	f.Fuzz(func(t *testing.T, data []byte) {
		args := fuzzCommand(names, data)
		if args == nil {
			return
		}
		if conn == nil {
			var err error
			if conn, err = net.Dial("tcp", addr); err != nil {
				t.Fatal(err)
			}
			br = bufio.NewReader(conn)
		}
		var bs [][]byte
		for _, a := range args {
			bs = append(bs, []byte(a))
		}
		// the last byte's low bit picks RESP2 or RESP3 replies
		proto := []byte("2")
		if data[len(data)-1]&1 == 1 {
			proto = []byte("3")
		}
		out := resp.AppendCommand(nil, []byte("HELLO"), proto)
		out = append(out, setup...)
		out = resp.AppendCommand(out, bs...)
		out = resp.AppendCommand(out, []byte("PING"))
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(out); err != nil {
			t.Fatalf("%s: write: %v", brief(args), err)
		}
		for i := 0; i < 7; i++ { // HELLO and the setup
			if _, err := resp.ReadReply(br); err != nil {
				t.Fatalf("setup after %s: %v", brief(previous), err)
			}
		}
		previous = args
		rep, err := resp.ReadReply(br)
		if err != nil {
			t.Fatalf("%s: no reply: %v", brief(args), err)
		}
		if rep.Type == '-' && strings.Contains(string(rep.Str), "internal error") {
			t.Fatalf("%s: %s", brief(args), rep.Str)
		}
		if rep, err = resp.ReadReply(br); err != nil || string(rep.Str) != "PONG" {
			// EXEC without MULTI, a protocol change... only a dead node fails
			conn.Close()
			conn = nil
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatalf("%s: node gone: %v", brief(args), err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write(resp.AppendCommand(nil, []byte("PING")))
			if rep, err := resp.ReadReply(bufio.NewReader(c)); err != nil || string(rep.Str) != "PONG" {
				t.Fatalf("%s: node does not answer PING: %s %v", brief(args), show(rep), err)
			}
		}
	})
}
