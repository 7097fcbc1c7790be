package server

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestIdleCollectionFreesTheLoadsGarbage: right after a load of small
// hashes the heap still holds the commands' garbage; once the server has
// been quiet for a moment used_memory must be within 10% of what a full
// collection (MEMORY PURGE) leaves.
func TestIdleCollectionFreesTheLoadsGarbage(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), DisableIdentity: true})
	defer rdb.Close()
	for batch := range 200 {
		pipe := rdb.Pipeline()
		for i := range 1000 {
			n := batch*1000 + i
			pipe.HSet(ctx, fmt.Sprint("hash:", n), "name", fmt.Sprint("user-", n), "age", n%90, "city", "Lyon", "score", n)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	usedMemory := func() uint64 {
		v, err := strconv.ParseUint(infoField(t, dial(t, s.Addr().String()), "used_memory"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	afterLoad := usedMemory()
	time.Sleep(time.Duration(idleGCQuietTicks+5) * 100 * time.Millisecond)
	idle := usedMemory()
	if err := rdb.Do(ctx, "MEMORY", "PURGE").Err(); err != nil {
		t.Fatal(err)
	}
	purged := usedMemory()
	t.Logf("used_memory right after the load %.1f MB, once quiet %.1f MB, after MEMORY PURGE %.1f MB",
		float64(afterLoad)/1e6, float64(idle)/1e6, float64(purged)/1e6)
	if float64(idle) > 1.1*float64(purged) {
		t.Fatalf("used_memory once quiet is %.2fx what a full collection leaves (want <= 1.1x)", float64(idle)/float64(purged))
	}
}
