// Package engine runs gocluster reshard and rebalance against a cluster of
// gocluster's own engine nodes (`gocluster server` processes), with a
// go-redis ClusterClient writing and reading the whole time. It is apart
// from e2e/migrate so an engine regression does not hide redis-server
// results.
package engine

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
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
	harness.Preload(t, cc, preN)
	load := harness.StartLoad(t, cc, preN, 3, 3)
	if r := harness.Run(t, "reshard", seed, "--from", "all", "--to", nodes[2].Addr(), "--slots", "300", "--yes"); r.Code != 0 {
		t.Fatalf("reshard on engine nodes: exit %d:\n%s", r.Code, r.Output())
	}
	if r := harness.Run(t, "rebalance", seed); r.Code != 0 {
		t.Fatalf("rebalance on engine nodes: exit %d:\n%s", r.Code, r.Output())
	}
	rebalanceByKeys(t, cc, seed)
	load.Finish(t)
	var last harness.Result
	ok := waitUntil(t, func() bool {
		last = harness.RedisCLI(t, "--cluster", "check", seed)
		return last.Code == 0 && !strings.Contains(last.Stdout, "[ERR]") && !strings.Contains(last.Stdout, "[WARNING] Node")
	})
	if !ok {
		t.Fatalf("redis-cli --cluster check after the moves:\n%s", last.Output())
	}
}

// rebalanceByKeys piles keys on one master, then rebalances --by keys
// (the engine answers CLUSTER SLOT-STATS, so it is weighed in one call per
// master) and expects every master within 10% of the mean key count.
func rebalanceByKeys(t *testing.T, cc *redis.ClusterClient, seed string) {
	t.Helper()
	ctx := context.Background()
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	topo, err := topology.Load(ctx, pool, seed)
	if err != nil {
		t.Fatal(err)
	}
	hot := topo.Masters()[0]
	pipe := cc.Pipeline()
	for i, n := 0, 0; n < 15000; i++ {
		if k := fmt.Sprintf("hot:%d", i); hot.Slots.Has(slots.Slot(k)) {
			pipe.Set(ctx, k, "v", 0)
			n++
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	dry := harness.Run(t, "rebalance", seed, "--by", "keys", "--dry-run", "--json")
	if dry.Code != 0 || !strings.Contains(dry.Stdout, `"measured_with": "CLUSTER SLOT-STATS"`) {
		t.Fatalf("rebalance --by keys --dry-run on engine nodes: exit %d:\n%s", dry.Code, dry.Output())
	}
	if r := harness.Run(t, "rebalance", seed, "--by", "keys"); r.Code != 0 {
		t.Fatalf("rebalance --by keys on engine nodes: exit %d:\n%s", r.Code, r.Output())
	}
	topo, err = topology.Load(ctx, pool, seed)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	var total int64
	for _, m := range topo.Masters() {
		n, err := pool.Get(m.Addr()).DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		counts[m.Addr()], total = n, total+n
	}
	mean := float64(total) / float64(len(counts))
	for addr, n := range counts {
		if off := math.Abs(float64(n)-mean) / mean; off > 0.10 {
			t.Errorf("after rebalance --by keys %s holds %d keys, %.1f%% off the mean (%v)", addr, n, 100*off, counts)
		}
	}
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
