package enginetest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/redis/go-redis/v9"
)

// TestRealRedisReplicatesFromEngine: a real redis-server REPLICAOF an
// engine node loads its RDB snapshot (every type, TTLs) over PSYNC and then
// follows the live write stream.
func TestRealRedisReplicatesFromEngine(t *testing.T) {
	eng := startEngine(t)
	ec := client(t, eng.Addr())
	ctx := context.Background()
	keys := fillAllTypes(t, ec)
	rs := redistest.Start(t, redistest.Options{})
	real := client(t, rs.Addr(), func(o *redis.Options) { o.Protocol = 2 })
	h, p := hostPort(eng.Addr())
	if err := real.Do(ctx, "REPLICAOF", h, p).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "redis-server replica to sync", func() bool {
		return strings.Contains(real.Info(ctx, "replication").Val(), "master_link_status:up") &&
			real.DBSize(ctx).Val() == ec.DBSize(ctx).Val()
	})
	for _, k := range keys {
		if got, want := snapshot(t, real, k), snapshot(t, ec, k); got != want {
			t.Fatalf("%s on the redis replica: %.80s, engine has %.80s", k, got, want)
		}
	}
	if ttl := real.TTL(ctx, "str3").Val(); ttl < 59*time.Minute {
		t.Fatalf("TTL lost in the RDB snapshot: %v", ttl)
	}
	// the live stream: plain writes, relative TTLs and random effects
	ec.Set(ctx, "live", "1", 0)
	ec.Incr(ctx, "live")
	ec.Set(ctx, "ttl", "x", 30*time.Second)
	ec.SPop(ctx, "set3")
	ec.Del(ctx, "hash600")
	waitFor(t, 5*time.Second, "live writes on the redis replica", func() bool {
		return real.Get(ctx, "live").Val() == "2" && real.Exists(ctx, "hash600").Val() == 0
	})
	if got, want := snapshot(t, real, "set3"), snapshot(t, ec, "set3"); got != want {
		t.Fatalf("SPOP replicated as %s, engine has %s", got, want)
	}
	if ttl := real.PTTL(ctx, "ttl").Val(); ttl <= 25*time.Second || ttl > 30*time.Second {
		t.Fatalf("relative TTL on the replica: %v", ttl)
	}
	if info := ec.Info(ctx, "replication").Val(); !strings.Contains(info, "connected_slaves:1") {
		t.Fatalf("engine INFO replication:\n%s", info)
	}
}

// TestRedisCLIRdbFromEngine: `redis-cli --rdb` (SYNC) saves an RDB file
// of an engine node that the rdb package reads back completely.
func TestRedisCLIRdbFromEngine(t *testing.T) {
	eng := startEngine(t)
	ec := client(t, eng.Addr())
	keys := fillAllTypes(t, ec)
	file := filepath.Join(t.TempDir(), "dump.rdb")
	h, p := hostPort(eng.Addr())
	out := redisCLI(t, "-h", h, "-p", p, "--rdb", file)
	if !strings.Contains(out, "Transfer finished with success") {
		t.Fatalf("redis-cli --rdb: %s", out)
	}
	_, entries, err := rdb.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(keys) {
		t.Fatalf("RDB holds %d keys, want %d", len(entries), len(keys))
	}
	// each entry must equal the live value: restore it under a new name and compare
	ctx := context.Background()
	for _, e := range entries {
		if err := ec.Restore(ctx, "copy:"+string(e.Key), 0, string(rdb.EncodeDump(e.Value))).Err(); err != nil {
			t.Fatal(err)
		}
		if got, want := snapshot(t, ec, "copy:"+string(e.Key)), snapshot(t, ec, string(e.Key)); got != want {
			t.Fatalf("%s in the RDB file: %.80s, live %.80s", e.Key, got, want)
		}
		if string(e.Key) == "str3" && e.ExpireAt < time.Now().Add(59*time.Minute).UnixMilli() {
			t.Fatalf("str3 expiry in the RDB file: %d", e.ExpireAt)
		}
	}
}
