package engine

import (
	"context"
	"fmt"
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
	r := harness.Run(t, "check", source.Addr())
	want := fmt.Sprintf("[WARNING] Node %s has an atomic slot import in progress: slots %d-%d from %s (task %s",
		target.Addr(), start, start+99, source.Addr(), id)
	if r.Code == 0 || !strings.Contains(r.Stdout, want) {
		t.Fatalf("check does not report the stuck import (want %q):\n%s", want, r.Output())
	}
	r = harness.Run(t, "fix", source.Addr(), "--yes")
	if r.Code != 0 || !strings.Contains(r.Stdout, "CLUSTER MIGRATION CANCEL ALL on "+target.Addr()) {
		t.Fatalf("fix did not cancel the import: exit %d\n%s", r.Code, r.Output())
	}
	tasks, err := migrate.MigrationTasks(ctx, target.Client(), "ID", id)
	if err != nil || len(tasks) != 1 || tasks[0].State != "canceled" {
		t.Fatalf("after fix the destination's task is %+v (%v)", tasks, err)
	}
	if err := target.Client().Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 0).Err(); err != nil {
		t.Fatal(err)
	}
	settledWithKeys(t, e, preN)
}

// TestAtomic84RetriesFailedTask: a task the nodes give up (here its
// source cancels its side while the destination stalls) is started again,
// with a warning, and the reshard completes with every key in one place.
func TestAtomic84RetriesFailedTask(t *testing.T) {
	e := startEngineCluster(t, append([]string{"--enable-debug-command", "yes"}, redis84Only...)...)
	const preN = 5000
	harness.Preload(t, e.cc, preN)
	ctx := context.Background()
	target := e.masters(t)[2]
	if err := target.Client().Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 1).Err(); err != nil {
		t.Fatal(err)
	}
	cmd, done, out := startReshard(t, e, target, 100)
	if importInProgress(t, e, done) == nil {
		t.Fatalf("the reshard ended before its import could stall:\n%s", out.String())
	}
	tasks, err := migrate.MigrationTasks(ctx, target.Client(), "ALL")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("the destination's tasks: %v, %v", tasks, err)
	}
	source := nodeByID(t, e, tasks[0].Source)
	if n, err := source.Client().Do(ctx, "CLUSTER", "MIGRATION", "CANCEL", "ALL").Int(); err != nil || n != 1 {
		t.Fatalf("CANCEL ALL on the source: %d, %v", n, err)
	}
	if err := target.Client().Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 0).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the reshard did not end:\n%s", out.String())
	}
	if s := out.String(); cmd.ProcessState.ExitCode() != 0 || !strings.Contains(s, "starting it again (retry 1 of 2)") {
		t.Fatalf("the failed task was not retried to success (exit %d):\n%s", cmd.ProcessState.ExitCode(), s)
	}
	settledWithKeys(t, e, preN)
}
