package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// The in-process enginetest package already round-trips small and large
// keys of every type and exercises MIGRATE's forms from the engine. These
// tests add what it does not: edge values and every compact encoding real
// Redis 7.0 produces (listpack integer widths, intset widths, special
// scores, incompressible and multi-megabyte strings, multi-node
// quicklists), carried between separate processes, and real redis-server
// running MIGRATE *into* an engine process.

// edgeInts covers every listpack/intset integer width and the int64 ends.
var edgeInts = []int64{0, 1, -1, 127, 128, -4096, 4095, -4097, 32767, -32768, 8388607, -8388608,
	8388608, 2147483647, -2147483648, 2147483648, math.MaxInt64, math.MinInt64}

// writeEdgeValues writes keys holding edge values of every type and returns
// their names.
func writeEdgeValues(t *testing.T, c *redis.Client) []string {
	t.Helper()
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 10_000)
	for i := range random {
		random[i] = byte(rnd.IntN(256))
	}
	strs := map[string]string{
		"s:empty": "", "s:binary": "a\x00b\r\nc\xff", "s:zero": "0", "s:neg": "-1",
		"s:max": "9223372036854775807", "s:min": "-9223372036854775808", "s:over": "9223372036854775808",
		"s:lead0": "007", "s:plus": "+5", "s:space": " 5", "s:float": "3.14",
		"s:random": string(random), "s:repeat": strings.Repeat("abcdefgh", 20_000),
		"s:big": strings.Repeat(string(random[:1000]), 2100), // 2.1 MB, LZF finds the repeats
	}
	p := c.Pipeline()
	var keys []string
	for k, v := range strs {
		p.Set(ctx, k, v, 0)
		keys = append(keys, k)
	}
	var intStrs []any
	var zs []redis.Z
	for _, n := range edgeInts {
		intStrs = append(intStrs, n)
		zs = append(zs, redis.Z{Score: float64(n), Member: strconv.FormatInt(n, 10)})
	}
	p.RPush(ctx, "l:ints", append(intStrs, "", "x", "007")...)
	p.HSet(ctx, "h:ints", "a", 0, "b", -1, "c", math.MaxInt64, "d", math.MinInt64, "e", 8388608, "f", "", "", "empty field")
	for i := range 5000 { // several quicklist nodes
		p.RPush(ctx, "l:long", fmt.Sprint("element-", i, "-", strings.Repeat("x", i%50)))
	}
	for i := range 1000 {
		p.HSet(ctx, "h:table", fmt.Sprint("field", i), i)
		p.SAdd(ctx, "set:table", fmt.Sprint("m", i))
		p.ZAdd(ctx, "z:skiplist", redis.Z{Score: float64(i) / 3, Member: fmt.Sprint("member", i)})
	}
	p.HSet(ctx, "h:longvalue", "f", strings.Repeat("v", 100)) // over hash-max-listpack-value
	p.SAdd(ctx, "set:int16", 1, 2, -300, 32767)
	p.SAdd(ctx, "set:int32", 1, 70000, -2147483648)
	p.SAdd(ctx, "set:int64", 1, math.MaxInt64, math.MinInt64)
	p.ZAdd(ctx, "z:ints", zs...)
	p.ZAdd(ctx, "z:special", redis.Z{Score: math.Inf(1), Member: "inf"}, redis.Z{Score: math.Inf(-1), Member: "-inf"},
		redis.Z{Score: 1e300, Member: "huge"}, redis.Z{Score: 1e-300, Member: "tiny"},
		redis.Z{Score: math.Pi, Member: "pi"}, redis.Z{Score: -0.5, Member: "neg"})
	p.ZAdd(ctx, "z:longmember", redis.Z{Score: 1, Member: strings.Repeat("m", 100)}, redis.Z{Score: 2, Member: "short"})
	if _, err := p.Exec(ctx); err != nil {
		t.Fatalf("write edge values: %v", err)
	}
	keys = append(keys, "l:ints", "h:ints", "l:long", "h:table", "set:table", "z:skiplist", "h:longvalue",
		"set:int16", "set:int32", "set:int64", "z:ints", "z:special", "z:longmember")
	return keys
}

// TestDumpRestoreEdgeValuesBetweenProcesses: DUMP payloads of edge values
// from real redis-server restore into an engine process unchanged, and the
// engine's own DUMP of them restores into redis-server unchanged.
func TestDumpRestoreEdgeValuesBetweenProcesses(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	eng := Start(t, Options{})
	real, ec := rs.Client(), client(t, eng)
	t.Cleanup(func() { real.Close() })
	ctx := context.Background()
	for _, k := range writeEdgeValues(t, real) {
		want := readValue(real, k)
		payload, err := real.Dump(ctx, k).Result()
		if err != nil {
			t.Fatalf("redis DUMP %s: %v", k, err)
		}
		if err := ec.Restore(ctx, k, 0, payload).Err(); err != nil {
			t.Errorf("engine RESTORE of redis's %s payload: %v", k, err)
			continue
		}
		if got := readValue(ec, k); got != want {
			t.Errorf("%s redis -> engine: got %.100q want %.100q", k, got, want)
			continue
		}
		back, err := ec.Dump(ctx, k).Result()
		if err != nil {
			t.Fatalf("engine DUMP %s: %v", k, err)
		}
		if err := real.RestoreReplace(ctx, k+":back", 0, back).Err(); err != nil {
			t.Errorf("redis RESTORE of the engine's %s payload: %v", k, err)
			continue
		}
		if got := readValue(real, k+":back"); got != want {
			t.Errorf("%s engine -> redis: got %.100q want %.100q", k, got, want)
		}
	}
	// ABSTTL: an absolute unix-ms expiry, as redis-cli --cluster import and backups use
	at := time.Now().Add(time.Hour).UnixMilli()
	payload := real.Dump(ctx, "s:zero").Val()
	if err := ec.Do(ctx, "RESTORE", "abs", at, payload, "ABSTTL").Err(); err != nil {
		t.Fatalf("RESTORE ABSTTL: %v", err)
	}
	if got := ec.Do(ctx, "PEXPIRETIME", "abs").Val(); got != at {
		t.Fatalf("PEXPIRETIME after RESTORE ABSTTL = %v, want %d", got, at)
	}
	if err := ec.Do(ctx, "RESTORE", "past", time.Now().Add(-time.Hour).UnixMilli(), payload, "ABSTTL").Err(); err != nil {
		t.Fatalf("RESTORE ABSTTL in the past: %v", err)
	}
	if n := ec.Exists(ctx, "past").Val(); n != 0 {
		t.Fatal("a key restored with an ABSTTL in the past exists")
	}
}

// TestRedisServerMigratesIntoEngine: real redis-server runs MIGRATE with an
// engine process as the target (SELECT, AUTH/AUTH2, RESTORE with REPLACE,
// pipelined KEYS), and the engine MIGRATEs the same edge values on to a
// second redis-server, which must end with identical values and TTLs.
func TestRedisServerMigratesIntoEngine(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	eng := Start(t, Options{Password: "engine-pw"})
	final := redistest.Start(t, redistest.Options{Password: "final-pw"})
	real, ec, fc := rs.Client(), client(t, eng), final.Client()
	t.Cleanup(func() { real.Close(); fc.Close() })
	ctx := context.Background()
	keys := writeEdgeValues(t, real)
	real.Expire(ctx, "s:binary", time.Hour)
	want := map[string]string{}
	for _, k := range keys {
		want[k] = readValue(real, k)
	}
	migrate := func(src *redis.Client, to string, opts ...any) error {
		host, port, _ := strings.Cut(to, ":")
		args := append([]any{"MIGRATE", host, port, "", 0, 10000}, opts...)
		args = append(args, "KEYS")
		for _, k := range keys {
			args = append(args, k)
		}
		return src.Do(ctx, args...).Err()
	}

	// COPY with AUTH: the source keeps its keys
	if err := migrate(real, eng.Addr(), "COPY", "AUTH", "engine-pw"); err != nil {
		t.Fatalf("redis-server MIGRATE COPY AUTH into the engine: %v", err)
	}
	for _, k := range keys {
		if got := readValue(ec, k); got != want[k] {
			t.Errorf("%s migrated by redis-server: got %.100q want %.100q", k, got, want[k])
		}
	}
	if ttl := ec.TTL(ctx, "s:binary").Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("TTL carried by redis-server's MIGRATE = %v, want about 1h", ttl)
	}
	if n := real.Exists(ctx, keys...).Val(); n != int64(len(keys)) {
		t.Fatalf("MIGRATE COPY removed source keys: %d of %d left", n, len(keys))
	}
	// without REPLACE the engine refuses existing keys, and redis says so
	err := migrate(real, eng.Addr(), "AUTH", "engine-pw")
	if err == nil || !strings.Contains(err.Error(), "BUSYKEY") {
		t.Fatalf("MIGRATE onto existing keys: %v, want a BUSYKEY error", err)
	}
	// REPLACE with AUTH2 moves changed values and deletes the source keys
	real.RPush(ctx, "l:ints", "appended")
	want["l:ints"] = readValue(real, "l:ints")
	if err := migrate(real, eng.Addr(), "REPLACE", "AUTH2", "default", "engine-pw"); err != nil {
		t.Fatalf("redis-server MIGRATE REPLACE AUTH2 into the engine: %v", err)
	}
	if got := readValue(ec, "l:ints"); got != want["l:ints"] {
		t.Fatalf("l:ints after MIGRATE REPLACE: %.100q", got)
	}
	if n := real.Exists(ctx, keys...).Val(); n != 0 {
		t.Fatalf("%d source keys left after MIGRATE without COPY", n)
	}

	// and on from the engine to another redis-server
	if err := migrate(ec, final.Addr(), "AUTH2", "default", "final-pw"); err != nil {
		t.Fatalf("engine MIGRATE to redis-server: %v", err)
	}
	for _, k := range keys {
		if got := readValue(fc, k); got != want[k] {
			t.Errorf("%s after redis -> engine -> redis: got %.100q want %.100q", k, got, want[k])
		}
	}
	if ttl := fc.TTL(ctx, "s:binary").Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("TTL after two MIGRATEs = %v, want about 1h", ttl)
	}
	if n := ec.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("engine still holds %d keys after MIGRATE without COPY", n)
	}
}
