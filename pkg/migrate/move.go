package migrate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/redis/go-redis/v9"
)

// Node is a master taking part in a migration.
type Node struct {
	ID   string
	Addr string // host:port
}

// Move is one slot to move from Source to Target.
type Move struct {
	Slot   int
	Source Node
	Target Node
}

// Job is a set of moves and the masters to tell about the new owners.
type Job struct {
	Moves []Move
	// Masters lists every master of the cluster: after a batch is moved,
	// the masters other than its source and target are told the new owner.
	Masters []Node
}

// Result says what a Run did.
type Result struct {
	Mover string // MoverMigrate, MoverAtomic or MoverAtomic84
	Moved []Move // moves completed: drained and assigned to their target
	Keys  int    // keys moved
	// Failed lists the slots that could not be moved. Such a slot may be
	// left open (see Open): `gocluster fix` closes it.
	Failed []*SlotError
	// Open lists slots that may still be MIGRATING or IMPORTING.
	Open []int
	// Remaining lists moves never started, because the context was
	// cancelled or another slot failed.
	Remaining []Move
	// Interrupted is true when the context was cancelled.
	Interrupted bool
}

// Err summarises the failures, or returns nil when every move was done
// or only the cancellation stopped the run.
func (r *Result) Err() error {
	if len(r.Failed) == 0 {
		return nil
	}
	first := r.Failed[0]
	if len(r.Failed) == 1 {
		return first
	}
	return fmt.Errorf("%d slots could not be moved; first: %w", len(r.Failed), first)
}

// pairKey identifies a source->target pair.
type pairKey struct{ source, target string }

type pair struct {
	source, target Node
	slots          []int
}

// runner holds the state shared by the pair workers.
type runner struct {
	pool    *conn.Pool
	opts    Options
	masters []Node

	// servers says what each node runs: Valkey 8+ replicates SETSLOT to
	// its replicas before answering, which changes how slots are set.
	servers map[string]conn.Server
	// wide holds, per node that replicates SETSLOT, a client with room
	// for replicatedSetslotLanes connections (closed when Run ends).
	wideMu sync.Mutex
	wide   map[string]*redis.Client

	mu     sync.Mutex
	res    Result
	failed bool // a slot failed: pairs start no new batch
}

// Run performs the job: pairs run in parallel, each opening BatchSlots
// slots at a time, draining them and assigning them. When ctx is
// cancelled, the batches already opened are finished, no new batch is
// started, and Result.Remaining lists what is left; Run then returns
// ctx.Err(). Slot failures are in Result.Failed (and Result.Err()).
func Run(ctx context.Context, pool *conn.Pool, job Job, opts Options) (*Result, error) {
	if err := validate(job); err != nil {
		return nil, err
	}
	pairs := groupPairs(job.Moves)
	servers, err := probeServers(ctx, pool, pairs, job.Masters)
	if err != nil {
		return nil, err
	}
	r := &runner{pool: pool, opts: opts.withDefaults(), masters: job.Masters, servers: servers, wide: map[string]*redis.Client{}}
	defer r.closeWide()
	r.res.Mover, err = ChooseMover(ctx, pool, job, r.opts.Atomic)
	if err != nil {
		return nil, err
	}
	m := r.newMover(r.res.Mover)
	var wg sync.WaitGroup
	for _, p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.movePair(ctx, p)
		}()
	}
	wg.Wait()
	slices.SortFunc(r.res.Moved, func(a, b Move) int { return a.Slot - b.Slot })
	slices.SortFunc(r.res.Remaining, func(a, b Move) int { return a.Slot - b.Slot })
	slices.SortFunc(r.res.Failed, func(a, b *SlotError) int { return a.Slot - b.Slot })
	slices.Sort(r.res.Open)
	r.res.Interrupted = ctx.Err() != nil && len(r.res.Remaining) > 0
	if r.res.Interrupted {
		return &r.res, ctx.Err()
	}
	return &r.res, nil
}

func validate(job Job) error {
	seen := map[int]bool{}
	for _, m := range job.Moves {
		switch {
		case m.Slot < 0 || m.Slot >= 16384:
			return fmt.Errorf("invalid slot %d in migration plan", m.Slot)
		case seen[m.Slot]:
			return fmt.Errorf("slot %d appears twice in migration plan", m.Slot)
		case m.Source.ID == "" || m.Target.ID == "" || m.Source.Addr == "" || m.Target.Addr == "":
			return fmt.Errorf("slot %d: migration plan lacks a node ID or address", m.Slot)
		case m.Source.ID == m.Target.ID:
			return fmt.Errorf("slot %d: source and target are the same node %s", m.Slot, m.Source.Addr)
		}
		seen[m.Slot] = true
	}
	return nil
}

// probeServers learns what every node of the job runs before any slot is
// touched. A source or target that does not answer stops the job here; a
// master only told about new owners may be down (gossip tells it later).
func probeServers(ctx context.Context, pool *conn.Pool, pairs []*pair, masters []Node) (map[string]conn.Server, error) {
	var ends, others []string
	for _, p := range pairs {
		ends = append(ends, p.source.Addr, p.target.Addr)
	}
	for _, m := range masters {
		others = append(others, m.Addr)
	}
	servers, err := pool.Servers(ctx, ends)
	if err != nil {
		return nil, err
	}
	for _, p := range pairs {
		if err := dumpCompatible(p, servers[p.source.Addr], servers[p.target.Addr]); err != nil {
			return nil, err
		}
	}
	rest, _ := pool.Servers(ctx, others)
	maps.Copy(servers, rest)
	return servers, nil
}

// dumpCompatible refuses a pair whose target cannot read the source's
// MIGRATE payloads (a newer RDB version, e.g. Valkey 8 to Redis 7.0),
// before any slot is opened: every key MIGRATE tried would be refused
// and its slot left open.
func dumpCompatible(p *pair, src, dst conn.Server) error {
	sv, dv := src.RDBVersion(), dst.RDBVersion()
	if sv == 0 || dv == 0 || sv <= dv {
		return nil
	}
	return fmt.Errorf("cannot move slots from %s (%s) to %s (%s): the target refuses the source's DUMP payloads (RDB version %d > %d); move slots towards the newer server, or upgrade %s first",
		p.source.Addr, src, p.target.Addr, dst, sv, dv, p.target.Addr)
}

// Resumable lists what a later run can still move: the moves never
// started, and the failed ones whose slot stayed stable on its source (a
// failed atomic migration leaves its whole batch there), each slot once.
func (r *Result) Resumable(job Job) []Move {
	rest := slices.Clone(r.Remaining)
	skip := make(map[int]bool, len(rest)+len(r.Open)) // a whole reshard can fail: no scans per slot
	for _, m := range rest {
		skip[m.Slot] = true
	}
	for _, slot := range r.Open {
		skip[slot] = true
	}
	moveOf := make(map[int]Move, len(job.Moves))
	for _, m := range slices.Backward(job.Moves) { // the first move of a slot wins
		moveOf[m.Slot] = m
	}
	for _, f := range r.Failed {
		if m, ok := moveOf[f.Slot]; ok && !skip[f.Slot] {
			skip[f.Slot] = true
			rest = append(rest, m)
		}
	}
	return rest
}

// groupPairs groups moves by source->target, in order of first appearance.
func groupPairs(moves []Move) []*pair {
	var out []*pair
	index := map[pairKey]*pair{}
	for _, m := range moves {
		k := pairKey{m.Source.ID, m.Target.ID}
		p := index[k]
		if p == nil {
			p = &pair{source: m.Source, target: m.Target}
			index[k] = p
			out = append(out, p)
		}
		p.slots = append(p.slots, m.Slot)
	}
	return out
}

func (r *runner) stopping(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed || ctx.Err() != nil
}

func (r *runner) fail(p *pair, slot int, err error, open bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.res.Failed = append(r.res.Failed, &SlotError{Slot: slot, Source: p.source.Addr, Target: p.target.Addr, Err: err})
	if open {
		r.res.Open = append(r.res.Open, slot)
	}
}

func (r *runner) moveOf(p *pair, slot int) Move {
	return Move{Slot: slot, Source: p.source, Target: p.target}
}

// runPair moves a pair's slots batch by batch. A batch's assignment runs
// while the next batch is opened and drained (they touch different slots),
// one assignment at a time so the nodes' configuration saves stay batched.
func (r *runner) runPair(ctx context.Context, p *pair) {
	d, err := newDrainer(r.pool, p.source.Addr, p.target.Addr, r.opts)
	assigned := make(chan struct{})
	close(assigned)
	for start := 0; start < len(p.slots); start += r.opts.BatchSlots {
		batch := p.slots[start:min(start+r.opts.BatchSlots, len(p.slots))]
		if err != nil || r.stopping(ctx) {
			r.mu.Lock()
			for _, s := range p.slots[start:] {
				r.res.Remaining = append(r.res.Remaining, r.moveOf(p, s))
			}
			r.mu.Unlock()
			if err != nil {
				r.fail(p, batch[0], err, false)
			}
			break
		}
		// Once a batch is open it is finished even if ctx is cancelled:
		// an open slot may already hold new keys on the target.
		work := context.WithoutCancel(ctx)
		drained, moved := r.openAndDrain(work, p, d, batch)
		previous, done := assigned, make(chan struct{})
		go func() {
			defer close(done)
			<-previous
			r.finishBatch(work, p, drained, moved)
		}()
		assigned = done
	}
	<-assigned
}

// openAndDrain opens one batch of a pair's slots and drains it; it returns
// the slots fully drained and the keys moved per slot.
func (r *runner) openAndDrain(ctx context.Context, p *pair, d *drainer, batch []int) ([]int, map[int]int) {
	opened := r.open(ctx, p, batch)
	if len(opened) == 0 {
		return nil, nil
	}
	moved, failed := d.drainMany(ctx, opened)
	drained := make([]int, 0, len(opened))
	for _, s := range opened {
		if err, bad := failed[s]; bad {
			r.fail(p, s, err, true)
		} else {
			drained = append(drained, s)
		}
	}
	return drained, moved
}

// finishBatch assigns the drained slots and reports them.
func (r *runner) finishBatch(ctx context.Context, p *pair, drained []int, moved map[int]int) {
	r.recordMoved(p, r.assign(ctx, p, drained), moved)
}

// recordMoved adds slots moved with their keys to the result and reports them.
func (r *runner) recordMoved(p *pair, slots []int, keys map[int]int) {
	r.mu.Lock()
	for _, s := range slots {
		r.res.Moved = append(r.res.Moved, r.moveOf(p, s))
		r.res.Keys += keys[s]
	}
	r.mu.Unlock()
	for _, s := range slots {
		r.opts.Report(Event{Kind: EventSlotMoved, Source: p.source.Addr, Target: p.target.Addr, Slot: s, Keys: keys[s]})
	}
}

// open marks the batch IMPORTING on the target, then MIGRATING on the
// source, and returns the slots open on both. A slot that could not be
// marked MIGRATING is returned to stable on the target: the source never
// redirected a client for it, so the target holds no key of it.
func (r *runner) open(ctx context.Context, p *pair, batch []int) []int {
	errs := r.setSlots(ctx, p.target.Addr, batch, "IMPORTING", p.source.ID)
	importing := make([]int, 0, len(batch))
	for _, s := range batch {
		if err := errs[s]; err != nil {
			r.fail(p, s, err, false)
		} else {
			importing = append(importing, s)
		}
	}
	if len(importing) == 0 {
		return nil
	}
	errs = r.setSlots(ctx, p.source.Addr, importing, "MIGRATING", p.target.ID)
	opened := make([]int, 0, len(importing))
	var undo []int
	for _, s := range importing {
		if err := errs[s]; err != nil {
			r.fail(p, s, err, false)
			undo = append(undo, s)
		} else {
			opened = append(opened, s)
		}
	}
	if len(undo) > 0 {
		for s, err := range r.setSlots(ctx, p.target.Addr, undo, "STABLE", "") {
			r.warn(p, s, fmt.Sprintf("could not close slot %d on %s: %v", s, p.target.Addr, err))
			r.mu.Lock()
			r.res.Open = append(r.res.Open, s)
			r.mu.Unlock()
		}
	}
	return opened
}

func (r *runner) warn(p *pair, slot int, msg string) {
	r.opts.Report(Event{Kind: EventWarning, Source: p.source.Addr, Target: p.target.Addr, Slot: slot, Message: msg})
}

// takeSlots makes the target own the drained slots in one MULTI/EXEC, so
// no client sees a slot between two states. SETSLOT NODE on a slot the
// target is importing makes it bump its config epoch and broadcast a pong
// to every node, which for a whole batch would be hundreds of broadcasts
// for the cluster to process. So every slot but the last is taken with one
// DELSLOTS and one ADDSLOTS (which also ends the importing state, and
// keeps the transaction short: it blocks the target's MIGRATE traffic
// while it runs), and only the last one goes through the importing path:
// one broadcast carrying the whole batch. BUMPEPOCH comes first: the
// target owns the slots only with an epoch newer than the source's, so a
// stale claim from the source can never win (a node that loses a slot to a
// newer claim deletes its keys), even on a server whose MULTI lets cluster
// messages in between the commands.
//
// A Valkey 8+ target blocks SETSLOT until its replicas acknowledge it,
// which inside MULTI/EXEC aborts the server (multi.c 'c->flag.blocked ==
// 0'). There the last slot's SETSLOT NODE follows the transaction, and
// every other slot of the batch gets one too: replicated, it clears the
// importing state the replicas were given, so a replica never lags its
// primary's slot table (they would otherwise wait for gossip, or keep it
// if a SETSLOT timed out half way).
func (r *runner) takeSlots(ctx context.Context, p *pair, drained []int) map[int]error {
	replicated := r.servers[p.target.Addr].ReplicatesSetslot()
	tx := r.pool.Get(p.target.Addr).TxPipeline()
	bump := tx.Do(ctx, "CLUSTER", "BUMPEPOCH")
	rest, last := drained[:len(drained)-1], drained[len(drained)-1]
	var del, add, node *redis.Cmd
	if len(rest) > 0 {
		del = tx.Do(ctx, slotsCommand("DELSLOTS", rest)...)
		add = tx.Do(ctx, slotsCommand("ADDSLOTS", rest)...)
	}
	if !replicated {
		node = tx.Do(ctx, "CLUSTER", "SETSLOT", last, "NODE", p.target.ID)
	}
	_, _ = tx.Exec(ctx) // read per command
	errs := map[int]error{}
	if err := bump.Err(); err != nil {
		r.warn(p, drained[0], conn.NodeError(p.target.Addr, "CLUSTER BUMPEPOCH", err).Error())
	}
	if len(rest) > 0 {
		// ADDSLOTS right after a successful DELSLOTS of the same slots
		// cannot fail inside the transaction; a failed DELSLOTS leaves
		// both undone, so the slots stay the source's, still open.
		what, err := "CLUSTER DELSLOTS", del.Err()
		if err == nil {
			what, err = "CLUSTER ADDSLOTS", add.Err()
		}
		if err != nil {
			for _, s := range rest {
				errs[s] = conn.NodeError(p.target.Addr, what, fmt.Errorf("slot %d: %w", s, err))
			}
		}
	}
	if !replicated {
		if err := node.Err(); err != nil {
			errs[last] = conn.NodeError(p.target.Addr, fmt.Sprintf("CLUSTER SETSLOT %d NODE %s", last, p.target.ID), err)
		}
		return errs
	}
	// The last slot first: its importing state makes the target announce
	// the whole batch at once.
	tell := []int{last}
	for _, s := range rest {
		if errs[s] == nil {
			tell = append(tell, s)
		}
	}
	for s, err := range r.setSlots(ctx, p.target.Addr, tell, "NODE", p.target.ID) {
		if s == last {
			errs[last] = err
		} else {
			// The primary owns the slot already; only a replica may keep
			// a stale importing flag, which `gocluster fix` clears.
			r.warn(p, s, err.Error())
		}
	}
	return errs
}

// slotsCommand builds CLUSTER <sub> slot... .
func slotsCommand(sub string, slotList []int) []any {
	args := make([]any, 0, len(slotList)+2)
	args = append(args, "CLUSTER", sub)
	for _, s := range slotList {
		args = append(args, s)
	}
	return args
}

// SettledElsewhere reports SETSLOT NODE errors that mean the new owner is
// already known or will be by gossip, so the slot counts as assigned: a
// source that lost its last slot turned itself into a replica of the
// target ("Please use SETSLOT only with masters." / "... primaries." on
// Valkey), possibly while a Valkey 8 primary waited for its replicas
// (UNBLOCKED), or its replicas migrated away meanwhile (NOREPLICAS).
func SettledElsewhere(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Please use SETSLOT only with") || strings.Contains(msg, "UNBLOCKED") || strings.Contains(msg, "NOREPLICAS")
}

// assign gives the drained slots to the target: SETSLOT NODE on the target
// first (so the slot never lacks an owner), then the source and every
// other master in parallel. It returns the slots the target accepted.
func (r *runner) assign(ctx context.Context, p *pair, drained []int) []int {
	if len(drained) == 0 {
		return nil
	}
	errs := r.takeSlots(ctx, p, drained)
	assigned := make([]int, 0, len(drained))
	for _, s := range drained {
		if err := errs[s]; err != nil {
			r.fail(p, s, err, true)
		} else {
			assigned = append(assigned, s)
		}
	}
	if len(assigned) == 0 {
		return nil
	}
	// The target owns the batch now: the source and the other masters can
	// learn it in any order.
	var wg sync.WaitGroup
	wg.Go(func() {
		for s, err := range r.setSlots(ctx, p.source.Addr, assigned, "NODE", p.target.ID) {
			if !SettledElsewhere(err) {
				// The target owns the slot with a newer epoch, so gossip will
				// fix the source's view, but its MIGRATING flag may stay.
				r.warn(p, s, err.Error())
				r.mu.Lock()
				r.res.Open = append(r.res.Open, s)
				r.mu.Unlock()
			}
		}
	})
	for _, m := range r.masters {
		if m.ID == p.source.ID || m.ID == p.target.ID {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s, err := range r.setSlots(ctx, m.Addr, assigned, "NODE", p.target.ID) {
				if !SettledElsewhere(err) {
					r.warn(p, s, err.Error()+" (gossip will propagate the new owner)")
				}
			}
		}()
	}
	wg.Wait()
	return assigned
}
