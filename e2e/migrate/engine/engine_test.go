// Package engine runs gocluster reshard and rebalance against a cluster of
// gocluster's own engine nodes (`gocluster server` processes), with a
// go-redis ClusterClient writing and reading the whole time. It is apart
// from e2e/migrate so an engine regression does not hide redis-server
// results.
package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/redis/go-redis/v9"
)

func TestReshardAndRebalanceOnEngineNodes(t *testing.T) {
	nodes := engine.StartN(t, 6, engine.Options{Cluster: true})
	args := []string{"create"}
	for _, n := range nodes {
		args = append(args, n.Addr())
	}
	if r := harness.Run(t, append(args, "--replicas", "1", "--yes")...); r.Code != 0 {
		t.Fatalf("gocluster create on engine nodes: exit %d:\n%s", r.Code, r.Output())
	}
	seed := nodes[0].Addr()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{seed}, MaxRedirects: 8})
	defer cc.Close()
	ctx := context.Background()
	waitUntil(t, func() bool { return cc.Set(ctx, "probe", "1", 0).Err() == nil })

	const preN = 5000
	pipe := cc.Pipeline()
	for i := range preN {
		pipe.Set(ctx, fmt.Sprintf("pre:%d", i), fmt.Sprintf("v%d", i), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("preload: %v", err)
	}

	var errs, ops atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	written := make([]map[string]string, 3)
	for w := range written {
		written[w] = map[string]string{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k, v := fmt.Sprintf("live:%d:%d", w, i%500), fmt.Sprint(i)
				if err := cc.Set(ctx, k, v, 0).Err(); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("SET %s: %v", k, err))
					continue
				}
				written[w][k] = v
				if got, err := cc.Get(ctx, fmt.Sprintf("pre:%d", i%preN)).Result(); err != nil || got != fmt.Sprintf("v%d", i%preN) {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("GET pre:%d = %q, %v", i%preN, got, err))
					continue
				}
				ops.Add(2)
			}
		}()
	}

	r := harness.Run(t, "reshard", seed, "--from", "all", "--to", nodes[2].Addr(), "--slots", "300", "--yes")
	if r.Code != 0 {
		close(stop)
		wg.Wait()
		t.Fatalf("reshard on engine nodes: exit %d:\n%s", r.Code, r.Output())
	}
	r2 := harness.Run(t, "rebalance", seed)
	close(stop)
	wg.Wait()
	if r2.Code != 0 {
		t.Fatalf("rebalance on engine nodes: exit %d:\n%s", r2.Code, r2.Output())
	}
	if n := errs.Load(); n > 0 {
		t.Fatalf("%d client errors during reshard/rebalance (of %d ops); first: %v", n, ops.Load(), firstErr.Load())
	}
	if ops.Load() < 100 {
		t.Fatalf("only %d operations: the load did not run", ops.Load())
	}
	for i := range preN {
		if v, err := cc.Get(ctx, fmt.Sprintf("pre:%d", i)).Result(); v != fmt.Sprintf("v%d", i) {
			t.Fatalf("pre:%d = %q, %v after the moves", i, v, err)
		}
	}
	for _, m := range written {
		for k, v := range m {
			if got, err := cc.Get(ctx, k).Result(); got != v {
				t.Fatalf("%s = %q, %v; want %q", k, got, err, v)
			}
		}
	}
	var last harness.Result
	ok := waitUntil(t, func() bool {
		last = harness.RedisCLI(t, "--cluster", "check", seed)
		return last.Code == 0 && !strings.Contains(last.Stdout, "[ERR]") && !strings.Contains(last.Stdout, "[WARNING] Node")
	})
	if !ok {
		t.Fatalf("redis-cli --cluster check after the moves:\n%s", last.Output())
	}
	t.Logf("engine: %d live ops, 0 errors", ops.Load())
}

func waitUntil(t *testing.T, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
