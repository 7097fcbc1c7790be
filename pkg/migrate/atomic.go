package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
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
	MoverMigrate = "migrate" // SETSLOT, GETKEYSINSLOT, MIGRATE
	MoverAtomic  = "atomic"  // CLUSTER MIGRATESLOTS
)

// mover moves the slots of one source->target pair, recording the outcome
// in the runner's result. The MIGRATE pipeline (runner.runPair) and
// atomic slot migration (atomicMover) are the two.
type mover interface {
	movePair(ctx context.Context, p *pair)
}

func (r *runner) movePair(ctx context.Context, p *pair) { r.runPair(ctx, p) }

// AtomicSupport tells whether addr supports atomic slot migration: its
// version must have it and COMMAND INFO must list CLUSTER|MIGRATESLOTS.
// why explains a "no" for an operator.
func AtomicSupport(ctx context.Context, pool *conn.Pool, addr string) (ok bool, why string, err error) {
	srv, err := pool.Server(ctx, addr)
	if err != nil {
		return false, "", err
	}
	if !srv.MayMigrateSlotsAtomically() {
		return false, fmt.Sprintf("%s runs %s, which has no atomic slot migration (Valkey 9.0+ or the gocluster engine)", addr, srv), nil
	}
	info, err := pool.Get(addr).Do(ctx, "COMMAND", "INFO", "cluster|migrateslots").Slice()
	if err != nil {
		return false, "", conn.NodeError(addr, "COMMAND INFO cluster|migrateslots", err)
	}
	if len(info) != 1 || info[0] == nil {
		return false, fmt.Sprintf("%s (%s) does not list CLUSTER MIGRATESLOTS in COMMAND INFO", addr, srv), nil
	}
	return true, "", nil
}

// ChooseMover decides, before anything changes, how the job's slots will
// move under mode: MoverAtomic when every source and target supports it
// (mode auto or always), else MoverMigrate; with AtomicAlways a node
// without support is an error naming it.
func ChooseMover(ctx context.Context, pool *conn.Pool, job Job, mode AtomicMode) (string, error) {
	if mode == AtomicNever || len(job.Moves) == 0 {
		return MoverMigrate, nil
	}
	seen := map[string]bool{}
	for _, m := range job.Moves {
		for _, addr := range []string{m.Source.Addr, m.Target.Addr} {
			if seen[addr] {
				continue
			}
			seen[addr] = true
			ok, why, err := AtomicSupport(ctx, pool, addr)
			if err != nil {
				return "", err
			}
			if !ok {
				if mode == AtomicAlways {
					return "", fmt.Errorf("--atomic always: %s; nothing was changed (use --atomic auto to fall back to MIGRATE)", why)
				}
				return MoverMigrate, nil
			}
		}
	}
	return MoverAtomic, nil
}

// atomicPoll is how often a running migration's state is read.
const atomicPoll = 5 * time.Millisecond

// atomicBatchSlots is how many slots one MIGRATESLOTS job moves: each job
// costs a pause, an epoch bump and two nodes.conf fsyncs, so jobs are
// large; progress is reported per job.
const atomicBatchSlots = 2048

// atomicMover moves a pair with CLUSTER MIGRATESLOTS on the source, one
// batch of slots per migration job, and follows the job with CLUSTER
// GETSLOTMIGRATIONS. The nodes do the work: gocluster dying mid-job
// changes nothing, and a failed or cancelled job leaves every key and slot
// on the source.
type atomicMover struct{ *runner }

func (a atomicMover) movePair(ctx context.Context, p *pair) {
	src := a.pool.Get(p.source.Addr)
	for start := 0; start < len(p.slots); start += atomicBatchSlots {
		batch := p.slots[start:min(start+atomicBatchSlots, len(p.slots))]
		if a.stopping(ctx) {
			a.remain(p, p.slots[start:])
			return
		}
		keys, err := countKeys(ctx, src, batch)
		if err == nil {
			err = a.migrateBatch(ctx, src, p, batch)
		}
		var cancelled errCancelled
		switch {
		case errors.As(err, &cancelled):
			a.remain(p, p.slots[start:])
			return
		case err != nil:
			a.fail(p, batch[0], err, false)
			a.remain(p, p.slots[start+len(batch):])
			return
		}
		a.recordMoved(p, batch, keys)
	}
}

func (a atomicMover) remain(p *pair, rest []int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range rest {
		a.res.Remaining = append(a.res.Remaining, a.moveOf(p, s))
	}
}

// errCancelled: the context ended and the source cancelled the job.
type errCancelled struct{}

func (errCancelled) Error() string { return "cancelled" }

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

// migrateBatch runs one CLUSTER MIGRATESLOTS job and waits for its end.
// When ctx ends first, the job is cancelled on the source; if it had
// already passed the point of no return it completes, and counts.
func (a atomicMover) migrateBatch(ctx context.Context, src *redis.Client, p *pair, batch []int) error {
	work := context.WithoutCancel(ctx)
	before, err := SlotMigrations(work, src)
	if err != nil {
		return fmt.Errorf("%s: CLUSTER GETSLOTMIGRATIONS: %w", p.source.Addr, err)
	}
	known := map[string]bool{}
	for _, m := range before {
		known[m.Name] = true
	}
	ranges := slots.SetOf(batch...).Ranges()
	args := []any{"CLUSTER", "MIGRATESLOTS", "SLOTSRANGE"}
	var text []string
	for _, r := range ranges {
		args = append(args, r.Start, r.End)
		text = append(text, fmt.Sprintf("%d-%d", r.Start, r.End))
	}
	args = append(args, "NODE", p.target.ID)
	if err := src.Do(work, args...).Err(); err != nil {
		return fmt.Errorf("%s: CLUSTER MIGRATESLOTS %s NODE %s: %w", p.source.Addr, strings.Join(text, " "), p.target.ID, err)
	}
	want := strings.Join(text, " ")
	cancelSent := false
	tick := time.NewTicker(atomicPoll)
	defer tick.Stop()
	for {
		jobs, err := SlotMigrations(work, src)
		if err != nil {
			return fmt.Errorf("%s: CLUSTER GETSLOTMIGRATIONS: %w", p.source.Addr, err)
		}
		i := slices.IndexFunc(jobs, func(m SlotMigration) bool {
			return !known[m.Name] && m.Export() && m.SlotRanges == want && m.TargetNode == p.target.ID
		})
		if i < 0 {
			return fmt.Errorf("%s: the migration of %s does not appear in CLUSTER GETSLOTMIGRATIONS", p.source.Addr, want)
		}
		switch m := jobs[i]; m.State {
		case "success":
			return nil
		case "cancelled":
			return errCancelled{}
		case "failed":
			if cancelSent {
				return errCancelled{}
			}
			return fmt.Errorf("atomic migration of slots %s from %s to %s failed: %s", want, p.source.Addr, p.target.Addr, m.Message)
		}
		if ctx.Err() != nil && !cancelSent {
			cancelSent = true
			if err := src.Do(work, "CLUSTER", "CANCELSLOTMIGRATIONS").Err(); err != nil && !strings.Contains(err.Error(), "No migrations ongoing") {
				return fmt.Errorf("%s: CLUSTER CANCELSLOTMIGRATIONS: %w", p.source.Addr, err)
			}
		}
		<-tick.C
	}
}

// SlotMigration is one entry of CLUSTER GETSLOTMIGRATIONS.
type SlotMigration struct {
	Name       string
	Operation  string // EXPORT or IMPORT
	SlotRanges string // "0-99 200-299"
	SourceNode string
	TargetNode string
	State      string
	Message    string
}

// Export reports whether this node is the source of the migration.
func (m SlotMigration) Export() bool { return strings.EqualFold(m.Operation, "export") }

// InProgress reports whether the migration has not finished.
func (m SlotMigration) InProgress() bool {
	switch m.State {
	case "success", "failed", "cancelled":
		return false
	}
	return true
}

// SlotMigrations reads CLUSTER GETSLOTMIGRATIONS (RESP2 or RESP3 maps).
func SlotMigrations(ctx context.Context, c *redis.Client) ([]SlotMigration, error) {
	v, err := c.Do(ctx, "CLUSTER", "GETSLOTMIGRATIONS").Slice()
	if err != nil {
		return nil, err
	}
	out := make([]SlotMigration, 0, len(v))
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
		out = append(out, SlotMigration{Name: fields["name"], Operation: fields["operation"], SlotRanges: fields["slot_ranges"],
			SourceNode: fields["source_node"], TargetNode: fields["target_node"], State: fields["state"], Message: fields["message"]})
	}
	return out, nil
}
