package admin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
)

// MinMasters is the smallest cluster Redis Cluster supports.
const MinMasters = 3

// CreateOptions shape a new cluster.
type CreateOptions struct {
	Replicas int // replicas per master
	// ConvergeTimeout bounds the wait until every node agrees (default 60s).
	ConvergeTimeout time.Duration
	// SkipStateOK returns as soon as every node agrees on nodes, slots and
	// replicas, without waiting until each reports cluster_state:ok. Redis
	// holds new masters in state fail for min(cluster-node-timeout, 5 s)
	// after they get their first slots, so clients see CLUSTERDOWN until
	// then; redis-cli returns before that too. The CLI skips unless
	// --wait-ok; library callers get a cluster clients can use at once.
	SkipStateOK bool
}

// CreatePlan is the cluster create will build. Node lists are host:port
// addresses as given on the command line.
type CreatePlan struct {
	Nodes             []NodeFacts            // every node, in argument order
	ReplicasPerMaster int                    // as requested
	Masters           []string               // masters, in slot order
	Replicas          map[string][]string    // master -> its replicas
	SlotRanges        map[string]slots.Range // master -> the slots it will serve
	Epochs            map[string]int         // node -> its distinct config epoch
	// Optimized tells that the first assignment broke anti-affinity and
	// replicas were swapped between masters to improve it.
	Optimized bool
	// AffinityScore is 0 for perfect anti-affinity; >= 10000 means some
	// replica shares its master's host.
	AffinityScore int
	Warnings      []string
}

// MasterOf returns the master a replica will follow, "" for a master.
func (p *CreatePlan) MasterOf(addr string) string {
	for m, rs := range p.Replicas {
		if slices.Contains(rs, addr) {
			return m
		}
	}
	return ""
}

// Node returns the facts of a planned node.
func (p *CreatePlan) Node(addr string) NodeFacts {
	for _, n := range p.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return NodeFacts{}
}

// Addrs lists every node in argument order.
func (p *CreatePlan) Addrs() []string {
	out := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		out[i] = n.Addr
	}
	return out
}

// ValidateCreateArgs checks what needs no network: addresses well formed,
// no duplicates, replicas >= 0 and enough nodes for 3 masters. It returns
// the normalized addresses.
func ValidateCreateArgs(addrs []string, replicas int) ([]string, error) {
	if replicas < 0 {
		return nil, fmt.Errorf("invalid --replicas %d: must be 0 or more", replicas)
	}
	out := make([]string, 0, len(addrs))
	seen := map[string]bool{}
	for _, a := range addrs {
		norm, err := conn.NormalizeAddr(a)
		if err != nil {
			return nil, err
		}
		if seen[norm] {
			return nil, fmt.Errorf("node %s is given more than once", norm)
		}
		seen[norm] = true
		out = append(out, norm)
	}
	if masters := len(out) / (replicas + 1); masters < MinMasters {
		return nil, fmt.Errorf("invalid configuration for cluster creation: Redis Cluster requires at least %d master nodes, "+
			"which is not possible with %d node(s) and %d replica(s) per master: at least %d nodes are required",
			MinMasters, len(out), replicas, MinMasters*(replicas+1))
	}
	return out, nil
}

// PlanCreate decides, with no I/O, which nodes become masters, their slots,
// which master every replica follows and each node's config epoch. It
// follows redis-cli: nodes are interleaved by host so masters spread over
// hosts, the first len/(replicas+1) become masters with an even split of
// the slots, and replicas are taken preferring a host other than their
// master's; the assignment is then improved for anti-affinity.
func PlanCreate(nodes []NodeFacts, opts CreateOptions) (*CreatePlan, error) {
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.Addr
	}
	if _, err := ValidateCreateArgs(addrs, opts.Replicas); err != nil {
		return nil, err
	}
	seenID := map[string]string{}
	for _, n := range nodes {
		if other, ok := seenID[n.ID]; ok && n.ID != "" {
			return nil, fmt.Errorf("nodes %s and %s are the same node (ID %s)", other, n.Addr, n.ID)
		}
		seenID[n.ID] = n.Addr
	}
	p := &CreatePlan{Nodes: nodes, ReplicasPerMaster: opts.Replicas,
		Replicas: map[string][]string{}, SlotRanges: map[string]slots.Range{}, Epochs: map[string]int{}}
	hostOf := map[string]string{}
	for i, n := range nodes {
		hostOf[n.Addr] = n.Host
		p.Epochs[n.Addr] = i + 1
	}

	interleaved := interleaveByHost(nodes)
	nMasters := len(nodes) / (opts.Replicas + 1)
	p.Masters = interleaved[:nMasters]
	for i, r := range slots.EvenSplit(nMasters) {
		p.SlotRanges[p.Masters[i]] = r
	}
	// Rotating the spare nodes by one often gives a better first layout.
	spare := slices.Clone(interleaved[nMasters:])
	if len(spare) > 1 {
		spare = append(spare[1:], spare[0])
	}
	masterOf := assignReplicas(p.Masters, spare, opts.Replicas, hostOf)

	p.AffinityScore = affinityScore(masterOf, hostOf)
	if p.AffinityScore > 0 {
		p.Optimized = true
		p.AffinityScore = optimizeAffinity(spare, masterOf, hostOf)
	}
	for _, r := range spare { // replicas listed in a stable order per master
		p.Replicas[masterOf[r]] = append(p.Replicas[masterOf[r]], r)
	}
	switch {
	case p.AffinityScore >= sameHostAsMaster:
		p.Warnings = append(p.Warnings, "Some slaves are in the same host as their master")
	case p.AffinityScore > 0:
		p.Warnings = append(p.Warnings, "Some slaves of the same master are in the same host")
	}
	return p, nil
}

// interleaveByHost orders nodes one per host in turn (hosts in order of
// first appearance), so that the first ones, the masters, spread over hosts.
func interleaveByHost(nodes []NodeFacts) []string {
	var hosts []string
	byHost := map[string][]string{}
	for _, n := range nodes {
		if byHost[n.Host] == nil {
			hosts = append(hosts, n.Host)
		}
		byHost[n.Host] = append(byHost[n.Host], n.Addr)
	}
	out := make([]string, 0, len(nodes))
	for len(out) < len(nodes) {
		for _, h := range hosts {
			if q := byHost[h]; len(q) > 0 {
				out = append(out, q[0])
				byHost[h] = q[1:]
			}
		}
	}
	return out
}

// assignReplicas gives every master up to perMaster replicas, taking the
// first spare node on another host, else the first spare node. Nodes left
// over are then handed out one per master in turn, as redis-cli's "extra
// replicas".
func assignReplicas(masters, spare []string, perMaster int, hostOf map[string]string) map[string]string {
	masterOf := map[string]string{}
	free := slices.Clone(spare)
	take := func(master string) bool {
		pick := -1
		for i, n := range free {
			if hostOf[n] != hostOf[master] {
				pick = i
				break
			}
		}
		if pick < 0 && len(free) > 0 {
			pick = 0
		}
		if pick < 0 {
			return false
		}
		masterOf[free[pick]] = master
		free = slices.Delete(free, pick, pick+1)
		return true
	}
	for _, m := range masters {
		for range perMaster {
			if !take(m) {
				break
			}
		}
	}
	for len(free) > 0 {
		for _, m := range masters {
			if !take(m) {
				break
			}
		}
	}
	return masterOf
}

// PrepareCreate checks every node (reachable, cluster enabled, empty, not
// the same node twice) and plans the cluster. Nothing is changed; when any
// node fails a check the error names every failing node.
func PrepareCreate(ctx context.Context, pool *conn.Pool, addrs []string, opts CreateOptions) (*CreatePlan, error) {
	norm, err := ValidateCreateArgs(addrs, opts.Replicas)
	if err != nil {
		return nil, err
	}
	facts, errs := probeAll(ctx, pool, norm)
	for i, f := range facts {
		if errs[i] == nil {
			errs[i] = f.emptyError()
		}
	}
	if err := joinNodeErrors(errs); err != nil {
		return nil, fmt.Errorf("cannot create the cluster, no node was changed: %w", err)
	}
	return PlanCreate(facts, opts)
}

// ApplyCreate builds the planned cluster: slots and distinct config epochs
// on every node, CLUSTER MEET between every pair, CLUSTER REPLICATE for the
// replicas; every step runs on all nodes in parallel, pipelined. It returns
// when every node knows every other one and all agree on slots and
// replicas, or with an error saying what still differs at the timeout.
func ApplyCreate(ctx context.Context, pool *conn.Pool, p *CreatePlan, opts CreateOptions, rep Reporter) (err error) {
	if rep == nil {
		rep = Discard
	}
	// Nodes may have changed while the operator read the plan: check again
	// that they are the same, still empty nodes before touching any.
	facts, errs := probeAll(ctx, pool, p.Addrs())
	for i, f := range facts {
		if errs[i] == nil {
			errs[i] = f.emptyError()
		}
		if errs[i] == nil && f.ID != p.Nodes[i].ID {
			errs[i] = fmt.Errorf("node %s changed identity since planning (was %s, now %s)", f.Addr, p.Nodes[i].ID, f.ID)
		}
	}
	if err := joinNodeErrors(errs); err != nil {
		return fmt.Errorf("cannot create the cluster, no node was changed: %w", err)
	}

	changed := false // set before the first command that changes a node
	defer func() {
		if err != nil && changed && ctx.Err() == nil {
			err = fmt.Errorf("%w (the nodes may be partly configured: run CLUSTER RESET HARD on each before creating again)", err)
		}
	}()
	info := func(msg string) { rep.Report(Event{Kind: EventInfo, Message: msg}) }
	changed = true
	info("Nodes configuration updated")
	info("Assign a different config epoch to each node")
	err = provisionEach(len(p.Nodes), func(i int) error {
		n := p.Nodes[i]
		cmds := [][]any{{"CLUSTER", "SET-CONFIG-EPOCH", p.Epochs[n.Addr]}}
		if r, ok := p.SlotRanges[n.Addr]; ok {
			cmds = append(cmds, addSlotsArgs(n, r))
		}
		return pipelineOn(ctx, pool, n.Addr, cmds)
	})
	if err != nil {
		return err
	}

	// Every pair of nodes meets directly, once, so nobody waits for gossip
	// to learn about a third node.
	info("Sending CLUSTER MEET messages to join the cluster")
	targets := make([]meetTarget, len(p.Nodes))
	for i, n := range p.Nodes {
		targets[i] = n.meetTarget()
	}
	err = provisionEach(len(p.Nodes), func(i int) error {
		var cmds [][]any
		for _, t := range targets[i+1:] {
			cmds = append(cmds, t.meetArgs())
		}
		return pipelineOn(ctx, pool, p.Nodes[i].Addr, cmds)
	})
	if err != nil {
		return err
	}
	info("Waiting for the cluster to join")
	wait := ConvergeOptions{Timeout: opts.ConvergeTimeout, Interval: pollInterval}
	// No handshake may be left either: a MEET towards an address still in
	// handshake is silently dropped, and the announce below would be lost.
	if err := waitSettled(ctx, pool, p.Addrs(), wait, false); err != nil {
		return err
	}
	var replicas []string
	for _, m := range p.Masters {
		replicas = append(replicas, p.Replicas[m]...)
	}
	if len(replicas) > 0 {
		info("Configuring replicas")
		err = provisionEach(len(replicas), func(i int) error {
			master := p.Node(p.MasterOf(replicas[i]))
			return pipelineOn(ctx, pool, replicas[i], [][]any{{"CLUSTER", "REPLICATE", master.ID}})
		})
		if err != nil {
			return err
		}
	}
	info("Waiting until every node agrees about slots and replicas")
	if err := spreadConfig(ctx, pool, targets, wait, !opts.SkipStateOK); err != nil {
		return err
	}
	for _, n := range p.Nodes {
		rep.Report(Event{Kind: EventNodeJoined, Node: n.Addr})
	}
	return nil
}

// spreadConfig announces every node's slots and role to the nodes that do
// not know them yet and waits until all agree. A MEET can be lost (Redis
// drops one towards an address it is already shaking hands with), so a
// short wait that ends without agreement announces what is still stale
// again before the full wait.
func spreadConfig(ctx context.Context, pool *conn.Pool, targets []meetTarget, wait ConvergeOptions, requireOK bool) error {
	addrs := make([]string, len(targets))
	for i, t := range targets {
		addrs[i] = t.Addr
	}
	wait.SameSlots, wait.SameReplicas = true, true
	const retries = 2
	for range retries {
		if err := announceStale(ctx, pool, targets); err != nil {
			return err
		}
		short := wait
		short.Timeout = spreadRetryAfter
		if err := waitSettled(ctx, pool, addrs, short, false); err == nil || ctx.Err() != nil {
			break
		}
	}
	return waitSettled(ctx, pool, addrs, wait, requireOK)
}

// spreadRetryAfter is how long spreadConfig waits for an announce to land
// before sending the stale ones again: a MEET takes one cluster cron (100
// ms) and a round trip, seconds only on a machine starved of CPU.
const spreadRetryAfter = 3 * time.Second

// addSlotsArgs assigns a range with ADDSLOTSRANGE, or ADDSLOTS on servers
// older than Redis 7.
func addSlotsArgs(n NodeFacts, r slots.Range) []any {
	if n.supportsAddSlotsRange() {
		return []any{"CLUSTER", "ADDSLOTSRANGE", r.Start, r.End}
	}
	args := []any{"CLUSTER", "ADDSLOTS"}
	for s := r.Start; s <= r.End; s++ {
		args = append(args, s)
	}
	return args
}
