package admin

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// What a rebalance evens out.
const (
	BySlots  = "slots"  // slot counts, as redis-cli
	ByKeys   = "keys"   // key counts per slot
	ByMemory = "memory" // bytes per slot
)

// SlotLoads is a measure of every slot: keys or bytes.
type SlotLoads struct {
	By   string
	Load [slots.Count]int64
	// Method says per master how it was measured ("CLUSTER SLOT-STATS",
	// "CLUSTER COUNTKEYSINSLOT", "sampled MEMORY USAGE").
	Method map[string]string
}

// PlanRebalanceByLoad balances a load (keys or memory) rather than slot
// counts: every master's share of the total follows its weight, and the
// plan chooses which slots move, not only how many. Moves go greedily from
// the most loaded master to the least loaded one, each time the heaviest
// slot that does not overshoot; it stops when every master is within the
// threshold (percent of its target) or no move helps. Slots without load
// never move. Pure and deterministic.
func PlanRebalanceByLoad(c *topology.Cluster, loads *SlotLoads, o RebalanceOptions) (*RebalancePlan, error) {
	p, err := PlanRebalance(c, RebalanceOptions{Weights: o.Weights, UseEmptyMasters: o.UseEmptyMasters, Threshold: 0})
	if err != nil {
		return nil, err
	}
	p.Needed, p.Steps, p.Moves, p.Threshold, p.By = false, nil, nil, o.Threshold, loads.By
	type member struct {
		node   *topology.Node
		load   int64
		target float64
		slots  []int // its slots with load > 0, lightest first
	}
	ms := make([]*member, len(p.Nodes))
	var total int64
	for i, n := range p.Nodes {
		m := &member{node: n.Node}
		for _, s := range n.Node.Slots.Slots() {
			if l := loads.Load[s]; l > 0 {
				m.load += l
				m.slots = append(m.slots, s)
			}
		}
		slices.SortStableFunc(m.slots, func(a, b int) int { return cmp.Compare(loads.Load[a], loads.Load[b]) })
		total += m.load
		ms[i] = m
	}
	if total == 0 {
		return nil, fmt.Errorf("the cluster holds no %s to balance: rebalance --by slots instead", loads.By)
	}
	for i, m := range ms {
		m.target = float64(total) * p.Nodes[i].Weight / p.TotalWeight
		p.Nodes[i].Load, p.Nodes[i].TargetLoad = m.load, int64(m.target)
		p.Nodes[i].MeasuredWith = loads.Method[m.node.Addr()]
	}
	within := func(m *member) bool {
		if m.target == 0 {
			return m.load == 0
		}
		off := 100 * abs(float64(m.load)-m.target) / m.target
		if o.Threshold <= 0 {
			return off < 0.5/m.target*100 // less than one unit off
		}
		return off <= o.Threshold
	}
	for _, m := range ms {
		if !within(m) {
			p.Needed = true
		}
	}
	if !p.Needed {
		return p, nil
	}
	steps := map[[2]int][]int{} // (source, target) index -> slots
	var order [][2]int
	for range slots.Count { // each round moves one slot; a slot never moves twice
		src, dst := -1, -1
		for i, m := range ms {
			excess := float64(m.load) - m.target
			if excess > 0 && len(m.slots) > 0 && (src < 0 || excess > float64(ms[src].load)-ms[src].target) {
				src = i
			}
			if excess < 0 && (dst < 0 || -excess > ms[dst].target-float64(ms[dst].load)) {
				dst = i
			}
		}
		if src < 0 || dst < 0 || within(ms[src]) && within(ms[dst]) {
			break
		}
		s, d := ms[src], ms[dst]
		need := min(float64(s.load)-s.target, d.target-float64(d.load))
		// The heaviest slot not above need; else the lightest, if moving
		// it still brings the two closer to their targets.
		k, _ := slices.BinarySearchFunc(s.slots, int64(need), func(slot int, n int64) int {
			return cmp.Compare(loads.Load[slot], n+1)
		})
		pick := k - 1
		if pick < 0 {
			l := float64(loads.Load[s.slots[0]])
			before := (float64(s.load) - s.target) + (d.target - float64(d.load))
			after := abs(float64(s.load)-l-s.target) + abs(d.target-float64(d.load)-l)
			if after >= before {
				break
			}
			pick = 0
		}
		slot := s.slots[pick]
		s.slots = slices.Delete(s.slots, pick, pick+1)
		s.load -= loads.Load[slot]
		d.load += loads.Load[slot]
		key := [2]int{src, dst}
		if _, ok := steps[key]; !ok {
			order = append(order, key)
		}
		steps[key] = append(steps[key], slot)
	}
	for i, m := range ms {
		p.Nodes[i].LoadAfter = m.load
	}
	for _, key := range order {
		sn, dn := ms[key[0]].node, ms[key[1]].node
		list := steps[key]
		slices.Sort(list)
		p.Steps = append(p.Steps, RebalanceStep{Source: sn, Target: dn, Slots: list})
		for _, slot := range list {
			p.Moves = append(p.Moves, migrate.Move{Slot: slot, Source: migrateNode(sn), Target: migrateNode(dn)})
		}
	}
	if len(p.Moves) == 0 {
		return nil, errors.New("no slot move brings the masters closer: the load sits in too few slots")
	}
	return p, nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
