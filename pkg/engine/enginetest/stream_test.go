package enginetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// Streams across nodes: replication (engine and redis-server masters and
// replicas in every pairing), DUMP/RESTORE and MIGRATE both ways, always
// with consumer groups and pending entries, compared by the full state a
// client can read.

// streamWorkload writes streams the way applications do: entries added
// with and without IDs, trimmed exactly and approximately, deleted;
// groups read with and without NOACK, by a client that was blocked and by
// plain reads; claims, autoclaims of deleted entries, acks, SETID.
func streamWorkload(t *testing.T, addr string, tag string) {
	t.Helper()
	ctx := context.Background()
	c := client(t, addr, func(o *redis.Options) { o.Protocol = 2 })
	do := func(args ...any) {
		t.Helper()
		if err := c.Do(ctx, args...).Err(); err != nil && err != redis.Nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	key := "stream:" + tag
	do("CONFIG", "SET", "stream-node-max-entries", "5")
	for i := range 40 {
		do("XADD", key, "*", "n", i, "tag", tag)
	}
	do("XADD", key, "MAXLEN", "~", "30", "*", "n", "trimmed")
	do("XADD", key, "MINID", "=", "0-1", "*", "other", "fields", "x", "y")
	do("XTRIM", key, "MAXLEN", "~", "25")
	first := c.XRange(ctx, key, "-", "+").Val()
	do("XDEL", key, first[2].ID, first[3].ID)
	do("XGROUP", "CREATE", key, "g1", "0")
	do("XGROUP", "CREATE", key, "g2", "$", "ENTRIESREAD", "3")
	do("XGROUP", "CREATE", key+":empty", "g", "$", "MKSTREAM")
	do("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "6", "STREAMS", key, ">")
	do("XREADGROUP", "GROUP", "g1", "bob", "NOACK", "COUNT", "2", "STREAMS", key, ">")
	do("XREADGROUP", "GROUP", "g1", "carol", "COUNT", "4", "STREAMS", key, ">")
	do("XGROUP", "CREATECONSUMER", key, "g1", "idle")
	do("XACK", key, "g1", first[0].ID)
	do("XCLAIM", key, "g1", "bob", "0", first[1].ID, first[4].ID, "RETRYCOUNT", "5")
	do("XDEL", key, first[5].ID)
	do("XAUTOCLAIM", key, "g1", "dave", "0", "0", "COUNT", "3")
	do("XCLAIM", key, "g1", "erin", "0", first[7].ID, "JUSTID", "LASTID", first[30%len(first)].ID)

	// a reader blocked on the group, served by the next XADD
	blocked := client(t, addr, func(o *redis.Options) { o.Protocol = 2 })
	done := make(chan error, 1)
	go func() {
		done <- blocked.Do(ctx, "XREADGROUP", "GROUP", "g2", "frank", "BLOCK", "0", "STREAMS", key, ">").Err()
	}()
	waitFor(t, 5*time.Second, "the reader to block", func() bool {
		return replInfo(t, c, "clients", "blocked_clients") == "1"
	})
	do("XADD", key, "*", "wakes", "frank")
	if err := <-done; err != nil {
		t.Fatalf("blocked XREADGROUP: %v", err)
	}
	do("XGROUP", "SETID", key, "g2", "0", "ENTRIESREAD", "0")
	do("XREADGROUP", "GROUP", "g2", "gina", "NOACK", "COUNT", "3", "STREAMS", key, ">")
	do("XGROUP", "DELCONSUMER", key, "g1", "carol")
	do("XSETID", key, "99999999999999-0", "ENTRIESADDED", "1000", "MAXDELETEDID", "99999999999998-5")
	do("XGROUP", "CREATE", key, "doomed", "0")
	do("XGROUP", "DESTROY", key, "doomed")
	do("MULTI")
	do("XADD", key, "99999999999999-1", "in", "multi")
	do("XREADGROUP", "GROUP", "g2", "gina", "STREAMS", key, ">")
	do("EXEC")
}

// streamState is everything a client can read of the streams of addr,
// consumers' seen times left out (a replica sets them when it applies),
// and, when replicated, the groups' read counters: Redis propagates a
// group read as XCLAIM ... LASTID, which carries no counter, so a Redis
// replica's entries-read and lag can differ from its master's.
func streamState(t *testing.T, c *redis.Client, replicated ...bool) string {
	t.Helper()
	ctx := context.Background()
	keys := c.Keys(ctx, "stream:*").Val()
	var b strings.Builder
	for _, k := range sortedStrings(keys) {
		full := c.Do(ctx, "XINFO", "STREAM", k, "FULL", "COUNT", "0").Val()
		if len(replicated) > 0 {
			full = dropFields(full, "entries-read", "lag")
		}
		fmt.Fprintf(&b, "%s %s %v\n", k, c.Type(ctx, k).Val(), dropFields(full, "seen-time"))
		fmt.Fprintf(&b, "  pending g1 %v\n", c.Do(ctx, "XPENDING", k, "g1").Val())
	}
	return b.String()
}

func sortedStrings(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// dropFields blanks the value after every field named one of names.
func dropFields(v any, names ...string) any {
	named := func(k any) bool {
		for _, n := range names {
			if k == n {
				return true
			}
		}
		return false
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			if i > 0 && named(x[i-1]) {
				out[i] = "-"
				continue
			}
			out[i] = dropFields(e, names...)
		}
		return out
	}
	return v
}

func waitSameStreams(t *testing.T, master, replica *redis.Client, what string) {
	t.Helper()
	var want, got string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		want, got = streamState(t, master, true), streamState(t, replica, true)
		if want == got && want != "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: the replica's streams differ: %s", what, firstDifference(want, got))
}

// firstDifference shows where two states part, with some context.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(i-200, 0)
	return fmt.Sprintf("\n  want ...%s\n  got  ...%s", a[from:min(i+80, len(a))], b[from:min(i+80, len(b))])
}

// TestStreamReplicationEveryPairing: what a master's stream commands
// become on a replica (XCLAIM and XGROUP SETID forms, exact trims, the
// concrete IDs of XADD *) rebuilds the same streams, groups and PELs, for
// an engine replica of an engine master and of redis-server, and a
// redis-server replica of an engine; the initial sync carries streams in
// the RDB.
func TestStreamReplicationEveryPairing(t *testing.T) {
	ctx := context.Background()
	for _, pair := range []struct{ master, replica string }{
		{"engine", "engine"}, {"redis", "engine"}, {"engine", "redis"},
	} {
		t.Run(pair.master+"_to_"+pair.replica, func(t *testing.T) {
			start := func(kind string) (string, string, int) {
				if kind == "redis" {
					rs := redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--repl-diskless-sync-delay", "0"}})
					return rs.Addr(), rs.Host, rs.Port
				}
				n := startEngine(t)
				h, p := hostPort(n.Addr())
				var port int
				fmt.Sscan(p, &port)
				return n.Addr(), h, port
			}
			mAddr, mHost, mPort := start(pair.master)
			rAddr, _, _ := start(pair.replica)
			mc := client(t, mAddr, func(o *redis.Options) { o.Protocol = 2 })
			rc := client(t, rAddr, func(o *redis.Options) { o.Protocol = 2 })
			// node sizes are each node's own configuration: the same on both
			rc.ConfigSet(ctx, "stream-node-max-entries", "5")
			streamWorkload(t, mAddr, "before-sync")
			if err := rc.Do(ctx, "REPLICAOF", mHost, mPort).Err(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "the replica to sync", func() bool {
				return replInfo(t, rc, "replication", "master_link_status") == "up"
			})
			waitSameStreams(t, mc, rc, "after the full sync")
			streamWorkload(t, mAddr, "streamed")
			waitSameStreams(t, mc, rc, "after the streamed writes")
		})
	}
}

// TestStreamDumpRestoreMigrateWithRedisServer: a stream with groups moves
// from redis-server to the engine and back by DUMP/RESTORE and by MIGRATE
// (engine to redis-server and redis-server to engine), unchanged.
func TestStreamDumpRestoreMigrateWithRedisServer(t *testing.T) {
	ctx := context.Background()
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	eng := startEngine(t)
	rc := client(t, rs.Addr(), func(o *redis.Options) { o.Protocol = 2 })
	ec := client(t, eng.Addr(), func(o *redis.Options) { o.Protocol = 2 })
	streamWorkload(t, rs.Addr(), "r")
	want := streamState(t, rc)
	key := "stream:r"
	payload, err := rc.Dump(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := ec.Restore(ctx, key, 0, payload).Err(); err != nil {
		t.Fatalf("engine RESTORE of redis-server's stream: %v", err)
	}
	back, err := ec.Dump(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Do(ctx, "RESTORE", key+":back", "0", back).Err(); err != nil {
		t.Fatalf("redis-server RESTORE of the engine's stream: %v", err)
	}
	// the round-tripped copy takes the original's place
	rc.Del(ctx, key)
	rc.Rename(ctx, key+":back", key)
	if got := streamState(t, rc); got != want {
		t.Fatalf("redis-server -> engine -> redis-server changed the stream:\n%s\n%s", want, got)
	}

	// MIGRATE the engine's copy to a fresh redis-server, and back
	other := redistest.Start(t, redistest.Options{Flavor: "redis"})
	oc := client(t, other.Addr(), func(o *redis.Options) { o.Protocol = 2 })
	host, port := hostPort(other.Addr())
	if err := ec.Do(ctx, "MIGRATE", host, port, key, "0", "5000").Err(); err != nil {
		t.Fatalf("MIGRATE engine -> redis-server: %v", err)
	}
	if ec.Exists(ctx, key).Val() != 0 {
		t.Fatal("MIGRATE left the stream on the engine")
	}
	oc.Do(ctx, "XGROUP", "CREATE", key+":empty", "g", "$", "MKSTREAM")
	if got := streamState(t, oc); got != want {
		t.Fatalf("after MIGRATE to redis-server:\n%s\n%s", want, got)
	}
	h, p := hostPort(eng.Addr())
	if err := oc.Do(ctx, "MIGRATE", h, p, "", "0", "5000", "KEYS", key, key+":empty").Err(); err != nil {
		t.Fatalf("MIGRATE redis-server -> engine: %v", err)
	}
	if got := streamState(t, ec); got != want {
		t.Fatalf("after MIGRATE back to the engine:\n%s\n%s", want, got)
	}
}

// TestStreamClusterRoutingMatchesRedisServer: stream commands are routed by
// their keys as redis-server routes them in cluster mode: keys of several
// slots are CROSSSLOT (XREAD's keys after STREAMS, XGROUP's and XINFO's
// key after the subcommand), a slot nobody serves is CLUSTERDOWN.
func TestStreamClusterRoutingMatchesRedisServer(t *testing.T) {
	ctx := context.Background()
	rs := redistest.Start(t, redistest.Options{Flavor: "redis", Cluster: true, Args: []string{"--cluster-require-full-coverage", "no"}})
	eng := startEngine(t, "--cluster-enabled", "yes", "--cluster-require-full-coverage", "no")
	cmds := [][]any{
		{"XADD", "{a}1", "1-1", "f", "v"},
		{"XADD", "{a}2", "1-1", "f", "v"},
		{"XADD", "{b}1", "1-1", "f", "v"},
		{"XREAD", "STREAMS", "{a}1", "{a}2", "0", "0"},
		{"XREAD", "STREAMS", "{a}1", "{b}1", "0", "0"},
		{"XREAD", "COUNT", "1", "BLOCK", "10", "STREAMS", "{a}1", "{b}1", "0", "0"},
		{"XGROUP", "CREATE", "{a}1", "g", "0"},
		{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "{a}1", "{b}1", ">", ">"},
		{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "{a}1", ">"},
		{"XINFO", "GROUPS", "{a}1"},
		{"XGROUP", "HELP"},
		{"XADD", "unserved", "1-1", "f", "v"},
		{"XINFO", "STREAM", "unserved"},
		{"XGROUP", "CREATE", "unserved", "g", "$", "MKSTREAM"},
		{"XREAD", "STREAMS", "unserved", "0"},
	}
	var out [2][]string
	for i, addr := range []string{rs.Addr(), eng.Addr()} {
		c := client(t, addr, func(o *redis.Options) { o.Protocol = 2 })
		// every slot but the one of "unserved" (slot 5535)
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "5534").Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "5536", "16383").Err(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "slots served", func() bool { return c.Set(ctx, "{a}probe", "1", 0).Err() == nil })
		for _, cmd := range cmds {
			v, err := c.Do(ctx, cmd...).Result()
			if lines, ok := v.([]any); ok && cmd[1] == "HELP" { // descriptions are the engine's own
				text := make([]string, len(lines))
				for j, l := range lines {
					text[j] = fmt.Sprint(l)
				}
				v = redistest.HelpSyntax(text)
			}
			out[i] = append(out[i], fmt.Sprintf("%v -> %v %v", cmd, v, err))
		}
	}
	for i := range out[0] {
		if out[0][i] != out[1][i] {
			t.Errorf("redis:  %s\nengine: %s", out[0][i], out[1][i])
		}
	}
}
