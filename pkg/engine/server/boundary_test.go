package server

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// Boundary values that the argument placeholders of boundaryTemplates
// stand for. Values that would make either server legitimately allocate
// half a gigabyte (SETRANGE at 512 MB - 1) are left out.
var (
	// I: integers, offsets, counts and indexes
	boundaryInts = []string{"0", "1", "-1", "2", "-2", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
		"4294967295", "4294967296", "2147483647", "-2147483648", "536870912", "4611686018427387904",
		"", "abc", "1.5", "nan", "inf", "+1", "-0", "01", " 1", "1 ", "1e3"}
	// J: a shorter list, for templates with two or three integers
	boundaryIntsShort = []string{"0", "-1", "2", "9223372036854775807", "-9223372036854775808",
		"18446744073709551615", "4294967296", "abc"}
	// F: floats and scores
	boundaryFloats = []string{"0", "-1", "1.5", "nan", "-nan", "inf", "-inf", "+inf", "infinity", "1e308", "-1e308",
		"1e309", "-1e309", "4e-324", "1e-400", "", "abc", "9223372036854775807", "-0", "0x10", "0x1.8p1", "0x", "0xg",
		" 1", "1 ", "\t1", "(1", "(-inf", "[1", "inf1", "infin", "nan(123)", "1e", "1e+", ".5", "5.", ".", "+.e1", "1_0"}
	// D: increments for INCRBYFLOAT and HINCRBYFLOAT, which Redis computes
	// in 80-bit long double
	boundaryIncrements = []string{"0", "-1", "1.5", "nan", "-nan", "inf", "-inf", "+inf", "infinity",
		"4e-324", "1e-400", "", "abc", "-0", " 1", "1 ", "(1", "1e-5", "123456789.125", "0x10", "0x1p-2", "1e",
		"1e308", "-1e308", "1e309", "-1e309", "1e300", "1e4932", "1e4933", "1e-4950", "1e-5000", "9223372036854775807",
		"-9223372036854775808", "18446744073709551616", "0.1", "1.1", "3.0000000000000000001", "1e20", "-10",
		"0x1.fffffffffffffffep+16383", "5e-324"}
	// G: a shorter list of floats
	boundaryFloatsShort = []string{"0", "1.5", "nan", "-inf", "+inf", "1e309", "abc", "(1", "", " 1", "0x10", "(1e-400"}
	// R: counts of random picks (a big negative one asks for that many
	// replies, with repetitions, from redis-server too)
	boundaryRandomCounts = []string{"0", "1", "-1", "2", "-5", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "18446744073709551615", "abc", "", "1.5"}
	// C: cursors
	boundaryCursors = []string{"0", "1", "-1", "18446744073709551615", "18446744073709551616",
		"9223372036854775807", "abc", ""}
	// T: times for EXPIRE, SET EX, GETEX and friends
	boundaryTimes = []string{"0", "1", "-1", "100", "9223372036854775807", "-9223372036854775808",
		"9223372036854775", "9223372036854776", "-9223372036854776", "9223372036854775806",
		"18446744073709551615", "4611686018427387904", "1.5", "abc", ""}
	// M: one megabyte
	boundaryMegabyte = strings.Repeat("x", 1<<20)
)

// boundaryTemplates are commands with placeholders (see the value lists
// above). Each expansion runs on a fresh keyspace holding s (a string), n
// (an integer string), l (a list), h (a hash), st (a set) and z (a sorted
// set). shape marks replies that are random or encoding-dependent (SCAN
// cursors, SRANDMEMBER picks): only their kind, length and error text are
// compared.
var boundaryTemplates = []struct {
	cmd   string
	shape bool
}{
	// strings and bits
	{cmd: "SETRANGE s I x"}, {cmd: "SETRANGE s I ''"}, {cmd: "SETRANGE nope I x"}, {cmd: "SETRANGE nope I ''"},
	{cmd: "SETRANGE s 1 M"}, {cmd: "GETRANGE s J J"}, {cmd: "SUBSTR s J J"}, {cmd: "GETRANGE nope J J"},
	{cmd: "SETBIT s I 1"}, {cmd: "SETBIT s 1 I"}, {cmd: "GETBIT s I"}, {cmd: "SETBIT nope I 0"},
	{cmd: "BITCOUNT s J J"}, {cmd: "BITCOUNT s J J BIT"}, {cmd: "BITCOUNT s J J BYTE"}, {cmd: "BITCOUNT s I"},
	{cmd: "APPEND s M"}, {cmd: "SET s M"}, {cmd: "INCRBY n I"}, {cmd: "DECRBY n I"}, {cmd: "INCRBY s I"},
	{cmd: "INCRBYFLOAT n D"}, {cmd: "INCRBYFLOAT s D"}, {cmd: "INCRBYFLOAT k D"}, {cmd: "INCRBYFLOAT f D"}, {cmd: "SET n I"}, {cmd: "SET n F"},
	{cmd: "SET k v EX T"}, {cmd: "SET k v PX T"}, {cmd: "SET k v EXAT T"}, {cmd: "SET k v PXAT T"},
	{cmd: "SET s v XX EX T GET"}, {cmd: "SETEX k T v"}, {cmd: "PSETEX k T v"}, {cmd: "GETEX s EX T"},
	{cmd: "GETEX s PX T"}, {cmd: "GETEX s EXAT T"}, {cmd: "GETEX s PXAT T"}, {cmd: "GETEX nope EX T"},
	// expiry
	{cmd: "EXPIRE s T"}, {cmd: "PEXPIRE s T"}, {cmd: "EXPIREAT s T"}, {cmd: "PEXPIREAT s T"},
	{cmd: "EXPIRE nope T"}, {cmd: "EXPIRE s T GT"}, {cmd: "PEXPIRE s T NX"},
	// lists
	{cmd: "LRANGE l J J"}, {cmd: "LINDEX l I"}, {cmd: "LSET l I v"}, {cmd: "LTRIM l J J"}, {cmd: "LREM l I a"},
	{cmd: "LPOS l a RANK I"}, {cmd: "LPOS l a COUNT I"}, {cmd: "LPOS l a MAXLEN I"}, {cmd: "LPOS l a RANK J COUNT J"},
	{cmd: "LPOP l I"}, {cmd: "RPOP l I"}, {cmd: "LPOP nope I"}, {cmd: "LPUSH l M"},
	{cmd: "BLPOP l G"}, {cmd: "BRPOP l G"}, {cmd: "BLMOVE l l LEFT RIGHT G"}, {cmd: "BRPOPLPUSH l l G"},
	{cmd: "LINSERT l BEFORE a M"}, {cmd: "LRANGE nope J J"},
	// hashes
	{cmd: "HINCRBY h f I"}, {cmd: "HINCRBY h g I"}, {cmd: "HINCRBYFLOAT h f D"}, {cmd: "HINCRBYFLOAT h x D"}, {cmd: "HINCRBYFLOAT h fl D"}, {cmd: "HSET h M M"},
	{cmd: "HRANDFIELD h R", shape: true}, {cmd: "HRANDFIELD h R WITHVALUES", shape: true},
	{cmd: "HRANDFIELD nope R", shape: true}, {cmd: "HSCAN h C", shape: true}, {cmd: "HSCAN h 0 COUNT I", shape: true},
	{cmd: "HSCAN h 0 MATCH M", shape: true},
	// sets
	{cmd: "SRANDMEMBER st R", shape: true}, {cmd: "SRANDMEMBER nope R", shape: true}, {cmd: "SPOP st I", shape: true},
	{cmd: "SPOP nope I", shape: true}, {cmd: "SSCAN st C", shape: true}, {cmd: "SSCAN st 0 COUNT I", shape: true},
	{cmd: "SINTERCARD I st"}, {cmd: "SINTERCARD 1 st LIMIT I"}, {cmd: "SADD st M"},
	// sorted sets
	{cmd: "ZADD z F m"}, {cmd: "ZADD z INCR F a"}, {cmd: "ZINCRBY z F a"}, {cmd: "ZINCRBY z F m"},
	{cmd: "ZRANGE z J J"}, {cmd: "ZRANGE z J J REV WITHSCORES"}, {cmd: "ZREVRANGE z J J"},
	{cmd: "ZRANGE z G G BYSCORE"}, {cmd: "ZRANGE z 0 -1 BYSCORE LIMIT J J"}, {cmd: "ZRANGE z - + BYLEX LIMIT J J"},
	{cmd: "ZRANGEBYSCORE z F +inf"}, {cmd: "ZRANGEBYSCORE z -inf F WITHSCORES"},
	{cmd: "ZRANGEBYSCORE z -inf +inf LIMIT J J"}, {cmd: "ZREVRANGEBYSCORE z +inf -inf LIMIT J J"},
	{cmd: "ZCOUNT z G G"}, {cmd: "ZREMRANGEBYRANK z J J"}, {cmd: "ZREMRANGEBYSCORE z G G"},
	{cmd: "ZPOPMIN z I"}, {cmd: "ZPOPMAX z I"}, {cmd: "ZPOPMIN nope I"},
	{cmd: "ZUNIONSTORE d I z"}, {cmd: "ZINTER I z"}, {cmd: "ZUNION 1 z WEIGHTS F WITHSCORES"},
	{cmd: "ZINTERSTORE d 1 z WEIGHTS F"}, {cmd: "ZDIFF I z"}, {cmd: "ZUNIONSTORE d 2 z z WEIGHTS F F"},
	{cmd: "ZSCAN z C", shape: true}, {cmd: "ZSCAN z 0 COUNT I", shape: true}, {cmd: "ZADD z 1 M"},
	{cmd: "ZRANGEBYLEX z M +"}, {cmd: "ZLEXCOUNT z - M"},
	// keyspace and server (databases other than 0 are a cluster node's
	// limit, not compared)
	{cmd: "SCAN C", shape: true}, {cmd: "SCAN C COUNT I", shape: true}, {cmd: "SCAN 0 MATCH M", shape: true},
	{cmd: "SCAN 0 TYPE M", shape: true}, {cmd: "KEYS M"}, {cmd: "SELECT 0"}, {cmd: "SELECT -1"}, {cmd: "SELECT 16"}, {cmd: "SELECT 9223372036854775808"},
	{cmd: "SELECT abc"}, {cmd: "COPY s d DB 0"}, {cmd: "COPY s d DB -1"}, {cmd: "COPY s d DB 16"}, {cmd: "COPY s d DB abc"},
	{cmd: "RESTORE k T bogus"}, {cmd: "WAIT 0 T"}, {cmd: "WAIT I 1"}, {cmd: "HELLO I", shape: true},
	{cmd: "OBJECT FREQ s"}, {cmd: "MEMORY USAGE s SAMPLES I", shape: true}, {cmd: "ECHO M"}, {cmd: "PING M"},
	{cmd: "GETRANGE M 0 1"}, {cmd: "EXISTS M"}, {cmd: "CLIENT SETNAME M"},
}

var boundarySetup = [][]string{
	{"FLUSHALL"}, {"SET", "s", "hello"}, {"SET", "n", "10"}, {"RPUSH", "l", "a", "b", "c", "a"},
	{"SET", "f", "1.1"}, {"HSET", "h", "f", "1", "g", "2", "fl", "0.1"}, {"SADD", "st", "a", "b", "c"}, {"ZADD", "z", "1", "a", "2", "b", "3", "c"},
}

// expandBoundary returns every command a template stands for.
func expandBoundary(tmpl string) [][]string {
	out := [][]string{nil}
	for _, w := range strings.Fields(tmpl) {
		var values []string
		switch w {
		case "I":
			values = boundaryInts
		case "J":
			values = boundaryIntsShort
		case "F":
			values = boundaryFloats
		case "G":
			values = boundaryFloatsShort
		case "D":
			values = boundaryIncrements
		case "R":
			values = boundaryRandomCounts
		case "C":
			values = boundaryCursors
		case "T":
			values = boundaryTimes
		case "M":
			values = []string{boundaryMegabyte}
		case "''":
			values = []string{""}
		default:
			values = []string{w}
		}
		var next [][]string
		for _, prefix := range out {
			for _, v := range values {
				next = append(next, append(append([]string(nil), prefix...), v))
			}
		}
		out = next
	}
	return out
}

// pipeline sends cmds in one write and reads their replies.
func (r *rawConn) pipeline(t *testing.T, cmds [][]string) []resp.Reply {
	t.Helper()
	var buf []byte
	for _, args := range cmds {
		var bs [][]byte
		for _, a := range args {
			bs = append(bs, []byte(a))
		}
		buf = resp.AppendCommand(buf, bs...)
	}
	r.conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := r.conn.Write(buf); err != nil {
		t.Fatal(err)
	}
	out := make([]resp.Reply, len(cmds))
	for i := range cmds {
		rep, err := resp.ReadReply(r.br)
		if err != nil {
			t.Fatalf("%s (%s): %v", brief(cmds[i]), brief(cmds[len(cmds)-2]), err)
		}
		out[i] = rep
	}
	return out
}

// brief shows a command with long arguments shortened.
func brief(args []string) string {
	var parts []string
	for _, a := range args {
		switch {
		case len(a) > 40:
			a = fmt.Sprintf("<%d bytes>", len(a))
		case a == "":
			a = "''"
		case strings.ContainsAny(a, " \t"):
			a = fmt.Sprintf("%q", a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// sameShape compares kind, error text and length, not contents.
func sameShape(a, b resp.Reply) bool {
	if a.Type != b.Type || a.Null != b.Null || len(a.Elems) != len(b.Elems) {
		return false
	}
	if a.Type == '-' {
		return string(a.Str) == string(b.Str)
	}
	return true
}

func showBrief(r resp.Reply) string {
	s := show(r)
	if len(s) > 300 {
		s = s[:300] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

// TestBoundaryValuesMatchRedisServer sends every boundary-value expansion
// of boundaryTemplates to a real redis-server 7.0 and to the engine and
// requires the same replies: the same values, the same errors word for
// word. Afterwards both must still answer PING: no input kills a node.
func TestBoundaryValuesMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	n := 0
	only := os.Getenv("BOUNDARY_ONLY")         // a substring of the templates to run, when debugging
	for _, proto := range []string{"2", "3"} { // RESP3 replies take other paths (maps, doubles, nulls)
		setup := append([][]string{{"HELLO", proto}}, boundarySetup...)
		for _, tmpl := range boundaryTemplates {
			if only == "" || strings.Contains(tmpl.cmd, only) {
				n += compareBoundary(t, real, eng, setup, tmpl.cmd, tmpl.shape)
			}
		}
	}
	t.Logf("%d boundary-value commands compared", n)
	if _, err := net.DialTimeout("tcp", eng.conn.RemoteAddr().String(), time.Second); err != nil {
		t.Fatalf("engine gone: %v", err)
	}
}

// compareBoundary runs every expansion of one template on both servers,
// each after setup and followed by a PING, and compares the replies.
func compareBoundary(t *testing.T, real, eng *rawConn, setup [][]string, tmpl string, shape bool) int {
	t.Helper()
	n := 0
	for _, args := range expandBoundary(tmpl) {
		cmds := append(append([][]string(nil), setup...), args, []string{"PING"})
		want := real.pipeline(t, cmds)
		got := eng.pipeline(t, cmds)
		n++
		w, g := want[len(cmds)-2], got[len(cmds)-2]
		if !reflect.DeepEqual(want[len(cmds)-1], got[len(cmds)-1]) {
			t.Fatalf("%s: PING after it: redis %s, engine %s", brief(args), show(want[len(cmds)-1]), show(got[len(cmds)-1]))
		}
		if g.Type == '-' && strings.Contains(string(g.Str), "internal error") {
			t.Errorf("%s: the engine panicked: %s", brief(args), showBrief(g))
			continue
		}
		same := reflect.DeepEqual(w, g)
		if shape {
			same = sameShape(w, g)
		}
		if !same {
			t.Errorf("%s:\n  redis:  %s\n  engine: %s", brief(args), showBrief(w), showBrief(g))
		}
	}
	return n
}

// TestGlobMatchesRedis compares KEYS and SCAN MATCH on random glob patterns
// (escapes, classes, ranges, unterminated brackets, bytes above 0x7f)
// between redis-server and the engine, on the same keys.
func TestGlobMatchesRedis(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	keys := []string{"a", "b", "A", "ab", "ba", "aab", "abb", "a-b", "]", "^", "-", `\`, "*", "?", "[", "[a]",
		"a]", "\x90", "a\x90b", "x", "abc", "aXb", "a*b", `a\b`, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"}
	setup := [][]string{{"FLUSHALL"}}
	for _, k := range keys {
		setup = append(setup, []string{"SET", k, "1"})
	}
	real.pipeline(t, setup)
	eng.pipeline(t, setup)
	alphabet := []string{"a", "b", "A", "*", "?", "[", "]", "^", "-", `\`, "\x90", "x"}
	rnd := rand.New(rand.NewPCG(7, 11))
	var cmds [][]string
	for i := 0; i < 3000; i++ {
		var p strings.Builder
		for n := rnd.IntN(9); n > 0; n-- {
			p.WriteString(alphabet[rnd.IntN(len(alphabet))])
		}
		cmds = append(cmds, []string{"KEYS", p.String()}, []string{"SCAN", "0", "MATCH", p.String(), "COUNT", "100000"})
	}
	cmds = append(cmds, []string{"KEYS", strings.Repeat("a*", 19) + "b"}, []string{"KEYS", strings.Repeat("a*", 40) + "c"})
	want, got := real.pipeline(t, cmds), eng.pipeline(t, cmds)
	sorted := func(r resp.Reply) []string {
		if r.Type == '*' && len(r.Elems) == 2 && r.Elems[1].Type == '*' { // SCAN: the keys
			r = r.Elems[1]
		}
		var out []string
		for _, e := range r.Elems {
			out = append(out, string(e.Str))
		}
		sort.Strings(out)
		return out
	}
	bad := 0
	for i := range cmds {
		if w, g := sorted(want[i]), sorted(got[i]); !reflect.DeepEqual(w, g) {
			if bad++; bad <= 20 {
				t.Errorf("%s %q:\n  redis:  %q\n  engine: %q", cmds[i][0], cmds[i][len(cmds[i])-1], w, g)
			}
		}
	}
}

// adminTemplates are commands that change the connection or the server
// (kill clients, switch protocols, set passwords, connect out), with
// boundary-value arguments. Each expansion runs on a fresh connection of a
// fresh server per template; the engine must answer (or close that
// connection, as CLIENT KILL may) without an internal error, and another
// connection must still get an answer.
var adminTemplates = []string{
	"CLIENT KILL ID I", "CLIENT KILL ADDR M", "CLIENT KILL LADDR J", "CLIENT KILL SKIPME J", "CLIENT KILL USER J",
	"CLIENT KILL TYPE J", "CLIENT KILL J", "CLIENT LIST ID I", "CLIENT LIST TYPE J", "CLIENT REPLY J",
	"CLIENT NO-EVICT J", "CLIENT NO-TOUCH J", "CLIENT SETINFO LIB-NAME M", "CLIENT SETINFO LIB-VER J",
	"CLIENT SETNAME J", "CLIENT J", "HELLO I", "HELLO 3 AUTH default J", "HELLO 3 SETNAME J", "HELLO J J J",
	"AUTH J", "AUTH J J", "CONFIG SET maxclients I", "CONFIG SET hz I", "CONFIG SET proto-max-bulk-len I",
	"CONFIG SET maxmemory I", "CONFIG SET cluster-node-timeout I", "CONFIG SET J J", "CONFIG GET M",
	"CONFIG GET a*a*a*a*a*a*a*a*a*a*a*a*b", "ACL SETUSER J", "ACL SETUSER u J J", "ACL SETUSER u on >p ~J +@all",
	"ACL DELUSER J", "ACL CAT J", "ACL J", "MIGRATE 127.0.0.1 1 k I I", "MIGRATE 127.0.0.1 I k 0 1",
	"MIGRATE J 1 '' 0 1 KEYS k", "MIGRATE 127.0.0.1 1 k 0 I COPY REPLACE AUTH J", "WAIT I 1", "WAIT 0 I", "WAIT -1 I",
	"COMMAND INFO M", "COMMAND GETKEYS J J J", "COMMAND COUNT J", "INFO M", "INFO J J", "MEMORY J J",
	"SELECT I", "PSYNC J I", "REPLCONF J I", "RESTORE k I M", "RESTORE k 0 J ABSTTL IDLETIME I",
	"RESTORE k 0 J FREQ I REPLACE", "OBJECT J J", "DEBUG J", "SHUTDOWN J", "SHUTDOWN ABORT",
}

func TestAdminCommandsSurviveBoundaryValues(t *testing.T) {
	for _, tmpl := range adminTemplates {
		s, logs := startServerLogging(t)
		addr := s.Addr().String()
		for _, args := range expandBoundary(tmpl) {
			if strings.HasPrefix(tmpl, "SHUTDOWN") && len(args) > 1 && !strings.EqualFold(args[1], "abort") {
				continue // a valid SHUTDOWN would end this server
			}
			c := dial(t, addr)
			var bs [][]byte
			for _, a := range args {
				bs = append(bs, []byte(a))
			}
			c.conn.SetDeadline(time.Now().Add(10 * time.Second))
			c.conn.Write(resp.AppendCommand(nil, bs...))
			rep, err := resp.ReadReply(c.br)
			if err == nil && rep.Type == '-' && strings.Contains(string(rep.Str), "internal error") {
				t.Errorf("%s: %s", brief(args), rep.Str)
			}
			c.conn.Close()
			probe := dial(t, addr)
			probe.conn.SetDeadline(time.Now().Add(10 * time.Second))
			probe.conn.Write(resp.AppendCommand(nil, []byte("PING")))
			if _, err := resp.ReadReply(probe.br); err != nil { // PONG or NOAUTH: alive
				t.Fatalf("after %s the node does not answer: %v", brief(args), err)
			}
			probe.conn.Close()
		}
		s.Close()
		if strings.Contains(logs.String(), "panic in command") {
			t.Errorf("%s: %s", tmpl, logs.String())
		}
	}
}
