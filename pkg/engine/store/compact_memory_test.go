package store

import (
	"github.com/gocluster/gocluster/internal/redistest"
	"runtime"
	"strconv"
	"testing"
)

// TestSmallCollectionsCostLessThanRedis loads many small hashes, sets and
// sorted sets (the shapes BenchmarkSmallCollectionsMemory in
// e2e/bench/engine loads into both servers) and checks the live heap per
// key, after a GC, against what redis-server 7.0.15's used_memory came to
// per key for the same data (2026-12-04: 137.5, 105.5 and 121.5 MB for 1M
// keys): the compact forms must keep the engine's data below it.
func TestSmallCollectionsCostLessThanRedis(t *testing.T) {
	redistest.SkipIfShort(t, "loads 1.5M keys")
	const keys = 500_000
	for _, c := range []struct {
		kind     string
		redisPer float64
		fill     func(db *DB, k []byte, i int)
	}{
		{"hash", 137.5, func(db *DB, k []byte, i int) {
			h, _ := db.Hash(k, true)
			h.Set([]byte("name"), []byte("user:"+strconv.Itoa(i)), db.Limits())
			h.Set([]byte("age"), []byte(strconv.Itoa(i%100)), db.Limits())
			h.Set([]byte("city"), []byte("c"+strconv.Itoa(i%50)), db.Limits())
			h.Set([]byte("visits"), []byte(strconv.Itoa(i)), db.Limits())
		}},
		{"set", 105.5, func(db *DB, k []byte, i int) {
			s, _ := db.Set(k, true)
			s.AddAll([][]byte{[]byte(strconv.Itoa(i)), []byte(strconv.Itoa(i + 1)), []byte(strconv.Itoa(i + 2)),
				[]byte(strconv.Itoa(i + 3)), []byte(strconv.Itoa(i + 4))}, db.Limits())
		}},
		{"zset", 121.5, func(db *DB, k []byte, i int) {
			z, _ := db.ZSet(k, true)
			for _, m := range []ZMember{{[]byte("a"), 1}, {[]byte("b"), 2}, {[]byte("c"), float64(i)}, {[]byte("d"), 4}, {[]byte("e"), 5.5}} {
				z.Add(m.Member, m.Score, db.Limits())
			}
		}},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		db := New()
		for i := range keys {
			c.fill(db, []byte("key:"+strconv.Itoa(i)), i)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(after.HeapAlloc-before.HeapAlloc) / keys
		t.Logf("%s: %.1f bytes per key live (redis-server: %.1f)", c.kind, per, c.redisPer)
		if per >= c.redisPer {
			t.Errorf("%s: %.1f bytes per key, redis-server %.1f", c.kind, per, c.redisPer)
		}
		if enc := db.Encoding([]byte("key:7")); enc != map[string]string{"hash": "listpack", "set": "intset", "zset": "listpack"}[c.kind] {
			t.Errorf("%s: encoding %s", c.kind, enc)
		}
		runtime.KeepAlive(db)
	}
}
