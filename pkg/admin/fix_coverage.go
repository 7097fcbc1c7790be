package admin

import (
	"fmt"

	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// viewOwners maps each slot to a reachable node that some loaded view
// lists as its owner.
func viewOwners(c *topology.Cluster) map[int]*topology.Node {
	reachable := map[string]*topology.Node{}
	for _, n := range c.Nodes {
		reachable[n.ID] = n
	}
	out := map[int]*topology.Node{}
	for _, view := range c.Views {
		for _, n := range view {
			r := reachable[n.ID]
			if r == nil || !n.IsMaster() {
				continue
			}
			for _, sl := range n.Slots.Slots() {
				out[sl] = r
			}
		}
	}
	return out
}

// planCoverage follows clusterManagerFixSlotsCoverage: uncovered slots
// with no keys go to the master with the fewest slots, slots with keys on
// one master to that master, slots with keys on several to the one with
// the most keys. Every claim comes first, told to every master at once,
// so the cluster is whole again (no CLUSTERDOWN) before keys move.
func (m *fixModel) planCoverage(plan *FixPlan) {
	claimed := map[string][]int{}
	var order []string
	type multi struct {
		slot     int
		owner    *topology.Node
		withKeys []*topology.Node
	}
	var multis []multi
	withKeysOnly := map[string]int{}
	blocked := map[string][]int{}
	var blockedOrder []*topology.Node
	defer func() {
		for _, o := range blockedOrder {
			plan.Unfixable = append(plan.Unfixable, fmt.Sprintf("slots %s: no master claims them in its own line, but a node's view gives them to %s: a failover may be in progress; run fix again once the nodes agree", slotList(blocked[o.ID]), o.Addr()))
		}
	}()
	for sl := range slots.Count {
		covered := false
		var withKeys []*topology.Node
		for _, n := range m.masters {
			covered = covered || m.claims[n.ID].Has(sl)
			if m.count(sl, n.ID) > 0 {
				withKeys = append(withKeys, n)
			}
		}
		if covered || m.unfixable[sl] {
			continue
		}
		strandedOn := m.byID[m.stranded[sl]]
		if o := m.viewOwner[sl]; o != nil && strandedOn == nil {
			// The nodes' own lines were read at different moments, e.g.
			// a replica before its failover and its old master after:
			// covering the slot would hand it to a master without its keys.
			if blocked[o.ID] == nil {
				blockedOrder = append(blockedOrder, o)
			}
			blocked[o.ID] = append(blocked[o.ID], sl)
			m.unfixable[sl] = true
			continue
		}
		var owner *topology.Node
		switch len(withKeys) {
		case 0:
			owner = strandedOn // the master the nodes' views already name
			if owner == nil {
				owner = m.fewestSlots()
			}
		case 1:
			owner = withKeys[0]
			withKeysOnly[owner.ID]++
		default:
			owner = m.mostKeys(withKeys, sl)
			multis = append(multis, multi{sl, owner, withKeys})
		}
		if claimed[owner.ID] == nil {
			order = append(order, owner.ID)
		}
		claimed[owner.ID] = append(claimed[owner.ID], sl)
		m.claims[owner.ID].Add(sl)
	}
	for _, id := range order {
		n := m.byID[id]
		ss := claimed[id]
		step := FixStep{Kind: topology.KindUncovered, Slots: ss,
			Message: fmt.Sprintf("Covering %d uncovered slot(s) %s with %s", len(ss), slotList(ss), n.Addr())}
		if k := withKeysOnly[id]; k > 0 {
			step.Message += fmt.Sprintf(" (%d of them have keys only there)", k)
		}
		if k := m.strandedCount(ss); k > 0 {
			step.Message += fmt.Sprintf(" (%d of them no master claims, though the nodes' views name an owner)", k)
		}
		step.Actions = append(step.Actions, FixAction{Op: OpClaim, Node: n.Addr(), NodeID: id, Slots: ss, Clear: true})
		for _, o := range m.masters {
			if o != n {
				step.Actions = append(step.Actions, FixAction{Op: OpNode, Node: o.Addr(), NodeID: o.ID, Peer: n.Addr(), PeerID: id, Slots: ss})
			}
		}
		plan.Steps = append(plan.Steps, step)
	}
	for _, mu := range multis {
		step := FixStep{Kind: topology.KindUncovered, Slots: []int{mu.slot},
			Message: fmt.Sprintf("Slot %d has keys on %s: moving them to %s (most keys)", mu.slot, m.addrs(mu.withKeys), mu.owner.Addr())}
		for _, n := range mu.withKeys {
			if n != mu.owner {
				step.Actions = append(step.Actions, act(OpImporting, n, mu.owner, mu.slot),
					act(OpMoveKeys, n, mu.owner, mu.slot), act(OpStable, n, nil, mu.slot))
			}
		}
		plan.Steps = append(plan.Steps, step)
		m.settle(mu.slot, mu.owner)
	}
}

// fewestSlots is the master claiming the fewest slots, the first on a tie.
func (m *fixModel) fewestSlots() *topology.Node {
	owner := m.masters[0]
	for _, n := range m.masters[1:] {
		if m.claims[n.ID].Len() < m.claims[owner.ID].Len() {
			owner = n
		}
	}
	return owner
}

// strandedCount is how many of ss are stranded.
func (m *fixModel) strandedCount(ss []int) int {
	n := 0
	for _, sl := range ss {
		if _, ok := m.stranded[sl]; ok {
			n++
		}
	}
	return n
}
