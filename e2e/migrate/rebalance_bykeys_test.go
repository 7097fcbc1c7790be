package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
)

// masterKeyCounts is DBSIZE of every master.
func masterKeyCounts(t *testing.T, c *harness.Cluster) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, m := range c.Topology(t).Masters() {
		cl := harnessClient(c, m.Addr())
		n, err := cl.DBSize(context.Background()).Result()
		if err != nil {
			t.Fatalf("DBSIZE %s: %v", m.Addr(), err)
		}
		out[m.Addr()] = n
	}
	return out
}

// TestRebalanceByKeysUnderLoad: one master holds 5x the keys of each other
// master (same slot counts); rebalance --by keys, with a client writing
// and reading all along, leaves every master within 10% of the mean key
// count and loses no key.
func TestRebalanceByKeysUnderLoad(t *testing.T) {
	const pre, writers, extra = 3000, 2, 12000
	c, cc := preloadedCluster(t, pre)
	load := harness.StartLoad(t, cc, pre, writers, 2)
	ctx := context.Background()
	// Writers cycle over 3000 keys each: once all exist, counts stop moving.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var total int64
		for _, n := range masterKeyCounts(t, c) {
			total += n
		}
		if total >= pre+writers*3000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live keys never all written: %d keys", total)
		}
		time.Sleep(200 * time.Millisecond)
	}
	hot := c.Topology(t).Masters()[0]
	hotSlots := hot.Slots.Slots()
	pipe := cc.Pipeline()
	for i := range extra {
		pipe.Set(ctx, keyIn(hotSlots[i*7%len(hotSlots)], fmt.Sprintf("hot:%d:", i)), fmt.Sprint(i), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("write hot keys: %v", err)
	}
	before := masterKeyCounts(t, c)
	for addr, n := range before {
		if addr != hot.Addr() && (before[hot.Addr()] < 4*n || before[hot.Addr()] > 6*n) {
			t.Fatalf("setup: hot master should hold about 5x the keys of %s: %v", addr, before)
		}
	}

	dry := harness.Run(t, "rebalance", c.Addr(), "--by", "keys", "--dry-run", "--json")
	var plan struct {
		By    string `json:"by"`
		Moves []struct {
			Source string `json:"source"`
			Count  int    `json:"count"`
		} `json:"moves"`
		Nodes []struct {
			Addr      string `json:"addr"`
			LoadAfter *int64 `json:"load_after"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(dry.Stdout), &plan); err != nil || dry.Code != 0 {
		t.Fatalf("--dry-run --json: %d %v\n%s", dry.Code, err, dry.Output())
	}
	if plan.By != "keys" || len(plan.Moves) == 0 || plan.Nodes[0].LoadAfter == nil {
		t.Fatalf("dry-run plan: %+v", plan)
	}
	for _, m := range plan.Moves {
		if m.Source != hot.Addr() {
			t.Errorf("plan moves slots from %s; only the hot master %s should give", m.Source, hot.Addr())
		}
	}
	if after := masterKeyCounts(t, c); after[hot.Addr()] != before[hot.Addr()] {
		t.Fatalf("--dry-run moved keys: %v -> %v", before, after)
	}

	r := harness.Run(t, "rebalance", c.Addr(), "--by", "keys")
	if r.Code != 0 {
		t.Fatalf("rebalance --by keys: %d\n%s", r.Code, r.Output())
	}
	load.Finish(t)
	after := masterKeyCounts(t, c)
	var total int64
	for _, n := range after {
		total += n
	}
	mean := float64(total) / float64(len(after))
	for addr, n := range after {
		if off := math.Abs(float64(n)-mean) / mean; off > 0.10 {
			t.Errorf("%s holds %d keys, %.1f%% off the mean %.0f (before %v, after %v)", addr, n, 100*off, mean, before, after)
		}
	}
	for i := range extra {
		k := keyIn(hotSlots[i*7%len(hotSlots)], fmt.Sprintf("hot:%d:", i))
		if v, err := cc.Get(ctx, k).Result(); err != nil || v != fmt.Sprint(i) {
			t.Fatalf("hot key %s = %q, %v after the rebalance", k, v, err)
		}
	}
	assertRedisCheckClean(t, c)
	t.Logf("keys per master before %v, after %v", before, after)
}

type loadPlan struct {
	By    string `json:"by"`
	Moves []struct {
		Source string `json:"source"`
	} `json:"moves"`
	Nodes []struct {
		Addr       string `json:"addr"`
		Load       int64  `json:"load"`
		TargetLoad int64  `json:"target_load"`
		LoadAfter  int64  `json:"load_after"`
		Measured   string `json:"measured_with"`
	} `json:"nodes"`
}

// TestRebalanceByMemoryPlansFromTheHeavyMaster: big values on one master;
// redis-server 7.0 has no CLUSTER SLOT-STATS, so bytes come from sampled
// MEMORY USAGE, and the plan moves slots only away from that master and
// leaves every master within the threshold of its share.
func TestRebalanceByMemoryPlansFromTheHeavyMaster(t *testing.T) {
	c, cc := preloadedCluster(t, 3000)
	hot := c.Topology(t).Masters()[1]
	hotSlots := hot.Slots.Slots()
	ctx := context.Background()
	big := strings.Repeat("m", 2000)
	pipe := cc.Pipeline()
	for i := range 3000 {
		pipe.Set(ctx, keyIn(hotSlots[i*5%len(hotSlots)], fmt.Sprintf("mem:%d:", i)), big, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	r := harness.Run(t, "rebalance", c.Addr(), "--by", "memory", "--dry-run", "--json", "--threshold", "5")
	var plan loadPlan
	if err := json.Unmarshal([]byte(r.Stdout), &plan); err != nil || r.Code != 0 {
		t.Fatalf("--by memory --dry-run --json: %d %v\n%s", r.Code, err, r.Output())
	}
	if plan.By != "memory" || len(plan.Moves) == 0 {
		t.Fatalf("plan: %+v", plan)
	}
	for _, m := range plan.Moves {
		if m.Source != hot.Addr() {
			t.Errorf("moves slots from %s, want only from the heavy master %s", m.Source, hot.Addr())
		}
	}
	for _, n := range plan.Nodes {
		if n.Measured != "sampled MEMORY USAGE" {
			t.Errorf("%s measured with %q, want sampled MEMORY USAGE on redis-server 7.0", n.Addr, n.Measured)
		}
		if off := math.Abs(float64(n.LoadAfter-n.TargetLoad)) / float64(n.TargetLoad); off > 0.05 {
			t.Errorf("%s: %d bytes after the plan, target %d (%.1f%% off)", n.Addr, n.LoadAfter, n.TargetLoad, 100*off)
		}
		if n.Addr == hot.Addr() && n.Load < 3*n.TargetLoad/2 {
			t.Errorf("heavy master weighed %d bytes, target %d: the big values were not seen", n.Load, n.TargetLoad)
		}
	}
}
