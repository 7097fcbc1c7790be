package admin

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// FixOptions select what fix repairs and how keys are moved.
type FixOptions struct {
	// SearchMultipleOwners also repairs slots claimed by, or holding keys
	// on, several masters even when they are covered and not open.
	SearchMultipleOwners bool
	// FixWithUnreachableMasters allows repairs while some masters cannot
	// be reached: their slots are treated as uncovered (data loss risk).
	FixWithUnreachableMasters bool
	// Replace lets a moved key overwrite the different copy that already
	// exists on the slot's owner. Without it both copies are kept, one
	// renamed (see saveConflicts).
	Replace bool
	// Pipeline is how many keys one MIGRATE moves (default 100).
	Pipeline int
	// Timeout is MIGRATE's I/O timeout (default 60s).
	Timeout time.Duration
}

// FixSurvey is what fix needs to know before planning: the loaded cluster,
// its check report and how many keys each reachable master holds in each
// slot that may need repair.
type FixSurvey struct {
	Cluster *topology.Cluster
	Check   *CheckResult
	// Counts[slot][masterID] is COUNTKEYSINSLOT, for the slots fix looks
	// at (open, uncovered, and every slot with SearchMultipleOwners).
	// Zero counts are left out.
	Counts map[int]map[string]int64
	// UnreachableMasters are masters that own slots in the seed's view
	// but could not be reached.
	UnreachableMasters []string
	// Servers says what the primaries of replicas holding an open slot
	// run (by address): only one that replicates SETSLOT can clear it.
	Servers map[string]conn.Server
	// Stranded maps slots no master claims while the views give them, for
	// longer than strandedSettle, to a reachable master (see strandedSlots)
	// to that master's ID: fix covers them.
	Stranded map[int]string
	// DownShardMates maps the nodes of a shard with a down master (that
	// master included) to its address, on servers where such a master can
	// retake an import (downShardMates).
	DownShardMates map[string]string
}

// SurveyFix loads the cluster from seed, checks it and counts keys in the
// slots that may need repair, on every reachable master in parallel.
func SurveyFix(ctx context.Context, pool *conn.Pool, seed string, o FixOptions) (*FixSurvey, error) {
	c, stranded, err := loadSettledStranded(ctx, pool, seed)
	if err != nil {
		return nil, err
	}
	check, err := CheckLoaded(ctx, pool, c, CheckOptions{SearchMultipleOwners: o.SearchMultipleOwners})
	if err != nil {
		return nil, err
	}
	s := &FixSurvey{Cluster: c, Check: check, Counts: map[int]map[string]int64{}, Stranded: stranded}
	for _, u := range c.Unreachable {
		if u.Node.IsMaster() && u.Node.Slots.Len() > 0 {
			s.UnreachableMasters = append(s.UnreachableMasters, u.Node.Addr())
		}
	}
	if s.Servers, err = replicaPrimaryServers(ctx, pool, c); err != nil {
		return nil, err
	}
	if s.DownShardMates, err = downShardMates(ctx, pool, c); err != nil {
		return nil, err
	}
	var interest []int
	if o.SearchMultipleOwners {
		for i := range slots.Count {
			interest = append(interest, i)
		}
	} else {
		covered := c.Covered()
		set := map[int]bool{}
		for _, sl := range c.OpenSlots() {
			set[sl] = true
		}
		for i := range slots.Count {
			if !covered.Has(i) {
				set[i] = true
			}
		}
		for sl := range set {
			interest = append(interest, sl)
		}
		slices.Sort(interest)
	}
	if len(interest) == 0 {
		return s, nil
	}
	var mu sync.Mutex
	masters := c.Masters()
	errs := make([]error, len(masters))
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pipe := pool.Get(m.Addr()).Pipeline()
			cmds := make([]*redis.IntCmd, len(interest))
			for j, sl := range interest {
				cmds[j] = pipe.ClusterCountKeysInSlot(ctx, sl)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				errs[i] = conn.NodeError(m.Addr(), "CLUSTER COUNTKEYSINSLOT", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for j, sl := range interest {
				if n := cmds[j].Val(); n > 0 {
					if s.Counts[sl] == nil {
						s.Counts[sl] = map[string]int64{}
					}
					s.Counts[sl][m.ID] = n
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// rolesSettleWait bounds how long fix waits for the nodes to agree on who
// is a master: right after a failover some views still list the old roles.
const rolesSettleWait = 10 * time.Second

// slotsSettleWait bounds how long fix waits for the views to hold the
// same slot map: the new owner's claims reach every node by gossip within
// about a second of a failover, while a disagreement that lasts (a node
// importing a slot ignores claims on it) is for fix to repair.
const slotsSettleWait = 3 * time.Second

// loadAgreeingRoles loads the cluster, reloading for at most wait while
// some node's view gives another reachable node a role that node does not
// claim for itself: a failover is still spreading, and repairs planned on
// it fail ("Target node is not a master") or undo the failover. It also
// reloads for at most slotsSettleWait while the views' slot maps differ,
// which fix cannot repair when nothing else is wrong, and for at most
// gossipSettleWait while a view lists a node in handshake or flags a
// reachable node as failing. After that it
// returns the last load as it is.
func loadAgreeingRoles(ctx context.Context, pool *conn.Pool, seed string, wait time.Duration) (*topology.Cluster, error) {
	start := time.Now()
	deadline := start.Add(wait)
	for {
		c, err := topology.Load(ctx, pool, seed)
		if err != nil || time.Now().After(deadline) {
			return c, err
		}
		waited := time.Since(start)
		if roleDisagreement(c) == "" && (topology.Consistent(c) || waited > slotsSettleWait) &&
			(!gossipUnsettled(c) || waited > gossipSettleWait) {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// gossipSettleWait bounds how long fix waits for news that gossip brings
// within a second or two: a node still in handshake in some view (one that
// add-node was meeting when it was interrupted lists under a placeholder
// ID, while the node answers as another), or a node that is back and that
// some view still flags as failing (a restarted node clears the flag with
// its first pings). Either leaves nothing for fix to repair, yet check
// reports it.
const gossipSettleWait = 5 * time.Second

// gossipUnsettled reports whether some view lists a node in handshake or
// flags a reachable node as failing (see gossipSettleWait).
func gossipUnsettled(c *topology.Cluster) bool {
	reachable := make(map[string]bool, len(c.Nodes))
	for _, n := range c.Nodes {
		reachable[n.ID] = true
	}
	for _, viewer := range c.Nodes {
		for _, v := range c.Views[viewer.ID] {
			if v.HasFlag("handshake") || reachable[v.ID] && v.Failing() {
				return true
			}
		}
	}
	return false
}

// roleDisagreement names a reachable node that some view calls a master
// while it calls itself a replica, or the other way round; "" if none.
func roleDisagreement(c *topology.Cluster) string {
	own := make(map[string]bool, len(c.Nodes)) // node ID -> master by its own line
	for _, n := range c.Nodes {
		own[n.ID] = n.IsMaster()
	}
	for _, viewer := range c.Nodes {
		for _, v := range c.Views[viewer.ID] {
			if master, ok := own[v.ID]; ok && !v.Myself() && v.IsMaster() != master {
				return fmt.Sprintf("%s sees %s as %s", viewer.Addr(), v.Addr(), roleName(v.IsMaster()))
			}
		}
	}
	return ""
}

func roleName(master bool) string {
	if master {
		return "a master"
	}
	return "a replica"
}

// replicaPrimaryServers asks the primary of every replica that holds an
// open slot what it runs.
func replicaPrimaryServers(ctx context.Context, pool *conn.Pool, c *topology.Cluster) (map[string]conn.Server, error) {
	var addrs []string
	for _, n := range c.Nodes {
		if p := c.ByID(n.MasterID); p != nil && n.IsReplica() && len(n.Migrating)+len(n.Importing) > 0 {
			addrs = append(addrs, p.Addr())
		}
	}
	return pool.Servers(ctx, addrs)
}

// Fix action operations.
const (
	OpStable    = "stable"    // CLUSTER SETSLOT <slot> STABLE
	OpClaim     = "claim"     // MULTI, DELSLOTS, ADDSLOTS, [STABLE], BUMPEPOCH, EXEC
	OpDelSlot   = "delslot"   // CLUSTER DELSLOTS <slot> (already unassigned is fine)
	OpNode      = "node"      // CLUSTER SETSLOT <slot> NODE <peer>
	OpImporting = "importing" // CLUSTER SETSLOT <slot> IMPORTING <peer>
	OpMigrating = "migrating" // CLUSTER SETSLOT <slot> MIGRATING <peer>
	OpMoveKeys  = "move-keys" // MIGRATE every key of <slot> from node to peer
	// OpCancelAtomic: CLUSTER CANCELSLOTMIGRATIONS on a source whose
	// atomic migration is stuck; it keeps its slots and keys.
	OpCancelAtomic = "cancel-atomic-migration"
	// OpCancelAtomicImport: CLUSTER MIGRATION CANCEL ALL on a Redis 8.4
	// destination whose import is stuck; the source keeps the slots.
	OpCancelAtomicImport = "cancel-atomic-import"
)

// FixAction is one command (or one key move) on one node.
type FixAction struct {
	Op     string `json:"op"`
	Node   string `json:"node"`
	NodeID string `json:"node_id"`
	Peer   string `json:"peer,omitempty"`
	PeerID string `json:"peer_id,omitempty"`
	Slots  []int  `json:"slots"`
	Clear  bool   `json:"clear,omitempty"` // claim: also SETSLOT STABLE
}

// String describes the action as the commands it sends.
func (a FixAction) String() string {
	s := slotList(a.Slots)
	switch a.Op {
	case OpStable:
		return fmt.Sprintf("CLUSTER SETSLOT %s STABLE on %s", s, a.Node)
	case OpClaim:
		extra := ""
		if a.Clear {
			extra = ", SETSLOT STABLE"
		}
		return fmt.Sprintf("CLUSTER ADDSLOTS %s%s, BUMPEPOCH on %s", s, extra, a.Node)
	case OpDelSlot:
		return fmt.Sprintf("CLUSTER DELSLOTS %s on %s", s, a.Node)
	case OpNode:
		return fmt.Sprintf("CLUSTER SETSLOT %s NODE %s (%s) on %s", s, shortID(a.PeerID), a.Peer, a.Node)
	case OpImporting:
		return fmt.Sprintf("CLUSTER SETSLOT %s IMPORTING %s (%s) on %s", s, shortID(a.PeerID), a.Peer, a.Node)
	case OpMigrating:
		return fmt.Sprintf("CLUSTER SETSLOT %s MIGRATING %s (%s) on %s", s, shortID(a.PeerID), a.Peer, a.Node)
	case OpMoveKeys:
		return fmt.Sprintf("move the keys of slot %s from %s to %s (MIGRATE)", s, a.Node, a.Peer)
	case OpCancelAtomic:
		return fmt.Sprintf("CLUSTER CANCELSLOTMIGRATIONS on %s (slots %s stay there)", a.Node, s)
	case OpCancelAtomicImport:
		return fmt.Sprintf("CLUSTER MIGRATION CANCEL ALL on %s (slots %s stay on their source)", a.Node, s)
	}
	return a.Op
}

func shortID(id string) string { return id[:min(8, len(id))] }

func slotList(ss []int) string {
	set := slots.SetOf(ss...)
	return set.String()
}

// FixStep repairs one slot (or, for claims of many uncovered slots, a
// batch) and is applied as a unit: when an action fails the rest of the
// step is skipped.
type FixStep struct {
	Kind    string      `json:"kind"` // topology.KindOpenSlot, KindUncovered, KindMultipleOwners
	Slots   []int       `json:"slots"`
	Message string      `json:"message"`
	Actions []FixAction `json:"actions"`
	// OwnerMigrating is set when the node chosen as the slot's owner was
	// migrating it: its copy of a key is then the newest (see
	// keepMovedCopy).
	OwnerMigrating bool `json:"-"`
}

// FixPlan is every repair, in order, and what cannot be repaired.
type FixPlan struct {
	Seed      string    `json:"seed"`
	Nodes     []string  `json:"-"` // every reachable node, to wait for agreement after the repairs
	Steps     []FixStep `json:"steps"`
	Unfixable []string  `json:"unfixable"`
}

// Empty reports a plan with nothing to do.
func (p *FixPlan) Empty() bool { return len(p.Steps) == 0 }
