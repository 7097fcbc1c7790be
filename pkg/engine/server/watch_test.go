package server

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
)

// compareClients runs a script over two connections to each server: a line
// "A: cmd" goes through the first, "B: cmd" through the second, "sleep MS"
// waits (HELLO replies are not compared: client ids differ); replies must be identical.
func compareClients(t *testing.T, real, eng [2]*rawConn, script string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(script), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if ms, ok := strings.CutPrefix(line, "sleep "); ok {
			d, _ := time.ParseDuration(ms + "ms")
			time.Sleep(d)
			continue
		}
		who := 0
		if strings.HasPrefix(line, "B:") {
			who = 1
		}
		args := strings.Fields(line[2:])
		want, got := real[who].do(t, args...), eng[who].do(t, args...)
		if args[0] == "HELLO" { // its client id differs
			continue
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s:\n  redis:  %s\n  engine: %s", line, show(want), show(got))
		}
	}
}

// TestWatchMatchesRedisServer: WATCH/UNWATCH and MULTI/EXEC aborts, with a
// second client modifying watched keys, against redis-server 7.0.
func TestWatchMatchesRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real := [2]*rawConn{dial(t, rs.Addr()), dial(t, rs.Addr())}
	eng := [2]*rawConn{dial(t, es.Addr().String()), dial(t, es.Addr().String())}
	compareClients(t, real, eng, `
A: MULTI
A: SAVE
A: SHUTDOWN NOSAVE
A: SYNC
A: SET x 0
A: EXEC
A: GET x
A: SET x 1
A: WATCH x y
A: MULTI
A: WATCH z
A: INCR x
A: EXEC
A: WATCH x
B: SET x 2
A: MULTI
A: GET x
A: EXEC
A: GET x
A: WATCH x
A: MULTI
A: PING
A: EXEC
B: SET x 3
A: MULTI
A: GET x
A: EXEC
A: WATCH x
B: SADD s a
A: MULTI
A: GET x
A: EXEC
A: WATCH nokey
B: DEL nokey
B: SADD s a
A: MULTI
A: PING
A: EXEC
A: SADD s a
A: WATCH s
B: SADD s a
B: SREM s nope
B: EXPIRE nokey 10
B: LPOP nokey
B: SET x 4 NX
A: MULTI
A: PING
A: EXEC
A: WATCH s
B: SADD s b
A: MULTI
A: PING
A: EXEC
A: WATCH x
B: SET x 5
A: UNWATCH
A: MULTI
A: PING
A: EXEC
A: WATCH x
B: SET x 6
A: MULTI
A: DISCARD
A: MULTI
A: INCR x
A: EXEC
A: WATCH x
B: SET x 7
A: RESET
A: MULTI
A: INCR x
A: EXEC
A: WATCH x
B: FLUSHALL
A: MULTI
A: PING
A: EXEC
A: WATCH x
B: FLUSHDB
A: MULTI
A: PING
A: EXEC
A: SET x 1
A: WATCH x
A: MULTI
A: UNWATCH
A: SET x 2
A: EXEC
A: WATCH x
A: MULTI
A: NOSUCHCMD
A: EXEC
B: SET x 9
A: MULTI
A: GET x
A: EXEC
A: WATCH x
B: EXPIRE x 100
A: MULTI
A: PING
A: EXEC
A: WATCH x
B: PERSIST x
A: MULTI
A: PING
A: EXEC
A: RPUSH l a
A: WATCH l
B: BLPOP l 1
A: MULTI
A: PING
A: EXEC
A: SET e v PX 30
A: WATCH e
sleep 60
A: MULTI
A: PING
A: EXEC
A: SET e v PX 10
sleep 30
A: WATCH e
A: EXISTS e
A: MULTI
A: PING
A: EXEC
A: SET e v PX 10
sleep 30
A: WATCH e
B: FLUSHALL
A: MULTI
A: PING
A: EXEC
A: SET e v PX 10
sleep 30
A: WATCH e
B: SET e w
A: MULTI
A: PING
A: EXEC
A: SET e v PX 10
sleep 30
A: WATCH e
B: DEL e
A: MULTI
A: PING
A: EXEC
A: HELLO 3
A: SET x 1
A: WATCH x
B: SET x 2
A: MULTI
A: PING
A: EXEC
A: WATCH
`)
}

// A watched key deleted because its slot moved away to another node makes
// EXEC fail (keys are dropped through the store's DeleteKeysInSlot).
func TestWatchTouchedBySlotDeletion(t *testing.T) {
	s := startServer(t)
	a := dial(t, s.Addr().String())
	a.do(t, "SET", "k", "v")
	a.do(t, "WATCH", "k", "other{x}")
	s.DB.Mu.Lock()
	s.DB.DeleteKeysInSlot(keySlot([]byte("other{x}"))) // an unrelated slot
	s.DB.Mu.Unlock()
	a.do(t, "MULTI")
	a.do(t, "PING")
	if r := a.do(t, "EXEC"); r.Null || len(r.Elems) != 1 {
		t.Fatalf("EXEC after an unrelated slot was emptied: %s", show(r))
	}
	a.do(t, "WATCH", "k")
	s.DB.Mu.Lock()
	n := s.DB.DeleteKeysInSlot(keySlot([]byte("k")))
	s.DB.Mu.Unlock()
	if n != 1 {
		t.Fatalf("deleted %d keys", n)
	}
	a.do(t, "MULTI")
	a.do(t, "PING")
	if r := a.do(t, "EXEC"); !r.Null {
		t.Fatalf("EXEC after the watched key's slot was emptied: %s, want null", show(r))
	}
}

// TestZAddScoreChangeTouchesKey: a ZADD that only changes a score (its
// reply, without CH, is 0) still announces zadd and dirties a WATCH, as
// on redis-server.
func TestZAddScoreChangeTouchesKey(t *testing.T) {
	real := [2]*rawConn{dial(t, redistest.Start(t, redistest.Options{}).Addr()), nil}
	engAddr := startServer(t).Addr().String()
	eng := [2]*rawConn{dial(t, engAddr), dial(t, engAddr)}
	real[1] = dial(t, real[0].conn.RemoteAddr().String())
	compareClients(t, real, eng, `
A: ZADD z 1 m
A: WATCH z
B: ZADD z 2 m
A: MULTI
A: ZSCORE z m
A: EXEC
A: WATCH z
B: ZADD z 2 m
A: MULTI
A: ZSCORE z m
A: EXEC
`)
}
