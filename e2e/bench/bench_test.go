// Package bench compares gocluster's slot migration with redis-cli's on
// the same real redis-server cluster in the same run, and with valkey-cli's
// on valkey-server when redistest.FlavorEnv says valkey. It only runs with
// `make bench` (go test -run '^$' -bench . -benchtime 1x ./e2e/bench/...),
// which runs this package once with each.
package bench

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

const (
	benchKeys  = 300_000
	valueSize  = 100
	reshardN   = 2000
	cmdTimeout = 10 * time.Minute
)

// newLoadedCluster makes 3 masters with a replica each and writes
// benchKeys keys of valueSize bytes with pipelines.
func newLoadedCluster(b *testing.B) *harness.Cluster {
	b.Helper()
	c := harness.NewCluster(b, harness.ClusterOptions{Masters: 3, Replicas: 1})
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Addr()}})
	defer cc.Close()
	ctx := context.Background()
	value := strings.Repeat("v", valueSize)
	start := time.Now()
	for from := 0; from < benchKeys; from += 20_000 {
		pipe := cc.Pipeline()
		for i := from; i < min(from+20_000, benchKeys); i++ {
			pipe.Set(ctx, fmt.Sprintf("key:%d", i), value, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatalf("load: %v", err)
		}
	}
	b.Logf("loaded %d keys of %d bytes in %s", benchKeys, valueSize, time.Since(start).Round(time.Millisecond))
	return c
}

func masters(b *testing.B, c *harness.Cluster) []*topology.Node {
	b.Helper()
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	topo, err := topology.Load(context.Background(), pool, c.Addr())
	if err != nil {
		b.Fatal(err)
	}
	return topo.Masters()
}

// timed runs a command and returns its wall time; a failure fails the benchmark.
func timed(b *testing.B, bin string, args ...string) time.Duration {
	b.Helper()
	start := time.Now()
	r := harness.Exec(b, bin, harness.Cmd{Args: args, Timeout: cmdTimeout})
	d := time.Since(start)
	if r.Code != 0 {
		b.Fatalf("%s %s: exit %d\n%s", bin, strings.Join(args, " "), r.Code, r.Output())
	}
	return d
}

func dbsize(b *testing.B, c *harness.Cluster) int64 {
	b.Helper()
	var total int64
	for _, m := range masters(b, c) {
		cl := redis.NewClient(&redis.Options{Addr: m.Addr()})
		n, err := cl.DBSize(context.Background()).Result()
		cl.Close()
		if err != nil {
			b.Fatal(err)
		}
		total += n
	}
	return total
}

// reshardRounds is how many times each tool reshards in one benchmark
// run: single runs on a shared 2-core machine swing by 20-30%, so the
// ratio compares medians.
const reshardRounds = 3

// BenchmarkReshard moves 2000 slots (~36k keys) on the same cluster with
// redis-cli's default pipeline (10), with --cluster-pipeline 1000, and
// with gocluster's defaults, reshardRounds times each, interleaved.
func BenchmarkReshard(b *testing.B) {
	c := newLoadedCluster(b)
	cli := redistest.CLIBinary(b)
	name := filepath.Base(cli)
	gc := harness.Binary(b)
	ms := masters(b, c)
	b.ResetTimer()
	for range b.N {
		n := fmt.Sprint(reshardN)
		var tDefault, tPipe, tOurs []time.Duration
		for range reshardRounds {
			tDefault = append(tDefault, timed(b, cli, "--cluster", "reshard", c.Addr(), "--cluster-from", "all", "--cluster-to", ms[2].ID,
				"--cluster-slots", n, "--cluster-yes"))
			c.WaitHealthy(b)
			tPipe = append(tPipe, timed(b, cli, "--cluster", "reshard", c.Addr(), "--cluster-from", "all", "--cluster-to", ms[0].ID,
				"--cluster-slots", n, "--cluster-yes", "--cluster-pipeline", "1000"))
			c.WaitHealthy(b)
			tOurs = append(tOurs, timed(b, gc, "reshard", c.Addr(), "--from", "all", "--to", ms[1].ID, "--slots", n, "--yes"))
			c.WaitHealthy(b)
		}
		if got := dbsize(b, c); got != benchKeys {
			b.Fatalf("cluster holds %d keys after the reshards, want %d", got, benchKeys)
		}
		b.Logf("each run: gocluster %v | %s default %v | %s pipeline 1000 %v", tOurs, name, tDefault, name, tPipe)
		ours, def, pipe := median(tOurs), median(tDefault), median(tPipe)
		report(b, fmt.Sprintf("reshard 2000 slots on %s (median of %d)", redistest.Flavor(), reshardRounds), ours, map[string]time.Duration{
			name + " default":       def,
			name + " pipeline 1000": pipe,
		})
		b.ReportMetric(def.Seconds()/ours.Seconds(), "x-vs-"+name)
		b.ReportMetric(pipe.Seconds()/ours.Seconds(), "x-vs-"+name+"-p1000")
		b.ReportMetric(ours.Seconds(), "gocluster-s")
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkRebalance adds 2 empty masters (with redis-cli add-node) to a
// loaded cluster and rebalances with --use-empty-masters: redis-cli on
// one cluster, gocluster on an identical second one.
func BenchmarkRebalance(b *testing.B) {
	cli := redistest.CLIBinary(b)
	gc := harness.Binary(b)
	withEmpties := func() *harness.Cluster {
		c := newLoadedCluster(b)
		for _, n := range redistest.StartNodes(b, 2, redistest.Options{}) {
			if r := harness.RedisCLI(b, "--cluster", "add-node", n.Addr(), c.Addr()); r.Code != 0 {
				b.Fatalf("add-node: %s", r.Output())
			}
			c.Nodes = append(c.Nodes, n)
			waitGossip(b, c) // redis-cli add-node refuses a cluster still gossiping
		}
		c.WaitHealthy(b)
		return c
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		c1 := withEmpties()
		b.StartTimer()
		tCLI := timed(b, cli, "--cluster", "rebalance", c1.Addr(), "--cluster-use-empty-masters")
		b.StopTimer()
		for _, s := range c1.Nodes {
			s.Stop()
		}
		c2 := withEmpties()
		b.StartTimer()
		tOurs := timed(b, gc, "rebalance", c2.Addr(), "--use-empty-masters")
		b.StopTimer()
		c2.WaitHealthy(b)
		if got := dbsize(b, c2); got != benchKeys {
			b.Fatalf("cluster holds %d keys after the rebalance, want %d", got, benchKeys)
		}
		report(b, "rebalance onto 2 empty masters on "+redistest.Flavor(), tOurs, map[string]time.Duration{filepath.Base(cli): tCLI})
		b.ReportMetric(tCLI.Seconds()/tOurs.Seconds(), "x-vs-"+filepath.Base(cli))
		b.ReportMetric(tOurs.Seconds(), "gocluster-s")
		b.StartTimer()
	}
}

// waitGossip waits until every node knows every other one: redis-cli
// add-node returns after one MEET, and gossip takes a few seconds more.
// Both tools then start from the same settled cluster (gocluster would
// otherwise spend that time waiting inside the timed command).
func waitGossip(b *testing.B, c *harness.Cluster) {
	b.Helper()
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	if err := admin.WaitConverged(context.Background(), pool, addrs, admin.ConvergeOptions{SameSlots: true}); err != nil {
		b.Fatal(err)
	}
}

func report(b *testing.B, what string, ours time.Duration, others map[string]time.Duration) {
	line := fmt.Sprintf("%s: gocluster %.2fs", what, ours.Seconds())
	for _, name := range slices.Sorted(maps.Keys(others)) {
		d := others[name]
		line += fmt.Sprintf(" | %s %.2fs (%.1fx)", name, d.Seconds(), d.Seconds()/ours.Seconds())
	}
	fmt.Println(line)
	b.Log(line)
}
