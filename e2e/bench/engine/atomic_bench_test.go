package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enginee2e "github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// BenchmarkAtomicMigrationEngine compares gocluster's two movers on the
// same engine nodes in the same run: atomic slot migration (--atomic
// always: CLUSTER MIGRATESLOTS) and the MIGRATE pipeline (--atomic never).
// It times a reshard of 2000 slots (~36,600 keys of 100 B out of 300k)
// reshardRounds times per mover, interleaved, then a rebalance onto 2
// empty masters per mover; during each, a client writes and reads keys of
// the moving slots and its p99 latency is reported. It prints the times
// and the ratios. Run:
// go test -count=1 -run '^$' -bench AtomicMigrationEngine -benchtime 1x ./e2e/bench/engine
func BenchmarkAtomicMigrationEngine(b *testing.B) {
	gc := harness.Binary(b)
	nodes := enginee2e.StartN(b, 6, enginee2e.Options{Cluster: true})
	c := migrationCluster{"engine", enginee2e.Addrs(nodes)}
	create := append([]string{"--cluster", "create"}, c.addrs...)
	if r := harness.RedisCLI(b, append(create, "--cluster-replicas", "1", "--cluster-yes")...); r.Code != 0 {
		b.Fatalf("redis-cli --cluster create on engine nodes: exit %d\n%s", r.Code, r.Output())
	}
	waitSettled(b, c)
	loadKeys(b, c)
	movers := []string{"never", "always"}
	b.ResetTimer()
	for range b.N {
		times := map[string][]time.Duration{}
		p99 := map[string][]time.Duration{}
		for round := range reshardRounds {
			for _, mode := range movers {
				to := mastersOf(b, c)[round%3]
				args := []string{"reshard", c.seed(), "--from", "all", "--to", to.ID, "--slots", strconv.Itoa(reshardSlots), "--atomic", mode, "--yes"}
				d, lat := timedWithProbe(b, gc, c, args)
				times[mode] = append(times[mode], d)
				p99[mode] = append(p99[mode], lat)
				waitSettled(b, c)
			}
		}
		// Two empty masters join; rebalance --use-empty-masters moves 2/5
		// of the slots onto them; weights 0 empty them again for the other
		// mover (without replica migration, so they stay empty masters).
		extra := enginee2e.StartN(b, 2, enginee2e.Options{Cluster: true, Args: []string{"--cluster-allow-replica-migration", "no"}})
		for _, n := range extra {
			if r := harness.Exec(b, gc, harness.Cmd{Args: []string{"add-node", n.Addr(), c.seed()}}); r.Code != 0 {
				b.Fatalf("add-node %s: exit %d\n%s", n.Addr(), r.Code, r.Output())
			}
		}
		all := migrationCluster{"engine", append(slices.Clone(c.addrs), enginee2e.Addrs(extra)...)}
		waitSettled(b, all)
		rebalance := map[string]time.Duration{}
		rebalanceP99 := map[string]time.Duration{}
		for _, mode := range movers {
			rebalance[mode], rebalanceP99[mode] = timedWithProbe(b, gc, all,
				[]string{"rebalance", c.seed(), "--use-empty-masters", "--atomic", mode, "--yes"})
			waitSettled(b, all)
			timedRun(b, gc, "rebalance", c.seed(), "--weight", extra[0].Addr()+"=0", "--weight", extra[1].Addr()+"=0", "--yes")
			waitSettled(b, all)
		}
		if got := masterKeys(b, all); got != reshardKeys {
			b.Fatalf("the cluster holds %d keys after the moves, want %d", got, reshardKeys)
		}
		b.Logf("each reshard: migrate %v (p99 %v) | atomic %v (p99 %v)", times["never"], p99["never"], times["always"], p99["always"])
		m, a := medianOf(times["never"]), medianOf(times["always"])
		fmt.Printf("reshard %d slots (%d keys total, median of %d) on engine nodes: MIGRATE %v   atomic %v   atomic is %.1fx faster; client p99 on moving slots: MIGRATE %v   atomic %v\n",
			reshardSlots, reshardKeys, reshardRounds, m.Round(time.Millisecond), a.Round(time.Millisecond), m.Seconds()/a.Seconds(),
			medianOf(p99["never"]).Round(time.Microsecond), medianOf(p99["always"]).Round(time.Microsecond))
		rm, ra := rebalance["never"], rebalance["always"]
		fmt.Printf("rebalance onto 2 empty masters on engine nodes: MIGRATE %v   atomic %v   atomic is %.1fx faster; client p99 on moving slots: MIGRATE %v   atomic %v\n",
			rm.Round(time.Millisecond), ra.Round(time.Millisecond), rm.Seconds()/ra.Seconds(),
			rebalanceP99["never"].Round(time.Microsecond), rebalanceP99["always"].Round(time.Microsecond))
		b.ReportMetric(m.Seconds(), "migrate-reshard-s")
		b.ReportMetric(a.Seconds(), "atomic-reshard-s")
		b.ReportMetric(m.Seconds()/a.Seconds(), "reshard-speedup")
		b.ReportMetric(rm.Seconds()/ra.Seconds(), "rebalance-speedup")
	}
}

// timedWithProbe runs a gocluster move and returns its wall time and the
// p99 latency of a client that meanwhile SETs and GETs keys in the slots
// the move's plan (its --dry-run) says will move. A client error fails
// the benchmark.
func timedWithProbe(b *testing.B, gc string, c migrationCluster, args []string) (time.Duration, time.Duration) {
	b.Helper()
	moving := plannedSlots(b, gc, args)
	var keys []string
	for i := 0; len(keys) < 64; i++ {
		k := "probe:" + strconv.Itoa(i)
		if moving.Has(slots.Slot(k)) {
			keys = append(keys, k)
		}
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.addrs, MaxRedirects: 8})
	defer cc.Close()
	ctx := context.Background()
	stop := make(chan struct{})
	var lat []time.Duration
	var probeErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := keys[i%len(keys)]
			t0 := time.Now()
			err := cc.Set(ctx, k, i, 0).Err()
			if err == nil {
				err = cc.Get(ctx, k).Err()
			}
			lat = append(lat, time.Since(t0))
			if err != nil && probeErr == nil {
				probeErr = fmt.Errorf("%s: %w", k, err)
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	d := timedRun(b, gc, args...)
	close(stop)
	wg.Wait()
	if probeErr != nil {
		b.Fatalf("client error during gocluster %s: %v", strings.Join(args, " "), probeErr)
	}
	for _, k := range keys { // the key count is checked at the end
		if err := cc.Del(ctx, k).Err(); err != nil {
			b.Fatalf("DEL %s: %v", k, err)
		}
	}
	slices.Sort(lat)
	return d, lat[len(lat)*99/100]
}

// plannedSlots asks gocluster for the plan of a move (--dry-run --json).
func plannedSlots(b *testing.B, gc string, args []string) *slots.Set {
	b.Helper()
	dry := append(slices.Clone(args), "--dry-run", "--json")
	r := harness.Exec(b, gc, harness.Cmd{Args: dry})
	if r.Code != 0 {
		b.Fatalf("gocluster %s: exit %d\n%s", strings.Join(dry, " "), r.Code, r.Output())
	}
	var doc struct {
		Sources []struct{ Slots string } `json:"sources"`
		Moves   []struct{ Slots string } `json:"moves"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		b.Fatalf("plan of %s: %v\n%s", strings.Join(args, " "), err, r.Stdout)
	}
	set := slots.SetOf()
	for _, g := range append(doc.Sources, doc.Moves...) {
		for _, part := range strings.Split(g.Slots, ",") {
			if r, err := slots.ParseRange(strings.TrimSpace(part)); err == nil {
				set.AddRange(r)
			}
		}
	}
	if set.Len() == 0 {
		b.Fatalf("the plan of %s moves no slot:\n%s", strings.Join(args, " "), r.Stdout)
	}
	return set
}

// masterKeys sums DBSIZE over the nodes that are masters.
func masterKeys(b *testing.B, c migrationCluster) int64 {
	b.Helper()
	ctx := context.Background()
	var total int64
	for _, addr := range c.addrs {
		cl := redis.NewClient(&redis.Options{Addr: addr})
		role, err := cl.Do(ctx, "ROLE").Slice()
		if err == nil && role[0] == "master" {
			total += cl.DBSize(ctx).Val()
		}
		cl.Close()
		if err != nil {
			b.Fatalf("ROLE on %s: %v", addr, err)
		}
	}
	return total
}
