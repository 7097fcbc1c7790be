package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// replicationStream attaches to addr as a replica with SYNC, skips the
// snapshot, and returns a reader of the command stream.
func replicationStream(t *testing.T, addr string) *bufio.Reader {
	t.Helper()
	_, br := attachReplica(t, addr)
	return br
}

// attachReplica is replicationStream that also returns the connection, for
// a test to send what a replica sends (REPLCONF ACK).
func attachReplica(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, "SYNC\r\n")
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("SYNC on %s: %v", addr, err)
		}
		if line == "\n" { // keep-alive newlines while the snapshot is made
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil || line[0] != '$' {
			t.Fatalf("SYNC on %s: unexpected %q", addr, line)
		}
		if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
			t.Fatal(err)
		}
		return conn, br
	}
}

var unixMillis = regexp.MustCompile(`\b1\d{12}\b`)

// streamUntil reads commands until SET marker <end>, as lines with unix
// times in milliseconds blanked out; PINGs are left out.
func streamUntil(t *testing.T, br *bufio.Reader, end string) []string {
	t.Helper()
	var out []string
	for {
		r, err := resp.ReadReply(br)
		if err != nil {
			t.Fatalf("reading the replication stream: %v (so far %q)", err, out)
		}
		var words []string
		for _, e := range r.Elems {
			words = append(words, string(e.Str))
		}
		line := unixMillis.ReplaceAllString(strings.Join(words, " "), "<ms>")
		if strings.EqualFold(line, "ping") {
			continue
		}
		if line == "SET marker "+end {
			return out
		}
		out = append(out, line)
	}
}

// TestReplicationStreamMatchesRedisServer: the same writes on redis-server
// 7.0 and on the engine reach a replica in the same forms: nothing for a
// write that changed nothing, SET ... PXAT and PEXPIREAT for relative
// TTLs, DEL for GETDEL and passed TTLs, SET ... KEEPTTL for INCRBYFLOAT,
// SREM for SPOP, MULTI/EXEC around a transaction or script only when
// it wrote more than once, PUBLISH but not SCRIPT LOAD.
func TestReplicationStreamMatchesRedisServer(t *testing.T) {
	realAddr := redistest.Start(t, redistest.Options{}).Addr()
	engAddr := startServer(t).Addr().String()
	cmds := [][]string{
		{"SET", "a", "1"},
		{"SET", "a", "2", "EX", "100"},
		{"SET", "a", "3", "PX", "100000", "GET"},
		{"SET", "a", "4", "GET"},
		{"SET", "a", "5", "KEEPTTL"},
		{"SET", "a", "6", "NX"},
		{"SET", "nope", "1", "XX"},
		{"SETEX", "b", "100", "x"},
		{"PSETEX", "b", "100000", "y"},
		{"GETEX", "b", "EX", "50"},
		{"GETEX", "b", "PERSIST"},
		{"GETEX", "b"},
		{"EXPIRE", "b", "100"},
		{"PEXPIRE", "b", "100000", "NX"},
		{"EXPIREAT", "b", "4000000000"},
		{"EXPIRE", "nope", "100"},
		{"EXPIRE", "b", "-1"},
		{"DEL", "nope"},
		{"INCRBYFLOAT", "f", "1.5"},
		{"HINCRBYFLOAT", "h", "x", "2.5"},
		{"GETSET", "g", "v"},
		{"GETDEL", "g"},
		{"GETDEL", "g"},
		{"SADD", "s", "a"},
		{"SADD", "s", "a"},
		{"SPOP", "s"},
		{"SPOP", "s"},
		{"SADD", "s2", "a", "b", "c"},
		{"SPOP", "s2", "5"},
		{"MULTI"}, {"SET", "m", "1"}, {"EXEC"},
		{"MULTI"}, {"SET", "m", "1"}, {"SET", "m2", "2"}, {"EXEC"},
		{"MULTI"}, {"GET", "m"}, {"EXEC"},
		{"EVAL", "redis.call('set','e',1)", "0"},
		{"EVAL", "redis.call('set','e',1) redis.call('incr','e')", "0"},
		{"EVAL", "return redis.call('get','e')", "0"},
		{"EVAL", "redis.call('spop','s3') redis.call('expire','e',100)", "0"},
		// MPOPs go out as the pop they were, with the count popped.
		{"RPUSH", "ml", "a", "b", "c"},
		{"LMPOP", "2", "nope", "ml", "LEFT", "COUNT", "2"},
		{"LMPOP", "1", "ml", "RIGHT", "COUNT", "5"},
		{"LMPOP", "1", "ml", "RIGHT"},
		{"ZADD", "mz", "1", "a", "2", "b", "3", "c"},
		{"ZMPOP", "1", "mz", "MAX", "COUNT", "2"},
		{"ZMPOP", "1", "mz", "MIN"},
		{"RPUSH", "ml", "x"},
		{"BLMPOP", "0", "1", "ml", "LEFT"},
		{"MULTI"}, {"RPUSH", "ml", "y", "z"}, {"LMPOP", "1", "ml", "LEFT", "COUNT", "9"}, {"EXEC"},
		{"EVAL", "return redis.call('zmpop', 1, KEYS[1], 'min')", "1", "mz"},
		// PUBLISH reaches replicas (not a cluster node); SCRIPT LOAD does not.
		{"PUBLISH", "ch", "hello"},
		{"SPUBLISH", "sch", "hello"},
		{"MULTI"}, {"PUBLISH", "ch", "in-multi"}, {"EXEC"},
		{"MULTI"}, {"SET", "p", "1"}, {"PUBLISH", "ch", "with-set"}, {"EXEC"},
		{"SCRIPT", "LOAD", "return 1"},
		{"MULTI"}, {"SCRIPT", "LOAD", "return 2"}, {"SET", "p", "2"}, {"EXEC"},
		{"EVAL", "redis.call('publish', 'ch', 'from-script') redis.call('set', 'p', 3)", "0"},
		{"MULTI"}, {"SAVE"}, {"SET", "p", "refused"}, {"EXEC"},
		{"GEOADD", "g1", "13.361389", "38.115556", "Palermo"},
		{"GEORADIUS", "g1", "15", "37", "200", "km"},
		{"GEORADIUS", "g1", "15", "37", "200", "km", "STORE", "g2"},
		{"GEORADIUSBYMEMBER", "g1", "Palermo", "10", "km", "STOREDIST", "g3"},
	}
	streams := map[string][]string{}
	for _, addr := range []string{realAddr, engAddr} {
		br := replicationStream(t, addr)
		c := dial(t, addr)
		for _, args := range cmds {
			c.do(t, args...)
		}
		c.do(t, "SET", "marker", "end")
		streams[addr] = streamUntil(t, br, "end")
	}
	want, got := streams[realAddr], streams[engAddr]
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Fatalf("replication streams differ:\n%s", sideBySide(want, got))
	}
}

func sideBySide(want, got []string) string {
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		w, g := "", ""
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		mark := "  "
		if w != g {
			mark = "!="
		}
		fmt.Fprintf(&b, "%s redis: %-40s engine: %s\n", mark, w, g)
	}
	return b.String()
}
