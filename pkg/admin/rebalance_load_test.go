package admin

import (
	"math/rand/v2"
	"testing"
)

// applyLoads returns each master's load once the plan's moves are done.
func applyLoads(p *RebalancePlan, l *SlotLoads) map[string]int64 {
	out := map[string]int64{}
	for _, n := range p.Nodes {
		for _, s := range n.Node.Slots.Slots() {
			out[n.Node.Addr()] += l.Load[s]
		}
	}
	seen := map[int]bool{}
	for _, m := range p.Moves {
		if seen[m.Slot] {
			panic("slot moved twice")
		}
		seen[m.Slot] = true
		out[m.Source.Addr] -= l.Load[m.Slot]
		out[m.Target.Addr] += l.Load[m.Slot]
	}
	return out
}

func TestPlanRebalanceByKeysEvensOutAHotMaster(t *testing.T) {
	c := threeMasters(t)
	l := &SlotLoads{By: ByKeys}
	rng := rand.New(rand.NewPCG(1, 2))
	for s := range l.Load {
		l.Load[s] = int64(rng.IntN(3)) // 0..2 keys a slot
		if s <= 5460 {
			l.Load[s] *= 5 // the first master holds 5x the keys
		}
	}
	p, err := PlanRebalanceByLoad(c, l, RebalanceOptions{Threshold: 2})
	if err != nil || !p.Needed || len(p.Moves) == 0 {
		t.Fatalf("needed=%v moves=%d err=%v", p.Needed, len(p.Moves), err)
	}
	after := applyLoads(p, l)
	var total int64
	for _, v := range after {
		total += v
	}
	mean := float64(total) / 3
	for addr, v := range after {
		if off := abs(float64(v)-mean) / mean; off > 0.02 {
			t.Errorf("%s ends with %d keys, %.1f%% off the mean %.0f", addr, v, 100*off, mean)
		}
	}
	for _, n := range p.Nodes {
		if n.LoadAfter != after[n.Node.Addr()] {
			t.Errorf("%s: plan says %d after, moves give %d", n.Node.Addr(), n.LoadAfter, after[n.Node.Addr()])
		}
	}
	for _, m := range p.Moves {
		if m.Source.Addr != "127.0.0.1:7000" || l.Load[m.Slot] == 0 {
			t.Fatalf("move %+v: only loaded slots of the hot master should move", m)
		}
	}
	// The same input gives the same plan.
	p2, _ := PlanRebalanceByLoad(c, l, RebalanceOptions{Threshold: 2})
	if len(p2.Moves) != len(p.Moves) || p2.Moves[0] != p.Moves[0] || p2.Moves[len(p.Moves)-1] != p.Moves[len(p.Moves)-1] {
		t.Errorf("plan is not deterministic")
	}
}

func TestPlanRebalanceByKeysBalancedOrEmpty(t *testing.T) {
	c := threeMasters(t)
	l := &SlotLoads{By: ByKeys}
	for s := range l.Load {
		l.Load[s] = 3
	}
	if p, err := PlanRebalanceByLoad(c, l, RebalanceOptions{Threshold: 2}); err != nil || p.Needed || len(p.Moves) != 0 {
		t.Errorf("even keys: needed=%v moves=%d err=%v", p.Needed, len(p.Moves), err)
	}
	if _, err := PlanRebalanceByLoad(c, &SlotLoads{By: ByKeys}, RebalanceOptions{Threshold: 2}); err == nil {
		t.Errorf("no keys at all: want an error")
	}
	// A weight of 2 wants twice the keys on that master.
	p, err := PlanRebalanceByLoad(c, l, RebalanceOptions{Threshold: 1, Weights: map[string]float64{"127.0.0.1:7002": 2}})
	if err != nil || !p.Needed {
		t.Fatalf("weighted: needed=%v err=%v", p.Needed, err)
	}
	if after := applyLoads(p, l); abs(float64(after["127.0.0.1:7002"])-float64(16384*3)/2) > 16384*3/100 {
		t.Errorf("weight 2 master ends with %d keys, want about half of %d", after["127.0.0.1:7002"], 16384*3)
	}
}
