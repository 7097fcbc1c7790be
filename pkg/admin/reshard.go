package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// ReshardOptions say what to move: Slots slots from the From masters (node
// IDs, unique ID prefixes or host:port; "all" for every master but the
// target) to the To master.
type ReshardOptions struct {
	From  []string
	To    string
	Slots int
}

// ReshardSource is one master giving slots.
type ReshardSource struct {
	Node  *topology.Node
	Slots []int // the slots it gives, ascending
}

// ReshardPlan is what a reshard will do.
type ReshardPlan struct {
	Target  *topology.Node
	Sources []ReshardSource // in the order slots were taken (most slots first)
	Moves   []migrate.Move  // one per slot, ordered by source then slot
}

// PlanReshard chooses the slots to move like redis-cli does (from each
// source in proportion to the slots it holds, its lowest-numbered slots
// first), except that it always moves exactly o.Slots slots. It is pure
// and deterministic for the same cluster and options.
func PlanReshard(c *topology.Cluster, o ReshardOptions) (*ReshardPlan, error) {
	if o.Slots < 1 || o.Slots > slots.Count {
		return nil, fmt.Errorf("invalid number of slots %d: must be from 1 to %d", o.Slots, slots.Count)
	}
	if o.To == "" {
		return nil, errors.New("no receiving node given (--to)")
	}
	target, err := findMaster(c, o.To)
	if err != nil {
		return nil, err
	}
	var sources []*topology.Node
	all := slices.Contains(o.From, "all")
	if all {
		for _, m := range c.Masters() {
			if m.ID != target.ID && m.Slots.Len() > 0 {
				sources = append(sources, m)
			}
		}
	} else {
		for _, ref := range o.From {
			if ref = strings.TrimSpace(ref); ref == "" {
				continue
			}
			src, err := findMaster(c, ref)
			if err != nil {
				return nil, err
			}
			if src.ID == target.ID {
				return nil, fmt.Errorf("it is not possible to use the target node %s as source node", target.Addr())
			}
			if !slices.ContainsFunc(sources, func(n *topology.Node) bool { return n.ID == src.ID }) {
				sources = append(sources, src)
			}
		}
	}
	if len(sources) == 0 {
		return nil, errors.New("no source nodes given, operation aborted")
	}
	held := 0
	for _, s := range sources {
		held += s.Slots.Len()
	}
	if held < o.Slots {
		return nil, fmt.Errorf("cannot move %d slots: the source nodes hold only %d", o.Slots, held)
	}
	p := &ReshardPlan{Target: target}
	for _, share := range reshardShares(sources, o.Slots) {
		taken := share.node.Slots.Slots()[:share.count]
		p.Sources = append(p.Sources, ReshardSource{Node: share.node, Slots: taken})
		for _, s := range taken {
			p.Moves = append(p.Moves, migrate.Move{Slot: s, Source: migrateNode(share.node), Target: migrateNode(target)})
		}
	}
	return p, nil
}

type share struct {
	node  *topology.Node
	count int
}

// reshardShares splits n slots among sources as redis-cli does: sources
// sorted by slot count (most first; ties keep load order), the first gets
// the ceiling of its share and the others the floor, in C float
// arithmetic. redis-cli then moves fewer than n slots when the floors lose
// some; here the missing slots go to the sources with the largest
// remainders (earlier first), so the total is always n. Sources giving
// nothing are dropped.
func reshardShares(sources []*topology.Node, n int) []share {
	sorted := slices.Clone(sources)
	slices.SortStableFunc(sorted, func(a, b *topology.Node) int { return b.Slots.Len() - a.Slots.Len() })
	total := 0
	for _, s := range sorted {
		total += s.Slots.Len()
	}
	shares := make([]share, len(sorted))
	rems := make([]float64, len(sorted))
	given := 0
	for i, s := range sorted {
		exact := float32(n) / float32(total) * float32(s.Slots.Len())
		count := int(math.Floor(float64(exact)))
		if i == 0 {
			count = int(math.Ceil(float64(exact)))
		}
		count = min(count, s.Slots.Len(), n-given)
		shares[i] = share{node: s, count: count}
		rems[i] = float64(exact) - float64(count)
		given += count
	}
	for given < n {
		best := -1
		for i, r := range rems {
			if shares[i].count < sorted[i].Slots.Len() && (best < 0 || r > rems[best]) {
				best = i
			}
		}
		shares[best].count++
		rems[best]--
		given++
	}
	out := shares[:0]
	for _, s := range shares {
		if s.count > 0 {
			out = append(out, s)
		}
	}
	return out
}

// findMaster resolves a node reference to a reachable master.
func findMaster(c *topology.Cluster, ref string) (*topology.Node, error) {
	n, err := c.Find(ref)
	if err != nil {
		return nil, err
	}
	if !n.IsMaster() {
		return nil, fmt.Errorf("node %s (%s) is not a master", n.Addr(), n.ShortID())
	}
	return n, nil
}

func migrateNode(n *topology.Node) migrate.Node { return migrate.Node{ID: n.ID, Addr: n.Addr()} }

// MigrationJob turns moves into a job that tells every master of c.
func MigrationJob(c *topology.Cluster, moves []migrate.Move) migrate.Job {
	j := migrate.Job{Moves: moves}
	for _, m := range c.Masters() {
		j.Masters = append(j.Masters, migrateNode(m))
	}
	return j
}

// PrepareMigration loads the cluster from seed for a reshard or rebalance:
// it waits until the nodes' views converge (a node just added may not be
// known everywhere yet), then refuses clusters with problems redis-cli
// refuses too (nodes disagree, open or uncovered slots, unreachable
// nodes). what names the operation in the error ("resharding").
func PrepareMigration(ctx context.Context, pool *conn.Pool, seed, what string, wait time.Duration) (*topology.Cluster, error) {
	c, err := loadSettled(ctx, pool, seed, wait)
	if err != nil {
		return nil, err
	}
	if len(c.Unreachable) == 0 && !settledForMigration(ctx, pool, c) {
		addrs := make([]string, len(c.Nodes))
		for i, n := range c.Nodes {
			addrs[i] = n.Addr()
		}
		if err := WaitConverged(ctx, pool, addrs, ConvergeOptions{Timeout: wait, SameSlots: true}); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, pleaseFix(fmt.Errorf("%w; please fix your cluster problems before %s", err, what), what)
		}
		if c, err = topology.Load(ctx, pool, seed); err != nil {
			return nil, err
		}
	}
	var problems []string
	for _, p := range topology.Check(c).Problems {
		switch p.Kind {
		case topology.KindInconsistent, topology.KindOpenSlot, topology.KindUncovered, topology.KindUnreachable:
			problems = append(problems, p.Message)
		}
	}
	if len(problems) > 0 {
		return nil, pleaseFix(fmt.Errorf("%s; please fix your cluster problems before %s (gocluster check / gocluster fix)",
			strings.TrimSuffix(strings.Join(problems, " "), "."), what), what)
	}
	return c, nil
}

// pleaseFix carries redis-cli's refusal line.
func pleaseFix(err error, what string) error {
	return withRedisCLILine(err, "*** Please fix your cluster problems before "+what)
}

// loadedConverged applies WaitConverged's test to the views just loaded,
// sparing a poll when the cluster is already settled.
func loadedConverged(c *topology.Cluster) bool {
	addrs := make([]string, len(c.Nodes))
	views := make([][]*topology.Node, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i], views[i] = n.Addr(), c.Views[n.ID]
	}
	return divergence(addrs, views, ConvergeOptions{SameSlots: true}) == ""
}

// settledForMigration says whether the views just loaded agree and every
// node already reports cluster_state:ok. A node that agrees on the slot map
// can still be in state fail for a while after a failover or a restart, and
// then answers CLUSTERDOWN to the RESTORE-ASKING of every MIGRATE.
func settledForMigration(ctx context.Context, pool *conn.Pool, c *topology.Cluster) bool {
	if !loadedConverged(c) {
		return false
	}
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	notOK, err := stateNotOK(ctx, pool, addrs)
	return err != nil || notOK == "" // an unreachable node is refused below
}

// loadSettled loads the cluster, reloading while the seed is still in
// handshake with a node (a node just added answers under an ID the seed
// does not know yet), for at most wait.
func loadSettled(ctx context.Context, pool *conn.Pool, seed string, wait time.Duration) (*topology.Cluster, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := topology.Load(ctx, pool, seed)
		if err != nil || !handshaking(c) || time.Now().After(deadline) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func handshaking(c *topology.Cluster) bool {
	for _, n := range c.Views[c.Nodes[0].ID] {
		if n.HasFlag("handshake") {
			return true
		}
	}
	return false
}

// ApplyMoves runs a migration job on a prepared cluster, reporting one
// slot-moved event per slot (Total = slots planned) and warnings. When it
// is done it waits a little for every node, replicas included, to agree
// on the new slot map, and warns if they do not yet. On cancellation the
// returned error is ctx.Err() and the result lists what remains.
func ApplyMoves(ctx context.Context, pool *conn.Pool, c *topology.Cluster, job migrate.Job, opts migrate.Options, rep Reporter) (*migrate.Result, error) {
	total := len(job.Moves)
	opts.Report = func(e migrate.Event) {
		switch e.Kind {
		case migrate.EventSlotMoved:
			rep.Report(Event{Kind: EventSlotMoved, Node: e.Source, Target: e.Target, Slot: e.Slot, Keys: e.Keys, Total: total})
		case migrate.EventKeysMoved:
			// counted when the slot is done: slot-moved carries its keys
		default:
			rep.Report(Event{Kind: EventWarning, Node: e.Source, Target: e.Target, Slot: e.Slot, Message: e.Message})
		}
	}
	if behind := waitTargetReplicasOnline(ctx, pool, c, job, replicaSyncWait); behind != "" && ctx.Err() == nil {
		rep.Report(Event{Kind: EventWarning, Message: "moving slots while replicas are still syncing (a target lost now would lose what it received): " + behind})
	}
	res, err := migrate.Run(ctx, pool, job, opts)
	if err != nil && res == nil {
		return nil, err
	}
	if len(res.Moved) > 0 && ctx.Err() == nil {
		addrs := make([]string, len(c.Nodes))
		for i, n := range c.Nodes {
			addrs[i] = n.Addr()
		}
		if werr := WaitConverged(ctx, pool, addrs, ConvergeOptions{Timeout: 10 * time.Second, Interval: 10 * time.Millisecond, SameSlots: true}); werr != nil && ctx.Err() == nil {
			rep.Report(Event{Kind: EventWarning, Message: "the nodes have not all learned the new slot owners yet: " + werr.Error()})
		}
	}
	if err == nil {
		err = res.Err()
	}
	return res, err
}
