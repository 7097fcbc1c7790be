package admin

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// apply: make a cluster match a ClusterSpec from whatever state it is in.
// ObserveApply reads the nodes, PlanApply (pure) lists the steps, RunApply
// (apply_run.go) runs them with the machinery of create, add-node,
// rebalance, del-node, set-timeout and fix, then observes again.

// Apply step actions.
const (
	StepCreate     = "create"      // build the cluster from empty nodes
	StepAddMaster  = "add-master"  // join an empty node as a master
	StepAddReplica = "add-replica" // join an empty node as a replica of Master
	StepReplicate  = "replicate"   // CLUSTER REPLICATE: a member follows Master
	StepRebalance  = "rebalance"   // move slots to the spec's weights
	StepSetTimeout = "set-timeout" // cluster-node-timeout on every node
	StepFix        = "fix"         // repair open slots and coverage first
	StepRemove     = "remove"      // del-node a member missing from the spec
)

// ApplyOptions change what apply may do.
type ApplyOptions struct {
	Prune bool // drain and remove members missing from the spec
	Fix   bool // repair open slots instead of refusing
	// WaitOK waits, once something changed, until every node reports
	// cluster_state:ok (Redis holds new masters back up to 5 s), so
	// clients can use the cluster the moment apply returns.
	WaitOK bool
	// Atomic says how the rebalance step moves slots (reshard's --atomic);
	// the zero value is migrate.AtomicAuto.
	Atomic migrate.AtomicMode
}

// ApplyStep is one step of an apply plan.
type ApplyStep struct {
	Action string   `json:"action"`
	Node   string   `json:"node,omitempty"`   // host:port the step changes
	Master string   `json:"master,omitempty"` // host:port, for add-replica and replicate
	Nodes  []string `json:"nodes,omitempty"`  // create's nodes
	Detail string   `json:"detail"`
}

// ApplyPlan is what apply will do, in order; no steps means the cluster
// matches the spec.
type ApplyPlan struct {
	Seed  string      `json:"seed,omitempty"` // a member, "" before create
	Steps []ApplyStep `json:"steps"`
}

// ApplyState is what ObserveApply saw.
type ApplyState struct {
	Facts    []NodeFacts       // the spec's nodes, in spec order
	Cluster  *topology.Cluster // the cluster the members form; nil when none
	Timeouts map[string]int64  // cluster-node-timeout per reachable node (ms)
	Keys     map[string]int64  // keys per member, for replicate's emptiness
	report   *topology.Report  // Check(Cluster)
	byAddr   map[string]NodeFacts
}

// ObserveApply probes every node of the spec and loads the cluster its
// members form. Unreachable nodes, nodes of two clusters, and non-members
// that are not empty cluster nodes are refused here, before any change.
func ObserveApply(ctx context.Context, pool *conn.Pool, spec *ClusterSpec) (*ApplyState, error) {
	facts, errs := probeAll(ctx, pool, spec.Nodes)
	if err := joinNodeErrors(errs); err != nil {
		return nil, fmt.Errorf("cannot apply the spec, no node was changed: %w", err)
	}
	st := &ApplyState{Facts: facts, Timeouts: map[string]int64{}, Keys: map[string]int64{}, byAddr: map[string]NodeFacts{}}
	var seed string
	for _, f := range facts {
		st.byAddr[f.Addr] = f
		if !f.ClusterEnabled {
			return nil, fmt.Errorf("cannot apply the spec, no node was changed: node %s is not configured as a cluster node (set cluster-enabled yes)", f.Addr)
		}
		if f.KnownNodes > 1 || f.Slots > 0 {
			if seed == "" {
				seed = f.Addr
			}
		}
	}
	if seed != "" {
		c, err := loadSettled(ctx, pool, seed, 10*time.Second)
		if err != nil {
			return nil, err
		}
		ids := map[string]bool{}
		for _, n := range c.Nodes {
			ids[n.ID] = true
		}
		for _, u := range c.Unreachable {
			ids[u.Node.ID] = true
		}
		for _, f := range facts {
			inCluster := ids[f.ID]
			if (f.KnownNodes > 1 || f.Slots > 0) && !inCluster {
				return nil, fmt.Errorf("cannot apply the spec, no node was changed: node %s belongs to another cluster than %s (one spec, one cluster)", f.Addr, seed)
			}
			if !inCluster {
				if err := f.emptyError(); err != nil {
					return nil, fmt.Errorf("cannot apply the spec, no node was changed: %w", err)
				}
			}
		}
		r := topology.Check(c)
		st.Cluster, st.report = c, &r
		probed := map[string]NodeFacts{}
		for _, f := range facts {
			probed[f.ID] = f
		}
		for _, n := range c.Nodes {
			if n.IsMaster() && n.Slots.Len() == 0 {
				if f, ok := probed[n.ID]; ok { // the probe counted its keys
					st.Keys[n.Addr()] = f.Keys
				} else if keys, err := pool.Get(n.Addr()).DBSize(ctx).Result(); err == nil {
					st.Keys[n.Addr()] = keys
				}
			}
		}
	} else {
		for _, f := range facts {
			if err := f.emptyError(); err != nil {
				return nil, fmt.Errorf("cannot apply the spec, no node was changed: %w", err)
			}
		}
	}
	if spec.NodeTimeout > 0 {
		addrs := slices.Clone(spec.Nodes)
		if st.Cluster != nil {
			addrs = nodeAddrs(st.Cluster.Nodes)
		}
		for _, a := range addrs {
			v, err := pool.Get(a).ConfigGet(ctx, "cluster-node-timeout").Result()
			if err != nil {
				return nil, conn.NodeError(a, "CONFIG GET cluster-node-timeout", err)
			}
			ms, _ := strconv.ParseInt(v["cluster-node-timeout"], 10, 64)
			st.Timeouts[a] = ms
		}
	}
	return st, nil
}

// applyModel is the cluster as the plan will leave it, step after step.
type applyModel struct {
	masters  []string            // in order
	slots    map[string]int      // master -> slots served
	replicas map[string][]string // master -> replicas
	host     map[string]string   // node -> host
	members  map[string]bool
}

// leastReplicated is the master with the fewest replicas, preferring one
// on another host than avoid; ties go to the earlier master.
func (m *applyModel) leastReplicated(avoidHost string, among []string) string {
	best, bestScore := "", math.MaxInt
	for _, ms := range among {
		score := len(m.replicas[ms]) * 2
		if m.host[ms] == avoidHost {
			score++
		}
		if score < bestScore {
			best, bestScore = ms, score
		}
	}
	return best
}

// PlanApply lists the steps that take the observed state to the spec.
func PlanApply(st *ApplyState, spec *ClusterSpec, o ApplyOptions) (*ApplyPlan, error) {
	plan := &ApplyPlan{Steps: []ApplyStep{}}
	m := &applyModel{slots: map[string]int{}, replicas: map[string][]string{}, host: map[string]string{}, members: map[string]bool{}}
	for _, f := range st.Facts {
		m.host[f.Addr] = f.Host
	}
	wantMasters := spec.MasterCount()
	var free []string // spec nodes outside the cluster
	if st.Cluster == nil {
		n := min(len(st.Facts), wantMasters*(spec.Replicas+1))
		cp, err := PlanCreate(st.Facts[:n], CreateOptions{Replicas: spec.Replicas})
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, ApplyStep{Action: StepCreate, Nodes: cp.Addrs(),
			Detail: fmt.Sprintf("create a cluster of %d masters with %d replica(s) each from %d empty nodes", len(cp.Masters), spec.Replicas, n)})
		for _, ms := range cp.Masters {
			m.masters = append(m.masters, ms)
			m.slots[ms] = cp.SlotRanges[ms].Len()
			m.replicas[ms] = slices.Clone(cp.Replicas[ms])
		}
		for _, a := range cp.Addrs() {
			m.members[a] = true
		}
		plan.Seed = cp.Addrs()[0]
		for _, f := range st.Facts[n:] {
			free = append(free, f.Addr)
		}
	} else {
		c := st.Cluster
		plan.Seed = c.Seed
		if len(st.report.OpenSlots) > 0 || st.report.CoveredSlots < slots.Count || len(c.Unreachable) > 0 {
			if len(c.Unreachable) > 0 {
				return nil, fmt.Errorf("cannot apply the spec, no node was changed: %d node(s) of the cluster are unreachable (%s): bring them back or remove them with del-node first", len(c.Unreachable), c.Unreachable[0].Node.Addr())
			}
			if !o.Fix {
				return nil, fmt.Errorf("cannot apply the spec, no node was changed: the cluster has %d open slot(s) and %d of %d slots covered: run 'gocluster fix %s' first, or apply with --fix", len(st.report.OpenSlots), st.report.CoveredSlots, slots.Count, c.Seed)
			}
			plan.Steps = append(plan.Steps, ApplyStep{Action: StepFix, Node: c.Seed, Detail: "repair open slots and slot coverage (as gocluster fix)"})
		}
		for _, n := range c.Nodes {
			a := n.Addr()
			m.members[a] = true
			if _, ok := m.host[a]; !ok {
				m.host[a] = n.Host
			}
			if n.IsMaster() {
				m.masters = append(m.masters, a)
				m.slots[a] = n.Slots.Len()
			}
		}
		for _, n := range c.Nodes {
			if !n.IsMaster() {
				if ms := c.ByID(n.MasterID); ms != nil {
					m.replicas[ms.Addr()] = append(m.replicas[ms.Addr()], n.Addr())
				}
			}
		}
		for _, f := range st.Facts {
			if !m.members[f.Addr] {
				free = append(free, f.Addr)
			}
		}
	}

	// Masters that serve slots come first; empty masters past the wanted
	// count become replicas where some master is short of them.
	serving := func() []string {
		var out []string
		for _, ms := range m.masters {
			if m.slots[ms] > 0 && spec.inSpec(ms) {
				out = append(out, ms)
			}
		}
		return out
	}
	specMasters := func() []string {
		var out []string
		for _, ms := range m.masters {
			if spec.inSpec(ms) {
				out = append(out, ms)
			}
		}
		return out
	}
	for _, a := range free {
		if len(specMasters()) < wantMasters {
			plan.Steps = append(plan.Steps, ApplyStep{Action: StepAddMaster, Node: a, Detail: "join " + a + " as a master"})
			m.masters = append(m.masters, a)
			m.members[a] = true
			continue
		}
		target := m.leastReplicated(m.host[a], specMasters())
		plan.Steps = append(plan.Steps, ApplyStep{Action: StepAddReplica, Node: a, Master: target, Detail: "join " + a + " as a replica of " + target})
		m.replicas[target] = append(m.replicas[target], a)
		m.members[a] = true
	}
	if extra := len(specMasters()) - wantMasters; extra > 0 {
		for _, ms := range slices.Clone(specMasters()) {
			if extra == 0 {
				break
			}
			if m.slots[ms] > 0 || len(m.replicas[ms]) > 0 || st.Keys[ms] > 0 {
				continue
			}
			others := slices.DeleteFunc(slices.Clone(serving()), func(x string) bool { return x == ms })
			if len(others) == 0 {
				break
			}
			target := m.leastReplicated(m.host[ms], others)
			plan.Steps = append(plan.Steps, ApplyStep{Action: StepReplicate, Node: ms, Master: target, Detail: ms + " (an empty master) becomes a replica of " + target})
			m.masters = slices.DeleteFunc(m.masters, func(x string) bool { return x == ms })
			m.replicas[target] = append(m.replicas[target], ms)
			extra--
		}
	}
	plan.Steps = append(plan.Steps, evenReplicas(m, specMasters(), spec.Replicas)...)
	plan.Steps = append(plan.Steps, placeReplicas(m, specMasters())...)

	// Slots: every master gets its weight's share (1 unless the spec says);
	// masters missing from the spec are drained when pruning.
	weights := map[string]float64{}
	for _, ms := range m.masters {
		w := 1.0
		if v, ok := spec.Weights[ms]; ok {
			w = v
		}
		if !spec.inSpec(ms) && o.Prune {
			w = 0 // drained, then removed
		}
		weights[ms] = w
	}
	if unbalanced(m, weights) {
		plan.Steps = append(plan.Steps, ApplyStep{Action: StepRebalance, Detail: fmt.Sprintf("rebalance slots across %d master(s) by weight", len(m.masters))})
	}
	if o.Prune && st.Cluster != nil {
		for _, n := range st.Cluster.Nodes {
			if a := n.Addr(); !spec.inSpec(a) {
				plan.Steps = append(plan.Steps, ApplyStep{Action: StepRemove, Node: a, Detail: "remove " + a + " (not in the spec)"})
			}
		}
	}
	if spec.NodeTimeout > 0 {
		var differ []string
		for a, ms := range st.Timeouts {
			if ms != spec.NodeTimeout {
				differ = append(differ, a)
			}
		}
		if len(differ) > 0 || st.Cluster == nil || len(free) > 0 {
			plan.Steps = append(plan.Steps, ApplyStep{Action: StepSetTimeout, Detail: fmt.Sprintf("set cluster-node-timeout to %d ms on every node", spec.NodeTimeout)})
		}
	}
	return plan, nil
}

// unbalanced tells whether some master is more than the rebalance
// threshold off its weight's share of the slots.
func unbalanced(m *applyModel, weights map[string]float64) bool {
	total, pool := 0.0, 0
	for _, ms := range m.masters {
		total += weights[ms]
		pool += m.slots[ms]
	}
	if total == 0 || pool == 0 {
		return false
	}
	for _, ms := range m.masters {
		expected := int(float64(pool) * weights[ms] / total)
		if overThreshold(m.slots[ms], expected, DefaultRebalanceThreshold) {
			return true
		}
	}
	return false
}

// evenReplicas moves replicas from masters that have more than want to
// masters short of them, a replica on another host than its new master
// first.
func evenReplicas(m *applyModel, masters []string, want int) []ApplyStep {
	var steps []ApplyStep
	for _, short := range masters {
		for len(m.replicas[short]) < want {
			from, pick := "", ""
			for _, rich := range masters {
				if len(m.replicas[rich]) <= want {
					continue
				}
				for _, r := range m.replicas[rich] {
					if pick == "" || m.host[pick] == m.host[short] && m.host[r] != m.host[short] {
						from, pick = rich, r
					}
				}
			}
			if pick == "" {
				break
			}
			steps = append(steps, ApplyStep{Action: StepReplicate, Node: pick, Master: short,
				Detail: pick + " follows " + short + ", which is short of replicas (" + from + " has more than it needs)"})
			m.replicas[from] = slices.DeleteFunc(m.replicas[from], func(x string) bool { return x == pick })
			m.replicas[short] = append(m.replicas[short], pick)
		}
	}
	return steps
}

// placeReplicas swaps replicas that share a host with their master with
// replicas of another master when both end up on hosts of their own, as
// create's anti-affinity would have placed them.
func placeReplicas(m *applyModel, masters []string) []ApplyStep {
	var steps []ApplyStep
	for _, m1 := range masters {
		for _, r1 := range slices.Clone(m.replicas[m1]) {
			if m.host[r1] != m.host[m1] {
				continue
			}
		swap:
			for _, m2 := range masters {
				if m2 == m1 || m.host[m2] == m.host[r1] {
					continue
				}
				for _, r2 := range m.replicas[m2] {
					if m.host[r2] == m.host[m1] {
						continue
					}
					steps = append(steps,
						ApplyStep{Action: StepReplicate, Node: r1, Master: m2, Detail: r1 + " shares a host with its master: it follows " + m2 + " instead"},
						ApplyStep{Action: StepReplicate, Node: r2, Master: m1, Detail: r2 + " follows " + m1 + " in its place"})
					m.replicas[m1] = append(slices.DeleteFunc(m.replicas[m1], func(x string) bool { return x == r1 }), r2)
					m.replicas[m2] = append(slices.DeleteFunc(m.replicas[m2], func(x string) bool { return x == r2 }), r1)
					break swap
				}
			}
		}
	}
	return steps
}

// String is the plan as the CLI prints it, one step a line.
func (p *ApplyPlan) String() string {
	if len(p.Steps) == 0 {
		return "Nothing to do: the cluster matches the spec."
	}
	var b strings.Builder
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "%d. %s\n", i+1, s.Detail)
	}
	return strings.TrimRight(b.String(), "\n")
}
