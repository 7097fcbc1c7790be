package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/topology"
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
	// Saved are keys whose two different copies both stay, one renamed.
	Saved     []SavedConflict `json:"saved_conflicts"`
	Failures  []StepFailure   `json:"failures"`
	Converged string          `json:"not_converged,omitempty"` // why the nodes did not agree in time
	After     *CheckResult    `json:"-"`
}

// OK reports that every step completed with no key left behind.
func (r *FixResult) OK() bool { return len(r.Conflicts) == 0 && len(r.Failures) == 0 }

// WorthAnotherPass says whether a new survey and plan may repair what this
// pass left: repairs failed, as when a failover changes the cluster under
// fix (a node became a replica, a slot moved), and the cluster still has
// problems.
func (r *FixResult) WorthAnotherPass() bool {
	return len(r.Failures) > 0 && r.After != nil && !r.After.OK()
}

// ApplyFix runs the plan step by step, up to fixParallel open-slot repairs
// at once. A step whose action fails (or that leaves conflicting keys
// behind) stops there, and later steps touching its slots are skipped;
// other slots are still repaired. Afterwards it waits for the nodes to
// agree and checks the cluster again. When ctx is cancelled, the steps in
// flight are finished (a slot is never left half repaired by fix itself)
// and ApplyFix returns ctx.Err() with what was done.
func ApplyFix(ctx context.Context, pool *conn.Pool, plan *FixPlan, o FixOptions, rep Reporter) (*FixResult, error) {
	if o.Pipeline <= 0 {
		o.Pipeline = DefaultFixPipeline
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultFixTimeout
	}
	res := &FixResult{Conflicts: []KeyConflict{}, Saved: []SavedConflict{}, Failures: []StepFailure{}}
	r := &fixRun{pool: pool, o: o, rep: rep, res: res, failed: map[int]bool{}}
	for i := 0; i < len(plan.Steps); {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n := 1
		for n < fixParallel && i+n < len(plan.Steps) && parallelSafe(plan.Steps[i]) && parallelSafe(plan.Steps[i+n]) {
			n++
		}
		var wg sync.WaitGroup
		for _, step := range plan.Steps[i : i+n] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.step(ctx, step)
			}()
		}
		wg.Wait()
		i += n
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if len(plan.Steps) > 0 {
		rep.Report(Event{Kind: EventInfo, Message: "Waiting for the nodes to agree about the slots..."})
		wait := 30 * time.Second
		if len(res.Failures) > 0 {
			// What the failed repairs left may keep the views apart until a
			// new plan repairs it (a node importing a slot ignores the new
			// owner's claims): do not wait for an agreement that will not come.
			wait = 5 * time.Second
		}
		if err := WaitConverged(ctx, pool, plan.Nodes, ConvergeOptions{SameSlots: true, Timeout: wait}); err != nil {
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

// fixParallel is how many open-slot repairs run at once: each waits on
// round trips (Valkey 8 makes every SETSLOT wait for the replicas), and
// repairs of different open slots do not touch each other.
const fixParallel = 8

// parallelSafe says whether a step may run beside others: an open-slot
// repair that claims, releases or cancels nothing (claims bump epochs and
// must keep the plan's order).
func parallelSafe(step FixStep) bool {
	if step.Kind != topology.KindOpenSlot {
		return false
	}
	return !slices.ContainsFunc(step.Actions, func(a FixAction) bool {
		switch a.Op {
		case OpClaim, OpDelSlot, OpCancelAtomic, OpCancelAtomicImport:
			return true
		}
		return false
	})
}

// fixRun is ApplyFix's state, shared by the steps that run at once.
type fixRun struct {
	pool   *conn.Pool
	o      FixOptions
	rep    Reporter
	mu     sync.Mutex
	res    *FixResult
	failed map[int]bool // slots whose repair did not complete
}

// step runs one step unless an earlier repair of its slot failed, and
// records its outcome. Steps run to their end even when ctx is cancelled.
func (r *fixRun) step(ctx context.Context, step FixStep) {
	r.mu.Lock()
	skipped := slices.ContainsFunc(step.Slots, func(s int) bool { return r.failed[s] }) && len(step.Slots) == 1
	var failed map[int]bool // a copy: other steps add to r.failed meanwhile
	if len(r.failed) > 0 {
		failed = maps.Clone(r.failed)
	}
	r.mu.Unlock()
	if skipped {
		r.rep.Report(Event{Kind: EventWarning, Slot: step.Slots[0], Message: fmt.Sprintf("Skipping slot %d: an earlier repair of it did not complete", step.Slots[0])})
		return
	}
	r.rep.Report(Event{Kind: EventInfo, Message: step.Message})
	own := &FixResult{}
	err := runStep(context.WithoutCancel(ctx), r.pool, step, failed, r.o, r.rep, own)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.KeysMoved += own.KeysMoved
	r.res.Conflicts = append(r.res.Conflicts, own.Conflicts...)
	r.res.Saved = append(r.res.Saved, own.Saved...)
	if err == nil {
		r.res.StepsDone++
		return
	}
	for _, s := range step.Slots {
		r.failed[s] = true
	}
	if !errors.Is(err, errConflicts) {
		r.res.Failures = append(r.res.Failures, StepFailure{Slots: step.Slots, Error: err.Error()})
		r.rep.Report(Event{Kind: EventNodeFailed, Message: err.Error()})
	}
}

func runStep(ctx context.Context, pool *conn.Pool, step FixStep, failed map[int]bool, o FixOptions, rep Reporter, res *FixResult) error {
	for _, a := range step.Actions {
		if a.Op == OpClaim {
			a.Slots = slices.DeleteFunc(slices.Clone(a.Slots), func(s int) bool { return failed[s] })
			if len(a.Slots) == 0 {
				continue
			}
		}
		if a.Op == OpMoveKeys {
			moved, conflicts, err := moveKeys(ctx, pool, a, o, rep)
			res.KeysMoved += moved
			for round := 0; err == nil && len(conflicts) > 0 && !o.Replace && round < conflictRounds; round++ {
				var saved []SavedConflict
				saved, err = saveConflicts(ctx, pool, a, conflicts, keepMovedCopy(step))
				res.Saved = append(res.Saved, saved...)
				reportSaved(rep, saved)
				if err == nil {
					moved, conflicts, err = moveKeys(ctx, pool, a, o, rep)
					res.KeysMoved += moved
				}
			}
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
	if a.Op == OpCancelAtomic {
		err := conn.NodeError(a.Node, "CLUSTER CANCELSLOTMIGRATIONS", cl.Do(ctx, "CLUSTER", "CANCELSLOTMIGRATIONS").Err())
		if err != nil && strings.Contains(err.Error(), "No migrations ongoing") {
			return nil // it ended meanwhile
		}
		return err
	}
	if a.Op == OpCancelAtomicImport {
		// Answers how many tasks it cancelled: none when they ended meanwhile.
		if err := cl.Do(ctx, "CLUSTER", "MIGRATION", "CANCEL", "ALL").Err(); err != nil {
			return conn.NodeError(a.Node, "CLUSTER MIGRATION CANCEL ALL", err)
		}
		waitImportsEnded(ctx, cl)
		return nil
	}
	slot := a.Slots[0]
	do := func(cmd string, args ...any) error {
		err := cl.Do(ctx, args...).Err()
		return conn.NodeError(a.Node, cmd, err)
	}
	// Valkey 8+ takes SETSLOT's TIMEOUT and must not see it inside MULTI.
	srv, err := pool.Server(ctx, a.Node)
	if err != nil {
		return err
	}
	switch a.Op {
	case OpStable:
		return do(fmt.Sprintf("CLUSTER SETSLOT %d STABLE", slot), migrate.SetslotArgs(srv, slot, "STABLE", "")...)
	case OpMigrating, OpImporting:
		state := strings.ToUpper(a.Op)
		return do(fmt.Sprintf("CLUSTER SETSLOT %d %s %s", slot, state, a.PeerID), migrate.SetslotArgs(srv, slot, state, a.PeerID)...)
	case OpNode:
		return setSlotsNode(ctx, cl, srv, a)
	case OpDelSlot:
		err := do(fmt.Sprintf("CLUSTER DELSLOTS %d", slot), "CLUSTER", "DELSLOTS", slot)
		if err != nil && strings.Contains(err.Error(), "already unassigned") {
			return nil
		}
		return err
	case OpClaim:
		return claimSlots(ctx, cl, srv, a)
	}
	return fmt.Errorf("unknown fix action %q", a.Op)
}

// importsEndWait bounds how long fix waits for cancelled Redis 8.4 tasks
// to leave their in-progress states before it checks the cluster again.
const importsEndWait = 5 * time.Second

// waitImportsEnded returns once the node lists no Redis 8.4 task in
// progress, or after importsEndWait: a cancelled task that was stalled
// ends a moment after CANCEL answers, and the check after the repairs
// would report it still running.
func waitImportsEnded(ctx context.Context, cl *redis.Client) {
	deadline := time.Now().Add(importsEndWait)
	for time.Now().Before(deadline) {
		tasks, err := migrate.MigrationTasks(ctx, cl, "ALL")
		if err != nil || !slices.ContainsFunc(tasks, migrate.MigrationTask.Pending) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// setSlotsNode sends SETSLOT <slot> NODE <peer> for every slot of the
// action in one pipeline.
func setSlotsNode(ctx context.Context, cl *redis.Client, srv conn.Server, a FixAction) error {
	pipe := cl.Pipeline()
	cmds := make([]*redis.Cmd, len(a.Slots))
	for i, s := range a.Slots {
		cmds[i] = pipe.Do(ctx, migrate.SetslotArgs(srv, s, "NODE", a.PeerID)...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isReplyErr(err) {
		return conn.NodeError(a.Node, "CLUSTER SETSLOT NODE", err)
	}
	for i, c := range cmds {
		err := c.Err()
		// A source that just gave away its last slot may have become a
		// replica of the target: nothing left to tell it (redis-cli #9223).
		if err != nil && !migrate.SettledElsewhere(err) {
			return conn.NodeError(a.Node, fmt.Sprintf("CLUSTER SETSLOT %d NODE %s", a.Slots[i], a.PeerID), err)
		}
	}
	return nil
}

// claimSlots makes a.Node the owner of a.Slots in one transaction, like
// redis-cli's clusterManagerSetSlotOwner: DELSLOTS first (the node may
// believe an unreachable master owns them), ADDSLOTS, optionally STABLE,
// and BUMPEPOCH so the new claim wins over older configurations. On
// Valkey 8+ STABLE follows the transaction: there SETSLOT waits for the
// replicas, which MULTI/EXEC cannot do.
func claimSlots(ctx context.Context, cl *redis.Client, srv conn.Server, a FixAction) error {
	var add *redis.Cmd
	var stables []*redis.Cmd
	stable := func(p redis.Pipeliner) {
		if a.Clear {
			for _, s := range a.Slots {
				stables = append(stables, p.Do(ctx, migrate.SetslotArgs(srv, s, "STABLE", "")...))
			}
		}
	}
	_, err := cl.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range a.Slots {
			p.Do(ctx, "CLUSTER", "DELSLOTS", s) // "already unassigned" is fine
		}
		args := []any{"CLUSTER", "ADDSLOTS"}
		for _, s := range a.Slots {
			args = append(args, s)
		}
		add = p.Do(ctx, args...)
		if !srv.ReplicatesSetslot() {
			stable(p)
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
	if srv.ReplicatesSetslot() && a.Clear {
		if _, err := cl.Pipelined(ctx, func(p redis.Pipeliner) error { stable(p); return nil }); err != nil && !isReplyErr(err) {
			return conn.NodeError(a.Node, "CLUSTER SETSLOT STABLE", err)
		}
	}
	for _, st := range stables {
		if err := st.Err(); err != nil {
			return conn.NodeError(a.Node, "CLUSTER SETSLOT STABLE", err)
		}
	}
	return nil
}

// moveKeys empties a.Node's keys of the slot into a.Peer, never
// overwriting the peer's copy unless o.Replace: a key on both with the
// same value is moved with REPLACE (nothing is lost), one with different
// values stays on a.Node and is returned.
func moveKeys(ctx context.Context, pool *conn.Pool, a FixAction, o FixOptions, rep Reporter) (int64, []string, error) {
	slot := a.Slots[0]
	n, err := migrate.DrainSlot(ctx, pool, slot, a.Node, a.Peer, migrate.Options{
		Timeout: o.Timeout, Pipeline: o.Pipeline, Replace: o.Replace, KeepConflicts: true,
		Report: func(e migrate.Event) {
			if e.Kind == migrate.EventKeysMoved {
				rep.Report(Event{Kind: EventKeysMoved, Node: a.Node, Target: a.Peer, Slot: slot, Keys: e.Keys})
			} else {
				rep.Report(Event{Kind: EventWarning, Node: a.Node, Target: a.Peer, Slot: slot, Message: e.Message})
			}
		},
	})
	var busy *migrate.BusyKeyError
	if errors.As(err, &busy) {
		return int64(n), busy.Keys, nil
	}
	return int64(n), nil, err
}
