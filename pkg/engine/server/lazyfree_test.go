package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
)

// infoField reads one integer field of an INFO section.
func infoIntField(t *testing.T, c *rawConn, section, field string) int64 {
	t.Helper()
	return infoInt(t, string(c.do(t, "INFO", section).Str), field)
}

// fill sends one command with many arguments: name key then members.
func fill(t *testing.T, c *rawConn, name, key string, n int, member func(i int) []string) {
	t.Helper()
	args := []string{name, key}
	for i := range n {
		args = append(args, member(i)...)
	}
	c.do(t, args...)
}

// UNLINK, DEL under lazyfree-lazy-user-del and FLUSHDB ASYNC free in the
// background exactly the values redis-server 7.0 frees there (more than
// 64 allocations' worth), as INFO lazyfreed_objects counts them.
func TestLazyFreeCountsMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	steps := []struct {
		name string
		run  func(c *rawConn)
	}{
		{"small string", func(c *rawConn) { c.do(t, "SET", "s", "v"); c.do(t, "UNLINK", "s") }},
		{"intset", func(c *rawConn) {
			fill(t, c, "SADD", "is", 300, func(i int) []string { return []string{fmt.Sprint(i)} })
			c.do(t, "UNLINK", "is")
		}},
		{"hashtable set", func(c *rawConn) {
			fill(t, c, "SADD", "hs", 1000, func(i int) []string { return []string{fmt.Sprint("m", i)} })
			c.do(t, "UNLINK", "hs")
		}},
		{"listpack hash", func(c *rawConn) {
			fill(t, c, "HSET", "lh", 100, func(i int) []string { return []string{fmt.Sprint("f", i), "v"} })
			c.do(t, "UNLINK", "lh")
		}},
		{"hashtable hash", func(c *rawConn) {
			fill(t, c, "HSET", "hh", 200, func(i int) []string { return []string{fmt.Sprint("f", i), "v"} })
			c.do(t, "UNLINK", "hh")
		}},
		{"skiplist zset", func(c *rawConn) {
			fill(t, c, "ZADD", "z", 500, func(i int) []string { return []string{fmt.Sprint(i), fmt.Sprint("m", i)} })
			c.do(t, "UNLINK", "z")
		}},
		{"short list of many small ints", func(c *rawConn) {
			fill(t, c, "RPUSH", "l1", 50000, func(i int) []string { return []string{fmt.Sprint(i % 100)} })
			c.do(t, "UNLINK", "l1")
		}},
		{"long list", func(c *rawConn) {
			fill(t, c, "RPUSH", "l2", 20000, func(i int) []string { return []string{fmt.Sprint("element-", i, "-padding-padding")} })
			c.do(t, "UNLINK", "l2")
		}},
		{"DEL under lazyfree-lazy-user-del", func(c *rawConn) {
			c.do(t, "CONFIG", "SET", "lazyfree-lazy-user-del", "yes")
			fill(t, c, "SADD", "d", 1000, func(i int) []string { return []string{fmt.Sprint("m", i)} })
			c.do(t, "DEL", "d")
			c.do(t, "CONFIG", "SET", "lazyfree-lazy-user-del", "no")
		}},
		{"plain DEL", func(c *rawConn) {
			fill(t, c, "SADD", "d", 1000, func(i int) []string { return []string{fmt.Sprint("m", i)} })
			c.do(t, "DEL", "d")
		}},
		{"FLUSHDB ASYNC", func(c *rawConn) {
			for i := range 10 {
				c.do(t, "SET", fmt.Sprint("k", i), "v")
			}
			c.do(t, "FLUSHDB", "ASYNC")
		}},
	}
	for _, step := range steps {
		var deltas [2]int64
		for i, c := range []*rawConn{real, eng} {
			before := infoIntField(t, c, "memory", "lazyfreed_objects")
			step.run(c)
			deadline := time.Now().Add(5 * time.Second)
			for infoIntField(t, c, "memory", "lazyfree_pending_objects") > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			// redis-server's background thread lowers the pending count
			// just before it raises the freed one: read until it settles.
			freed := infoIntField(t, c, "memory", "lazyfreed_objects")
			for range 10 {
				time.Sleep(20 * time.Millisecond)
				again := infoIntField(t, c, "memory", "lazyfreed_objects")
				if again == freed {
					break
				}
				freed = again
			}
			deltas[i] = freed - before
		}
		if deltas[0] != deltas[1] {
			t.Errorf("%s: lazyfreed_objects grew by %d on redis-server, %d on the engine", step.name, deltas[0], deltas[1])
		}
	}
}

// The memory of a value dropped by UNLINK comes back in the background:
// used_memory falls below its peak, near where it started.
func TestUnlinkReclaimsMemory(t *testing.T) {
	c := dial(t, startServer(t).Addr().String())
	orig := infoIntField(t, c, "memory", "used_memory")
	fill(t, c, "SADD", "big", 100000, func(i int) []string { return []string{fmt.Sprint(i)} })
	peak := infoIntField(t, c, "memory", "used_memory")
	if peak < orig+1000000 {
		t.Fatalf("a 100,000-member set took %d bytes", peak-orig)
	}
	c.do(t, "UNLINK", "big")
	deadline := time.Now().Add(5 * time.Second)
	for {
		now := infoIntField(t, c, "memory", "used_memory")
		if now < peak && now < orig*2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("used_memory %d after UNLINK (started at %d, peak %d)", now, orig, peak)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
