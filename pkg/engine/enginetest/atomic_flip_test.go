package enginetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// TestAtomicFlipNeverMissesAKey moves a few slots back and forth between
// two masters with CLUSTER MIGRATESLOTS while go-redis clients read
// preloaded keys of those slots and write keys of their own there. A read
// must never miss a key and an acknowledged write must never be lost.
//
// The window it aims at: a command routed by the source while it still
// owned the slot, which then waited for the store lock while the source
// handed the slot over and dropped its copies, ran on the emptied slot
// (GET answered nil, SET wrote a stray key). DEBUG SLEEP loops on both
// nodes hold the store lock most of the time, so that commands routed
// just before the hand-over queue behind it, as a busy node makes them.
func TestAtomicFlipNeverMissesAKey(t *testing.T) {
	nodes := startClusterNodes(t, 3, "--enable-debug-command", "yes")
	createCluster(t, nodes, 0)
	ctx := context.Background()
	a, b := ownerOf(t, nodes, 0), ownerOf(t, nodes, 16383)
	aID, bID := nodeID(t, a), nodeID(t, b)

	// Four hash tags in four slots of a's range (0-5460 after create).
	var tags []string
	var moving []any
	seen := map[int]bool{}
	for n := 0; len(tags) < 4; n++ {
		tag := fmt.Sprintf("{f%d}", n)
		if s := slots.Slot(tag); s <= 5000 && !seen[s] {
			seen[s] = true
			tags = append(tags, tag)
			moving = append(moving, s, s)
		}
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(nodes), MaxRedirects: 16})
	t.Cleanup(func() { cc.Close() })
	const perTag = 200
	pipe := cc.Pipeline()
	for _, tag := range tags {
		for i := range perTag {
			pipe.Set(ctx, fmt.Sprintf("pre:%s:%d", tag, i), i, 0)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, misses, writes atomic.Int64
	var firstMiss atomic.Value
	var acked sync.Map
	for w := range 8 {
		wg.Go(func() {
			for i := w; ; i += 7 {
				select {
				case <-stop:
					return
				default:
				}
				tag, n := tags[i%len(tags)], i%perTag
				got, err := cc.Get(ctx, fmt.Sprintf("pre:%s:%d", tag, n)).Int()
				reads.Add(1)
				if err != nil || got != n {
					misses.Add(1)
					firstMiss.CompareAndSwap(nil, fmt.Sprintf("GET pre:%s:%d = %d, %v", tag, n, got, err))
				}
			}
		})
	}
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("w%d:%s:%d", w, tags[i%len(tags)], i%50)
				if err := cc.Set(ctx, key, i, 0).Err(); err == nil {
					acked.Store(key, i)
					writes.Add(1)
				}
			}
		})
	}
	// Keep the store lock busy on both ends, a few milliseconds at a time.
	for _, n := range []*clusterNode{a, b} {
		c := client(t, n.Addr())
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Do(ctx, "DEBUG", "SLEEP", "0.003")
				time.Sleep(200 * time.Microsecond)
			}
		})
	}

	const rounds = 16
	src, dstID := a, bID
	for r := range rounds {
		srcC := client(t, src.Addr())
		args := append(append([]any{"CLUSTER", "MIGRATESLOTS", "SLOTSRANGE"}, moving...), "NODE", dstID)
		if err := srcC.Do(ctx, args...).Err(); err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("round %d: %v", r, err)
		}
		if job := waitMigrationDone(t, srcC, 30*time.Second); job["state"] != "success" {
			close(stop)
			wg.Wait()
			t.Fatalf("round %d: migration ended %v", r, job)
		}
		if src == a {
			src, dstID = b, aID
		} else {
			src, dstID = a, bID
		}
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if misses.Load() > 0 {
		t.Errorf("%d of %d reads missed a preloaded key, first: %v", misses.Load(), reads.Load(), firstMiss.Load())
	}
	lost := 0
	acked.Range(func(k, v any) bool {
		if got, err := cc.Get(ctx, k.(string)).Int(); err != nil || got != v.(int) {
			if lost++; lost <= 3 {
				t.Errorf("%s = %d (%v), acknowledged %d", k, got, err, v)
			}
		}
		return true
	})
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost", lost)
	}
	t.Logf("%d migrations, %d reads (%d missed), %d writes (%d lost)", rounds, reads.Load(), misses.Load(), writes.Load(), lost)
}
