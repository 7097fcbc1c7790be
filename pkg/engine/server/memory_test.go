package server

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
)

// compareArgs sends each command (already split into arguments) to both
// servers and requires the same reply.
func compareArgs(t *testing.T, real, eng *rawConn, cmds [][]string) {
	t.Helper()
	for _, args := range cmds {
		want, got := real.do(t, args...), eng.do(t, args...)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%q:\n  redis:  %s\n  engine: %s", args, show(want), show(got))
		}
	}
}

// TestOutOfMemoryMatchesRedisServer: with maxmemory below what any node
// uses and noeviction, both servers refuse deny-oom commands (OOM), queue
// nothing in MULTI (EXECABORT), let reads and deletes through, and apply
// Redis 7's script rules (allow-oom, no-writes, "flags=" with no flags).
func TestOutOfMemoryMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	lines := func(s string) [][]string {
		var out [][]string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			out = append(out, strings.Fields(l))
		}
		return out
	}
	compareArgs(t, real, eng, lines(`
SET x 123
RPUSH l a
CONFIG SET maxmemory 1
SET y 1
GET x
INCR x
RPUSH l b
LPOP l
DEL l
EXPIRE x 100
PERSIST x
MULTI
GET x
SET y 2
EXEC
MULTI
DISCARD
CONFIG SET maxmemory-policy volatile-ttl
SET y 1
`))
	compareArgs(t, real, eng, [][]string{
		{"EVAL", "redis.call('set','x',1) return 1", "1", "x"},
		{"EVAL", "return redis.call('get','x')", "1", "x"},
		{"EVAL", "#!lua flags=\nreturn 1", "0"},
		{"EVAL", "#!lua\nreturn 1", "0"},
		{"EVAL", "#!lua flags=allow-oom\nredis.call('set','x',1) return 1", "1", "x"},
		{"EVAL", "#!lua flags=no-writes\nreturn redis.call('get','x')", "1", "x"},
		{"GET", "x"},
		{"CONFIG", "SET", "maxmemory", "0"},
		{"SET", "y", "2"},
	})
}

// TestMinReplicasToWriteMatchesRedisServer: min-replicas-to-write without
// replicas refuses writes (NOREPLICAS) and scripts that may write, but not
// reads or no-writes scripts.
func TestMinReplicasToWriteMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareArgs(t, real, eng, [][]string{
		{"SET", "x", "some value"},
		{"CONFIG", "SET", "min-slaves-to-write", "1"},
		{"CONFIG", "GET", "min-replicas-to-write"},
		{"GET", "x"},
		{"SET", "x", "1"},
		{"MULTI"},
		{"SET", "x", "1"},
		{"EXEC"},
		{"EVAL", "#!lua flags=no-writes\nreturn redis.call('get','x')", "1", "x"},
		{"EVAL", "return redis.call('get','x')", "1", "x"},
		{"EVAL", "#!lua\nreturn redis.call('get','x')", "1", "x"},
		{"EVAL", "return redis.call('set','x',1)", "1", "x"},
		{"CONFIG", "SET", "min-replicas-max-lag", "0"}, // Redis checks only with both set
		{"SET", "x", "2"},
		{"CONFIG", "SET", "min-replicas-to-write", "0"},
	})
}

// TestEvictionKeepsUnderMaxmemory fills a node far past maxmemory under
// each eviction policy: writes keep succeeding, used_memory stays at the
// limit, evicted keys are counted; volatile policies evict
// only keys with a TTL and answer OOM when none is left; LRU keeps the
// TestMinReplicasCountsAcknowledgingReplicas: with min-replicas-to-write 1
// and a lag of 1 s, writes run while the one replica acknowledges, are
// refused once it has been silent for longer than the lag (the count is
// refreshed once a second, as Redis's replication cron does), and run
// again after it acknowledges.
func TestMinReplicasCountsAcknowledgingReplicas(t *testing.T) {
	s := startServer(t)
	addr := s.Addr().String()
	c := dial(t, addr)
	c.do(t, "CONFIG", "SET", "min-replicas-max-lag", "1")
	c.do(t, "CONFIG", "SET", "min-replicas-to-write", "1")
	if got := show(c.do(t, "SET", "k", "v")); !strings.Contains(got, "NOREPLICAS") {
		t.Fatalf("SET without replicas = %s, want NOREPLICAS", got)
	}
	conn, br := attachReplica(t, addr)
	go io.Copy(io.Discard, br) // the stream it is sent
	waitFor := func(what string, ok func(reply string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := show(c.do(t, "SET", "k", "v"))
			if ok(got) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: SET still answers %s", what, got)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("a replica attached and online", func(r string) bool { return !strings.Contains(r, "NOREPLICAS") })
	waitFor("the replica silent for longer than the lag", func(r string) bool { return strings.Contains(r, "NOREPLICAS") })
	done := make(chan struct{})
	defer close(done)
	go func() { // acknowledge every 200 ms from now on
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
				fmt.Fprintf(conn, "REPLCONF ACK 0\r\n")
			}
		}
	}()
	waitFor("the replica acknowledging again", func(r string) bool { return !strings.Contains(r, "NOREPLICAS") })
}

// keys that are being read.
func TestEvictionKeepsUnderMaxmemory(t *testing.T) {
	const limit = 4 << 20
	value := strings.Repeat("v", 1000)
	for _, policy := range []string{"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"} {
		t.Run(policy, func(t *testing.T) {
			eng := dial(t, startServer(t).Addr().String())
			volatile := strings.HasPrefix(policy, "volatile-")
			for _, args := range [][]string{
				{"CONFIG", "SET", "maxmemory", strconv.Itoa(limit)},
				{"CONFIG", "SET", "maxmemory-policy", policy},
				{"CONFIG", "SET", "notify-keyspace-events", "Ee"},
			} {
				if r := eng.do(t, args...); r.Type == '-' {
					t.Fatalf("%q: %s", args, r.Str)
				}
			}
			for i := range 20000 {
				args := []string{"SET", fmt.Sprintf("k:%d", i), value}
				if volatile && i%2 == 0 {
					args = append(args, "EX", strconv.Itoa(100000+i))
				}
				r := eng.do(t, args...)
				if r.Type == '-' {
					if volatile && strings.HasPrefix(string(r.Str), "OOM") {
						break // no key with a TTL left: Redis says the same
					}
					t.Fatalf("SET k:%d: %s", i, r.Str)
				}
			}
			info := string(eng.do(t, "INFO").Str)
			used, evicted := infoInt(t, info, "used_memory"), infoInt(t, info, "evicted_keys")
			if used > limit+4096 { // a write may end a little over: the check comes before it
				t.Errorf("used_memory %d over maxmemory %d", used, limit)
			}
			if evicted == 0 {
				t.Fatalf("nothing evicted:\n%s", info)
			}
			keys := eng.do(t, "DBSIZE").Int
			if keys >= 20000 || keys < 100 {
				t.Errorf("DBSIZE %d after eviction", keys)
			}
			if volatile {
				for i := 1; i < 20000; i += 2 { // never had a TTL: never evicted
					if r := eng.do(t, "EXISTS", fmt.Sprintf("k:%d", i)); r.Int != 1 && i < 2*int(keys)/3 {
						t.Fatalf("k:%d, without a TTL, was evicted under %s", i, policy)
					}
				}
			}
		})
	}
}

// TestEvictionSparesRecentlyUsedKeys: under the LRU and LFU policies the
// keys read while the others sat idle (LRU clocks count seconds, as
// Redis's) or read often (LFU) outlive an eviction wave.
func TestEvictionSparesRecentlyUsedKeys(t *testing.T) {
	const limit = 4 << 20
	value := strings.Repeat("v", 1000)
	for _, policy := range []string{"allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu"} {
		t.Run(policy, func(t *testing.T) {
			eng := dial(t, startServer(t).Addr().String())
			eng.do(t, "CONFIG", "SET", "maxmemory", strconv.Itoa(limit))
			eng.do(t, "CONFIG", "SET", "maxmemory-policy", policy)
			set := func(k string) {
				if r := eng.do(t, "SET", k, value, "EX", "100000"); r.Type == '-' {
					t.Fatalf("SET %s: %s", k, r.Str)
				}
			}
			for i := range 2500 { // about 2.7 MB, with the 1 MB base under the limit: no eviction yet
				set(fmt.Sprintf("old:%d", i))
			}
			hot := []string{"old:10", "old:1500", "old:2490"}
			if strings.HasSuffix(policy, "-lru") {
				time.Sleep(2100 * time.Millisecond)
			}
			for range 100 {
				for _, k := range hot {
					eng.do(t, "GET", k)
				}
			}
			// Evicts about 200 keys: few enough that a sample of 5 almost
			// never holds recently used keys only.
			for i := range 500 {
				set(fmt.Sprintf("new:%d", i))
			}
			if n := infoInt(t, string(eng.do(t, "INFO", "stats").Str), "evicted_keys"); n < 100 {
				t.Fatalf("only %d keys evicted", n)
			}
			for _, k := range hot {
				if eng.do(t, "EXISTS", k).Int != 1 {
					t.Errorf("%s, read while the others sat idle, was evicted under %s", k, policy)
				}
			}
		})
	}
}

func infoInt(t *testing.T, info, field string) int64 {
	t.Helper()
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return n
		}
	}
	t.Fatalf("INFO has no %s", field)
	return 0
}

// TestStaleReplicaMatchesRedisServer: with replica-serve-stale-data no, a
// replica whose master is unreachable refuses what is not flagged stale
// (MASTERDOWN), inside EXEC too, as redis-server does.
func TestStaleReplicaMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareArgs(t, real, eng, [][]string{
		{"SET", "x", "1"},
		{"CONFIG", "SET", "replica-serve-stale-data", "no"},
		{"REPLICAOF", "127.0.0.1", "1"},
		{"GET", "x"},
		{"PING"},
		{"MULTI"},
		{"GET", "x"},
		{"EXEC"},
		{"CONFIG", "GET", "slave-serve-stale-data"},
		{"CONFIG", "SET", "replica-serve-stale-data", "yes"},
		{"GET", "x"},
		{"REPLICAOF", "NO", "ONE"},
		{"GET", "x"},
	})
}

// TestRestoreAccessHintsMatchRedisServer: RESTORE's IDLETIME sets the idle
// time OBJECT IDLETIME reports under an LRU policy, and FREQ the counter
// OBJECT FREQ reports under an LFU one; each is ignored under the other.
func TestRestoreAccessHintsMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	real.do(t, "SET", "src", "value")
	payload := string(real.do(t, "DUMP", "src").Str)
	// Both clocks tick in whole seconds: the two servers may read the idle
	// time on either side of a tick, so it may differ by one.
	for _, restore := range [][]string{
		{"RESTORE", "idle", "0", payload, "IDLETIME", "1000"},
		{"RESTORE", "idle", "0", payload, "REPLACE", "IDLETIME", "86400", "FREQ", "9"},
	} {
		compareArgs(t, real, eng, [][]string{restore})
		want, got := real.do(t, "OBJECT", "IDLETIME", "idle"), eng.do(t, "OBJECT", "IDLETIME", "idle")
		if want.Type != ':' || got.Type != ':' || got.Int < want.Int-1 || got.Int > want.Int+1 {
			t.Errorf("OBJECT IDLETIME after %q: redis %s, engine %s", restore, show(want), show(got))
		}
	}
	compareArgs(t, real, eng, [][]string{
		{"CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"},
		{"RESTORE", "hot", "0", payload, "FREQ", "100"},
		{"OBJECT", "FREQ", "hot"},
		{"RESTORE", "hot", "0", payload, "REPLACE", "IDLETIME", "5"},
		{"OBJECT", "FREQ", "hot"},
		{"RESTORE", "bad", "0", payload, "FREQ", "256"},
		{"CONFIG", "SET", "maxmemory-policy", "noeviction"},
	})
}
