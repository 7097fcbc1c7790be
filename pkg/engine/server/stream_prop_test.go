package server

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

var clockSeq = regexp.MustCompile(`<ms>-\d+`)

// TestStreamReplicationFormsMatchRedisServer: stream writes reach a
// replica (and the AOF) in redis-server 7.0's forms: XADD * with its
// concrete ID, approximate trims made exact, group reads and claims as
// XCLAIM ... FORCE JUSTID LASTID, NOACK reads as XGROUP CREATECONSUMER and
// XGROUP SETID ... ENTRIESREAD, nothing for writes that changed nothing,
// and a blocked XREADGROUP's delivery when the XADD that served it runs.
func TestStreamReplicationFormsMatchRedisServer(t *testing.T) {
	realAddr := redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr()
	engAddr := startServer(t).Addr().String()
	cmds := [][]string{
		{"CONFIG", "SET", "stream-node-max-entries", "3"},
		{"XADD", "s", "1-1", "f", "v"},
		{"XADD", "s", "1-*", "f", "v"},
		{"XADD", "nope", "NOMKSTREAM", "*", "f", "v"},
		{"XADD", "s", "1-1", "f", "v"},
		{"XADD", "s", "MAXLEN", "~", "2", "2-1", "f", "v"},
		{"XADD", "s", "MAXLEN", "~", "100", "LIMIT", "5", "2-2", "f", "v"},
		{"XADD", "s", "MINID", "~", "0", "2-3", "f", "v"},
		{"XADD", "s", "MAXLEN", "=", "100", "2-4", "f", "v"},
		{"XTRIM", "s", "MAXLEN", "~", "100"},
		{"XTRIM", "s", "MAXLEN", "~", "1"},
		{"XTRIM", "s", "MINID", "~", "2-3"},
		{"XADD", "s", "3-1", "a", "1"}, {"XADD", "s", "3-2", "a", "2"}, {"XADD", "s", "3-3", "a", "3"},
		{"XADD", "s", "3-4", "a", "4"}, {"XADD", "s", "3-5", "a", "5"},
		{"XTRIM", "s", "MINID", "3-2"},
		{"XDEL", "s", "9-9"},
		{"XDEL", "s", "3-3", "9-9"},
		{"XGROUP", "CREATE", "s", "g", "0"},
		{"XGROUP", "CREATE", "s", "g", "0"},
		{"XGROUP", "CREATE", "s2", "g", "$", "MKSTREAM"},
		{"XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"},
		{"XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"},
		{"XREADGROUP", "GROUP", "g", "bob", "NOACK", "COUNT", "1", "STREAMS", "s", ">"},
		{"XREADGROUP", "GROUP", "g", "bob", "NOACK", "STREAMS", "s", ">"},
		{"XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">"},
		{"XGROUP", "SETID", "s", "g", "3-2"},
		{"XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">"},
		{"XACK", "s", "g", "9-9"},
		{"XACK", "s", "g", "3-4"},
		{"XCLAIM", "s", "g", "dave", "0", "3-5", "TIME", "1000"},
		{"XCLAIM", "s", "g", "dave", "3600000", "3-2"},
		{"XCLAIM", "s", "g", "dave", "0", "3-2", "JUSTID", "LASTID", "50-0"},
		{"XCLAIM", "s", "g", "dave", "0", "9-9", "LASTID", "60-0"},
		{"XDEL", "s", "3-5"},
		{"XAUTOCLAIM", "s", "g", "erin", "0", "0", "COUNT", "10"},
		{"XAUTOCLAIM", "s", "g", "erin", "3600000", "0"},
		{"XGROUP", "CREATECONSUMER", "s", "g", "frank"},
		{"XGROUP", "CREATECONSUMER", "s", "g", "frank"},
		{"XGROUP", "DELCONSUMER", "s", "g", "nobody"},
		{"XGROUP", "DELCONSUMER", "s", "g", "frank"},
		{"XSETID", "s", "100-0", "ENTRIESADDED", "50", "MAXDELETEDID", "3-3"},
		{"XGROUP", "DESTROY", "s", "nogroup"},
		{"XGROUP", "DESTROY", "s2", "g"},
		{"MULTI"}, {"XADD", "s", "101-1", "f", "v"}, {"XREADGROUP", "GROUP", "g", "gina", "STREAMS", "s", ">"}, {"EXEC"},
		{"XADD", "s", "*", "f", "v"},
		{"EVAL", "return redis.call('XADD', KEYS[1], '*', 'in', 'script')", "1", "s"},
		{"XREADGROUP", "GROUP", "g", "hank", "STREAMS", "s", ">"},
		{"CONFIG", "SET", "stream-node-max-entries", "100"},
	}
	streams := map[string][]string{}
	for _, addr := range []string{realAddr, engAddr} {
		br := replicationStream(t, addr)
		c, blocked := dial(t, addr), dial(t, addr)
		for _, args := range cmds {
			c.do(t, args...)
		}
		// a blocked group read, served by the XADD after it
		blocked.conn.Write(resp.AppendCommand(nil, []byte("XREADGROUP"), []byte("GROUP"), []byte("g"), []byte("hank"),
			[]byte("BLOCK"), []byte("0"), []byte("STREAMS"), []byte("s"), []byte(">")))
		deadline := time.Now().Add(5 * time.Second)
		for infoInt(t, string(c.do(t, "INFO", "clients").Str), "blocked_clients") != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the XREADGROUP did not block", addr)
			}
			time.Sleep(2 * time.Millisecond)
		}
		c.do(t, "XADD", "s", "*", "wakes", "hank")
		blocked.conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := resp.ReadReply(blocked.br); err != nil {
			t.Fatalf("%s: the blocked XREADGROUP: %v", addr, err)
		}
		c.do(t, "SET", "marker", "end")
		// IDs made of the clock differ in their sequence too
		for _, l := range streamUntil(t, br, "end") {
			streams[addr] = append(streams[addr], clockSeq.ReplaceAllString(l, "<ms>-N"))
		}
	}
	want, got := streams[realAddr], streams[engAddr]
	if len(want) < 40 {
		t.Fatalf("redis-server sent only %d commands:\n%s", len(want), strings.Join(want, "\n"))
	}
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Fatalf("replication streams differ:\n%s", sideBySide(want, got))
	}
}
