package admin

import (
	"context"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
)

// strandedSettle is how long a slot must stay bound, in the nodes' views,
// to a master that does not claim it before fix treats it as uncovered.
// A failover finishes in well under that once its election is won; an
// interrupted migration leaves the state for good.
const strandedSettle = 2 * time.Second

// strandedSlots maps each slot that no reachable master claims in its own
// line, while the nodes' views give it to a reachable node that is a
// master by its own line, to that node's ID (the owner most views name).
//
// An interrupted migration leaves this behind: a master told SETSLOT NODE
// for a slot another master claimed with a newer epoch, which that master
// then gave up, and so on. Valkey 8 and Redis keep a slot bound to an
// owner that stops claiming it until a newer claim arrives, and none ever
// comes: the views disagree for good and the cluster never converges.
func strandedSlots(c *topology.Cluster) map[int]string {
	selfMaster := map[string]bool{}
	for _, n := range c.Nodes {
		selfMaster[n.ID] = n.IsMaster()
	}
	covered := c.Covered()
	votes := map[int]map[string]int{}
	for _, view := range c.Views {
		for _, n := range view {
			if !n.IsMaster() || !selfMaster[n.ID] {
				continue
			}
			for _, sl := range n.Slots.Slots() {
				if covered.Has(sl) {
					continue
				}
				if votes[sl] == nil {
					votes[sl] = map[string]int{}
				}
				votes[sl][n.ID]++
			}
		}
	}
	out := make(map[int]string, len(votes))
	for sl, byOwner := range votes {
		best := ""
		for id, v := range byOwner {
			if best == "" || v > byOwner[best] || v == byOwner[best] && id < best {
				best = id
			}
		}
		out[sl] = best
	}
	return out
}

// loadSettledStranded loads the cluster as loadAgreeingRoles does; if some
// slots are stranded, it loads it again strandedSettle later and returns
// the slots stranded on the same owner both times, with the second load.
func loadSettledStranded(ctx context.Context, pool *conn.Pool, seed string) (*topology.Cluster, map[int]string, error) {
	c, err := loadAgreeingRoles(ctx, pool, seed, rolesSettleWait)
	if err != nil {
		return nil, nil, err
	}
	first := strandedSlots(c)
	if len(first) == 0 {
		return c, nil, nil
	}
	select {
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-time.After(strandedSettle):
	}
	if c, err = loadAgreeingRoles(ctx, pool, seed, rolesSettleWait); err != nil {
		return nil, nil, err
	}
	stranded := map[int]string{}
	for sl, owner := range strandedSlots(c) {
		if first[sl] == owner {
			stranded[sl] = owner
		}
	}
	return c, stranded, nil
}
