package engine

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/migrate"
)

// redis84Only makes engine nodes present only Redis 8.4's atomic slot
// migration commands (CLUSTER MIGRATION IMPORT|STATUS|CANCEL).
var redis84Only = []string{"--engine-atomic-surface", "redis84"}

// TestAtomic84ReshardAndRebalanceUnderLoad: on nodes that serve only Redis
// 8.4's commands, `reshard --atomic always` and `rebalance --atomic
// always` pick the Redis 8.4 mover and move the slots under live go-redis
// load with no client error, no lost key and no stray copy.
func TestAtomic84ReshardAndRebalanceUnderLoad(t *testing.T) {
	reshardAndRebalanceUnderLoad(t, migrate.MoverAtomic84, redis84Only...)
}

// importInProgress waits until a master reports a Redis 8.4 import
// receiving its slots and returns it, or nil when the reshard ended first.
func importInProgress(t *testing.T, e *engineCluster, done chan struct{}) *engine.Node {
	t.Helper()
	return masterWhere(t, e, done, "Redis 8.4 import in progress", func(m *engine.Node) bool {
		tasks, _ := migrate.MigrationTasks(context.Background(), m.Client(), "ALL")
		return slices.ContainsFunc(tasks, func(tk migrate.MigrationTask) bool {
			return tk.Import() && tk.State == "accumulate-buffer"
		})
	})
}

// TestAtomic84ReshardInterrupted: Ctrl-C during a reshard on the Redis 8.4
// surface cancels the task in flight (CLUSTER MIGRATION CANCEL), reports
// what moved and how to resume; no task stays in progress and every key
// is in one place.
func TestAtomic84ReshardInterrupted(t *testing.T) {
	e := startEngineCluster(t, redis84Only...)
	const preN = 150000
	harness.Preload(t, e.cc, preN)
	cmd, done, out := startReshard(t, e, e.masters(t)[2], 6000)
	if importInProgress(t, e, done) == nil {
		t.Fatalf("the reshard ended before an import could be caught in progress:\n%s", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-done
	if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(out.String(), "Interrupted after moving") ||
		!strings.Contains(out.String(), "Resume with: gocluster reshard") {
		t.Fatalf("interrupted reshard: exit %d\n%s", cmd.ProcessState.ExitCode(), out.String())
	}
	canceled := false
	for _, m := range e.masters(t) {
		tasks, err := migrate.MigrationTasks(context.Background(), m.Client(), "ALL")
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks {
			if tk.InProgress() {
				t.Fatalf("%s still runs task %+v after the interrupted reshard", m.Addr(), tk)
			}
			canceled = canceled || tk.Import() && tk.State == "canceled"
		}
	}
	if !canceled {
		t.Fatalf("no import task was cancelled:\n%s", out.String())
	}
	settledWithKeys(t, e, preN)
}

// TestCheckAndFixStuckImport84: a Redis 8.4 import whose destination
// stopped reading its link is reported by check on the destination and
// cancelled by fix (CLUSTER MIGRATION CANCEL ALL); the source keeps its
// slots and every key.
func TestCheckAndFixStuckImport84(t *testing.T) {
	e := startEngineCluster(t, append([]string{"--enable-debug-command", "yes"}, redis84Only...)...)
	const preN = 5000
	harness.Preload(t, e.cc, preN)
	source, target, start := stalledPair(t, e)
	ctx := context.Background()
	id, err := target.Client().Do(ctx, "CLUSTER", "MIGRATION", "IMPORT", start, start+99).Text()
	if err != nil {
		t.Fatal(err)
	}
	checkAndFixImport84(t, source, target, id, fmt.Sprintf("[WARNING] Node %s has an atomic slot import in progress: slots %d-%d from %s (task %s",
		target.Addr(), start, start+99, source.Addr(), id))
	if err := target.Client().Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 0).Err(); err != nil {
		t.Fatal(err)
	}
	settledWithKeys(t, e, preN)
}

// checkAndFixImport84 runs check, which must report the import task id
// with every line of want, then fix, which must cancel it on target; it
// returns the task as the target then lists it.
func checkAndFixImport84(t *testing.T, source, target *engine.Node, id string, want ...string) []migrate.MigrationTask {
	t.Helper()
	r := harness.Run(t, "check", source.Addr())
	for _, w := range want {
		if r.Code == 0 || !strings.Contains(r.Stdout, w) {
			t.Fatalf("check does not report the import (want %q):\n%s", w, r.Output())
		}
	}
	r = harness.Run(t, "fix", source.Addr(), "--yes")
	if r.Code != 0 || !strings.Contains(r.Stdout, "CLUSTER MIGRATION CANCEL ALL on "+target.Addr()) {
		t.Fatalf("fix did not cancel the import: exit %d\n%s", r.Code, r.Output())
	}
	tasks, err := migrate.MigrationTasks(context.Background(), target.Client(), "ID", id)
	if err != nil || len(tasks) != 1 || tasks[0].State != "canceled" {
		t.Fatalf("after fix the destination's task is %+v (%v)", tasks, err)
	}
	return tasks
}

// TestCheckAndFixFailingImport84: a Redis 8.4 import left failing on every
// attempt (its source refuses exports while one of its slots is open), as
// a killed gocluster or an operator's own IMPORT would leave it: check
// reports it although its state says failed, since its destination starts
// it again every second, and fix cancels it; the retries stop and every
// key stays in one place.
func TestCheckAndFixFailingImport84(t *testing.T) {
	e := startEngineCluster(t, redis84Only...)
	const preN = 5000
	harness.Preload(t, e.cc, preN)
	ctx := context.Background()
	m := e.masters(t)
	source, target := m[0], m[2]
	first := -1
	for s := 0; s < 16384 && first < 0; s++ {
		if ownerOf(t, source, s) == myID(t, source) {
			first = s
		}
	}
	open := first + 1000
	if err := source.Client().Do(ctx, "CLUSTER", "SETSLOT", open, "MIGRATING", myID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	id, err := target.Client().Do(ctx, "CLUSTER", "MIGRATION", "IMPORT", first, first+99).Text()
	if err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, 10*time.Second, "the import to fail and be started again", func() bool {
		tasks, err := migrate.MigrationTasks(ctx, target.Client(), "ID", id)
		return err == nil && len(tasks) == 1 && tasks[0].Retries >= 1 && tasks[0].State == "failed"
	})
	tasks := checkAndFixImport84(t, source, target, id, fmt.Sprintf("[WARNING] Node %s has an atomic slot import in progress: slots %d-%d from %s (task %s, state failed ",
		target.Addr(), first, first+99, source.Addr(), id), "started again every second; last error: ")
	time.Sleep(2500 * time.Millisecond) // two retry periods
	if again, _ := migrate.MigrationTasks(ctx, target.Client(), "ID", id); len(again) != 1 || again[0] != tasks[0] {
		t.Fatalf("the cancelled task changed: %+v, then %+v", tasks[0], again)
	}
	if owner := ownerOf(t, target, first); owner != myID(t, source) {
		t.Fatalf("slot %d is served by %s after fix, want its source", first, owner)
	}
	settledWithKeys(t, e, preN)
}

// TestAtomic84RetriesFailedTask: a task that fails (here its source
// cancels its side while the destination stalls) is started again by its
// destination, as redis-server 8.4 does; gocluster warns, sends no second
// IMPORT (redis-server 8.4 would refuse it), and the reshard completes with
// every key in one place.
func TestAtomic84RetriesFailedTask(t *testing.T) {
	r := startStalledReshard84(t)
	r.failAttempt(t)
	r.wait(t)
	if s := r.out.String(); r.cmd.ProcessState.ExitCode() != 0 || !strings.Contains(s, "the destination starts it again (retry 1 of 2)") {
		t.Fatalf("the failed task was not retried to success (exit %d):\n%s", r.cmd.ProcessState.ExitCode(), s)
	}
	after, err := migrate.MigrationTasks(context.Background(), r.target.Client(), "ALL")
	if err != nil {
		t.Fatal(err)
	}
	retried := false
	for _, task := range after {
		if task.Slots != r.task.Slots {
			continue
		}
		if task.ID != r.task.ID || task.State != "completed" || task.Retries != 1 {
			t.Fatalf("the destination's tasks after the reshard: %+v; want %s alone for slots %s, completed after 1 retry", after, r.task.ID, r.task.Slots)
		}
		retried = true
	}
	if !retried {
		t.Fatalf("the destination no longer lists task %s: %+v", r.task.ID, after)
	}
	settledWithKeys(t, r.e, r.preN)
}

// stalledReshard84 is a 100-slot reshard onto the third master of an
// engine cluster serving Redis 8.4's commands, whose first task is held
// in progress by a destination that stopped reading its import link.
type stalledReshard84 struct {
	e              *engineCluster
	preN           int
	target, source *engine.Node
	task           migrate.MigrationTask // the destination's first task
	cmd            *exec.Cmd
	done           chan struct{}
	out            *strings.Builder
}

func startStalledReshard84(t *testing.T) *stalledReshard84 {
	t.Helper()
	r := &stalledReshard84{e: startEngineCluster(t, append([]string{"--enable-debug-command", "yes"}, redis84Only...)...), preN: 5000}
	harness.Preload(t, r.e.cc, r.preN)
	r.target = r.e.masters(t)[2]
	r.stall(t, 1)
	r.cmd, r.done, r.out = startReshard(t, r.e, r.target, 100)
	if importInProgress(t, r.e, r.done) == nil {
		t.Fatalf("the reshard ended before its import could stall:\n%s", r.out.String())
	}
	tasks, err := migrate.MigrationTasks(context.Background(), r.target.Client(), "ALL")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("the destination's tasks: %v, %v", tasks, err)
	}
	r.task, r.source = tasks[0], nodeByID(t, r.e, tasks[0].Source)
	return r
}

// stall makes the destination stop (1) or resume (0) reading import links.
func (r *stalledReshard84) stall(t *testing.T, on int) {
	t.Helper()
	if err := r.target.Client().Do(context.Background(), "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", on).Err(); err != nil {
		t.Fatal(err)
	}
}

// failAttempt ends the task's attempt in progress: its source cancels its
// side, and the destination, resumed, finds its link gone.
func (r *stalledReshard84) failAttempt(t *testing.T) {
	t.Helper()
	if n, err := r.source.Client().Do(context.Background(), "CLUSTER", "MIGRATION", "CANCEL", "ALL").Int(); err != nil || n != 1 {
		t.Fatalf("CANCEL ALL on the source: %d, %v", n, err)
	}
	r.stall(t, 0)
}

// wait waits for the reshard to end.
func (r *stalledReshard84) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the reshard did not end:\n%s", r.out.String())
	}
}

// TestAtomic84GivesUpAfterTheNodesRetries: a task that keeps failing (its
// source refuses every new export while one of its slots is open) is
// started again by its destination until atomicRetries restarts have
// failed; gocluster then cancels it, since redis-server 8.4 would start it
// again every second without end, and reports the failure. The slots and
// keys stay on the source and no task stays in progress.
func TestAtomic84GivesUpAfterTheNodesRetries(t *testing.T) {
	r := startStalledReshard84(t)
	ctx := context.Background()
	e, target, source, failing := r.e, r.target, r.source, r.task
	var first, last int
	if _, err := fmt.Sscanf(failing.Slots, "%d-%d", &first, &last); err != nil {
		t.Fatalf("task slots %q: %v", failing.Slots, err)
	}
	open := last + 1000 // a slot of the same source that does not move
	if err := source.Client().Do(ctx, "CLUSTER", "SETSLOT", open, "MIGRATING", myID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	r.failAttempt(t)
	r.wait(t)
	s := r.out.String()
	if r.cmd.ProcessState.ExitCode() == 0 || !strings.Contains(s, "the destination starts it again (retry 2 of 2)") ||
		!strings.Contains(s, "failed 3 times, last: ") || !strings.Contains(s, "stopped it") ||
		!strings.Contains(s, fmt.Sprintf("1 slots failed, %d not moved", last-first)) {
		t.Fatalf("a task failing on every retry: exit %d\n%s", r.cmd.ProcessState.ExitCode(), s)
	}
	ended, err := migrate.MigrationTasks(ctx, target.Client(), "ID", failing.ID)
	if err != nil || len(ended) != 1 || ended[0].State != "canceled" || ended[0].Retries != 2 {
		t.Fatalf("the task gocluster gave up: %+v (%v); want canceled after 2 retries", ended, err)
	}
	time.Sleep(2500 * time.Millisecond) // redis-server 8.4 would have started a failed task again twice by now
	if again, _ := migrate.MigrationTasks(ctx, target.Client(), "ID", failing.ID); len(again) != 1 || again[0] != ended[0] {
		t.Fatalf("the cancelled task changed: %+v, then %+v", ended[0], again)
	}
	if owner := ownerOf(t, target, first); owner != failing.Source {
		t.Fatalf("slot %d is served by %s, want its source %s", first, owner, failing.Source)
	}
	if err := source.Client().Do(ctx, "CLUSTER", "SETSLOT", open, "STABLE").Err(); err != nil {
		t.Fatal(err)
	}
	settledWithKeys(t, e, r.preN)

	// With the cause fixed, the printed command moves what did not move.
	resume := regexp.MustCompile(`resume with: gocluster (reshard .*--slots (\d+) .*)`).FindStringSubmatch(s)
	if resume == nil || resume[2] != fmt.Sprint(last-first+1) {
		t.Fatalf("no resume command for the %d slots that did not move:\n%s", last-first+1, s)
	}
	if r := harness.Run(t, strings.Fields(resume[1])...); r.Code != 0 {
		t.Fatalf("resume exit %d:\n%s", r.Code, r.Output())
	}
	if n := slotsOf(t, target); n != 5461+100 {
		t.Fatalf("after the resume the target serves %d slots, want %d", n, 5461+100)
	}
	settledWithKeys(t, e, r.preN)
}

// slotsOf counts the slots n serves, as n sees it.
func slotsOf(t *testing.T, n *engine.Node) int {
	t.Helper()
	ranges, err := n.Client().ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	me := myID(t, n)
	count := 0
	for _, r := range ranges {
		if r.Nodes[0].ID == me {
			count += int(r.End-r.Start) + 1
		}
	}
	return count
}
