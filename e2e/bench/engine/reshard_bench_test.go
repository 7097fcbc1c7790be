package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	enginee2e "github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

const (
	reshardKeys   = 300_000
	reshardValue  = 100
	reshardSlots  = 2000
	reshardRounds = 3 // medians: single runs on a shared 2-core machine swing by 20-30%
)

// migrationCluster is 3 masters with a replica each, of either kind.
type migrationCluster struct {
	name  string
	addrs []string
}

func (c migrationCluster) seed() string { return c.addrs[0] }

// BenchmarkReshardEngine times the same `gocluster reshard` of 2000 slots
// (~36,600 keys of 100 B out of 300k) on 6 engine nodes and on 6
// redis-server 7.0 nodes, reshardRounds times each, interleaved, then two
// `gocluster rebalance` runs on each cluster; it prints both times and the
// ratios. Both use the MIGRATE pipeline (--atomic never): redis-server 7
// has no atomic migration (BenchmarkAtomicReshardEngine compares the two
// movers). Run: go test -count=1 -run '^$' -bench ReshardEngine -benchtime 1x ./e2e/bench/engine
func BenchmarkReshardEngine(b *testing.B) {
	gc := harness.Binary(b)
	engineNodes := enginee2e.StartN(b, 6, enginee2e.Options{Cluster: true})
	eng := migrationCluster{"engine", enginee2e.Addrs(engineNodes)}
	create := append([]string{"--cluster", "create"}, eng.addrs...)
	if r := harness.RedisCLI(b, append(create, "--cluster-replicas", "1", "--cluster-yes")...); r.Code != 0 {
		b.Fatalf("redis-cli --cluster create on engine nodes: exit %d\n%s", r.Code, r.Output())
	}
	rc := harness.NewCluster(b, harness.ClusterOptions{Masters: 3, Replicas: 1})
	rs := migrationCluster{"redis-server", nil}
	for _, n := range rc.Nodes {
		rs.addrs = append(rs.addrs, n.Addr())
	}
	clusters := []migrationCluster{eng, rs}
	for _, c := range clusters {
		waitSettled(b, c)
		loadKeys(b, c)
	}
	b.ResetTimer()
	for range b.N {
		times := map[string][]time.Duration{}
		for round := range reshardRounds {
			for _, c := range clusters {
				to := mastersOf(b, c)[round%3].ID
				times[c.name] = append(times[c.name], timedRun(b, gc, "reshard", c.seed(), "--from", "all", "--to", to,
					"--slots", strconv.Itoa(reshardSlots), "--atomic", "never", "--yes"))
				waitSettled(b, c)
			}
		}
		// Two rebalances that really move slots: to weights 2:1:1 (about
		// 2700 slots into the first master), then back to even.
		rebalance := map[string]time.Duration{}
		for _, c := range clusters {
			heavy := mastersOf(b, c)[0].Addr() + "=2"
			rebalance[c.name] += timedRun(b, gc, "rebalance", c.seed(), "--weight", heavy, "--atomic", "never", "--yes")
			waitSettled(b, c)
			rebalance[c.name] += timedRun(b, gc, "rebalance", c.seed(), "--atomic", "never", "--yes")
			waitSettled(b, c)
			if got := totalKeys(b, c); got != reshardKeys {
				b.Fatalf("%s cluster holds %d keys after the reshards and rebalances, want %d", c.name, got, reshardKeys)
			}
		}
		b.Logf("each reshard: engine %v | redis-server %v", times["engine"], times["redis-server"])
		e, r := medianOf(times["engine"]), medianOf(times["redis-server"])
		fmt.Printf("reshard %d slots (%d keys total, median of %d): engine nodes %v   redis-server nodes %v   ratio %.2fx\n",
			reshardSlots, reshardKeys, reshardRounds, e.Round(time.Millisecond), r.Round(time.Millisecond), e.Seconds()/r.Seconds())
		re, rr := rebalance["engine"], rebalance["redis-server"]
		fmt.Printf("rebalance to weights 2:1:1 and back: engine nodes %v   redis-server nodes %v   ratio %.2fx\n",
			re.Round(time.Millisecond), rr.Round(time.Millisecond), re.Seconds()/rr.Seconds())
		b.ReportMetric(e.Seconds(), "engine-reshard-s")
		b.ReportMetric(r.Seconds(), "redis-server-reshard-s")
		b.ReportMetric(e.Seconds()/r.Seconds(), "reshard-ratio")
		b.ReportMetric(re.Seconds()/rr.Seconds(), "rebalance-ratio")
	}
}

// loadKeys writes reshardKeys keys of reshardValue bytes with pipelines.
func loadKeys(b *testing.B, c migrationCluster) {
	b.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.addrs, ReadTimeout: time.Minute})
	defer cc.Close()
	ctx := context.Background()
	value := strings.Repeat("v", reshardValue)
	for from := 0; from < reshardKeys; from += 20_000 {
		pipe := cc.Pipeline()
		for i := from; i < min(from+20_000, reshardKeys); i++ {
			pipe.Set(ctx, "key:"+strconv.Itoa(i), value, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatalf("load %s cluster: %v", c.name, err)
		}
	}
	if got := totalKeys(b, c); got != reshardKeys {
		b.Fatalf("%s cluster holds %d keys after loading %d", c.name, got, reshardKeys)
	}
}

// waitSettled waits until every node agrees on the slot map and says
// cluster_state:ok, so each timed command starts from a quiet cluster.
func waitSettled(b *testing.B, c migrationCluster) {
	b.Helper()
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	err = admin.WaitConverged(context.Background(), pool, c.addrs,
		admin.ConvergeOptions{Timeout: time.Minute, SameSlots: true, SameReplicas: true, NoHandshake: true})
	if err != nil {
		b.Fatalf("%s cluster did not settle: %v", c.name, err)
	}
}

func mastersOf(b *testing.B, c migrationCluster) []*topology.Node {
	b.Helper()
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	topo, err := topology.Load(context.Background(), pool, c.seed())
	if err != nil {
		b.Fatal(err)
	}
	ms := topo.Masters()
	if len(ms) != 3 {
		b.Fatalf("%s cluster has %d masters, want 3", c.name, len(ms))
	}
	slices.SortFunc(ms, func(x, y *topology.Node) int { return strings.Compare(x.Addr(), y.Addr()) })
	return ms
}

// totalKeys sums DBSIZE over the masters.
func totalKeys(b *testing.B, c migrationCluster) int64 {
	b.Helper()
	var total int64
	for _, m := range mastersOf(b, c) {
		cl := redis.NewClient(&redis.Options{Addr: m.Addr()})
		n, err := cl.DBSize(context.Background()).Result()
		cl.Close()
		if err != nil {
			b.Fatalf("DBSIZE on %s: %v", m.Addr(), err)
		}
		total += n
	}
	return total
}

// timedRun runs gocluster and returns its wall time; a failure fails the
// benchmark.
func timedRun(b *testing.B, bin string, args ...string) time.Duration {
	b.Helper()
	start := time.Now()
	r := harness.Exec(b, bin, harness.Cmd{Args: args, Timeout: 10 * time.Minute})
	d := time.Since(start)
	if r.Code != 0 {
		b.Fatalf("gocluster %s: exit %d\n%s", strings.Join(args, " "), r.Code, r.Output())
	}
	return d
}

func medianOf(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
