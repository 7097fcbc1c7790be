package enginetest

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// fillAllTypes writes one key of every type, small (compact encodings in
// Redis) and large (hashtable/quicklist/skiplist encodings).
func fillAllTypes(t *testing.T, c *redis.Client) []string {
	ctx := context.Background()
	var keys []string
	for _, size := range []int{3, 600} {
		p := c.Pipeline()
		suffix := fmt.Sprint(size)
		p.Set(ctx, "str"+suffix, strings.Repeat("v", size), 0)
		p.Set(ctx, "int"+suffix, size*1000, 0)
		for i := range size {
			p.RPush(ctx, "list"+suffix, fmt.Sprint("item", i))
			p.HSet(ctx, "hash"+suffix, fmt.Sprint("f", i), fmt.Sprint("v", i))
			p.SAdd(ctx, "set"+suffix, fmt.Sprint("m", i))
			p.SAdd(ctx, "intset"+suffix, i)
			p.ZAdd(ctx, "zset"+suffix, redis.Z{Score: float64(i) + 0.25, Member: fmt.Sprint("z", i)})
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"str", "int", "list", "hash", "set", "intset", "zset"} {
			keys = append(keys, k+suffix)
		}
	}
	c.Expire(ctx, "str3", time.Hour)
	return keys
}

// snapshot reads a key's full value in a comparable form.
func snapshot(t *testing.T, c *redis.Client, key string) string {
	ctx := context.Background()
	switch typ := c.Type(ctx, key).Val(); typ {
	case "string":
		return "string:" + c.Get(ctx, key).Val()
	case "list":
		return "list:" + strings.Join(c.LRange(ctx, key, 0, -1).Val(), ",")
	case "hash":
		m := c.HGetAll(ctx, key).Val()
		var kv []string
		for k, v := range m {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		return "hash:" + strings.Join(kv, ",")
	case "set":
		m := c.SMembers(ctx, key).Val()
		sort.Strings(m)
		return "set:" + strings.Join(m, ",")
	case "zset":
		return fmt.Sprint("zset:", c.ZRangeWithScores(ctx, key, 0, -1).Val())
	default:
		return "missing:" + typ
	}
}

// TestDumpRestoreWithRedisServer: DUMP payloads from real redis-server
// restore into the engine, and the engine's DUMP payloads restore into
// real redis-server, for every type and encoding.
func TestDumpRestoreWithRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	eng := startEngine(t)
	ctx := context.Background()
	real := client(t, rs.Addr(), func(o *redis.Options) { o.Protocol = 2 })
	ec := client(t, eng.Addr())
	keys := fillAllTypes(t, real)
	for _, k := range keys {
		want := snapshot(t, real, k)
		payload, err := real.Dump(ctx, k).Result()
		if err != nil {
			t.Fatalf("redis DUMP %s: %v", k, err)
		}
		if err := ec.Restore(ctx, k, 0, payload).Err(); err != nil {
			t.Fatalf("engine RESTORE %s: %v", k, err)
		}
		if got := snapshot(t, ec, k); got != want {
			t.Fatalf("%s after redis->engine: got %.80s want %.80s", k, got, want)
		}
		back, err := ec.Dump(ctx, k).Result()
		if err != nil {
			t.Fatalf("engine DUMP %s: %v", k, err)
		}
		if err := real.RestoreReplace(ctx, k+":back", 0, back).Err(); err != nil {
			t.Fatalf("redis RESTORE of engine payload %s: %v", k, err)
		}
		if got := snapshot(t, real, k+":back"); got != want {
			t.Fatalf("%s after engine->redis: got %.80s want %.80s", k, got, want)
		}
	}
	payload := real.Dump(ctx, "str3").Val()
	if err := ec.Restore(ctx, "str3", 0, payload).Err(); err == nil || err.Error() != "BUSYKEY Target key name already exists." {
		t.Fatalf("RESTORE onto existing key: %v", err)
	}
	corrupt := []byte(payload)
	corrupt[1] ^= 0xff
	if err := ec.RestoreReplace(ctx, "bad", 0, string(corrupt)).Err(); err == nil || err.Error() != "ERR DUMP payload version or checksum are wrong" {
		t.Fatalf("RESTORE of corrupt payload: %v", err)
	}
	if err := ec.Do(ctx, "RESTORE", "ttl", "5000", payload, "REPLACE", "IDLETIME", "10").Err(); err != nil {
		t.Fatal(err)
	}
	if ttl := ec.PTTL(ctx, "ttl").Val(); ttl <= 0 || ttl > 5*time.Second {
		t.Fatalf("RESTORE ttl: %v", ttl)
	}
}

// TestMigrateToRedisServer moves keys from the engine into a real
// redis-server with MIGRATE in all its forms.
func TestMigrateToRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Password: "pw"})
	eng := startEngine(t)
	ctx := context.Background()
	real := client(t, rs.Addr(), func(o *redis.Options) { o.Password = "pw" })
	ec := client(t, eng.Addr())
	keys := fillAllTypes(t, ec)
	want := map[string]string{}
	for _, k := range keys {
		want[k] = snapshot(t, ec, k)
	}
	host, port := hostPort(rs.Addr())
	// single key form
	if err := ec.Do(ctx, "MIGRATE", host, port, "str3", 0, 5000, "AUTH", "pw").Err(); err != nil {
		t.Fatal(err)
	}
	if ec.Exists(ctx, "str3").Val() != 0 || snapshot(t, real, "str3") != want["str3"] {
		t.Fatal("single-key MIGRATE did not move str3")
	}
	if ttl := real.TTL(ctx, "str3").Val(); ttl < 3500*time.Second {
		t.Fatalf("TTL not carried by MIGRATE: %v", ttl)
	}
	// KEYS form with COPY keeps the source
	args := []any{"MIGRATE", host, port, "", 0, 5000, "COPY", "AUTH2", "default", "pw", "KEYS"}
	for _, k := range keys[1:] {
		args = append(args, k)
	}
	if err := ec.Do(ctx, args...).Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[1:] {
		if ec.Exists(ctx, k).Val() != 1 || snapshot(t, real, k) != want[k] {
			t.Fatalf("MIGRATE COPY KEYS: %s wrong on one side", k)
		}
	}
	// without REPLACE the target refuses existing keys
	err := ec.Do(ctx, "MIGRATE", host, port, "list3", 0, 5000, "AUTH", "pw").Err()
	if err == nil || !strings.Contains(err.Error(), "BUSYKEY") {
		t.Fatalf("MIGRATE onto existing key: %v", err)
	}
	if ec.Exists(ctx, "list3").Val() != 1 {
		t.Fatal("a failed MIGRATE deleted the source key")
	}
	ec.RPush(ctx, "list3", "extra")
	if err := ec.Do(ctx, "MIGRATE", host, port, "list3", 0, 5000, "REPLACE", "AUTH", "pw").Err(); err != nil {
		t.Fatal(err)
	}
	if got := real.LRange(ctx, "list3", -1, -1).Val(); !reflect.DeepEqual(got, []string{"extra"}) || ec.Exists(ctx, "list3").Val() != 0 {
		t.Fatalf("MIGRATE REPLACE: %v", got)
	}
	if v := ec.Do(ctx, "MIGRATE", host, port, "nosuchkey", 0, 5000, "AUTH", "pw").Val(); v != "NOKEY" {
		t.Fatalf("MIGRATE of missing key: %v", v)
	}
	// a second engine has no cached (authenticated) connection to the target
	other := client(t, startEngine(t).Addr())
	other.Set(ctx, "fresh", "v", 0)
	if err := other.Do(ctx, "MIGRATE", host, port, "fresh", 0, 5000).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("MIGRATE without auth: %v", err)
	}
	closed := redistest.FreePort(t, "127.0.0.1")
	err = ec.Do(ctx, "MIGRATE", "127.0.0.1", closed, "hash3", 0, 500).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "IOERR") {
		t.Fatalf("MIGRATE to a closed port: %v", err)
	}
}
