package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestReadsDuringMigrateNeverMissAKey: readers GET the keys of a slot from
// its owner, following ASK to the target by hand, while MIGRATE moves the
// keys one by one. Every read must find its value: a key is either still
// at the owner or answered with ASK. (The engine once looked a key up,
// let go of the store, and ran GET after MIGRATE had moved it: nil.)
func TestReadsDuringMigrateNeverMissAKey(t *testing.T) {
	nodes := StartN(t, 3, Options{Cluster: true})
	createCluster(t, nodes, 0)
	ctx := context.Background()
	const prefix, keys = "{m}", 3000
	cc := clusterClient(t, nodes)
	pipe := cc.Pipeline()
	for i := range keys {
		pipe.Set(ctx, fmt.Sprintf("%s:%d", prefix, i), fmt.Sprintf("v:%d", i), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	slot := cc.ClusterKeySlot(ctx, prefix).Val()
	var owner, target *Node
	for _, n := range masters(t, nodes) {
		if owner == nil && client(t, n).Get(ctx, prefix+":0").Err() == nil { // the others answer MOVED
			owner = n
		} else if target == nil {
			target = n
		}
	}
	if owner == nil || target == nil {
		t.Fatalf("no owner/target for slot %d", slot)
	}
	src, dst := client(t, owner), client(t, target)
	srcID, dstID := nodeID(t, owner), nodeID(t, target)
	if err := dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err(); err != nil {
		t.Fatal(err)
	}
	if err := src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err(); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, asks, moving atomic.Int64
	failures := make(chan string, 16)
	for r := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := redis.NewClient(&redis.Options{Addr: owner.Addr(), MaxRetries: -1, PoolSize: 1})
			b := redis.NewClient(&redis.Options{Addr: target.Addr(), MaxRetries: -1, PoolSize: 1})
			defer a.Close()
			defer b.Close()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				// Read the key being moved right now, where a race would be.
				i := min(int(moving.Load())+(n+r)%2, keys-1)
				k, want := fmt.Sprintf("%s:%d", prefix, i), fmt.Sprintf("v:%d", i)
				got, err := a.Get(ctx, k).Result()
				if err != nil && strings.HasPrefix(err.Error(), "ASK ") {
					asks.Add(1)
					var get *redis.StringCmd
					_, err = b.Pipelined(ctx, func(p redis.Pipeliner) error {
						p.Do(ctx, "ASKING")
						get = p.Get(ctx, k)
						return nil
					})
					got = get.Val()
					if err == nil {
						err = get.Err()
					}
				}
				reads.Add(1)
				if err != nil || got != want {
					if errors.Is(err, redis.Nil) {
						err = errors.New("nil")
					}
					select {
					case failures <- fmt.Sprintf("GET %s = %q, %v", k, got, err):
					default:
					}
				}
			}
		}()
	}
	host, port, _ := strings.Cut(target.Addr(), ":")
	for i := range keys {
		moving.Store(int64(i))
		if err := src.Migrate(ctx, host, port, fmt.Sprintf("%s:%d", prefix, i), 0, 0).Err(); err != nil {
			t.Fatalf("MIGRATE key %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if asks.Load() == 0 {
		t.Fatalf("%d reads, none redirected with ASK: the readers never overlapped the migration", reads.Load())
	}
	t.Logf("%d reads, %d followed ASK", reads.Load(), asks.Load())
}
