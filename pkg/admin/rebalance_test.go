package admin

import (
	"strings"
	"testing"
)

// finalCounts applies a plan's moves to the current slot counts.
func finalCounts(p *RebalancePlan) map[string]int {
	out := map[string]int{}
	for _, n := range p.Nodes {
		out[n.Node.Addr()] = n.Slots
	}
	for _, m := range p.Moves {
		out[m.Source.Addr]--
		out[m.Target.Addr]++
	}
	return out
}

func TestPlanRebalanceBalancedClusterNeedsNothing(t *testing.T) {
	p, err := PlanRebalance(threeMasters(t), RebalanceOptions{Threshold: DefaultRebalanceThreshold})
	if err != nil || p.Needed || len(p.Moves) != 0 {
		t.Fatalf("needed=%v moves=%d err=%v", p.Needed, len(p.Moves), err)
	}
	// Empty masters are ignored without UseEmptyMasters.
	c := fakeCluster(t, "0-5460", "5461-10922", "10923-16383", "", "")
	if p, _ := PlanRebalance(c, RebalanceOptions{Threshold: 2}); p.Needed || len(p.Nodes) != 3 {
		t.Fatalf("empty masters took part: needed=%v nodes=%d", p.Needed, len(p.Nodes))
	}
}

func TestPlanRebalanceEmptyMasters(t *testing.T) {
	// Hand computed as redis-cli does: weight 5, expected
	// (int)(16384f/5f) = 3276 each; balances 2185, 2186, 2185, -3276,
	// -3276 sum to 4, taken by the non-giving nodes in load order: the two
	// empty masters end with 3278 each.
	c := fakeCluster(t, "0-5460", "5461-10922", "10923-16383", "", "")
	p, err := PlanRebalance(c, RebalanceOptions{UseEmptyMasters: true, Threshold: 2})
	if err != nil || !p.Needed {
		t.Fatalf("needed=%v err=%v", p.Needed, err)
	}
	if p.TotalWeight != 5 || len(p.Nodes) != 5 {
		t.Fatalf("total weight %v, %d nodes", p.TotalWeight, len(p.Nodes))
	}
	want := map[string]int{"127.0.0.1:7000": 3276, "127.0.0.1:7001": 3276, "127.0.0.1:7002": 3276, "127.0.0.1:7003": 3278, "127.0.0.1:7004": 3278}
	got := finalCounts(p)
	for a, n := range want {
		if got[a] != n {
			t.Fatalf("final counts %v, want %v", got, want)
		}
	}
	// Pairing as redis-cli: most negative receivers with the biggest giver first.
	s := p.Steps[0]
	if s.Source.Addr() != "127.0.0.1:7001" || s.Target.Addr() != "127.0.0.1:7003" || len(s.Slots) != 2186 || s.Slots[0] != 5461 {
		t.Fatalf("first step %s -> %s, %d slots from %d", s.Source.Addr(), s.Target.Addr(), len(s.Slots), s.Slots[0])
	}
	seen := map[int]bool{}
	for _, m := range p.Moves {
		if seen[m.Slot] {
			t.Fatalf("slot %d moved twice", m.Slot)
		}
		seen[m.Slot] = true
	}
}

func TestPlanRebalanceWeights(t *testing.T) {
	// Weights 2,1,1: 4096 per unit; the first master must get 2731 slots:
	// 1366 from the second, then 1365 from the third.
	c := threeMasters(t)
	p, err := PlanRebalance(c, RebalanceOptions{Weights: map[string]float64{"127.0.0.1:7000": 2}, Threshold: 2})
	if err != nil || !p.Needed {
		t.Fatalf("needed=%v err=%v", p.Needed, err)
	}
	got := finalCounts(p)
	if got["127.0.0.1:7000"] != 8192 || got["127.0.0.1:7001"] != 4096 || got["127.0.0.1:7002"] != 4096 {
		t.Fatalf("final counts %v", got)
	}
	if len(p.Steps) != 2 || len(p.Steps[0].Slots) != 1366 || p.Steps[0].Source.Addr() != "127.0.0.1:7001" || len(p.Steps[1].Slots) != 1365 {
		t.Fatalf("steps %+v", p.Steps)
	}
	// Weight 0 empties a master (ID prefix accepted).
	p, _ = PlanRebalance(c, RebalanceOptions{Weights: map[string]float64{fakeID(2)[:5]: 0}, Threshold: 2})
	got = finalCounts(p)
	if got["127.0.0.1:7002"] != 0 || got["127.0.0.1:7000"] != 8192 || got["127.0.0.1:7001"] != 8192 {
		t.Fatalf("weight 0: final counts %v", got)
	}
}

func TestPlanRebalanceThreshold(t *testing.T) {
	// 5461 vs expected 5461: within any threshold; 6000/5192/5192 is
	// 9.0% over for the first (100 - 100*5461/6000 = 8.98).
	c := fakeCluster(t, "0-5999", "6000-11191", "11192-16383")
	for _, tc := range []struct {
		threshold float64
		needed    bool
	}{{2, true}, {8.9, true}, {9, false}, {50, false}} {
		p, err := PlanRebalance(c, RebalanceOptions{Threshold: tc.threshold})
		if err != nil || p.Needed != tc.needed {
			t.Errorf("threshold %v: needed=%v err=%v, want %v", tc.threshold, p.Needed, err, tc.needed)
		}
	}
	p, _ := PlanRebalance(c, RebalanceOptions{Threshold: 2})
	got := finalCounts(p)
	if got["127.0.0.1:7000"] != 5461 || got["127.0.0.1:7001"] != 5462 || got["127.0.0.1:7002"] != 5461 {
		t.Fatalf("final counts %v", got)
	}
}

func TestPlanRebalanceErrors(t *testing.T) {
	c := threeMasters(t)
	if _, err := PlanRebalance(c, RebalanceOptions{Weights: map[string]float64{"nope": 1}}); err == nil || !strings.Contains(err.Error(), "no such master node nope") {
		t.Errorf("unknown node: %v", err)
	}
	// A replica's weight is ignored with a warning (redis-cli ignores it too).
	p, err := PlanRebalance(c, RebalanceOptions{Weights: map[string]float64{fakeID(3): 5}, Threshold: 2})
	if err != nil || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "is a replica, not a master") || p.Needed {
		t.Errorf("weight on a replica: plan %+v, %v", p, err)
	}
	zero := map[string]float64{fakeID(0): 0, fakeID(1): 0, fakeID(2): 0}
	if _, err := PlanRebalance(c, RebalanceOptions{Weights: zero}); err == nil || !strings.Contains(err.Error(), "total weight") {
		t.Errorf("zero weight: %v", err)
	}
	for _, bad := range []string{"x", "=1", "a=b", "a=-1"} {
		if _, err := ParseWeights([]string{bad}); err == nil {
			t.Errorf("ParseWeights(%q) accepted", bad)
		}
	}
	w, err := ParseWeights([]string{"a=1.5", "b=0,c=2"})
	if err != nil || w["a"] != 1.5 || w["b"] != 0 || w["c"] != 2 {
		t.Errorf("ParseWeights = %v, %v", w, err)
	}
}
