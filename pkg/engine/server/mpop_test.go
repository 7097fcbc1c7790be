package server

import (
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// TestMPopMatchesRedisServer: LMPOP/BLMPOP, ZMPOP/BZMPOP and
// BZPOPMIN/BZPOPMAX replies and errors, RESP2 and RESP3, against
// redis-server 7.0.
func TestMPopMatchesRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real := [2]*rawConn{dial(t, rs.Addr()), dial(t, rs.Addr())}
	eng := [2]*rawConn{dial(t, es.Addr().String()), dial(t, es.Addr().String())}
	script := `
A: RPUSH l1 a b c d e
A: RPUSH l2 x
A: SET str v
A: LMPOP 2 nope l1 LEFT
A: LMPOP 2 nope l1 RIGHT COUNT 2
A: LMPOP 1 l1 LEFT COUNT 100
A: EXISTS l1
A: LMPOP 1 l1 LEFT
A: LMPOP 2 l2 str LEFT
A: LMPOP 2 str l2 LEFT
A: LMPOP 0 l2 LEFT
A: LMPOP -1 l2 LEFT
A: LMPOP x l2 LEFT
A: LMPOP 3 l2 LEFT
A: LMPOP 1 l2 MIDDLE
A: LMPOP 1 l2 LEFT COUNT
A: LMPOP 1 l2 LEFT COUNT 0
A: LMPOP 1 l2 LEFT COUNT -1
A: LMPOP 1 l2 LEFT COUNT x
A: LMPOP 1 l2 LEFT COUNT 1 COUNT 1
A: LMPOP 1 l2 LEFT FOO
A: LMPOP 9223372036854775807 l2 LEFT
A: LMPOP 1 l2 LEFT COUNT 9223372036854775807
A: RPUSH l3 a b c
A: BLMPOP 0 2 nope l3 RIGHT COUNT 2
A: BLMPOP 0.05 1 nope LEFT
A: BLMPOP -1 1 nope LEFT
A: BLMPOP x 1 nope LEFT
A: BLMPOP x 0 nope LEFT
A: BLMPOP 0 1 l3 LEFT COUNT 0
A: ZADD z1 1 a 2 b 3 c 4 d 1.5 e
A: ZMPOP 2 nope z1 MIN
A: ZMPOP 1 z1 MAX COUNT 2
A: ZMPOP 1 z1 MIN COUNT 10
A: ZMPOP 1 z1 MIN
A: ZMPOP 1 str MIN
A: ZMPOP 1 z1 LEFT
A: ZMPOP 0 z1 MIN
A: ZMPOP 1 z1 MIN COUNT 0
A: ZADD z2 1 a 2 b 3 c
A: BZMPOP 0 1 z2 MAX
A: BZMPOP 0.05 1 nope MAX
A: BZPOPMIN nope z2 0
A: BZPOPMAX z2 0
A: BZPOPMAX z2 0.05
A: BZPOPMAX z2 -1
A: BZPOPMAX z2 abc
A: BZPOPMIN str 0
A: ZADD z3 1 a 2 b 3 c
A: MULTI
A: BZPOPMIN nope 0
A: BLMPOP 0 1 nope LEFT
A: BZMPOP 0 1 z3 MIN COUNT 2
A: EXEC
A: HELLO 3
A: ZADD z4 1 a 2.5 b 3 c
A: ZMPOP 1 z4 MIN COUNT 2
A: BZPOPMAX z4 0
A: BZMPOP 0.01 1 z4 MIN
A: LMPOP 1 nope LEFT
A: HELLO 2
A: RPUSH wl a b
A: WATCH wl other
B: LMPOP 2 other wl LEFT
A: MULTI
A: PING
A: EXEC
A: RPUSH other a
A: WATCH wl
B: LMPOP 2 other wl LEFT
A: MULTI
A: PING
A: EXEC
`
	compareClients(t, real, eng, script)
}

// INFO clients counts the clients waiting in a blocking command (Redis's
// test suite waits on blocked_clients before it pushes).
func TestInfoCountsBlockedClients(t *testing.T) {
	s := startServer(t)
	a, b := dial(t, s.Addr().String()), dial(t, s.Addr().String())
	if _, err := a.conn.Write([]byte("*5\r\n$6\r\nBLMPOP\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\nq\r\n$4\r\nLEFT\r\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(string(b.do(t, "INFO", "clients").Str), "blocked_clients:1\r\n") {
		if time.Now().After(deadline) {
			t.Fatal("INFO never showed blocked_clients:1")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.do(t, "RPUSH", "q", "x")
	a.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if r, err := resp.ReadReply(a.br); err != nil || show(r) != `*[$"q" *[$"x"]]` {
		t.Fatalf("BLMPOP: %s, %v", show(r), err)
	}
	if info := string(b.do(t, "INFO", "clients").Str); !strings.Contains(info, "blocked_clients:0\r\n") {
		t.Fatalf("after the pop: %q", info)
	}
}

// A client blocked on a key is not woken into an error when a transaction
// leaves a string there: it stays blocked until a list (or sorted set)
// arrives, as in Redis (unit/type/list "LPUSH + DEL + SET should not awake
// blocked client"), for BLPOP, BLMPOP, BZPOPMIN and BZMPOP.
func TestBlockedClientIgnoresWrongTypeAfterWakeUp(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	cases := []struct{ block, push string }{
		{"BLPOP k 0", "LPUSH k b"},
		{"BLMPOP 0 1 k LEFT", "LPUSH k b"},
		{"BZPOPMIN k 0", "ZADD k 1 b"},
		{"BZMPOP 0 1 k MIN", "ZADD k 1 b"},
	}
	for _, tc := range cases {
		var replies [2]string
		for i, addr := range []string{rs.Addr(), es.Addr().String()} {
			a, b := dial(t, addr), dial(t, addr)
			b.do(t, "DEL", "k")
			var bs [][]byte
			for _, w := range strings.Fields(tc.block) {
				bs = append(bs, []byte(w))
			}
			if _, err := a.conn.Write(resp.AppendCommand(nil, bs...)); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(string(b.do(t, "INFO", "clients").Str), "blocked_clients:1\r\n") {
				if time.Now().After(deadline) {
					t.Fatalf("%s never blocked", tc.block)
				}
				time.Sleep(10 * time.Millisecond)
			}
			b.do(t, "MULTI")
			b.do(t, strings.Fields(tc.push)...)
			b.do(t, "DEL", "k")
			b.do(t, "SET", "k", "foo")
			b.do(t, "EXEC")
			b.do(t, "DEL", "k")
			b.do(t, strings.Fields(tc.push)...)
			a.conn.SetDeadline(time.Now().Add(5 * time.Second))
			r, err := resp.ReadReply(a.br)
			if err != nil {
				t.Fatalf("%s: %v", tc.block, err)
			}
			replies[i] = show(r)
		}
		if replies[0] != replies[1] {
			t.Errorf("%s: redis %s, engine %s", tc.block, replies[0], replies[1])
		}
	}
}
