package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
)

// DelNodeOptions say what happens to the removed node.
type DelNodeOptions struct {
	// NoShutdown leaves the node running (reset, alone) instead of
	// shutting it down.
	NoShutdown bool
	// ConvergeTimeout bounds the wait until no node knows the removed one
	// (default 60s).
	ConvergeTimeout time.Duration
}

// Reassignment moves a replica of the removed master to another master.
type Reassignment struct {
	Replica *topology.Node
	Master  *topology.Node
}

// DelNodePlan is how a node leaves the cluster.
type DelNodePlan struct {
	Seed      string
	Node      *topology.Node // as it describes itself, or as the seed sees it when down
	Reachable bool           // false: only FORGET, nothing is sent to the node
	Reassign  []Reassignment
	Others    []*topology.Node // every other reachable node: all forget the node
	Shutdown  bool
	Warnings  []string
}

// Remaining lists the addresses of the nodes that stay.
func (p *DelNodePlan) Remaining() []string {
	out := make([]string, len(p.Others))
	for i, n := range p.Others {
		out[i] = n.Addr()
	}
	return out
}

// PlanDelNode checks, with no I/O, that the node given by ref (ID, unique
// prefix or host:port; down nodes included) can leave: it must serve no
// slots, have no open slot, and hold no keys when it is a master (keys is
// its DBSIZE, 0 when unknown). Its replicas move to the masters with the
// fewest replicas.
func PlanDelNode(c *topology.Cluster, ref string, keys int64, opts DelNodeOptions) (*DelNodePlan, error) {
	node, reachable, err := findAny(c, ref)
	if err != nil {
		return nil, err
	}
	p := &DelNodePlan{Seed: c.Seed, Node: node, Reachable: reachable, Shutdown: reachable && !opts.NoShutdown}
	if n := node.Slots.Len(); n > 0 {
		if !reachable {
			return nil, fmt.Errorf("node %s (%s) is down but still serves %d slot(s): let one of its replicas take over, or run gocluster fix %s, before removing it",
				node.Addr(), node.ShortID(), n, c.Seed)
		}
		return nil, withRedisCLILine(fmt.Errorf("node %s (%s) is not empty: it serves %d slot(s). Move them away first, e.g. gocluster reshard %s --from %s --to <master-id> --slots %d --yes (or gocluster rebalance %s --weight %s=0), then try again",
			node.Addr(), node.ShortID(), n, c.Seed, node.ID, n, c.Seed, node.ID),
			"[ERR] Node "+node.Addr()+" is not empty! Reshard data away and try again.")
	}
	if open := openSlotsWith(c, node.ID); len(open) > 0 {
		return nil, fmt.Errorf("node %s (%s) takes part in open slot(s) %s: run gocluster fix %s first",
			node.Addr(), node.ShortID(), delNodeSlotList(open), c.Seed)
	}
	if reachable && node.IsMaster() && keys > 0 {
		return nil, fmt.Errorf("node %s (%s) is a master with no slots but holds %d key(s): run gocluster fix %s or flush them before removing it",
			node.Addr(), node.ShortID(), keys, c.Seed)
	}
	for _, n := range c.Nodes {
		if n.ID != node.ID {
			p.Others = append(p.Others, n)
		}
	}
	if len(p.Others) == 0 {
		return nil, fmt.Errorf("node %s is the only node of the cluster: nothing would remain", node.Addr())
	}
	extra := map[string]int{}
	for _, r := range c.ReplicasOf(node.ID) {
		m := leastReplicatedMaster(c, extra, r.Host, node.ID)
		if m == nil {
			return nil, fmt.Errorf("replica %s of %s has no other master to move to", r.Addr(), node.Addr())
		}
		extra[m.ID]++
		p.Reassign = append(p.Reassign, Reassignment{Replica: r, Master: m})
	}
	for _, u := range c.Unreachable {
		if u.Node.ID == node.ID {
			continue
		}
		if u.Node.MasterID == node.ID {
			p.Warnings = append(p.Warnings, fmt.Sprintf("replica %s of the removed node is unreachable: when it is back, run CLUSTER REPLICATE <master-id> on it", u.Node.Addr()))
		} else {
			p.Warnings = append(p.Warnings, fmt.Sprintf("node %s is unreachable and still knows the removed node: when it is back, run CLUSTER FORGET %s on it", u.Node.Addr(), node.ID))
		}
	}
	if !reachable {
		p.Warnings = append(p.Warnings, fmt.Sprintf("node %s is down: it is only forgotten; if it comes back, run CLUSTER RESET on it before reusing it", node.Addr()))
	}
	return p, nil
}

// findAny resolves ref among reachable nodes, then among the nodes the seed
// knows but could not load.
func findAny(c *topology.Cluster, ref string) (*topology.Node, bool, error) {
	// A full ID or an address names one node; a prefix is checked against
	// the unreachable nodes too below.
	if n, err := c.Find(ref); err == nil && (n.ID == ref || strings.Contains(ref, ":")) {
		return n, true, nil
	}
	matches := func(n *topology.Node) bool {
		return n.ID == ref || n.Addr() == ref || (len(ref) >= 4 && !strings.Contains(ref, ":") && strings.HasPrefix(n.ID, ref))
	}
	var found []*topology.Node
	for _, n := range c.Nodes {
		if matches(n) {
			found = append(found, n)
		}
	}
	live := len(found)
	for _, u := range c.Unreachable {
		if matches(u.Node) {
			found = append(found, u.Node)
		}
	}
	if len(found) == 0 {
		// A member that was down during an earlier del-node still knows
		// the removed node and shows it as failed: find it in that view,
		// so that running del-node again finishes the removal.
		for _, view := range c.Views {
			for _, n := range view {
				if matches(n) && !n.Myself() {
					return n, false, nil
				}
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], live == 1, nil
	case 0:
		return nil, false, withRedisCLILine(fmt.Errorf("no such node %s in the cluster at %s", ref, c.Seed), "[ERR] No such node ID "+ref)
	}
	var which []string
	for _, n := range found {
		which = append(which, n.Addr())
	}
	return nil, false, fmt.Errorf("node ID prefix %q is ambiguous: it matches %s", ref, strings.Join(which, ", "))
}

// openSlotsWith lists slots that are migrating or importing on, to or from
// the node with this ID.
func openSlotsWith(c *topology.Cluster, id string) []int {
	var out []int
	for _, n := range c.Nodes {
		for _, m := range []map[int]string{n.Migrating, n.Importing} {
			for s, peer := range m {
				if (n.ID == id || peer == id) && !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func delNodeSlotList(ss []int) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ",")
}

// PrepareDelNode loads the cluster from seed and plans the removal of the
// node given by ref. Nothing is changed.
func PrepareDelNode(ctx context.Context, pool *conn.Pool, seed, ref string, opts DelNodeOptions) (*DelNodePlan, error) {
	c, err := topology.Load(ctx, pool, seed)
	if err != nil {
		return nil, err
	}
	var keys int64
	if n, reachable, err := findAny(c, ref); err == nil && reachable && n.IsMaster() {
		if keys, err = pool.Get(n.Addr()).DBSize(ctx).Result(); err != nil {
			return nil, conn.NodeError(n.Addr(), "DBSIZE", err)
		}
	}
	p, err := PlanDelNode(c, ref, keys, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot remove node %s, no node was changed: %w", ref, err)
	}
	return p, nil
}

// ApplyDelNode removes the node: its replicas move to other masters, every
// other node forgets it at once (in parallel, well within the 60 s during
// which a forgotten node cannot be re-learnt from gossip), then the node is
// reset and shut down. It returns when no remaining node knows it.
func ApplyDelNode(ctx context.Context, pool *conn.Pool, p *DelNodePlan, opts DelNodeOptions, rep Reporter) (err error) {
	if rep == nil {
		rep = Discard
	}
	// Every step can be repeated: a removal that stopped half-way is
	// finished by running it again.
	defer func() {
		if err != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w (the removal of %s may be half done: run the same gocluster del-node again to finish it)", err, p.Node.ID)
		}
	}()
	info := func(format string, a ...any) { rep.Report(Event{Kind: EventInfo, Message: fmt.Sprintf(format, a...)}) }
	for _, w := range p.Warnings {
		rep.Report(Event{Kind: EventWarning, Message: w})
	}
	wait := ConvergeOptions{Timeout: opts.ConvergeTimeout, Interval: pollInterval, SameSlots: true, Absent: []string{p.Node.ID}}
	var moved []*topology.Node
	for _, r := range p.Reassign {
		info("%s as replica of %s", r.Replica.Addr(), r.Master.Addr())
		moved = append(moved, r.Replica)
	}
	err = provisionEach(len(p.Reassign), func(i int) error {
		r := p.Reassign[i]
		return pipelineOn(ctx, pool, r.Replica.Addr(), [][]any{{"CLUSTER", "REPLICATE", r.Master.ID}})
	})
	if err != nil {
		return err
	}

	info("Sending CLUSTER FORGET messages to the cluster...")
	err = provisionEach(len(p.Others), func(i int) error {
		addr := p.Others[i].Addr()
		err := pool.Get(addr).ClusterForget(ctx, p.Node.ID).Err()
		if err != nil && strings.Contains(err.Error(), "Unknown node") {
			return nil // it never knew the node, or already forgot it
		}
		return conn.NodeError(addr, "CLUSTER FORGET", err)
	})
	if err != nil {
		return err
	}
	if p.Reachable {
		info("Sending CLUSTER RESET SOFT to the deleted node.")
		if err := pool.Get(p.Node.Addr()).ClusterResetSoft(ctx).Err(); err != nil {
			return conn.NodeError(p.Node.Addr(), "CLUSTER RESET SOFT", err)
		}
		if p.Shutdown {
			info("Shutting down the deleted node %s.", p.Node.Addr())
			if err := shutdown(ctx, pool, p.Node.Addr()); err != nil {
				rep.Report(Event{Kind: EventWarning, Node: p.Node.Addr(), Message: err.Error()})
			}
		}
	}
	if len(moved) > 0 {
		// Moved replicas tell everyone their new master now rather than at
		// their next ping.
		wait.SameReplicas = true
		from, err := meetTargets(ctx, moved)
		if err != nil {
			return err
		}
		to, err := meetTargets(ctx, p.Others)
		if err != nil {
			return err
		}
		if err := announce(ctx, pool, from, to); err != nil {
			return err
		}
	}
	info("Waiting until no node knows %s", p.Node.ID)
	return waitSettled(ctx, pool, p.Remaining(), wait, true)
}

// meetTargets makes MEET targets of loaded nodes; CLUSTER MEET wants an
// IP and the seed may be known by name.
func meetTargets(ctx context.Context, nodes []*topology.Node) ([]meetTarget, error) {
	out := make([]meetTarget, len(nodes))
	for i, n := range nodes {
		ip, err := resolveIP(ctx, n.Host)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Addr(), err)
		}
		out[i] = meetTarget{Addr: n.Addr(), IP: ip, Port: n.Port, BusPort: n.BusPort}
	}
	return out, nil
}

// shutdown stops a node; the connection closing is the success answer.
func shutdown(ctx context.Context, pool *conn.Pool, addr string) error {
	cl := pool.New(addr)
	defer cl.Close()
	err := cl.Do(ctx, "SHUTDOWN").Err()
	var opErr *net.OpError
	if err == nil || errors.Is(err, io.EOF) || errors.As(err, &opErr) || strings.Contains(err.Error(), "connection reset") {
		return nil
	}
	return conn.NodeError(addr, "SHUTDOWN", err)
}
