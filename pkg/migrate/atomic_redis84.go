package migrate

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// redis84Surface is Redis 8.4's atomic slot migration: CLUSTER MIGRATION
// IMPORT start end [start end ...] on the destination starts a task and
// answers its id; CLUSTER MIGRATION STATUS ID id and CANCEL ID id, on the
// destination, follow and stop it. A node runs one task at a time.
type redis84Surface struct{ pool *conn.Pool }

// redis84Busy is how long start waits for a node's previous task (often
// the source's side of the task just completed, still dropping its keys).
const redis84Busy = 30 * time.Second

// redis84Unreachable is how long the destination may not answer STATUS
// (it restarted, the network blinked) before the task counts as failed.
const redis84Unreachable = 5 * time.Second

// redis84SourceSettle bounds how long an ended task waits for its source
// side to end too: the source learns of the destination's cancel or claim
// a moment later, and may still hold the slots' writes paused.
const redis84SourceSettle = 5 * time.Second

// redis84Task is one IMPORT task, followed on its destination.
type redis84Task struct {
	dst, src *redis.Client
	p        *pair
	id       string
	lostFrom time.Time // when STATUS first went unanswered, zero when it answers
	endedAt  time.Time // when the destination's side was first seen cancelled or failed
	started  time.Time // when IMPORT answered
	// seen: failed attempts looked at; failures: those that count against
	// atomicRetries; gaveUp: why gocluster cancelled the task, once it did
	seen, failures int
	gaveUp         string
}

func (r redis84Surface) start(ctx context.Context, p *pair, ranges []slots.Range) (atomicTask, error) {
	work := context.WithoutCancel(ctx)
	dst := r.pool.Get(p.target.Addr)
	args := []any{"CLUSTER", "MIGRATION", "IMPORT"}
	for _, rg := range ranges {
		args = append(args, rg.Start, rg.End)
	}
	src := r.pool.Get(p.source.Addr)
	deadline := time.Now().Add(redis84Busy)
	for {
		// The source refuses a new task while it still ends an earlier one
		// (cancelled by a Ctrl-C, say), which would fail this one at once.
		busy, err := hasTaskInProgress(work, src)
		if err == nil && busy && time.Now().Before(deadline) {
			if !sleepCtx(ctx, 10*time.Millisecond) {
				return nil, errCancelled{}
			}
			continue
		}
		id, err := dst.Do(work, args...).Text()
		if err == nil {
			return &redis84Task{dst: dst, src: src, p: p, id: id, started: time.Now()}, nil
		}
		if !strings.Contains(err.Error(), "another ASM task is already in progress") || time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: CLUSTER MIGRATION IMPORT %s: %w", p.target.Addr, rangesText(ranges), err)
		}
		if !sleepCtx(ctx, 10*time.Millisecond) {
			return nil, errCancelled{}
		}
	}
}

// sleepCtx waits d, or reports false at once when ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// hasTaskInProgress reports whether the node runs a task of either side,
// or has a failed import it will start again.
func hasTaskInProgress(ctx context.Context, c *redis.Client) (bool, error) {
	tasks, err := MigrationTasks(ctx, c, "ALL")
	return slices.ContainsFunc(tasks, MigrationTask.Pending), err
}

func (t *redis84Task) poll(ctx context.Context) (taskState, string, error) {
	tasks, err := MigrationTasks(ctx, t.dst, "ID", t.id)
	if err != nil {
		if t.lostFrom.IsZero() {
			t.lostFrom = time.Now()
		}
		if time.Since(t.lostFrom) < redis84Unreachable {
			return taskRunning, "", nil
		}
		// The task may live on: ask it to stop (best effort), and start no
		// second one, which the node would refuse as overlapping.
		t.cancel(ctx)
		return taskGaveUp, fmt.Sprintf("failed: %s does not answer CLUSTER MIGRATION STATUS: %v; asked it to cancel the task", t.p.target.Addr, err), nil
	}
	t.lostFrom = time.Time{}
	if len(tasks) == 0 {
		// The destination restarted and lost the task with its link.
		return taskFailed, fmt.Sprintf("task %s no longer appears in CLUSTER MIGRATION STATUS on %s", t.id, t.p.target.Addr), nil
	}
	switch m := tasks[0]; m.State {
	case "completed":
		if t.sourceBusy(ctx) { // the source hands over a moment after the destination took the slots
			return taskRunning, "", nil
		}
		return taskDone, "", nil
	case "canceled":
		if t.sourceBusy(ctx) {
			return taskRunning, "", nil
		}
		if t.gaveUp != "" {
			return taskGaveUp, t.gaveUp, nil
		}
		return taskCancelled, "", nil
	case "failed":
		return t.failed(ctx, m)
	}
	return taskRunning, "", nil
}

// failed follows a task whose attempt failed: Redis 8.4's destination
// starts it again a second later, on its own and without end, so
// gocluster reports each failure once and, when the task has failed
// atomicRetries+1 times, cancels it (the source keeps its slots).
func (t *redis84Task) failed(ctx context.Context, m MigrationTask) (taskState, string, error) {
	if m.Retries < t.seen {
		return taskRunning, "", nil // this attempt was looked at
	}
	t.seen = m.Retries + 1
	if t.gaveUp != "" { // failed again after the cancel: the cancel did not take
		return taskRunning, "", t.cancel(ctx)
	}
	if nodeStillBusy(m.LastError) && time.Since(t.started) < redis84Busy {
		return taskRunning, "", nil // an earlier task or its trim is ending: not this task's fault
	}
	t.failures++
	if t.failures > atomicRetries {
		t.gaveUp = fmt.Sprintf("failed %d times, last: %s; stopped it", t.failures, m.LastError)
		return taskRunning, "", t.cancel(ctx)
	}
	return taskRetrying, fmt.Sprintf("%s; the destination starts it again (retry %d of %d)", m.LastError, t.failures, atomicRetries), nil
}

// nodeStillBusy reports whether a failed attempt's error says a node was
// still ending an earlier task, or trimming slots one gave away: Redis
// 8.4 refuses to start a task then, and the next attempt a second later
// usually goes through.
func nodeStillBusy(lastError string) bool {
	return strings.Contains(lastError, "Another ASM task is already in progress") ||
		strings.Contains(lastError, "Trim job in progress")
}

// sourceBusy reports whether the source's side of a task the destination
// ended is still in progress, for at most redis84SourceSettle: gocluster
// reports the task over only once neither side runs it.
func (t *redis84Task) sourceBusy(ctx context.Context) bool {
	if t.endedAt.IsZero() {
		t.endedAt = time.Now()
	}
	if time.Since(t.endedAt) > redis84SourceSettle {
		return false
	}
	tasks, err := MigrationTasks(ctx, t.src, "ID", t.id)
	return err == nil && len(tasks) > 0 && tasks[0].InProgress()
}

func (t *redis84Task) cancel(ctx context.Context) error {
	// 0 cancelled: the task is past its point of no return, or over.
	if err := t.dst.Do(ctx, "CLUSTER", "MIGRATION", "CANCEL", "ID", t.id).Err(); err != nil {
		return fmt.Errorf("%s: CLUSTER MIGRATION CANCEL ID %s: %w", t.p.target.Addr, t.id, err)
	}
	return nil
}

// MigrationTask is one entry of Redis 8.4's CLUSTER MIGRATION STATUS.
type MigrationTask struct {
	ID        string
	Slots     string // "0-99 200-299"
	Source    string // node id
	Dest      string // node id
	Operation string // "import" on the destination, "migrate" on the source
	State     string
	LastError string
	Retries   int // how many times the destination started it again
}

// Import reports whether this node is the destination of the task.
func (m MigrationTask) Import() bool { return strings.EqualFold(m.Operation, "import") }

// InProgress reports whether the task has not finished.
func (m MigrationTask) InProgress() bool {
	switch m.State {
	case "completed", "failed", "canceled":
		return false
	}
	return true
}

func atoiOr0(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// Pending reports whether the task still holds its slots: in progress, or
// an import that failed, which a Redis 8.4 destination starts again every
// second until it completes or is cancelled.
func (m MigrationTask) Pending() bool { return m.InProgress() || m.Import() && m.State == "failed" }

// MigrationTasks reads CLUSTER MIGRATION STATUS with which ("ALL", or
// "ID", id), RESP2 or RESP3.
func MigrationTasks(ctx context.Context, c *redis.Client, which ...any) ([]MigrationTask, error) {
	v, err := c.Do(ctx, append([]any{"CLUSTER", "MIGRATION", "STATUS"}, which...)...).Slice()
	if err != nil {
		return nil, err
	}
	var out []MigrationTask
	for _, f := range replyMaps(v) {
		out = append(out, MigrationTask{ID: f["id"], Slots: f["slots"], Source: f["source"], Dest: f["dest"],
			Operation: f["operation"], State: f["state"], LastError: f["last_error"], Retries: atoiOr0(f["retries"])})
	}
	return out, nil
}
