package admin

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// DefaultRebalanceThreshold is redis-cli's --cluster-threshold default, in percent.
const DefaultRebalanceThreshold = 2.0

// RebalanceOptions shape a rebalance like redis-cli's options.
type RebalanceOptions struct {
	// Weights maps a node (ID, unique ID prefix or host:port) to its
	// weight; masters not listed weigh 1.
	Weights map[string]float64
	// UseEmptyMasters makes masters without slots take part.
	UseEmptyMasters bool
	// Threshold is the percentage of difference between a node's slots
	// and its expected slots above which the cluster is rebalanced.
	Threshold float64
}

// ParseWeights parses redis-cli's "node=weight" arguments.
func ParseWeights(args []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, a := range args {
		for _, item := range strings.Fields(strings.ReplaceAll(a, ",", " ")) {
			name, val, ok := strings.Cut(item, "=")
			if !ok || name == "" {
				return nil, fmt.Errorf("invalid weight %q: want node=weight", item)
			}
			w, err := strconv.ParseFloat(val, 64)
			if err != nil || w < 0 || math.IsInf(w, 0) || math.IsNaN(w) {
				return nil, fmt.Errorf("invalid weight %q: want a number >= 0", item)
			}
			out[name] = w
		}
	}
	return out, nil
}

// RebalanceNode is a master taking part in a rebalance.
type RebalanceNode struct {
	Node     *topology.Node
	Weight   float64
	Slots    int // slots it holds now
	Expected int // slots it should hold by weight, before rounding fixes
	Balance  int // slots to give (positive) or receive (negative)
	// With --by keys or memory: the load it holds, should hold, and will
	// hold once the plan is applied.
	Load, TargetLoad, LoadAfter int64
	MeasuredWith                string // how its slots were weighed
}

// RebalanceStep moves slots from one master to another.
type RebalanceStep struct {
	Source, Target *topology.Node
	Slots          []int
}

// RebalancePlan is what a rebalance will do.
type RebalancePlan struct {
	By          string          // BySlots, ByKeys or ByMemory
	Nodes       []RebalanceNode // involved masters, in load order
	TotalWeight float64
	Threshold   float64
	// Needed is false when every node is within the threshold ("No
	// rebalancing needed!"); Steps and Moves are then empty.
	Needed bool
	Steps  []RebalanceStep
	Moves  []migrate.Move
	// Warnings are weights that were ignored: they name a node that is a
	// replica now (after a failover), as redis-cli ignores them too.
	Warnings []string
}

// PlanRebalance computes redis-cli's rebalance: the same weights, float
// arithmetic, threshold test, rounding fix and source/target pairing, so
// every master ends with the same number of slots as redis-cli would give
// it. The moves of all steps run in parallel when applied. It is pure and
// deterministic.
func PlanRebalance(c *topology.Cluster, o RebalanceOptions) (*RebalancePlan, error) {
	weights := map[string]float64{}
	var warnings []string
	for _, ref := range slices.Sorted(maps.Keys(o.Weights)) {
		w := o.Weights[ref]
		n, err := c.Find(ref)
		switch {
		case err != nil && strings.Contains(err.Error(), "ambiguous"):
			return nil, fmt.Errorf("--weight %s=%v: %w", ref, w, err)
		case err != nil:
			return nil, withRedisCLILine(fmt.Errorf("no such master node %s", ref), "*** No such master node "+ref)
		case !n.IsMaster():
			warnings = append(warnings, fmt.Sprintf("--weight %s=%v ignored: %s is a replica, not a master", ref, w, n.Addr()))
			continue
		}
		weights[n.ID] = w
	}
	p := &RebalancePlan{By: BySlots, Threshold: o.Threshold, Warnings: warnings}
	// redis-cli computes in C float (32-bit): so do we, to agree on every
	// rounding.
	var total float32
	for _, m := range c.Masters() {
		if !o.UseEmptyMasters && m.Slots.Len() == 0 {
			continue
		}
		w, ok := weights[m.ID]
		if !ok {
			w = 1
		}
		total += float32(w)
		p.Nodes = append(p.Nodes, RebalanceNode{Node: m, Weight: w, Slots: m.Slots.Len()})
	}
	p.TotalWeight = float64(total)
	if len(p.Nodes) == 0 {
		return nil, errors.New("no master with slots to rebalance")
	}
	if total <= 0 {
		return nil, errors.New("the total weight of the masters is zero: give at least one master a positive weight")
	}
	totalBalance := 0
	threshold := float64(float32(o.Threshold))
	for i := range p.Nodes {
		n := &p.Nodes[i]
		n.Expected = int(float32(slots.Count) / total * float32(n.Weight))
		n.Balance = n.Slots - n.Expected
		totalBalance += n.Balance
		if overThreshold(n.Slots, n.Expected, threshold) {
			p.Needed = true
		}
	}
	if !p.Needed {
		return p, nil
	}
	// Rounding down leaves slots nobody expects: nodes that are not
	// giving take one more each, in load order, until the sum is zero.
	for totalBalance > 0 {
		for i := range p.Nodes {
			if p.Nodes[i].Balance <= 0 && totalBalance > 0 {
				p.Nodes[i].Balance--
				totalBalance--
			}
		}
	}
	for totalBalance < 0 { // float rounding up; redis-cli never meets it
		for i := range p.Nodes {
			if p.Nodes[i].Balance >= 0 && totalBalance < 0 {
				p.Nodes[i].Balance++
				totalBalance++
			}
		}
	}
	p.pairUp()
	return p, nil
}

// overThreshold is redis-cli's test, except that a threshold of 0 means
// "any difference" rather than "never".
func overThreshold(have, expected int, threshold float64) bool {
	if have > 0 {
		errPerc := math.Abs(100 - 100.0*float64(expected)/float64(have))
		if threshold <= 0 {
			return have != expected
		}
		return errPerc > threshold
	}
	return expected > 1 || threshold <= 0 && expected > 0
}

// pairUp matches the nodes that must receive slots (most negative balance
// first) with the nodes that must give them (most positive last), as
// redis-cli does; each source gives its lowest-numbered slots.
func (p *RebalancePlan) pairUp() {
	order := make([]int, len(p.Nodes))
	balance := make([]int, len(p.Nodes))
	for i := range order {
		order[i], balance[i] = i, p.Nodes[i].Balance
	}
	slices.SortStableFunc(order, func(a, b int) int { return balance[a] - balance[b] })
	left := map[string][]int{}
	for _, n := range p.Nodes {
		left[n.Node.ID] = n.Node.Slots.Slots()
	}
	dst, src := 0, len(order)-1
	for dst < src {
		d, s := order[dst], order[src]
		num := min(-balance[d], balance[s])
		if num > 0 {
			sn, dn := p.Nodes[s].Node, p.Nodes[d].Node
			taken := left[sn.ID][:num]
			left[sn.ID] = left[sn.ID][num:]
			p.Steps = append(p.Steps, RebalanceStep{Source: sn, Target: dn, Slots: taken})
			for _, slot := range taken {
				p.Moves = append(p.Moves, migrate.Move{Slot: slot, Source: migrateNode(sn), Target: migrateNode(dn)})
			}
		}
		balance[d] += num
		balance[s] -= num
		if balance[d] == 0 {
			dst++
		}
		if balance[s] == 0 {
			src--
		}
	}
}
