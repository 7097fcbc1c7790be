package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// AtomicMode says when Run uses atomic slot migration.
type AtomicMode string

// Atomic modes (--atomic).
const (
	AtomicAuto   AtomicMode = "auto"   // when every source and target supports it
	AtomicAlways AtomicMode = "always" // refuse the job when a node lacks it
	AtomicNever  AtomicMode = "never"  // always the MIGRATE pipeline
)

// ParseAtomicMode reads an --atomic value.
func ParseAtomicMode(s string) (AtomicMode, error) {
	switch m := AtomicMode(strings.ToLower(s)); m {
	case AtomicAuto, AtomicAlways, AtomicNever:
		return m, nil
	case "":
		return AtomicAuto, nil
	}
	return "", fmt.Errorf("invalid --atomic %q: use auto, always or never", s)
}

// Mover names how slots are moved.
const (
	MoverMigrate  = "migrate"        // SETSLOT, GETKEYSINSLOT, MIGRATE
	MoverAtomic   = "atomic"         // CLUSTER MIGRATESLOTS (Valkey 9.0)
	MoverAtomic84 = "atomic-redis84" // CLUSTER MIGRATION IMPORT (Redis 8.4)
)

// mover moves the slots of one source->target pair, recording the outcome
// in the runner's result. The MIGRATE pipeline (runner.runPair) and
// atomic slot migration (atomicMover, over either server family's
// commands) are the two.
type mover interface {
	movePair(ctx context.Context, p *pair)
}

func (r *runner) movePair(ctx context.Context, p *pair) { r.runPair(ctx, p) }

// newMover returns the mover ChooseMover named.
func (r *runner) newMover(name string) mover {
	switch name {
	case MoverAtomic:
		return &atomicMover{runner: r, surface: valkeySurface{r.pool}}
	case MoverAtomic84:
		return &atomicMover{runner: r, surface: redis84Surface{r.pool}, locks: map[string]*sync.Mutex{}}
	}
	return r
}

// atomicSurface starts migration tasks with one server family's commands.
type atomicSurface interface {
	// start begins moving p's slots in ranges, and returns the task.
	start(ctx context.Context, p *pair, ranges []slots.Range) (atomicTask, error)
}

// atomicTask is one migration task in progress on the nodes.
type atomicTask interface {
	// poll reads the task's state; message explains a failure.
	poll(ctx context.Context) (state taskState, message string, err error)
	// cancel asks the nodes to stop the task; one past its point of no
	// return completes anyway.
	cancel(ctx context.Context) error
}

type taskState int

const (
	taskRunning taskState = iota
	taskDone
	taskCancelled
	taskFailed
	// taskRetrying: an attempt failed and the nodes start the task again
	// themselves (Redis 8.4); the message says why, and which retry.
	taskRetrying
	// taskGaveUp: gocluster stopped the task (its nodes' own retries are
	// spent, or its destination stopped answering) and starts no other;
	// the message says why, after "<what> ".
	taskGaveUp
)

// atomicPoll is how often a running migration's state is read.
const atomicPoll = 5 * time.Millisecond

// atomicBatchSlots is how many slots one migration task moves: each task
// costs a pause, an epoch bump and two nodes.conf fsyncs, so tasks are
// large; progress is reported per task.
const atomicBatchSlots = 2048

// atomicRetries is how many times a task that failed (the target
// restarted, a link broke) is started again; a failed task leaves every
// key and slot on the source, so starting over is safe.
const atomicRetries = 2

// atomicRetryPause is the wait before the first retry (then doubled).
const atomicRetryPause = 500 * time.Millisecond

// atomicMover moves a pair one batch of slots per migration task, and
// follows the task until it ends. The nodes do the work: gocluster dying
// mid-task changes nothing, and a failed or cancelled task leaves every
// key and slot on the source.
type atomicMover struct {
	*runner
	surface atomicSurface
	// locks, when set, runs one task at a time per node (Redis 8.4 runs
	// one migration per node): a task holds its source's and target's.
	locksMu sync.Mutex
	locks   map[string]*sync.Mutex
}

func (a *atomicMover) movePair(ctx context.Context, p *pair) {
	p = a.migrateOccupied(ctx, p)
	if p == nil {
		return
	}
	src := a.pool.Get(p.source.Addr)
	for start := 0; start < len(p.slots); start += atomicBatchSlots {
		batch := p.slots[start:min(start+atomicBatchSlots, len(p.slots))]
		if a.stopping(ctx) {
			a.remain(p, p.slots[start:])
			return
		}
		keys, err := countKeys(ctx, src, batch)
		if err == nil {
			err = a.migrateBatch(ctx, p, batch)
		}
		var cancelled errCancelled
		switch {
		case errors.As(err, &cancelled):
			a.remain(p, p.slots[start:])
			return
		case err != nil: // the batch's other slots did not move either
			a.fail(p, batch[0], err, false)
			a.remain(p, p.slots[start+1:])
			return
		}
		a.recordMoved(p, batch, keys)
	}
}

// migrateOccupied moves with the MIGRATE pipeline the slots of p in which
// the target already holds keys (left there by an interrupted move, or
// written around the cluster), and returns the pair of the other slots,
// or nil when nothing is left to move. An atomic migration would replace
// or drop those keys without a word (and crashes a Valkey 9.0-based
// target); MIGRATE stops on them as redis-cli does, unless --replace.
func (a *atomicMover) migrateOccupied(ctx context.Context, p *pair) *pair {
	occupied, err := countKeys(ctx, a.pool.Get(p.target.Addr), p.slots)
	if err != nil {
		a.fail(p, p.slots[0], fmt.Errorf("counting the keys %s holds in the slots it is to receive: %w", p.target.Addr, err), false)
		a.remain(p, p.slots[1:])
		return nil
	}
	var busy, free []int
	for _, s := range p.slots {
		if occupied[s] > 0 {
			busy = append(busy, s)
		} else {
			free = append(free, s)
		}
	}
	if len(busy) == 0 {
		return p
	}
	a.warn(p, busy[0], fmt.Sprintf("%s already holds keys in %d of the slots it is to receive (first: slot %d); those move with MIGRATE, which stops on a key the target has unless --replace",
		p.target.Addr, len(busy), busy[0]))
	a.runPair(ctx, &pair{source: p.source, target: p.target, slots: busy})
	if len(free) == 0 {
		return nil
	}
	if a.stopping(ctx) {
		a.remain(p, free)
		return nil
	}
	return &pair{source: p.source, target: p.target, slots: free}
}

func (a *atomicMover) remain(p *pair, rest []int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range rest {
		a.res.Remaining = append(a.res.Remaining, a.moveOf(p, s))
	}
}

// errCancelled: the context ended and the task was cancelled (or never
// started): the batch's slots stay on the source.
type errCancelled struct{}

func (errCancelled) Error() string { return "cancelled" }

// errTaskFailed: the nodes gave the task up; the slots stay on the source.
// final: the nodes already retried it, so gocluster does not start it again.
type errTaskFailed struct {
	msg   string
	final bool
}

func (e errTaskFailed) Error() string { return e.msg }

// countKeys asks the source how many keys each slot holds (for progress).
func countKeys(ctx context.Context, src *redis.Client, batch []int) (map[int]int, error) {
	pipe := src.Pipeline()
	cmds := make([]*redis.IntCmd, len(batch))
	for i, s := range batch {
		cmds[i] = pipe.ClusterCountKeysInSlot(ctx, s)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make(map[int]int, len(batch))
	for i, s := range batch {
		out[s] = int(cmds[i].Val())
	}
	return out, nil
}

// migrateBatch moves one batch with one task, starting it again up to
// atomicRetries times when the nodes give it up.
func (a *atomicMover) migrateBatch(ctx context.Context, p *pair, batch []int) error {
	ranges := slots.SetOf(batch...).Ranges()
	pause := atomicRetryPause
	for attempt := 0; ; attempt++ {
		err := a.runTask(ctx, p, ranges)
		var failed errTaskFailed
		if !errors.As(err, &failed) || failed.final || attempt == atomicRetries || ctx.Err() != nil {
			return err
		}
		a.warn(p, batch[0], fmt.Sprintf("%v; starting it again (retry %d of %d)", err, attempt+1, atomicRetries))
		if !sleepCtx(ctx, pause) {
			return errCancelled{}
		}
		pause *= 2
	}
}

// runTask runs one task and waits for its end. When ctx ends first, the
// task is cancelled; if it had already passed the point of no return it
// completes, and counts.
func (a *atomicMover) runTask(ctx context.Context, p *pair, ranges []slots.Range) error {
	defer a.lockNodes(p)()
	if ctx.Err() != nil { // while waiting for the nodes
		return errCancelled{}
	}
	work := context.WithoutCancel(ctx)
	task, err := a.surface.start(ctx, p, ranges)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("atomic migration of slots %s from %s to %s", rangesText(ranges), p.source.Addr, p.target.Addr)
	cancelSent := false
	tick := time.NewTicker(atomicPoll)
	defer tick.Stop()
	for {
		state, msg, err := task.poll(work)
		if err != nil {
			return err
		}
		switch state {
		case taskDone:
			return nil
		case taskCancelled:
			return errCancelled{}
		case taskFailed:
			if cancelSent {
				return errCancelled{}
			}
			return errTaskFailed{msg: fmt.Sprintf("%s failed: %s", what, msg)}
		case taskGaveUp:
			if cancelSent {
				return errCancelled{}
			}
			return errTaskFailed{msg: what + " " + msg, final: true}
		case taskRetrying:
			if !cancelSent {
				a.warn(p, ranges[0].Start, fmt.Sprintf("%s failed: %s", what, msg))
			}
		}
		if ctx.Err() != nil && !cancelSent {
			cancelSent = true
			if err := task.cancel(work); err != nil {
				return err
			}
		}
		<-tick.C
	}
}

// lockNodes takes the pair's nodes' locks, in address order, and returns
// their release; without locks it does nothing.
func (a *atomicMover) lockNodes(p *pair) func() {
	if a.locks == nil {
		return func() {}
	}
	addrs := []string{p.source.Addr, p.target.Addr}
	slices.Sort(addrs)
	held := make([]*sync.Mutex, 0, 2)
	for _, addr := range addrs {
		a.locksMu.Lock()
		l := a.locks[addr]
		if l == nil {
			l = &sync.Mutex{}
			a.locks[addr] = l
		}
		a.locksMu.Unlock()
		l.Lock()
		held = append(held, l)
	}
	return func() {
		for _, l := range held {
			l.Unlock()
		}
	}
}

// rangesText writes ranges as both families do: "0-99 200-299".
func rangesText(ranges []slots.Range) string {
	text := make([]string, len(ranges))
	for i, r := range ranges {
		text[i] = fmt.Sprintf("%d-%d", r.Start, r.End)
	}
	return strings.Join(text, " ")
}

// replyMaps reads an array of maps (RESP3) or of flat field/value arrays
// (RESP2), values as text.
func replyMaps(v []any) []map[string]string {
	out := make([]map[string]string, 0, len(v))
	for _, e := range v {
		fields := map[string]string{}
		switch e := e.(type) {
		case map[any]any:
			for k, v := range e {
				fields[fmt.Sprint(k)] = fmt.Sprint(v)
			}
		case []any:
			for i := 0; i+1 < len(e); i += 2 {
				fields[fmt.Sprint(e[i])] = fmt.Sprint(e[i+1])
			}
		}
		out = append(out, fields)
	}
	return out
}
