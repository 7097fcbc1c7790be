package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
)

// AddNodeOptions say how the new node joins.
type AddNodeOptions struct {
	// Replica adds the node as a replica: of MasterID when given, else of
	// the master with the fewest replicas.
	Replica  bool
	MasterID string // node ID, unique prefix or host:port of a master
	// ConvergeTimeout bounds the wait until every node knows the new one
	// (default 60s).
	ConvergeTimeout time.Duration
}

// AddNodePlan is how a node will join the cluster.
type AddNodePlan struct {
	Seed    string
	New     NodeFacts
	Members []*topology.Node // every reachable member: all must learn the new node
	// Master is the master the new node will replicate, nil for a master.
	Master *topology.Node
	// AutoMaster tells that Master was chosen as the one with the fewest
	// replicas.
	AutoMaster bool
	// CopyFunctions tells that the cluster's functions are copied to the
	// new master (a replica gets them from its master).
	CopyFunctions bool
	// Resumed tells that the node had half joined this cluster before (see
	// halfJoined): it is met again.
	Resumed bool
}

// Addrs lists every member and the new node.
func (p *AddNodePlan) Addrs() []string {
	out := []string{p.New.Addr}
	for _, m := range p.Members {
		out = append(out, m.Addr())
	}
	return out
}

// PlanAddNode checks, with no I/O, that the new node can join this cluster
// and decides its role. The cluster must be healthy (as redis-cli requires)
// and fully reachable, since every member must learn the new node.
func PlanAddNode(c *topology.Cluster, report topology.Report, n NodeFacts, opts AddNodeOptions) (*AddNodePlan, error) {
	if member := memberOf(c, n); member != "" {
		return nil, fmt.Errorf("node %s is already a member of this cluster (%s)", n.Addr, member)
	}
	resumed := false
	if err := n.emptyError(); err != nil {
		if !halfJoined(c, n) {
			return nil, err
		}
		resumed = true
	}
	if !report.OK() {
		var msgs []string
		for _, pr := range report.Problems {
			if pr.Fails() {
				msgs = append(msgs, pr.Message)
			}
		}
		return nil, fmt.Errorf("the cluster at %s is not healthy, fix it first (gocluster check / fix): %s",
			c.Seed, strings.Join(msgs, " "))
	}
	p := &AddNodePlan{Seed: c.Seed, New: n, Members: c.Nodes, Resumed: resumed}
	if !opts.Replica && opts.MasterID == "" {
		p.CopyFunctions = true
		return p, nil
	}
	if opts.MasterID != "" {
		m, err := c.Find(opts.MasterID)
		if err != nil {
			return nil, withRedisCLILine(fmt.Errorf("no such master %s: %v", opts.MasterID, err), "[ERR] No such master ID "+opts.MasterID)
		}
		if !m.IsMaster() {
			return nil, fmt.Errorf("node %s (%s) is a replica, not a master: give a master's ID", m.Addr(), m.ShortID())
		}
		p.Master = m
		return p, nil
	}
	p.Master, p.AutoMaster = leastReplicatedMaster(c, nil, ""), true
	if p.Master == nil {
		return nil, fmt.Errorf("the cluster at %s has no master to replicate", c.Seed)
	}
	return p, nil
}

// halfJoined reports a node that an add-node interrupted after its MEETs
// left half joined: it learned the members, but they dropped it when their
// handshake with it timed out (it was killed, or cut off). It holds no key
// and no slot, and every node it knows is a member of this cluster; met
// again, it joins as any new node. Any other node that knows other nodes
// stays refused, as redis-cli refuses it.
func halfJoined(c *topology.Cluster, n NodeFacts) bool {
	if !n.ClusterEnabled || n.Keys > 0 || n.Slots > 0 || len(n.KnownIDs) == 0 {
		return false
	}
	members := map[string]bool{}
	for _, m := range c.Nodes {
		members[m.ID] = true
	}
	for _, u := range c.Unreachable {
		members[u.Node.ID] = true
	}
	for _, id := range n.KnownIDs {
		if !members[id] {
			return false
		}
	}
	return true
}

// memberOf describes how the cluster already knows node n, or "".
func memberOf(c *topology.Cluster, n NodeFacts) string {
	for _, view := range c.Views {
		for _, known := range view {
			if n.ID != "" && known.ID == n.ID {
				return "node ID " + n.ID
			}
		}
	}
	for _, m := range c.Nodes {
		if m.Addr() == n.Addr {
			return "address " + n.Addr
		}
	}
	return ""
}

// leastReplicatedMaster picks the master with the fewest replicas
// (counting extra[id] more), preferring masters that serve slots and, for
// a replica on host avoidHost, masters on another host; ties go to load
// order. skip lists masters not to choose.
func leastReplicatedMaster(c *topology.Cluster, extra map[string]int, avoidHost string, skip ...string) *topology.Node {
	var best *topology.Node
	key := func(m *topology.Node) [3]int {
		noSlots, sameHost := 0, 0
		if m.Slots.Len() == 0 {
			noSlots = 1
		}
		if avoidHost != "" && m.Host == avoidHost {
			sameHost = 1
		}
		return [3]int{noSlots, sameHost, len(c.ReplicasOf(m.ID)) + extra[m.ID]}
	}
	less := func(a, b [3]int) bool {
		for i := range a {
			if a[i] != b[i] {
				return a[i] < b[i]
			}
		}
		return false
	}
outer:
	for _, m := range c.Masters() {
		for _, s := range skip {
			if m.ID == s {
				continue outer
			}
		}
		if best == nil || less(key(m), key(best)) {
			best = m
		}
	}
	return best
}

// settleTimeout bounds the wait for a cluster whose nodes still disagree
// (a recent slot move) before an operation refuses to start.
const settleTimeout = 10 * time.Second

func nodeAddrs(nodes []*topology.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr()
	}
	return out
}

// PrepareAddNode loads the cluster from seed, checks it and the new node,
// and plans the join. Nothing is changed.
func PrepareAddNode(ctx context.Context, pool *conn.Pool, newAddr, seed string, opts AddNodeOptions) (*AddNodePlan, error) {
	newAddr, err := conn.NormalizeAddr(newAddr)
	if err != nil {
		return nil, err
	}
	c, err := topology.Load(ctx, pool, seed)
	if err != nil {
		return nil, err
	}
	report := topology.Check(c)
	if !report.Consistent && len(c.Unreachable) == 0 {
		// Right after a reshard (by redis-cli, which does not wait) nodes
		// disagree for a while: give gossip a moment before refusing.
		if WaitConverged(ctx, pool, nodeAddrs(c.Nodes), ConvergeOptions{Timeout: settleTimeout, SameSlots: true}) == nil {
			if c, err = topology.Load(ctx, pool, seed); err != nil {
				return nil, err
			}
			report = topology.Check(c)
		}
	}
	facts, err := ProbeNode(ctx, pool, newAddr)
	if err != nil {
		return nil, err
	}
	p, err := PlanAddNode(c, report, facts, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot add node %s, no node was changed: %w", newAddr, err)
	}
	if p.CopyFunctions && facts.Functions > 0 && !p.Resumed { // a resumed join may have them from its first try
		// redis-cli's words, which scripts and Redis's own tests look for.
		return nil, fmt.Errorf("New node already contains functions and can not be added to the cluster (%s holds %d function librar(ies)). Use FUNCTION FLUSH and try again.", newAddr, facts.Functions)
	}
	return p, nil
}

// ApplyAddNode joins the new node: functions copied to a new master, the
// new node meets every member, and every member then sends it its
// configuration at once. It returns when every node knows every other one
// and all agree on slots (and, for a replica, on replicas), so a reshard or
// rebalance can start right away.
func ApplyAddNode(ctx context.Context, pool *conn.Pool, p *AddNodePlan, opts AddNodeOptions, rep Reporter) (err error) {
	if rep == nil {
		rep = Discard
	}
	info := func(format string, a ...any) { rep.Report(Event{Kind: EventInfo, Message: fmt.Sprintf(format, a...)}) }
	if p.Resumed {
		info("Node %s had half joined this cluster (it knows the members, they do not know it): meeting it again.", p.New.Addr)
	}
	if p.CopyFunctions {
		if err := copyFunctions(ctx, pool, p.Seed, p.New.Addr, p.Resumed); err != nil {
			return fmt.Errorf("cannot add node %s, no node of the cluster was changed: %w", p.New.Addr, err)
		}
	}
	members, err := meetTargets(ctx, p.Members)
	if err != nil {
		return fmt.Errorf("cannot add node %s, no node of the cluster was changed: %w", p.New.Addr, err)
	}
	// From the first MEET on, the new node may be known to part of the
	// cluster: say how to see and undo that.
	defer func() {
		if err != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w (node %s may have joined in part: see gocluster check %s; run this add-node again to finish, or take it out with gocluster del-node %s %s)",
				err, p.New.Addr, p.Seed, p.Seed, p.New.ID)
		}
	}()
	info("Send CLUSTER MEET to node %s to make it join the cluster.", p.New.Addr)
	var meets [][]any
	for _, t := range members {
		meets = append(meets, t.meetArgs())
	}
	if err := pipelineOn(ctx, pool, p.New.Addr, meets); err != nil {
		return err
	}
	info("Waiting for every node to know %s", p.New.Addr)
	wait := ConvergeOptions{Timeout: opts.ConvergeTimeout, Interval: pollInterval}
	if err := waitSettled(ctx, pool, p.Addrs(), wait, false); err != nil { // see ApplyCreate
		return err
	}
	newTarget := []meetTarget{p.New.meetTarget()}
	if p.Master != nil {
		info("Configure node as replica of %s.", p.Master.Addr())
		if err := pipelineOn(ctx, pool, p.New.Addr, [][]any{{"CLUSTER", "REPLICATE", p.Master.ID}}); err != nil {
			return err
		}
		wait.SameReplicas = true
	}
	// Members tell the new node their slots now, and it tells them its role.
	if err := announce(ctx, pool, members, newTarget); err != nil {
		return err
	}
	if err := announce(ctx, pool, newTarget, members); err != nil {
		return err
	}
	// The new node must report cluster_state:ok too: a new master stays in
	// state fail for a few seconds after it joins, and would answer the
	// first migration to it with CLUSTERDOWN.
	wait.SameSlots = true
	if err := waitSettled(ctx, pool, p.Addrs(), wait, true); err != nil {
		return err
	}
	rep.Report(Event{Kind: EventNodeJoined, Node: p.New.Addr, Message: "New node added correctly."})
	return nil
}

// copyFunctions gives a new master the cluster's functions, as redis-cli
// does; servers without functions (before Redis 7) are skipped. replace
// lets them replace libraries of the same name (a resumed join).
func copyFunctions(ctx context.Context, pool *conn.Pool, from, to string, replace bool) error {
	dump, err := pool.Get(from).FunctionDump(ctx).Result()
	if err != nil {
		return nil // FUNCTION is unknown before Redis 7: nothing to copy
	}
	args := []any{"FUNCTION", "RESTORE", dump}
	if replace {
		args = append(args, "REPLACE")
	}
	if err := pool.Get(to).Do(ctx, args...).Err(); err != nil {
		return conn.NodeError(to, "FUNCTION RESTORE", err)
	}
	return nil
}
