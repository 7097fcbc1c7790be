package admin

import (
	"context"
	"fmt"
	"maps"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// A Valkey 8+ primary that imports a slot takes the slot itself, and bumps
// its config epoch without a vote, as soon as the slot's source stops
// claiming it (the "Clear my importing source" rule of
// clusterUpdateSlotsConfigWith, meant for a replica promoted while its
// primary was finishing a migration). A primary that was down while its
// replica took over, and that still had the slot importing in its
// nodes.conf, does the same when it comes back: with the new epoch it also
// wins back its whole shard from the promoted replica, which turns replica
// again and throws away, in a full resync, every write it acknowledged
// meanwhile (seed 50559 of the fault campaign: a target killed during fix,
// fix's second pass finishing the migration towards the promoted replica).
//
// So fix never finishes an open slot towards a shard with a down master:
// the source keeps claiming the slot, which the returning node sees before
// anything else, so it rejoins as a replica; fix finishes the slot then.

// downShardMates maps each node whose shard holds a master that cannot be
// reached (that master included) to that master's address, read from
// CLUSTER SHARDS on the first reachable node that has the rule above and
// answers. A cluster whose nodes lack the rule gives an empty map.
func downShardMates(ctx context.Context, pool *conn.Pool, c *topology.Cluster) (map[string]string, error) {
	down := map[string]string{} // unreachable master ID -> address
	for _, u := range c.Unreachable {
		if u.Node.IsMaster() && !u.Node.HasFlag("handshake") { // a joining node has a placeholder ID
			down[u.Node.ID] = u.Node.Addr()
		}
	}
	if len(down) == 0 {
		return map[string]string{}, nil
	}
	// The rule is the returning node's, which cannot be asked: any
	// reachable node with it means the cluster runs servers that have it.
	// The shards come from the first of those that answers.
	var lastErr error
	for _, n := range c.Nodes {
		if srv, err := pool.Server(ctx, n.Addr()); err != nil || !takesOverGivenUpImports(srv) {
			continue
		}
		shards, err := pool.Get(n.Addr()).ClusterShards(ctx).Result()
		if err != nil {
			lastErr = conn.NodeError(n.Addr(), "CLUSTER SHARDS", err)
			continue
		}
		return shardMates(shards, down), nil
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return map[string]string{}, nil // no node has the rule
}

// shardMates maps each node of a shard that holds a down master (down:
// ID -> address) to that master's address.
func shardMates(shards []redis.ClusterShard, down map[string]string) map[string]string {
	out := map[string]string{}
	for _, sh := range shards {
		mate := ""
		for _, n := range sh.Nodes {
			if addr, ok := down[n.ID]; ok {
				mate = addr
			}
		}
		if mate == "" {
			continue
		}
		for _, n := range sh.Nodes {
			out[n.ID] = mate // the down master too: a source may still migrate to it
		}
	}
	return out
}

// takesOverGivenUpImports reports whether srv has the rule above: it came
// with replicated SETSLOT in Valkey 8.0.
func takesOverGivenUpImports(srv conn.Server) bool { return srv.ReplicatesSetslot() }

// downMateBlocks says why slot must not change owner, or "": a node
// importing it, or the node its source migrates it to, shares its shard
// with a master that is down, which may have the import in its nodes.conf
// (see downShardMates).
func (m *fixModel) downMateBlocks(slot int) string {
	for _, n := range m.masters {
		var who, mate string
		if _, importing := m.imp[slot][n.ID]; importing && m.downMates[n.ID] != "" {
			who, mate = n.Addr()+" imports it", m.downMates[n.ID]
		} else if to := m.mig[slot][n.ID]; to != "" && m.downMates[to] != "" {
			who, mate = n.Addr()+" migrates it to "+m.nodeName(to), m.downMates[to]
		} else {
			continue
		}
		return fmt.Sprintf("slot %d: left open: %s and %s, a master of that shard, is down; if the source gave the slot up now, Valkey 8+ would let %s retake it and its whole shard with stale data when it returns. Bring %s back (it rejoins as a replica) or remove it with del-node, then run fix again",
			slot, who, mate, mate, mate)
	}
	return ""
}

// nodeName is a node's address when the model knows it, else its ID.
func (m *fixModel) nodeName(id string) string {
	if n := m.byID[id]; n != nil {
		return n.Addr()
	}
	return id
}

// slotModel is one slot's part of a fixModel, to put back a step that is
// not taken.
type slotModel struct {
	claimers []string
	counts   map[string]int64
	mig, imp map[string]string
}

func (m *fixModel) saveSlot(slot int) slotModel {
	s := slotModel{counts: maps.Clone(m.counts[slot]), mig: maps.Clone(m.mig[slot]), imp: maps.Clone(m.imp[slot])}
	for _, n := range m.masters {
		if m.claims[n.ID].Has(slot) {
			s.claimers = append(s.claimers, n.ID)
		}
	}
	return s
}

func (m *fixModel) restoreSlot(slot int, s slotModel) {
	for _, n := range m.masters {
		m.claims[n.ID].Remove(slot)
	}
	for _, id := range s.claimers {
		m.claims[id].Add(slot)
	}
	restore := func(dst map[int]map[string]string, v map[string]string) {
		if v == nil {
			delete(dst, slot)
		} else {
			dst[slot] = v
		}
	}
	restore(m.mig, s.mig)
	restore(m.imp, s.imp)
	if s.counts == nil {
		delete(m.counts, slot)
	} else {
		m.counts[slot] = s.counts
	}
}
