package server

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestScanExpiresWhatItMeets: SCAN deletes the expired keys it visits and
// replicas get the DELs alone, not in a MULTI, as on redis-server.
func TestScanExpiresWhatItMeets(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--enable-debug-command", "yes"}})
	srv := startServerArgs(t, "--enable-debug-command", "yes", "--dir", t.TempDir())
	streams := map[string][]string{}
	for _, addr := range []string{rs.Addr(), srv.Addr().String()} {
		c := dial(t, addr)
		c.do(t, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
		c.do(t, "SET", "foo1", "bar", "PX", "1")
		c.do(t, "SET", "foo2", "bar", "PX", "1")
		time.Sleep(10 * time.Millisecond)
		br := replicationStream(t, addr)
		if n := c.do(t, "DBSIZE").Int; n != 2 {
			t.Fatalf("%s: DBSIZE %d before SCAN, want the 2 expired keys still counted", addr, n)
		}
		c.do(t, "SCAN", "0")
		if n := c.do(t, "DBSIZE").Int; n != 0 {
			t.Errorf("%s: DBSIZE %d after SCAN, want 0", addr, n)
		}
		c.do(t, "SET", "marker", "end")
		streams[addr] = streamUntil(t, br, "end")
	}
	norm := func(lines []string) string { // the two keys may come in either order
		out := strings.Join(lines, "\n")
		return strings.NewReplacer("foo1", "fooN", "foo2", "fooN").Replace(out)
	}
	if want, got := norm(streams[rs.Addr()]), norm(streams[srv.Addr().String()]); want != got {
		t.Fatalf("replication streams differ:\n%s", sideBySide(streams[rs.Addr()], streams[srv.Addr().String()]))
	}
}

// TestSetWithPastExpiryKeepsTheKeyUntilLookup: Redis 7.0's SET (and
// SETEX) stores a TTL that is already past without deleting the key; the
// key goes at its next lookup. The engine deleted it in SET when a
// millisecond went by between reading the clock and setting the TTL, so
// SET k v PX 1 could lose its key before any lookup.
func TestSetWithPastExpiryKeepsTheKeyUntilLookup(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--enable-debug-command", "yes"}}).Addr())
	eng := dial(t, startServerArgs(t, "--enable-debug-command", "yes").Addr().String())
	compareArgs(t, real, eng, [][]string{
		{"DEBUG", "SET-ACTIVE-EXPIRE", "0"},
		{"SET", "k1", "v", "PXAT", "1"},
		{"SET", "k2", "v", "EXAT", "1"},
		{"DBSIZE"},
		{"GET", "k1"},
		{"DBSIZE"},
		{"EXISTS", "k2"},
		{"DBSIZE"},
	})
}

// TestSharedIntegersAndSortKeysMatchRedisServer: OBJECT REFCOUNT reports
// Redis's shared integers (0-9999), COMMAND GETKEYS of SORT names only the
// last STORE, and INFO counts MIGRATE's cached sockets.
func TestSharedIntegersAndSortKeysMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	var cmds [][]string
	for _, v := range []string{"0", "9999", "10000", "-1", "01", "abc", "3.0"} {
		cmds = append(cmds, []string{"SET", "k", v}, []string{"OBJECT", "REFCOUNT", "k"})
	}
	cmds = append(cmds,
		[]string{"SET", "n", "-1"}, []string{"INCR", "n"}, []string{"OBJECT", "REFCOUNT", "n"},
		[]string{"SET", "n", "9999"}, []string{"INCR", "n"}, []string{"OBJECT", "REFCOUNT", "n"},
		[]string{"RPUSH", "l", "1"}, []string{"OBJECT", "REFCOUNT", "l"},
		[]string{"CONFIG", "SET", "maxmemory", "100mb"}, []string{"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"},
		[]string{"SET", "k", "5"}, []string{"OBJECT", "REFCOUNT", "k"},
		[]string{"CONFIG", "SET", "maxmemory", "0"}, []string{"CONFIG", "SET", "maxmemory-policy", "noeviction"},
		[]string{"COMMAND", "GETKEYS", "SORT", "abc", "STORE", "invalid", "STORE", "stillbad", "STORE", "def"},
		[]string{"COMMAND", "GETKEYS", "SORT", "abc", "LIMIT", "0", "1", "STORE", "def", "GET", "#"},
	)
	compareArgs(t, real, eng, cmds)
	for name, c := range map[string]*rawConn{"redis-server": real, "engine": eng} {
		if info := string(c.do(t, "INFO", "stats").Str); !strings.Contains(info, "migrate_cached_sockets:0") {
			t.Errorf("%s INFO stats has no migrate_cached_sockets:0", name)
		}
	}
}

// TestInfoCountsHitsMissesAndChannels: INFO stats counts the keys reads
// found and missed, and the channels and patterns with subscribers, as
// redis-server does for the same commands.
func TestInfoCountsHitsMissesAndChannels(t *testing.T) {
	realAddr := redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr()
	engAddr := startServer(t).Addr().String()
	fields := []string{"keyspace_hits", "keyspace_misses", "pubsub_channels", "pubsub_patterns"}
	got := map[string]map[string]string{}
	for _, addr := range []string{realAddr, engAddr} {
		c, sub := dial(t, addr), dial(t, addr)
		sub.do(t, "SUBSCRIBE", "a")
		sub.do(t, "SUBSCRIBE", "b")
		sub.do(t, "PSUBSCRIBE", "p*")
		c.do(t, "CONFIG", "RESETSTAT")
		for _, args := range [][]string{
			{"SET", "k", "v"}, {"GET", "k"}, {"GET", "nope"}, {"MGET", "k", "nope", "k"},
			{"EXISTS", "k"}, {"STRLEN", "nope"}, {"HGET", "nope", "f"}, {"SET", "k", "w"},
		} {
			c.do(t, args...)
		}
		info := string(c.do(t, "INFO", "stats").Str)
		got[addr] = map[string]string{}
		for _, line := range strings.Split(info, "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				got[addr][k] = v
			}
		}
	}
	for _, f := range fields {
		if got[realAddr][f] != got[engAddr][f] {
			t.Errorf("INFO %s: redis-server %q, engine %q", f, got[realAddr][f], got[engAddr][f])
		}
	}
}

// TestMigrateCopyLeavesAWatchAlone: MIGRATE ... COPY changes nothing on
// the source, so a WATCH on the copied keys survives it and the EXEC that
// follows runs, as on redis-server; a plain MIGRATE deletes the keys,
// which fails the EXEC. gocluster moves keys this way (copy under WATCH,
// delete in EXEC once the target's replicas have them).
func TestMigrateCopyLeavesAWatchAlone(t *testing.T) {
	real := redistest.Start(t, redistest.Options{Flavor: "redis"})
	realTarget := redistest.Start(t, redistest.Options{Flavor: "redis"})
	eng := startServer(t)
	engTarget := startServer(t)
	for _, tc := range []struct{ name, src, dst string }{
		{"redis-server", real.Addr(), realTarget.Addr()},
		{"engine", eng.Addr().String(), engTarget.Addr().String()},
	} {
		c := dial(t, tc.src)
		host, port, _ := net.SplitHostPort(tc.dst)
		for _, copyKeys := range []bool{true, false} {
			c.do(t, "SET", "k", "v")
			c.do(t, "WATCH", "k")
			args := []string{"MIGRATE", host, port, "", "0", "5000"}
			if copyKeys {
				args = append(args, "COPY")
			}
			if r := c.do(t, append(args, "REPLACE", "KEYS", "k")...); r.Type != '+' {
				t.Fatalf("%s %v: %s", tc.name, args, show(r))
			}
			c.do(t, "MULTI")
			c.do(t, "DEL", "k")
			exec := c.do(t, "EXEC")
			ran := !exec.Null && len(exec.Elems) == 1 && exec.Elems[0].Int == 1
			if ran != copyKeys {
				t.Errorf("%s: EXEC after WATCH and MIGRATE (copy %v) = %s (null %v); want it to run only after a COPY", tc.name, copyKeys, show(exec), exec.Null)
			}
		}
	}
}
