package engine

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/migrate"
)

// TestAtomicImportWaitsForTheTargetsReplica: the target's replica is
// frozen (SIGSTOP) while a migration runs. The target must not take the
// slots, since the source would then drop keys that only the target holds
// and a failover of the target would lose them: the migration fails, the
// source keeps its slots and every key, and all of them move once the
// replica is back.
func TestAtomicImportWaitsForTheTargetsReplica(t *testing.T) {
	e := startEngineCluster(t, "--enable-debug-command", "yes")
	const preN = 5000
	ctx := context.Background()
	source, target, start := stalledPair(t, e)
	replica := replicaOf(t, e, target)
	// Node.Signal waits for an exit; a freeze is sent by PID.
	pid := replica.PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	// Written after the freeze, so the replica lacks them all.
	tag := keyInSlots(t, source, start, start)
	for i := range preN {
		k := fmt.Sprintf("{%s}:%d", tag, i)
		if err := e.cc.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := source.Client().Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", start, start, "NODE", myID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := target.Client().Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The target waits up to 20 s for the replica to take the snapshot,
	// then up to 2 s inside the source's pause.
	// Once the target refused the claim, the source must end its write
	// pause at once, not hold it until the pause's 10 s timeout.
	var last []migrate.SlotMigration
	var targetGaveUp time.Time
	deadline := time.Now().Add(45 * time.Second)
	for {
		if imports, _ := migrate.SlotMigrations(ctx, target.Client()); targetGaveUp.IsZero() && len(imports) > 0 && !imports[0].InProgress() {
			targetGaveUp = time.Now()
		}
		last, _ = migrate.SlotMigrations(ctx, source.Client())
		if len(last) > 0 && !last[0].InProgress() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the migration still runs after 45 s: %+v", last)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !targetGaveUp.IsZero() {
		if held := time.Since(targetGaveUp); held > 3*time.Second {
			t.Fatalf("the source kept its write pause %v after the target gave the import up", held.Round(time.Millisecond))
		}
	}
	if last[0].State != "failed" {
		t.Fatalf("the migration ended %q (%s) while the target's replica was frozen; want failed", last[0].State, last[0].Message)
	}
	if n := source.Client().ClusterCountKeysInSlot(ctx, start).Val(); n != preN {
		t.Fatalf("the source holds %d of the slot's %d keys after the failed migration", n, preN)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := source.Client().Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", start, start, "NODE", myID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(t, func() bool {
		jobs, _ := migrate.SlotMigrations(ctx, source.Client())
		return len(jobs) > 0 && jobs[0].State == "success"
	}) {
		jobs, _ := migrate.SlotMigrations(ctx, source.Client())
		t.Fatalf("the migration did not succeed once the replica was back: %+v", jobs)
	}
	if n := target.Client().ClusterCountKeysInSlot(ctx, start).Val(); n != preN {
		t.Fatalf("the target holds %d of the slot's %d keys", n, preN)
	}
	settled(t, e)
}
