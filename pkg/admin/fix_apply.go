package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/redis/go-redis/v9"
)

// Defaults of FixOptions.
const (
	DefaultFixPipeline = 100
	DefaultFixTimeout  = 60 * time.Second
)

// KeyConflict lists keys that exist both on a node being emptied and on
// the slot's owner with different values: they were left on the node.
type KeyConflict struct {
	Slot  int      `json:"slot"`
	Node  string   `json:"node"`  // where the keys were left
	Owner string   `json:"owner"` // whose copy was kept
	Keys  []string `json:"keys"`
}

// StepFailure is a step that stopped before its end.
type StepFailure struct {
	Slots []int  `json:"slots"`
	Error string `json:"error"`
}

// FixResult is what ApplyFix did and the cluster's state afterwards.
type FixResult struct {
	StepsDone int           `json:"steps_done"`
	KeysMoved int64         `json:"keys_moved"`
	Conflicts []KeyConflict `json:"conflicts"`
	Failures  []StepFailure `json:"failures"`
	Converged string        `json:"not_converged,omitempty"` // why the nodes did not agree in time
	After     *CheckResult  `json:"-"`
}

// OK reports that every step completed with no key left behind.
func (r *FixResult) OK() bool { return len(r.Conflicts) == 0 && len(r.Failures) == 0 }

// ApplyFix runs the plan step by step. A step whose action fails (or that
// leaves conflicting keys behind) stops there, and later steps touching
// its slots are skipped; other slots are still repaired. Afterwards it
// waits for the nodes to agree and checks the cluster again.
func ApplyFix(ctx context.Context, pool *conn.Pool, plan *FixPlan, o FixOptions, rep Reporter) (*FixResult, error) {
	if o.Pipeline <= 0 {
		o.Pipeline = DefaultFixPipeline
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultFixTimeout
	}
	res := &FixResult{Conflicts: []KeyConflict{}, Failures: []StepFailure{}}
	failed := map[int]bool{}
	for _, step := range plan.Steps {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if skipped := slices.ContainsFunc(step.Slots, func(s int) bool { return failed[s] }); skipped && len(step.Slots) == 1 {
			rep.Report(Event{Kind: EventWarning, Slot: step.Slots[0], Message: fmt.Sprintf("Skipping slot %d: an earlier repair of it did not complete", step.Slots[0])})
			continue
		}
		rep.Report(Event{Kind: EventInfo, Message: step.Message})
		if err := runStep(ctx, pool, step, failed, o, rep, res); err != nil {
			for _, s := range step.Slots {
				failed[s] = true
			}
			if !errors.Is(err, errConflicts) {
				res.Failures = append(res.Failures, StepFailure{Slots: step.Slots, Error: err.Error()})
				rep.Report(Event{Kind: EventNodeFailed, Message: err.Error()})
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			continue
		}
		res.StepsDone++
	}
	if len(plan.Steps) > 0 {
		rep.Report(Event{Kind: EventInfo, Message: "Waiting for the nodes to agree about the slots..."})
		if err := WaitConverged(ctx, pool, plan.Nodes, ConvergeOptions{SameSlots: true, Timeout: 30 * time.Second}); err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Converged = err.Error()
		}
	}
	after, err := Check(ctx, pool, plan.Seed, CheckOptions{SearchMultipleOwners: o.SearchMultipleOwners})
	if err != nil {
		return res, err
	}
	res.After = after
	return res, nil
}

var errConflicts = errors.New("keys left behind")

func runStep(ctx context.Context, pool *conn.Pool, step FixStep, failed map[int]bool, o FixOptions, rep Reporter, res *FixResult) error {
	for _, a := range step.Actions {
		if a.Op == OpClaim {
			a.Slots = slices.DeleteFunc(slices.Clone(a.Slots), func(s int) bool { return failed[s] })
			if len(a.Slots) == 0 {
				continue
			}
		}
		if a.Op == OpMoveKeys {
			moved, conflicts, err := drainSlot(ctx, pool, a, o, rep)
			res.KeysMoved += moved
			if err != nil {
				return err
			}
			if len(conflicts) > 0 {
				c := KeyConflict{Slot: a.Slots[0], Node: a.Node, Owner: a.Peer, Keys: conflicts}
				res.Conflicts = append(res.Conflicts, c)
				rep.Report(Event{Kind: EventWarning, Slot: c.Slot, Node: c.Node, Target: c.Owner, Keys: len(conflicts),
					Message: fmt.Sprintf("Slot %d: %d key(s) exist on both %s and the owner %s with different values; left on %s, slot not closed",
						c.Slot, len(conflicts), c.Node, c.Owner, c.Node)})
				return errConflicts
			}
			continue
		}
		if err := runAction(ctx, pool, a); err != nil {
			return err
		}
	}
	return nil
}

func runAction(ctx context.Context, pool *conn.Pool, a FixAction) error {
	cl := pool.Get(a.Node)
	slot := a.Slots[0]
	do := func(cmd string, args ...any) error {
		err := cl.Do(ctx, args...).Err()
		return conn.NodeError(a.Node, cmd, err)
	}
	switch a.Op {
	case OpStable:
		return do(fmt.Sprintf("CLUSTER SETSLOT %d STABLE", slot), "CLUSTER", "SETSLOT", slot, "STABLE")
	case OpMigrating, OpImporting:
		state := strings.ToUpper(a.Op)
		return do(fmt.Sprintf("CLUSTER SETSLOT %d %s %s", slot, state, a.PeerID), "CLUSTER", "SETSLOT", slot, state, a.PeerID)
	case OpNode:
		return setSlotsNode(ctx, cl, a)
	case OpDelSlot:
		err := do(fmt.Sprintf("CLUSTER DELSLOTS %d", slot), "CLUSTER", "DELSLOTS", slot)
		if err != nil && strings.Contains(err.Error(), "already unassigned") {
			return nil
		}
		return err
	case OpClaim:
		return claimSlots(ctx, cl, a)
	}
	return fmt.Errorf("unknown fix action %q", a.Op)
}

// setSlotsNode sends SETSLOT <slot> NODE <peer> for every slot of the
// action in one pipeline.
func setSlotsNode(ctx context.Context, cl *redis.Client, a FixAction) error {
	pipe := cl.Pipeline()
	cmds := make([]*redis.Cmd, len(a.Slots))
	for i, s := range a.Slots {
		cmds[i] = pipe.Do(ctx, "CLUSTER", "SETSLOT", s, "NODE", a.PeerID)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isReplyErr(err) {
		return conn.NodeError(a.Node, "CLUSTER SETSLOT NODE", err)
	}
	for i, c := range cmds {
		err := c.Err()
		// A source that just gave away its last slot may have become a
		// replica of the target: nothing left to tell it (redis-cli #9223).
		if err != nil && !strings.Contains(err.Error(), "only with masters") {
			return conn.NodeError(a.Node, fmt.Sprintf("CLUSTER SETSLOT %d NODE %s", a.Slots[i], a.PeerID), err)
		}
	}
	return nil
}

// claimSlots makes a.Node the owner of a.Slots in one transaction, like
// redis-cli's clusterManagerSetSlotOwner: DELSLOTS first (the node may
// believe an unreachable master owns them), ADDSLOTS, optionally STABLE,
// and BUMPEPOCH so the new claim wins over older configurations.
func claimSlots(ctx context.Context, cl *redis.Client, a FixAction) error {
	var add *redis.Cmd
	var stables []*redis.Cmd
	_, err := cl.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range a.Slots {
			p.Do(ctx, "CLUSTER", "DELSLOTS", s) // "already unassigned" is fine
		}
		args := []any{"CLUSTER", "ADDSLOTS"}
		for _, s := range a.Slots {
			args = append(args, s)
		}
		add = p.Do(ctx, args...)
		if a.Clear {
			for _, s := range a.Slots {
				stables = append(stables, p.Do(ctx, "CLUSTER", "SETSLOT", s, "STABLE"))
			}
		}
		p.Do(ctx, "CLUSTER", "BUMPEPOCH")
		return nil
	})
	if err != nil && !isReplyErr(err) {
		return conn.NodeError(a.Node, "MULTI/CLUSTER ADDSLOTS", err)
	}
	if err := add.Err(); err != nil {
		return conn.NodeError(a.Node, "CLUSTER ADDSLOTS "+slotList(a.Slots), err)
	}
	for _, st := range stables {
		if err := st.Err(); err != nil {
			return conn.NodeError(a.Node, "CLUSTER SETSLOT STABLE", err)
		}
	}
	return nil
}

// drainSlot moves every key of the slot from a.Node to a.Peer with
// MIGRATE, never overwriting the peer's copy unless o.Replace: a key that
// exists on both with the same value is moved with REPLACE (nothing is
// lost), one with different values is left on a.Node and returned.
func drainSlot(ctx context.Context, pool *conn.Pool, a FixAction, o FixOptions, rep Reporter) (moved int64, conflicts []string, err error) {
	src, dst := pool.Get(a.Node), pool.Get(a.Peer)
	slot := a.Slots[0]
	host, port, err := splitHostPort(a.Peer)
	if err != nil {
		return 0, nil, err
	}
	mig := migrator{src: src, addr: a.Node, host: host, port: port, timeout: o.Timeout, opts: pool.Options()}
	skip := map[string]bool{}
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, slot, o.Pipeline+len(skip)).Result()
		if err != nil {
			return moved, conflicts, conn.NodeError(a.Node, fmt.Sprintf("CLUSTER GETKEYSINSLOT %d", slot), err)
		}
		keys = slices.DeleteFunc(keys, func(k string) bool { return skip[k] })
		if len(keys) == 0 {
			return moved, conflicts, nil
		}
		err = mig.migrate(ctx, keys, o.Replace)
		switch {
		case err == nil:
			moved += int64(len(keys))
		case strings.Contains(err.Error(), "BUSYKEY") && !o.Replace:
			left, err := stillThere(ctx, src, keys)
			if err != nil {
				return moved, conflicts, conn.NodeError(a.Node, "EXISTS", err)
			}
			moved += int64(len(keys) - len(left))
			same, differ, err := compareValues(ctx, src, dst, left)
			if err != nil {
				return moved, conflicts, fmt.Errorf("comparing keys of slot %d on %s and %s: %w", slot, a.Node, a.Peer, err)
			}
			if len(same) > 0 {
				if err := mig.migrate(ctx, same, true); err != nil {
					return moved, conflicts, conn.NodeError(a.Node, "MIGRATE REPLACE (identical keys)", err)
				}
				moved += int64(len(same))
			}
			for _, k := range differ {
				skip[k] = true
			}
			conflicts = append(conflicts, differ...)
		default:
			return moved, conflicts, conn.NodeError(a.Node, fmt.Sprintf("MIGRATE to %s (slot %d)", a.Peer, slot), err)
		}
		rep.Report(Event{Kind: EventKeysMoved, Node: a.Node, Target: a.Peer, Slot: slot, Keys: len(keys)})
	}
}

func splitHostPort(addr string) (string, int, error) {
	ad, err := conn.ParseAddr(addr)
	if err != nil {
		return "", 0, err
	}
	return ad.Host, ad.Port, nil
}

// migrator sends MIGRATE from one node, with the cluster's credentials for
// the target and ASKING first, so a node that does not own the slot (set
// importing) serves it.
type migrator struct {
	src     *redis.Client
	addr    string
	host    string
	port    int
	timeout time.Duration
	opts    conn.Options
}

// settleWait bounds how long a MIGRATE waits for the cluster to come back
// up (CLUSTERDOWN, TRYAGAIN) right after slots were reassigned.
const settleWait = 15 * time.Second

func (m migrator) migrate(ctx context.Context, keys []string, replace bool) error {
	deadline := time.Now().Add(settleWait)
	for {
		err := m.migrateOnce(ctx, keys, replace)
		if err == nil || time.Now().After(deadline) ||
			!(strings.HasPrefix(err.Error(), "CLUSTERDOWN") || strings.HasPrefix(err.Error(), "TRYAGAIN")) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (m migrator) migrateOnce(ctx context.Context, keys []string, replace bool) error {
	timeout := m.timeout
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		args := []any{"MIGRATE", m.host, m.port, "", 0, timeout.Milliseconds()}
		if replace {
			args = append(args, "REPLACE")
		}
		switch {
		case m.opts.Password != "" && m.opts.Username != "":
			args = append(args, "AUTH2", m.opts.Username, m.opts.Password)
		case m.opts.Password != "":
			args = append(args, "AUTH", m.opts.Password)
		}
		args = append(args, "KEYS")
		for _, k := range keys {
			args = append(args, k)
		}
		pipe := m.src.Pipeline()
		pipe.Do(ctx, "ASKING")
		cmd := pipe.Do(ctx, args...)
		pipe.Exec(ctx)
		err = cmd.Err()
		if err == nil || !strings.Contains(err.Error(), "IOERR") {
			return err
		}
		timeout *= 4 // a big key needs more time: retry once with a longer timeout
	}
	return err
}

// stillThere returns the keys that exist on c (one EXISTS per key, after
// ASKING, since the slot may be importing there).
func stillThere(ctx context.Context, c *redis.Client, keys []string) ([]string, error) {
	pipe := c.Pipeline()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		pipe.Do(ctx, "ASKING")
		cmds[i] = pipe.Exists(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	var out []string
	for i, k := range keys {
		if cmds[i].Val() > 0 {
			out = append(out, k)
		}
	}
	return out, nil
}

// compareValues splits keys into those with the same value on both nodes
// (DUMP payloads compared as values) and those that differ.
func compareValues(ctx context.Context, src, dst *redis.Client, keys []string) (same, differ []string, err error) {
	dump := func(c *redis.Client) ([]*redis.Cmd, error) {
		pipe := c.Pipeline()
		cmds := make([]*redis.Cmd, len(keys))
		for i, k := range keys {
			pipe.Do(ctx, "ASKING")
			cmds[i] = pipe.Do(ctx, "DUMP", k)
		}
		_, err := pipe.Exec(ctx)
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		return cmds, nil
	}
	a, err := dump(src)
	if err != nil {
		return nil, nil, err
	}
	b, err := dump(dst)
	if err != nil {
		return nil, nil, err
	}
	for i, k := range keys {
		va, ea := a[i].Text()
		vb, eb := b[i].Text()
		switch {
		case errors.Is(ea, redis.Nil):
			// gone from the source meanwhile: nothing to move
		case ea != nil:
			return nil, nil, ea
		case errors.Is(eb, redis.Nil), eb == nil && rdb.SameDumps([]byte(va), []byte(vb)):
			same = append(same, k) // REPLACE cannot lose anything here
		case eb != nil:
			return nil, nil, eb
		default:
			differ = append(differ, k)
		}
	}
	return same, differ, nil
}
