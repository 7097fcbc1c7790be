package enginetest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// migrationTask is one map of CLUSTER MIGRATION STATUS.
type migrationTask map[string]any

func migrationTasks(t *testing.T, c *redis.Client, args ...any) []migrationTask {
	t.Helper()
	var out []migrationTask
	for _, m := range replyMaps(t, c, append([]any{"CLUSTER", "MIGRATION", "STATUS"}, args...)...) {
		out = append(out, m)
	}
	return out
}

// waitTask polls STATUS ID id on c until the task has ended.
func waitTask(t *testing.T, c *redis.Client, id string) migrationTask {
	t.Helper()
	return waitEnded(t, 30*time.Second, func() []map[string]any {
		return replyMaps(t, c, "CLUSTER", "MIGRATION", "STATUS", "ID", id)
	}, "completed", "failed", "canceled")
}

// TestClusterMigrationImport: Redis 8.4's CLUSTER MIGRATION IMPORT, sent to
// the destination, moves slots with the engine's atomic migration while a
// client writes them; both nodes report the task under the id IMPORT
// answered, in Redis 8.4's STATUS shape (adjacent ranges joined, as
// redis-server 8.4 joins them).
func TestClusterMigrationImport(t *testing.T) {
	nodes := startClusterNodes(t, 3)
	createCluster(t, nodes, 0)
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(nodes)})
	t.Cleanup(func() { cc.Close() })
	source, dest := ownerOf(t, nodes, 0), ownerOf(t, nodes, 16383)
	srcC, dstC := client(t, source.Addr()), client(t, dest.Addr())
	moving := "m:0"
	for i := 0; slots.Slot(moving) > 999; i++ {
		moving = fmt.Sprint("m:", i)
	}
	pipe := cc.Pipeline()
	pipe.Set(ctx, moving, -1, 0)
	for i := range 5000 {
		pipe.Set(ctx, fmt.Sprint("k:", i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	before := int64(0)
	for s := 0; s <= 999; s++ {
		before += srcC.ClusterCountKeysInSlot(ctx, s).Val()
	}
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() { // writes a key of the moving slots, and one of another, throughout
		for i := 0; ; i++ {
			select {
			case <-stop:
				errs <- nil
				return
			default:
			}
			if err := cc.Set(ctx, fmt.Sprint("live:{a}", i%50), i, 0).Err(); err != nil { // {a} is slot 15495: not moving
				errs <- err
				return
			}
			if err := cc.Set(ctx, moving, i, 0).Err(); err != nil {
				errs <- err
				return
			}
		}
	}()

	id, err := dstC.Do(ctx, "CLUSTER", "MIGRATION", "IMPORT", 0, 499, 500, 999).Text()
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(id) {
		t.Fatalf("IMPORT answered %q, %v; want a 40-hex task id", id, err)
	}
	task := waitTask(t, dstC, id)
	close(stop)
	if err := <-errs; err != nil {
		t.Fatalf("client error during the migration: %v", err)
	}
	if task["state"] != "completed" || task["operation"] != "import" || task["source"] != nodeID(t, source) ||
		task["dest"] != nodeID(t, dest) || task["slots"] != "0-999" || task["last_error"] != "" {
		t.Fatalf("destination's task: %v", task)
	}
	for _, k := range []string{"id", "slots", "source", "dest", "operation", "state", "last_error", "retries",
		"create_time", "start_time", "end_time", "write_pause_ms"} {
		if _, ok := task[k]; !ok || len(task) != 12 {
			t.Fatalf("STATUS entry lacks %q or has other fields: %v", k, task)
		}
	}
	if task["end_time"].(int64) < task["start_time"].(int64) || task["start_time"].(int64) < task["create_time"].(int64) {
		t.Fatalf("times out of order: %v", task)
	}
	exp := waitTask(t, srcC, id)
	if exp["state"] != "completed" || exp["operation"] != "migrate" || exp["write_pause_ms"].(int64) < 0 {
		t.Fatalf("source's task: %v", exp)
	}
	moved := int64(0)
	for s := 0; s <= 999; s++ {
		moved += dstC.ClusterCountKeysInSlot(ctx, s).Val()
		if n := srcC.ClusterCountKeysInSlot(ctx, s).Val(); n != 0 {
			t.Fatalf("the source still holds %d keys of slot %d", n, s)
		}
	}
	if moved != before {
		t.Fatalf("the destination holds %d keys of the moved slots, the source had %d", moved, before)
	}
	for i := range 5000 {
		if v, err := cc.Get(ctx, fmt.Sprint("k:", i)).Int(); err != nil || v != i {
			t.Fatalf("k:%d = %d (%v)", i, v, err)
		}
	}
	if all := migrationTasks(t, dstC, "ALL"); len(all) != 1 || all[0]["id"] != id {
		t.Fatalf("STATUS ALL on the destination: %v", all)
	}
}

// TestClusterMigrationErrorsAndCancel: Redis 8.4's refusals, and CANCEL of
// an import in progress: the source keeps its slots and keys, the
// destination none of them.
func TestClusterMigrationErrorsAndCancel(t *testing.T) {
	nodes, source, _ := debugMasters(t)
	ctx := context.Background()
	srcC, dstC := client(t, source.Addr()), client(t, ownerOf(t, nodes, 16383).Addr())
	for _, c := range []struct {
		args []any
		want string
	}{
		{[]any{"IMPORT", 16000, 16383}, "ERR this node is already the owner of the slot range"},
		{[]any{"IMPORT", 0, 16383}, "ERR slots belong to different source nodes"},
		{[]any{"IMPORT", 0}, "ERR wrong number of arguments for 'cluster|migration' command"},
		{[]any{"IMPORT", 10, 5}, "ERR start slot number 10 is greater than end slot number 5"},
		{[]any{"IMPORT", 100, 120, 0, 110}, "ERR Slot 100 specified multiple times"},
		{[]any{"IMPORT", 0, 16384}, "ERR Invalid or out of range slot"},
		{[]any{"STATUS"}, "ERR wrong number of arguments for 'cluster|migration' command"},
		{[]any{"STATUS", "ID"}, "ERR wrong number of arguments for 'cluster|migration' command"},
		{[]any{"STATUS", "SOME"}, "ERR unknown argument"},
		{[]any{"CANCEL", "ALL", "x"}, "ERR wrong number of arguments for 'cluster|migration' command"},
		{[]any{"FOO", "ALL"}, "ERR unknown argument"},
	} {
		err := dstC.Do(ctx, append([]any{"CLUSTER", "MIGRATION"}, c.args...)...).Err()
		if err == nil || err.Error() != c.want {
			t.Errorf("CLUSTER MIGRATION %v: %v, want %q", c.args, err, c.want)
		}
	}
	if n, err := dstC.Do(ctx, "CLUSTER", "MIGRATION", "CANCEL", "ALL").Int(); err != nil || n != 0 {
		t.Fatalf("CANCEL ALL with no task: %d, %v", n, err)
	}
	if tasks := migrationTasks(t, dstC, "ID", strings.Repeat("a", 40)); len(tasks) != 0 {
		t.Fatalf("STATUS of an unknown id: %v", tasks)
	}

	clusterWithKeys(t, nodes, 3000)
	held := func(c *redis.Client) int64 {
		n := int64(0)
		for s := 0; s <= 999; s++ {
			n += c.ClusterCountKeysInSlot(ctx, s).Val()
		}
		return n
	}
	before := held(srcC)
	if err := dstC.Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 1).Err(); err != nil {
		t.Fatal(err)
	}
	id, err := dstC.Do(ctx, "CLUSTER", "MIGRATION", "IMPORT", 0, 999).Text()
	if err != nil {
		t.Fatal(err)
	}
	if err := dstC.Do(ctx, "CLUSTER", "MIGRATION", "IMPORT", 0, 999).Err(); err == nil ||
		!strings.HasPrefix(err.Error(), "ERR overlapping import exists for slot range: 0-999") {
		t.Fatalf("a second IMPORT of the same slots: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for { // the source's export has reached the destination
		if tasks := migrationTasks(t, dstC, "ID", id); len(tasks) == 1 && tasks[0]["state"] == "accumulate-buffer" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import never started: %v", migrationTasks(t, dstC, "ALL"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n, err := dstC.Do(ctx, "CLUSTER", "MIGRATION", "CANCEL", "ID", id).Int(); err != nil || n != 1 {
		t.Fatalf("CANCEL ID: %d, %v", n, err)
	}
	if task := waitTask(t, dstC, id); task["state"] != "canceled" || !strings.Contains(task["last_error"].(string), "Cancelled") {
		t.Fatalf("the cancelled import: %v", task)
	}
	if exp := waitTask(t, srcC, id); exp["state"] != "failed" {
		t.Fatalf("the source's export after the cancel: %v", exp)
	}
	dstC.Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 0)
	if got := held(srcC); got != before {
		t.Fatalf("the source holds %d keys of the slots, had %d", got, before)
	}
	if got := held(dstC); got != 0 {
		t.Fatalf("the destination kept %d keys of the cancelled import", got)
	}
	if owner := ownerOf(t, nodes, 0); owner != source {
		t.Fatal("the slots changed owner")
	}
}

// clusterWithKeys writes k:0..k:n-1 (value i) through a cluster client,
// which it returns.
func clusterWithKeys(t *testing.T, nodes []*clusterNode, n int) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(nodes)})
	t.Cleanup(func() { cc.Close() })
	pipe := cc.Pipeline()
	for i := range n {
		pipe.Set(context.Background(), fmt.Sprint("k:", i), i, 0)
	}
	if _, err := pipe.Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	return cc
}

// debugMasters starts 3 masters with DEBUG enabled and returns them with
// the owners of slot 0 and of slot 16383.
func debugMasters(t *testing.T) (nodes []*clusterNode, first, last *clusterNode) {
	t.Helper()
	nodes = startClusterNodes(t, 3, "--enable-debug-command", "yes")
	createCluster(t, nodes, 0)
	return nodes, ownerOf(t, nodes, 0), ownerOf(t, nodes, 16383)
}

// TestClusterMigrationImportRetriesItself: as on redis-server 8.4, a
// failed import task stays among the tasks in progress, its destination
// starts it again a second later under the same id (retries counts the
// restarts, last_error says why) until it completes, and a new IMPORT of
// the same slots is refused meanwhile; CANCEL of a failed task stops its
// retries.
func TestClusterMigrationImportRetriesItself(t *testing.T) {
	nodes, source, _ := debugMasters(t)
	ctx := context.Background()
	srcC, dstC := client(t, source.Addr()), client(t, ownerOf(t, nodes, 16383).Addr())
	cc := clusterWithKeys(t, nodes, 3000)
	failImport := func(ranges ...any) string { // the source gives up its side while the destination stalls
		t.Helper()
		if err := dstC.Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 1).Err(); err != nil {
			t.Fatal(err)
		}
		id, err := dstC.Do(ctx, append([]any{"CLUSTER", "MIGRATION", "IMPORT"}, ranges...)...).Text()
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the import to reach the destination", func() bool {
			tasks := migrationTasks(t, dstC, "ID", id)
			return len(tasks) == 1 && tasks[0]["state"] == "accumulate-buffer"
		})
		if n, err := srcC.Do(ctx, "CLUSTER", "MIGRATION", "CANCEL", "ID", id).Int(); err != nil || n != 1 {
			t.Fatalf("CANCEL ID on the source: %d, %v", n, err)
		}
		// The stalled destination notices the lost link once it resumes.
		if err := dstC.Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 0).Err(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the destination's task to fail", func() bool {
			tasks := migrationTasks(t, dstC, "ID", id)
			return len(tasks) == 1 && tasks[0]["state"] == "failed"
		})
		return id
	}

	id := failImport(0, 999)
	if err := dstC.Do(ctx, "CLUSTER", "MIGRATION", "IMPORT", 0, 999).Err(); err == nil ||
		err.Error() != "ERR overlapping import exists for slot range: 0-999" {
		t.Fatalf("IMPORT of the failed task's slots: %v", err)
	}
	if all := migrationTasks(t, dstC, "ALL"); len(all) == 0 || all[0]["id"] != id {
		t.Fatalf("STATUS ALL does not list the failed task first: %v", all)
	}
	var task migrationTask
	waitFor(t, 30*time.Second, "the failed task to be started again and complete", func() bool {
		tasks := migrationTasks(t, dstC, "ID", id)
		task = tasks[0]
		return task["state"] == "completed" || task["state"] == "canceled"
	})
	if task["state"] != "completed" || task["retries"] != int64(1) || task["last_error"] == "" {
		t.Fatalf("the failed task was not started again to completion: %v", task)
	}
	if owner := ownerOf(t, nodes, 999); owner.Addr() != dstC.Options().Addr {
		t.Fatalf("slot 999 is served by %s after the retried import", owner.Addr())
	}
	for i := range 3000 {
		if v, err := cc.Get(ctx, fmt.Sprint("k:", i)).Int(); err != nil || v != i {
			t.Fatalf("k:%d = %d (%v)", i, v, err)
		}
	}

	id = failImport(1000, 1999)
	if err := dstC.Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 1).Err(); err != nil { // a retry would stall, not finish
		t.Fatal(err)
	}
	if n, err := dstC.Do(ctx, "CLUSTER", "MIGRATION", "CANCEL", "ID", id).Int(); err != nil || n != 1 {
		t.Fatalf("CANCEL ID of the failed task: %d, %v", n, err)
	}
	dstC.Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 0)
	cancelled := migrationTasks(t, dstC, "ID", id)[0]
	time.Sleep(2 * importRetryPeriod)
	if tasks := migrationTasks(t, dstC, "ID", id); len(tasks) != 1 || tasks[0]["state"] != "canceled" || tasks[0]["retries"] != cancelled["retries"] {
		t.Fatalf("a cancelled failed task: %v, then %v", cancelled, tasks)
	}
	if owner := ownerOf(t, nodes, 1000); owner != source {
		t.Fatal("slot 1000 changed owner after its failed task was cancelled")
	}
}

// importRetryPeriod is how often redis-server 8.4 starts a failed import again.
const importRetryPeriod = time.Second
