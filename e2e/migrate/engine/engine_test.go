// Package engine runs gocluster reshard and rebalance against a cluster of
// gocluster's own engine nodes (`gocluster server` processes), with a
// go-redis ClusterClient writing and reading the whole time. It is apart
// from e2e/migrate so an engine regression does not hide redis-server
// results.
package engine

import (
	"context"
	"strings"
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
	harness.Preload(t, cc, preN)
	load := harness.StartLoad(t, cc, preN, 3, 3)
	if r := harness.Run(t, "reshard", seed, "--from", "all", "--to", nodes[2].Addr(), "--slots", "300", "--yes"); r.Code != 0 {
		t.Fatalf("reshard on engine nodes: exit %d:\n%s", r.Code, r.Output())
	}
	if r := harness.Run(t, "rebalance", seed); r.Code != 0 {
		t.Fatalf("rebalance on engine nodes: exit %d:\n%s", r.Code, r.Output())
	}
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
