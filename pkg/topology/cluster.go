package topology

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
)

// Cluster is the cluster as loaded from a seed: every reachable node as it
// describes itself, and each node's full view of the others.
type Cluster struct {
	Seed        string             // address the load started from
	Nodes       []*Node            // reachable nodes, seed first, then in the seed's order
	Views       map[string][]*Node // node ID -> that node's CLUSTER NODES
	Unreachable []Unreachable      // nodes the seed knows but that could not be loaded
}

// Unreachable is a node listed by the seed that could not be loaded.
type Unreachable struct {
	Node *Node // as the seed sees it
	Err  error
}

// ErrNotCluster means the node answered but has cluster support disabled.
var ErrNotCluster = errors.New("not a cluster node (cluster-enabled is no)")

// FetchNodes runs CLUSTER NODES on addr and parses it.
func FetchNodes(ctx context.Context, pool *conn.Pool, addr string) ([]*Node, error) {
	text, err := pool.Get(addr).ClusterNodes(ctx).Result()
	if err != nil {
		if strings.Contains(err.Error(), "cluster support disabled") {
			return nil, &conn.Error{Addr: addr, Cmd: "CLUSTER NODES", Err: ErrNotCluster}
		}
		return nil, conn.NodeError(addr, "CLUSTER NODES", err)
	}
	view, err := ParseNodes(text)
	if err != nil {
		return nil, &conn.Error{Addr: addr, Cmd: "CLUSTER NODES", Err: err}
	}
	return view, nil
}

// Load reads the cluster from seed and from every node the seed knows, in
// parallel. The seed must answer; other nodes that cannot be reached are
// recorded in Unreachable rather than failing the load.
func Load(ctx context.Context, pool *conn.Pool, seed string) (*Cluster, error) {
	seedView, err := FetchNodes(ctx, pool, seed)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Seed: seed, Views: map[string][]*Node{}}
	var me *Node
	for _, n := range seedView {
		if n.Myself() {
			me = n
		}
	}
	if me == nil {
		return nil, &conn.Error{Addr: seed, Cmd: "CLUSTER NODES", Err: errors.New("reply has no myself line")}
	}
	me.Host, me.Port = splitSeed(seed, me)
	c.Views[me.ID] = seedView
	c.Nodes = append(c.Nodes, me)

	type result struct {
		self *Node
		view []*Node
		err  error
	}
	var friends []*Node
	for _, n := range seedView {
		if !n.Myself() {
			friends = append(friends, n)
		}
	}
	results := make([]result, len(friends))
	var wg sync.WaitGroup
	for i, f := range friends {
		if f.HasFlag("noaddr") || f.Port == 0 || f.Host == "" {
			results[i].err = errors.New("no address known (noaddr)")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			view, err := FetchNodes(ctx, pool, f.Addr())
			if err != nil {
				results[i].err = err
				return
			}
			for _, n := range view {
				if n.Myself() {
					n.Host, n.Port = f.Host, f.Port // the address the seed knows it by
					results[i] = result{self: n, view: view}
					return
				}
			}
			results[i].err = errors.New("CLUSTER NODES reply has no myself line")
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			c.Unreachable = append(c.Unreachable, Unreachable{Node: friends[i], Err: r.err})
			continue
		}
		if r.self.ID != friends[i].ID && friends[i].HasFlag("handshake") {
			// The seed is still meeting it and knows it by a placeholder ID.
			c.Unreachable = append(c.Unreachable, Unreachable{Node: friends[i],
				Err: fmt.Errorf("still in handshake with %s (joining the cluster: try again in a moment)", seed)})
			continue
		}
		if r.self.ID != friends[i].ID {
			c.Unreachable = append(c.Unreachable, Unreachable{Node: friends[i],
				Err: fmt.Errorf("answers as node %s, not %s (node was replaced or reset?)", r.self.ID, friends[i].ID)})
			continue
		}
		c.Nodes = append(c.Nodes, r.self)
		c.Views[r.self.ID] = r.view
	}
	return c, nil
}

// splitSeed keeps the address the user gave for the seed when the node
// does not know its own IP yet (a fresh node reports ":port").
func splitSeed(seed string, me *Node) (string, int) {
	a, err := conn.ParseAddr(seed)
	if err != nil {
		return me.Host, me.Port
	}
	return a.Host, a.Port
}

// ByID returns the reachable node with this ID.
func (c *Cluster) ByID(id string) *Node {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// ByAddr returns the reachable node with this host:port.
func (c *Cluster) ByAddr(addr string) *Node {
	norm, err := conn.NormalizeAddr(addr)
	if err != nil {
		return nil
	}
	for _, n := range c.Nodes {
		if n.Addr() == norm {
			return n
		}
	}
	return nil
}

// Find resolves a node given by full ID, unique ID prefix (4+ chars) or
// host:port, as every command that takes a node accepts.
func (c *Cluster) Find(ref string) (*Node, error) {
	if n := c.ByID(ref); n != nil {
		return n, nil
	}
	if strings.Contains(ref, ":") {
		if n := c.ByAddr(ref); n != nil {
			return n, nil
		}
		return nil, fmt.Errorf("no node at %s in this cluster", ref)
	}
	var found []*Node
	if len(ref) >= 4 {
		for _, n := range c.Nodes {
			if strings.HasPrefix(n.ID, ref) {
				found = append(found, n)
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("unknown node %q: no node with that ID or address", ref)
	}
	return nil, fmt.Errorf("node ID prefix %q is ambiguous", ref)
}

// Masters returns the reachable masters in load order.
func (c *Cluster) Masters() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.IsMaster() {
			out = append(out, n)
		}
	}
	return out
}

// ReplicasOf returns the reachable replicas of the master with this ID.
func (c *Cluster) ReplicasOf(id string) []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.IsReplica() && n.MasterID == id {
			out = append(out, n)
		}
	}
	return out
}

// Owners maps each slot to the reachable masters that claim it (their own view).
func (c *Cluster) Owners() [slots.Count][]*Node {
	var owners [slots.Count][]*Node
	for _, n := range c.Nodes {
		for _, s := range n.Slots.Slots() {
			owners[s] = append(owners[s], n)
		}
	}
	return owners
}

// Covered is the set of slots some reachable node serves.
func (c *Cluster) Covered() *slots.Set {
	all := &slots.Set{}
	for _, n := range c.Nodes {
		for _, s := range n.Slots.Slots() {
			all.Add(s)
		}
	}
	return all
}

// OpenSlots lists the slots that any node has in migrating or importing state.
func (c *Cluster) OpenSlots() []int {
	set := map[int]bool{}
	for _, n := range c.Nodes {
		for s := range n.Migrating {
			set[s] = true
		}
		for s := range n.Importing {
			set[s] = true
		}
	}
	out := make([]int, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
