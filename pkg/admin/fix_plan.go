package admin

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// fixModel is the planner's picture of the slots it touches; each planned
// step updates it so later phases see the cluster as it will be.
type fixModel struct {
	masters []*topology.Node
	byID    map[string]*topology.Node
	claims  map[string]*slots.Set // master ID -> slots it claims
	counts  map[int]map[string]int64
	mig     map[int]map[string]string // slot -> node -> target
	imp     map[int]map[string]string // slot -> node -> source
	// unfixable slots are left alone by later phases, for the operator.
	unfixable map[int]bool
	// viewOwner[slot] is a reachable master that some node's view gives
	// the slot to (see viewOwners).
	viewOwner map[int]*topology.Node
	stranded  map[int]string    // FixSurvey.Stranded
	downMates map[string]string // FixSurvey.DownShardMates
}

func newFixModel(s *FixSurvey) *fixModel {
	m := &fixModel{masters: s.Cluster.Masters(), byID: map[string]*topology.Node{}, claims: map[string]*slots.Set{},
		counts: map[int]map[string]int64{}, mig: map[int]map[string]string{}, imp: map[int]map[string]string{},
		unfixable: map[int]bool{}, stranded: s.Stranded, downMates: s.DownShardMates}
	for _, n := range m.masters {
		m.byID[n.ID] = n
		set := &slots.Set{}
		for _, sl := range n.Slots.Slots() {
			set.Add(sl)
		}
		m.claims[n.ID] = set
		for sl, to := range n.Migrating {
			m.state(m.mig, sl)[n.ID] = to
		}
		for sl, from := range n.Importing {
			m.state(m.imp, sl)[n.ID] = from
		}
	}
	for sl, byNode := range s.Counts {
		m.counts[sl] = map[string]int64{}
		for id, n := range byNode {
			m.counts[sl][id] = n
		}
	}
	return m
}

func (m *fixModel) state(st map[int]map[string]string, slot int) map[string]string {
	if st[slot] == nil {
		st[slot] = map[string]string{}
	}
	return st[slot]
}

func (m *fixModel) count(slot int, id string) int64 { return m.counts[slot][id] }

// mostKeys returns the node of nodes with the most keys in slot, the
// first one on a tie.
func (m *fixModel) mostKeys(nodes []*topology.Node, slot int) *topology.Node {
	var best *topology.Node
	for _, n := range nodes {
		if best == nil || m.count(slot, n.ID) > m.count(slot, best.ID) {
			best = n
		}
	}
	return best
}

// settle records the outcome of a step that leaves slot owned by owner
// alone, with every key there and no open state.
func (m *fixModel) settle(slot int, owner *topology.Node) {
	total := int64(0)
	for _, n := range m.masters {
		total += m.count(slot, n.ID)
		m.claims[n.ID].Remove(slot)
	}
	m.claims[owner.ID].Add(slot)
	m.counts[slot] = map[string]int64{owner.ID: total}
	delete(m.mig, slot)
	delete(m.imp, slot)
}

func act(op string, n *topology.Node, peer *topology.Node, slot int) FixAction {
	a := FixAction{Op: op, Node: n.Addr(), NodeID: n.ID, Slots: []int{slot}}
	if peer != nil {
		a.Peer, a.PeerID = peer.Addr(), peer.ID
	}
	return a
}

// PlanFix decides every repair, following redis-cli's fix (open slots,
// then coverage, then with SearchMultipleOwners multiple owners) with its
// cases, deterministically: where redis-cli picks a random master,
// gocluster picks the one with the fewest slots. It refuses to plan
// repairs while masters are unreachable unless FixWithUnreachableMasters.
func PlanFix(s *FixSurvey, o FixOptions) (*FixPlan, error) {
	plan := &FixPlan{Seed: s.Cluster.Seed, Steps: []FixStep{}, Unfixable: []string{}}
	for _, n := range s.Cluster.Nodes {
		plan.Nodes = append(plan.Nodes, n.Addr())
	}
	m := newFixModel(s)
	m.viewOwner = viewOwners(s.Cluster)
	if len(m.masters) == 0 {
		return nil, fmt.Errorf("no reachable master in the cluster")
	}
	open := s.Cluster.OpenSlots()
	uncovered := !(s.Cluster.Covered().Len() == slots.Count)
	if len(s.UnreachableMasters) > 0 && !o.FixWithUnreachableMasters && (len(open) > 0 || uncovered || o.SearchMultipleOwners) {
		// redis-cli repairs open slots first, then coverage, and refuses at
		// the first; its line names which.
		what := "slots coverage"
		if len(open) > 0 {
			what = "open slots"
		}
		return nil, withRedisCLILine(fmt.Errorf("fixing slots with %d unreachable master(s) (%s) is dangerous: their slots would be treated as uncovered and reassigned to reachable nodes, which can lose data; if you really want that, pass --fix-with-unreachable-masters",
			len(s.UnreachableMasters), strings.Join(s.UnreachableMasters, ", ")),
			fmt.Sprintf("*** Fixing %s with %d unreachable masters is dangerous: gocluster would assume that the slots of masters that are not reachable are not covered, and reassign them to the reachable nodes. This can cause data loss and is rarely what you want to do. If you really want to proceed use the --cluster-fix-with-unreachable-masters option.",
				what, len(s.UnreachableMasters)))
	}
	planAtomicMigrations(plan, s)
	m.planStaleImports(plan)
	for _, sl := range open {
		m.planOpenSlot(plan, sl)
	}
	m.planReplicaStates(plan, s)
	m.planCoverage(plan)
	if o.SearchMultipleOwners {
		for sl := range slots.Count {
			m.planMultipleOwners(plan, sl)
		}
	}
	hoistReleases(plan)
	return plan, nil
}

// hoistReleases moves every DELSLOTS that gives up a double claim, then
// the claims of the slots released, into two steps before the first claim
// of the plan. A claim ends with BUMPEPOCH, which makes every slot its node
// claims win over the other claimers, not only the slot being repaired; a
// master that loses a slot with keys to a newer claim deletes them (the
// dirty-slot rule), so a claim for slot 0 could delete the keys of slot
// 243 on the master fix meant to keep it (seen after apply was killed
// mid-rebalance on Valkey: 95 keys). The claims follow the releases at
// once: a released slot has no owner, and a cluster with uncovered slots
// answers CLUSTERDOWN, MIGRATE included.
func hoistReleases(plan *FixPlan) {
	first := slices.IndexFunc(plan.Steps, func(st FixStep) bool {
		return slices.ContainsFunc(st.Actions, func(a FixAction) bool { return a.Op == OpClaim })
	})
	if first < 0 {
		return
	}
	release := FixStep{Kind: topology.KindOpenSlot}
	claim := FixStep{Kind: topology.KindOpenSlot}
	for i := first; i < len(plan.Steps); i++ {
		st := &plan.Steps[i]
		if !slices.ContainsFunc(st.Actions, func(a FixAction) bool { return a.Op == OpDelSlot }) {
			continue
		}
		var rest []FixAction
		for j, a := range st.Actions {
			next := FixAction{}
			if j+1 < len(st.Actions) {
				next = st.Actions[j+1]
			}
			switch {
			case a.Op == OpDelSlot:
				release.Actions = append(release.Actions, a)
				release.Slots = append(release.Slots, a.Slots...)
			case a.Op == OpClaim, a.Op == OpStable && next.Op == OpClaim && next.NodeID == a.NodeID:
				claim.Actions = append(claim.Actions, a)
				claim.Slots = append(claim.Slots, a.Slots...)
			default:
				rest = append(rest, a)
			}
		}
		st.Actions = rest
	}
	if len(release.Actions) == 0 {
		return
	}
	for _, st := range []*FixStep{&release, &claim} {
		slices.Sort(st.Slots)
		st.Slots = slices.Compact(st.Slots)
	}
	release.Message = fmt.Sprintf("Releasing slot(s) %s on the masters that will not keep them, before any new owner claims a slot", slotList(release.Slots))
	claim.Message = fmt.Sprintf("Claiming slot(s) %s on their new owners", slotList(claim.Slots))
	plan.Steps = slices.Insert(plan.Steps, first, release, claim)
}

func (m *fixModel) addrs(nodes []*topology.Node) string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr()
	}
	return strings.Join(out, ",")
}

func removeNode(list []*topology.Node, n *topology.Node) []*topology.Node {
	return slices.DeleteFunc(list, func(x *topology.Node) bool { return x == n })
}

// migrationTarget reports whether n imports slot from the node that claims
// it and migrates it to n: an interrupted migration, whose keys on n came
// from MIGRATE or from clients sent there by ASK.
//
// redis-cli counts such a node as a second owner, then stabilizes the slot
// on the one with the most keys and moves the other's keys to it "cold":
// meanwhile the keys on the other side answer nil and writes to them land
// on the wrong node. Finishing the migration towards n instead (case 1)
// keeps the MIGRATING/IMPORTING pair, so clients are served throughout.
func (m *fixModel) migrationTarget(slot int, n *topology.Node) bool {
	from, ok := m.imp[slot][n.ID]
	if !ok {
		return false
	}
	src := m.byID[from]
	return src != nil && m.claims[src.ID].Has(slot) && m.mig[slot][src.ID] == n.ID
}

// planStaleImports re-points slots that a master imports from a node
// which no longer owns them, typically a source master that crashed
// mid-migration and whose replica took over. Redis and Valkey never let
// gossip change the owner of a slot in importing state, so the importing
// master still sees the old node as the owner: a failed owner puts it in
// cluster_state fail, and it answers CLUSTERDOWN for every slot it serves,
// MIGRATE included, so the per-slot repairs below would all fail. Telling
// it the current owner first, for all such slots at once, brings it back
// before any key moves; the importing state is closed per slot afterwards.
func (m *fixModel) planStaleImports(plan *FixPlan) {
	for _, n := range m.masters {
		byOwner := map[string][]int{}
		var owners []string
		for sl := range slots.Count {
			from, ok := m.imp[sl][n.ID]
			if !ok {
				continue
			}
			owner := m.soleClaimer(sl)
			if owner == nil || owner.ID == from || owner == n {
				continue
			}
			if byOwner[owner.ID] == nil {
				owners = append(owners, owner.ID)
			}
			byOwner[owner.ID] = append(byOwner[owner.ID], sl)
		}
		for _, id := range owners {
			owner, ss := m.byID[id], byOwner[id]
			plan.Steps = append(plan.Steps, FixStep{Kind: topology.KindOpenSlot, Slots: ss,
				Message: fmt.Sprintf("%s imports slot(s) %s from a node that no longer owns them: telling it their owner %s first",
					n.Addr(), slotList(ss), owner.Addr()),
				Actions: []FixAction{{Op: OpNode, Node: n.Addr(), NodeID: n.ID, Peer: owner.Addr(), PeerID: id, Slots: ss}}})
		}
	}
}

// soleClaimer is the only master claiming slot, or nil.
func (m *fixModel) soleClaimer(slot int) *topology.Node {
	var owner *topology.Node
	for _, n := range m.masters {
		if m.claims[n.ID].Has(slot) {
			if owner != nil {
				return nil
			}
			owner = n
		}
	}
	return owner
}

// claimersAmong returns the nodes of nodes that claim slot, in order.
func (m *fixModel) claimersAmong(nodes []*topology.Node, slot int) []*topology.Node {
	var out []*topology.Node
	for _, n := range nodes {
		if m.claims[n.ID].Has(slot) {
			out = append(out, n)
		}
	}
	return out
}

// planOpenSlot follows redis-cli's clusterManagerFixOpenSlot, except that
// an interrupted migration is finished rather than rolled back cold (see
// migrationTarget).
func (m *fixModel) planOpenSlot(plan *FixPlan, slot int) {
	blocked := m.downMateBlocks(slot)
	before := m.saveSlot(slot)
	claimer := m.soleClaimer(slot)
	step := FixStep{Kind: topology.KindOpenSlot, Slots: []int{slot}}
	var notes []string
	var owners []*topology.Node
	for _, n := range m.masters {
		if m.claims[n.ID].Has(slot) {
			owners = append(owners, n)
		} else if m.count(slot, n.ID) > 0 && !m.migrationTarget(slot, n) {
			notes = append(notes, fmt.Sprintf("found keys of slot %d in non-owner %s", slot, n.Addr()))
			owners = append(owners, n)
		}
	}
	var owner *topology.Node
	if len(owners) == 1 {
		owner = owners[0]
	}
	var migrating, importing []*topology.Node
	for _, n := range m.masters {
		if _, ok := m.mig[slot][n.ID]; ok {
			migrating = append(migrating, n)
		} else if _, ok := m.imp[slot][n.ID]; ok {
			importing = append(importing, n)
		} else if n != owner && m.count(slot, n.ID) > 0 {
			importing = append(importing, n)
		}
	}
	desc := fmt.Sprintf("migrating in %q, importing in %q", m.addrs(migrating), m.addrs(importing))
	if owner == nil {
		// On a tie prefer the claimer with the newest config epoch, the
		// one gossip settles a double claim on (a target that bumped its
		// epoch to take the slot), then the nodes in the migration.
		claimers := m.claimersAmong(owners, slot)
		slices.SortStableFunc(claimers, func(a, b *topology.Node) int { return cmp.Compare(b.ConfigEpoch, a.ConfigEpoch) })
		cands := slices.Concat(claimers, migrating, importing, m.masters)
		owner = m.mostKeys(cands, slot)
		_, step.OwnerMigrating = m.mig[slot][owner.ID]
		notes = append(notes, fmt.Sprintf("no single clear owner: %s has the most keys (%d) and becomes the owner", owner.Addr(), m.count(slot, owner.ID)))
		step.Actions = append(step.Actions, m.releaseBeforeClaim(claimers, owner, slot)...)
		step.Actions = append(step.Actions, act(OpStable, owner, nil, slot), act(OpClaim, owner, nil, slot))
		m.claims[owner.ID].Add(slot)
		migrating, importing = removeNode(migrating, owner), removeNode(importing, owner)
		delete(m.mig[slot], owner.ID)
		delete(m.imp[slot], owner.ID)
		if len(owners) == 0 {
			owners = []*topology.Node{owner}
		}
	}
	if len(owners) > 1 {
		for _, n := range owners {
			if n == owner {
				continue
			}
			step.Actions = append(step.Actions, act(OpNode, n, owner, slot), act(OpImporting, n, owner, slot))
			importing = append(removeNode(importing, n), n)
			migrating = removeNode(migrating, n)
			delete(m.mig[slot], n.ID)
			m.state(m.imp, slot)[n.ID] = owner.ID
		}
	}
	switch {
	case len(migrating) == 1 && len(importing) == 1:
		src, dst := migrating[0], importing[0]
		notes = append(notes, fmt.Sprintf("case 1: finish moving slot %d from %s to %s", slot, src.Addr(), dst.Addr()))
		step.Actions = append(step.Actions, m.warmMove(slot, src, dst)...)
		m.settle(slot, dst)
	case len(migrating) == 0 && len(importing) > 0:
		notes = append(notes, fmt.Sprintf("case 2: move every key of slot %d to its owner %s", slot, owner.Addr()))
		if !m.claims[owner.ID].Has(slot) {
			// The owner only holds keys: it claims the slot, closing its own state.
			claim := act(OpClaim, owner, nil, slot)
			claim.Clear = true
			step.Actions = append(step.Actions, claim)
		} else if _, ok := m.imp[slot][owner.ID]; ok {
			step.Actions = append(step.Actions, act(OpStable, owner, nil, slot))
		}
		for _, n := range importing {
			if n == owner {
				continue
			}
			if _, ok := m.imp[slot][n.ID]; !ok {
				step.Actions = append(step.Actions, act(OpImporting, n, owner, slot))
			}
			step.Actions = append(step.Actions, act(OpMoveKeys, n, owner, slot), act(OpStable, n, nil, slot))
		}
		for _, n := range m.masters {
			if n != owner {
				step.Actions = append(step.Actions, act(OpNode, n, owner, slot))
			}
		}
		m.settle(slot, owner)
	case len(migrating) == 1 && len(importing) > 1:
		src := migrating[0]
		var dst *topology.Node
		for _, n := range importing {
			if m.count(slot, n.ID) > 0 {
				plan.Unfixable = append(plan.Unfixable, fmt.Sprintf("slot %d: %s, owner %s: several importing nodes and %s holds keys; move them by hand", slot, desc, owner.Addr(), n.Addr()))
				m.unfixable[slot] = true
				return
			}
			if n.ID == m.mig[slot][src.ID] {
				dst = n
			}
		}
		if dst != nil {
			notes = append(notes, fmt.Sprintf("case 3: move slot %d from %s to %s and close it on the other importing nodes", slot, src.Addr(), dst.Addr()))
			step.Actions = append(step.Actions, m.warmMove(slot, src, dst)...)
			for _, n := range importing {
				if n != dst {
					step.Actions = append(step.Actions, act(OpStable, n, nil, slot))
				}
			}
			m.settle(slot, dst)
		} else {
			notes = append(notes, fmt.Sprintf("case 3: close slot %d on the migrating and every importing node", slot))
			for _, n := range append([]*topology.Node{src}, importing...) {
				step.Actions = append(step.Actions, act(OpStable, n, nil, slot))
			}
			delete(m.mig, slot)
			delete(m.imp, slot)
		}
	case len(migrating) == 1 && len(importing) == 0 && (migrating[0] == owner || m.count(slot, migrating[0].ID) == 0):
		n := migrating[0]
		notes = append(notes, fmt.Sprintf("case 4: nothing is importing slot %d: close it on %s", slot, n.Addr()))
		step.Actions = append(step.Actions, act(OpStable, n, nil, slot))
		delete(m.mig, slot)
		delete(m.imp, slot)
	case len(migrating) == 0 && len(importing) == 0 && len(step.Actions) == 0:
		return // open on replicas only: planReplicaStates
	case len(migrating) == 0 && len(importing) == 0:
		// The owner chosen above, with no clear owner before, was the only
		// node with the slot open (a source whose target took the slot and
		// failed over before the source or the promoted replica heard of
		// it): its claim and STABLE close the slot, the others follow.
		notes = append(notes, fmt.Sprintf("%s claims slot %d and closes it; no other node holds its keys", owner.Addr(), slot))
		for _, n := range m.masters {
			if n != owner {
				step.Actions = append(step.Actions, act(OpNode, n, owner, slot))
			}
		}
		m.settle(slot, owner)
	default:
		plan.Unfixable = append(plan.Unfixable, fmt.Sprintf("slot %d: %s, owner %s: this combination cannot be fixed automatically", slot, desc, owner.Addr()))
		m.unfixable[slot] = true
		return
	}
	if blocked != "" && (claimer == nil || m.soleClaimer(slot) != claimer) {
		// The step would take the slot from its source: see downShardMates.
		m.restoreSlot(slot, before)
		plan.Unfixable = append(plan.Unfixable, blocked)
		m.unfixable[slot] = true
		return
	}
	step.Message = fmt.Sprintf("Fixing open slot %d (%s): %s", slot, desc, strings.Join(notes, "; "))
	plan.Steps = append(plan.Steps, step)
}

// releaseBeforeClaim makes every node of claimers but owner give up its
// claim on slot (CLUSTER DELSLOTS; its keys stay), to run before owner
// claims it with a new epoch: a master that still owns a slot with keys
// when a newer claim reaches it deletes those keys, Redis's rule for a
// slot lost to a newer configuration, before fix could move them.
func (m *fixModel) releaseBeforeClaim(claimers []*topology.Node, owner *topology.Node, slot int) []FixAction {
	var out []FixAction
	for _, n := range claimers {
		if n != owner {
			out = append(out, act(OpDelSlot, n, nil, slot))
			m.claims[n.ID].Remove(slot)
		}
	}
	return out
}

// planReplicaStates clears importing/migrating states that a replica holds
// while its primary does not. Valkey 8 replicates SETSLOT to replicas
// before running it, so a SETSLOT that timed out waiting for them, or a
// migration another tool left half done, can leave a replica's slot table
// behind its primary's. A replica refuses SETSLOT ("only with masters"),
// so STABLE goes to its primary, which replicates it (it changes nothing
// on a primary with no state for the slot). Redis 7 neither replicates
// SETSLOT nor lets a replica keep such a state (a master turning replica
// closes its slots), so there it is reported for the operator.
func (m *fixModel) planReplicaStates(plan *FixPlan, s *FixSurvey) {
	for _, r := range s.Cluster.Nodes {
		primary := m.byID[r.MasterID]
		if !r.IsReplica() || len(r.Migrating)+len(r.Importing) == 0 {
			continue
		}
		// A slot its primary has open too is repaired on the primary,
		// whose SETSLOTs reach the replica.
		var stale []int
		for _, st := range []map[int]string{r.Migrating, r.Importing} {
			for sl := range st {
				if primary == nil || primary.Migrating[sl] == "" && primary.Importing[sl] == "" {
					stale = append(stale, sl)
				}
			}
		}
		if len(stale) == 0 {
			continue
		}
		slices.Sort(stale)
		list := slots.SetOf(stale...).String()
		switch {
		case primary == nil:
			plan.Unfixable = append(plan.Unfixable, fmt.Sprintf("slots %s: replica %s holds them open and its primary is not a reachable master", list, r.Addr()))
			continue
		case !s.Servers[primary.Addr()].ReplicatesSetslot():
			plan.Unfixable = append(plan.Unfixable, fmt.Sprintf("slots %s: replica %s holds them open and its primary %s (%s) does not replicate CLUSTER SETSLOT to clear them",
				list, r.Addr(), primary.Addr(), s.Servers[primary.Addr()]))
			continue
		}
		step := FixStep{Kind: topology.KindOpenSlot, Slots: stale,
			Message: fmt.Sprintf("Fixing open slots %s on replica %s: CLUSTER SETSLOT STABLE through its primary %s, which replicates it", list, r.Addr(), primary.Addr())}
		for _, sl := range stale {
			step.Actions = append(step.Actions, act(OpStable, primary, nil, sl))
		}
		plan.Steps = append(plan.Steps, step)
	}
}

// warmMove is redis-cli's clusterManagerMoveSlot: open the slot on both
// sides, move the keys, then assign it to dst on dst, src and every other
// master. A side whose claim makes SETSLOT MIGRATING/IMPORTING impossible
// is adapted: a dst that already claims the slot is not set importing, a
// src that does not claim it is set importing (so MIGRATE is served) and
// closed at the end.
func (m *fixModel) warmMove(slot int, src, dst *topology.Node) []FixAction {
	var out []FixAction
	if !m.claims[dst.ID].Has(slot) {
		out = append(out, act(OpImporting, dst, src, slot))
	}
	srcOwns := m.claims[src.ID].Has(slot)
	if srcOwns {
		out = append(out, act(OpMigrating, src, dst, slot))
	} else {
		out = append(out, act(OpImporting, src, dst, slot))
	}
	out = append(out, act(OpMoveKeys, src, dst, slot), act(OpNode, dst, dst, slot), act(OpNode, src, dst, slot))
	if !srcOwns {
		out = append(out, act(OpStable, src, nil, slot))
	}
	for _, n := range m.masters {
		if n != src && n != dst {
			out = append(out, act(OpNode, n, dst, slot))
		}
	}
	return out
}

// planMultipleOwners follows clusterManagerFixMultipleSlotOwners: the
// owner with the most keys keeps the slot, the others' keys move to it.
func (m *fixModel) planMultipleOwners(plan *FixPlan, slot int) {
	var owners []*topology.Node
	for _, n := range m.masters {
		if m.claims[n.ID].Has(slot) || m.count(slot, n.ID) > 0 {
			owners = append(owners, n)
		}
	}
	if len(owners) < 2 || m.unfixable[slot] {
		return
	}
	owner := m.mostKeys(owners, slot)
	step := FixStep{Kind: topology.KindMultipleOwners, Slots: []int{slot},
		Message: fmt.Sprintf("Fixing multiple owners of slot %d (%s): %s keeps it", slot, m.addrs(owners), owner.Addr())}
	step.Actions = append(step.Actions, m.releaseBeforeClaim(m.claimersAmong(owners, slot), owner, slot)...)
	step.Actions = append(step.Actions, act(OpClaim, owner, nil, slot))
	for _, n := range m.masters {
		if n == owner {
			continue
		}
		step.Actions = append(step.Actions, act(OpNode, n, owner, slot))
		if m.count(slot, n.ID) > 0 {
			step.Actions = append(step.Actions, act(OpImporting, n, owner, slot), act(OpMoveKeys, n, owner, slot), act(OpStable, n, nil, slot))
		}
	}
	plan.Steps = append(plan.Steps, step)
	m.settle(slot, owner)
}
