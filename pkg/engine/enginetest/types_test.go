package enginetest

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestTypesOverGoRedis exercises every data type through go-redis in both
// RESP3 (go-redis's default, via HELLO 3) and RESP2.
func TestTypesOverGoRedis(t *testing.T) {
	n := startEngine(t)
	for _, proto := range []int{3, 2} {
		t.Run(fmt.Sprint("resp", proto), func(t *testing.T) {
			c := client(t, n.Addr(), func(o *redis.Options) { o.Protocol = proto })
			ctx := context.Background()
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(c.FlushAll(ctx).Err())
			// strings
			must(c.Set(ctx, "s", "hello", 0).Err())
			if v := c.Get(ctx, "s").Val(); v != "hello" {
				t.Fatalf("get %q", v)
			}
			if err := c.Get(ctx, "missing").Err(); err != redis.Nil {
				t.Fatalf("missing key: %v", err)
			}
			if ok := c.SetNX(ctx, "s", "x", 0).Val(); ok {
				t.Fatal("SETNX on existing key")
			}
			if v := c.IncrBy(ctx, "n", 5).Val(); v != 5 {
				t.Fatalf("incrby %d", v)
			}
			if v := c.IncrByFloat(ctx, "f", 1.5).Val(); v != 1.5 {
				t.Fatalf("incrbyfloat %v", v)
			}
			if v := c.Append(ctx, "s", " world").Val(); v != 11 {
				t.Fatalf("append %d", v)
			}
			if v := c.GetRange(ctx, "s", 0, 4).Val(); v != "hello" {
				t.Fatalf("getrange %q", v)
			}
			must(c.MSet(ctx, "a", "1", "b", "2").Err())
			if v := c.MGet(ctx, "a", "b", "nope").Val(); !reflect.DeepEqual(v, []any{"1", "2", nil}) {
				t.Fatalf("mget %v", v)
			}
			if err := c.Incr(ctx, "s").Err(); err == nil || err.Error() != "ERR value is not an integer or out of range" {
				t.Fatalf("incr on text: %v", err)
			}
			// lists
			c.RPush(ctx, "l", "a", "b", "c")
			c.LPush(ctx, "l", "z")
			if v := c.LRange(ctx, "l", 0, -1).Val(); !reflect.DeepEqual(v, []string{"z", "a", "b", "c"}) {
				t.Fatalf("lrange %v", v)
			}
			if v := c.LPop(ctx, "l").Val(); v != "z" {
				t.Fatalf("lpop %q", v)
			}
			if v := c.LIndex(ctx, "l", -1).Val(); v != "c" {
				t.Fatalf("lindex %q", v)
			}
			c.LRem(ctx, "l", 0, "b")
			if v := c.LLen(ctx, "l").Val(); v != 2 {
				t.Fatalf("llen %d", v)
			}
			if v := c.LPos(ctx, "l", "c", redis.LPosArgs{}).Val(); v != 1 {
				t.Fatalf("lpos %d", v)
			}
			// hashes
			c.HSet(ctx, "h", "f1", "v1", "f2", "v2")
			if v := c.HGetAll(ctx, "h").Val(); !reflect.DeepEqual(v, map[string]string{"f1": "v1", "f2": "v2"}) {
				t.Fatalf("hgetall %v", v)
			}
			if v := c.HIncrBy(ctx, "h", "cnt", 3).Val(); v != 3 {
				t.Fatalf("hincrby %d", v)
			}
			if v := c.HMGet(ctx, "h", "f1", "none").Val(); !reflect.DeepEqual(v, []any{"v1", nil}) {
				t.Fatalf("hmget %v", v)
			}
			c.HDel(ctx, "h", "f1", "f2", "cnt")
			if v := c.Exists(ctx, "h").Val(); v != 0 {
				t.Fatal("empty hash still exists")
			}
			// sets
			c.SAdd(ctx, "s1", "a", "b", "c")
			c.SAdd(ctx, "s2", "b", "c", "d")
			inter := c.SInter(ctx, "s1", "s2").Val()
			sort.Strings(inter)
			if !reflect.DeepEqual(inter, []string{"b", "c"}) {
				t.Fatalf("sinter %v", inter)
			}
			if !c.SIsMember(ctx, "s1", "a").Val() || c.SCard(ctx, "s2").Val() != 3 {
				t.Fatal("sismember/scard")
			}
			if v := c.SUnionStore(ctx, "s3", "s1", "s2").Val(); v != 4 {
				t.Fatalf("sunionstore %d", v)
			}
			// sorted sets
			c.ZAdd(ctx, "z", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2, Member: "b"}, redis.Z{Score: 3, Member: "c"})
			if v := c.ZRangeWithScores(ctx, "z", 0, -1).Val(); len(v) != 3 || v[2].Member != "c" || v[2].Score != 3 {
				t.Fatalf("zrange withscores %v", v)
			}
			if v := c.ZRevRange(ctx, "z", 0, 0).Val(); !reflect.DeepEqual(v, []string{"c"}) {
				t.Fatalf("zrevrange %v", v)
			}
			if v := c.ZRangeByScore(ctx, "z", &redis.ZRangeBy{Min: "(1", Max: "+inf"}).Val(); !reflect.DeepEqual(v, []string{"b", "c"}) {
				t.Fatalf("zrangebyscore %v", v)
			}
			if v := c.ZIncrBy(ctx, "z", 10, "a").Val(); v != 11 {
				t.Fatalf("zincrby %v", v)
			}
			if v := c.ZRank(ctx, "z", "a").Val(); v != 2 {
				t.Fatalf("zrank %d", v)
			}
			if v := c.ZScore(ctx, "z", "b").Val(); v != 2 {
				t.Fatalf("zscore %v", v)
			}
			if v := c.ZPopMin(ctx, "z").Val(); len(v) != 1 || v[0].Member != "b" {
				t.Fatalf("zpopmin %v", v)
			}
			if v := c.ZCount(ctx, "z", "-inf", "+inf").Val(); v != 2 {
				t.Fatalf("zcount %d", v)
			}
			// generic
			if v := c.Type(ctx, "z").Val(); v != "zset" {
				t.Fatalf("type %q", v)
			}
			if err := c.LPush(ctx, "z", "x").Err(); err == nil || err.Error()[:9] != "WRONGTYPE" {
				t.Fatalf("lpush on zset: %v", err)
			}
			must(c.Rename(ctx, "z", "z2").Err())
			if c.Exists(ctx, "z", "z2").Val() != 1 {
				t.Fatal("rename")
			}
			if v := c.Del(ctx, "a", "b", "nope").Val(); v != 2 {
				t.Fatalf("del %d", v)
			}
			keys := c.Keys(ctx, "s*").Val()
			sort.Strings(keys)
			if !reflect.DeepEqual(keys, []string{"s", "s1", "s2", "s3"}) {
				t.Fatalf("keys %v", keys)
			}
			// pipelines and transactions
			pipe := c.TxPipeline()
			incr := pipe.Incr(ctx, "tx")
			pipe.Incr(ctx, "tx")
			if _, err := pipe.Exec(ctx); err != nil || incr.Val() != 1 || c.Get(ctx, "tx").Val() != "2" {
				t.Fatalf("multi/exec: %v %d", err, incr.Val())
			}
			p := c.Pipeline()
			for i := range 1000 {
				p.Set(ctx, fmt.Sprint("p:", i), i, 0)
			}
			if _, err := p.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			if v := c.DBSize(ctx).Val(); v < 1000 {
				t.Fatalf("dbsize %d", v)
			}
		})
	}
}

func TestTTLsAndExpiry(t *testing.T) {
	n := startEngine(t)
	c := client(t, n.Addr())
	ctx := context.Background()
	c.Set(ctx, "short", "v", 150*time.Millisecond)
	c.Set(ctx, "long", "v", time.Hour)
	c.Set(ctx, "forever", "v", 0)
	if ttl := c.TTL(ctx, "long").Val(); ttl < 3590*time.Second || ttl > time.Hour {
		t.Fatalf("ttl %v", ttl)
	}
	if ttl := c.PTTL(ctx, "short").Val(); ttl <= 0 || ttl > 150*time.Millisecond {
		t.Fatalf("pttl %v", ttl)
	}
	if ttl := c.TTL(ctx, "forever").Val(); ttl != -1 {
		t.Fatalf("ttl without expire %v", ttl)
	}
	if ttl := c.TTL(ctx, "missing").Val(); ttl != -2 {
		t.Fatalf("ttl of missing %v", ttl)
	}
	if !c.ExpireNX(ctx, "forever", time.Minute).Val() || c.ExpireNX(ctx, "forever", time.Hour).Val() {
		t.Fatal("EXPIRE NX")
	}
	if !c.Persist(ctx, "forever").Val() || c.TTL(ctx, "forever").Val() != -1 {
		t.Fatal("PERSIST")
	}
	for i := range 200 { // active expiry must reclaim keys nobody reads
		c.Set(ctx, fmt.Sprint("tmp:", i), "v", 100*time.Millisecond)
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.DBSize(ctx).Val() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("dbsize still %d: expired keys not reclaimed", c.DBSize(ctx).Val())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c.Exists(ctx, "short").Val() != 0 {
		t.Fatal("expired key still readable")
	}
	// SCAN sees every live key exactly as KEYS does
	for i := range 500 {
		c.Set(ctx, fmt.Sprint("scan:", i), "v", 0)
	}
	seen := map[string]bool{}
	iter := c.Scan(ctx, 0, "scan:*", 50).Iterator()
	for iter.Next(ctx) {
		seen[iter.Val()] = true
	}
	if iter.Err() != nil || len(seen) != 500 {
		t.Fatalf("scan saw %d keys: %v", len(seen), iter.Err())
	}
}

// HSCAN/SSCAN/ZSCAN return every element present for the whole scan, even
// while elements are added and removed between calls.
func TestCollectionScanUnderChanges(t *testing.T) {
	n := startEngine(t)
	c := client(t, n.Addr())
	ctx := context.Background()
	for i := range 1000 {
		c.SAdd(ctx, "s", fmt.Sprint("keep:", i))
	}
	for i := range 200 { // churn elements, removed while the scan runs
		c.SAdd(ctx, "s", fmt.Sprint("a:", i-1000), fmt.Sprint("a2:", i-1000))
	}
	seen := map[string]bool{}
	cursor, calls := uint64(0), 0
	for {
		members, next, err := c.SScan(ctx, "s", cursor, "", 50).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			seen[m] = true
		}
		// churn: remove and add elements between pages
		for j := range 10 {
			c.SRem(ctx, "s", fmt.Sprint("a:", calls*10+j-1000), fmt.Sprint("a2:", calls*10+j-1000))
		}
		c.SAdd(ctx, "s", fmt.Sprint("a:", calls), fmt.Sprint("a2:", calls))
		calls++
		if next == 0 {
			break
		}
		if calls > 1000 {
			t.Fatal("SSCAN does not terminate")
		}
		cursor = next
	}
	for i := range 1000 {
		if !seen[fmt.Sprint("keep:", i)] {
			t.Fatalf("keep:%d never returned by SSCAN (%d calls)", i, calls)
		}
	}
	if calls < 10 {
		t.Fatalf("SSCAN COUNT 50 over 1000 members took only %d calls", calls)
	}
}
