package engine

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/e2e/harness"
)

// TestAtomicHandOverSurvivesSourceDeath: the source dies after the target
// claimed the slots but before it dropped its own copies (DEBUG
// SLOT-MIGRATION-DELAY-DROP holds it in that window), so its replica never
// sees the DROP. Promoted, the replica must not keep those copies: they are
// older than the target's, which clients went on changing, and fix would
// find one key with two values (fault campaign seed 11633).
func TestAtomicHandOverSurvivesSourceDeath(t *testing.T) {
	e := startEngineCluster(t, "--enable-debug-command", "yes")
	const preN = 5000
	harness.Preload(t, e.cc, preN)
	ctx := context.Background()
	ms := e.masters(t)
	source, target := ms[0], ms[1]
	replica := replicaOf(t, e, source)
	slots, err := source.Client().ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	mine := myID(t, source)
	start := -1
	for _, s := range slots {
		if s.Nodes[0].ID == mine {
			start = int(s.Start)
		}
	}
	end := start + 99
	key := keyInSlots(t, source, start, end)
	if err := e.cc.Set(ctx, key, "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := source.Client().Do(ctx, "DEBUG", "SLOT-MIGRATION-DELAY-DROP", 60000).Err(); err != nil {
		t.Fatal(err)
	}
	if err := source.Client().Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", start, end, "NODE", myID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	targetID := myID(t, target)
	if !waitUntil(t, func() bool { return ownerOf(t, target, start) == targetID }) {
		t.Fatal("the target never claimed the slots")
	}
	// The replica still holds its copy: the source has not dropped it.
	if n := replica.Client().Do(ctx, "CLUSTER", "COUNTKEYSINSLOT", slotOf(t, source, key)).Val(); n != int64(1) {
		t.Fatalf("the source's replica holds %v keys in the moved key's slot before the kill, want 1", n)
	}
	if err := target.Client().Set(ctx, key, "after", 0).Err(); err != nil {
		t.Fatal(err)
	}
	source.Signal(syscall.SIGKILL)
	if !waitUntil(t, func() bool {
		role, err := replica.Client().Do(ctx, "ROLE").Slice()
		return err == nil && role[0] == "master"
	}) {
		t.Fatal("the source's replica was not promoted")
	}
	if !waitUntil(t, func() bool {
		for slot := start; slot <= end; slot++ {
			if replica.Client().Do(ctx, "CLUSTER", "COUNTKEYSINSLOT", slot).Val() != int64(0) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("the promoted replica kept its stale copies of slots %d-%d", start, end)
	}
	source.Restart()
	settled(t, e)
	if v := e.cc.Get(ctx, key).Val(); v != "after" {
		t.Fatalf("%s = %q after the failover, want the target's %q", key, v, "after")
	}
	// Preload's keys of the moved slots are on the target only.
	harness.VerifyPreload(t, e.cc, preN)
	if n := e.totalKeys(t); n != preN+1 {
		t.Fatalf("the masters hold %d keys, want %d (a key in two places or lost)", n, preN+1)
	}
}

// ownerOf is the id of the master that n says serves slot.
func ownerOf(t *testing.T, n *engine.Node, slot int) string {
	t.Helper()
	slots, err := n.Client().ClusterSlots(context.Background()).Result()
	if err != nil {
		return ""
	}
	for _, s := range slots {
		if int(s.Start) <= slot && slot <= int(s.End) {
			return s.Nodes[0].ID
		}
	}
	return ""
}

func slotOf(t *testing.T, n *engine.Node, key string) int64 {
	t.Helper()
	slot, err := n.Client().ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return slot
}

// keyInSlots finds a key name whose slot is in [start, end].
func keyInSlots(t *testing.T, n *engine.Node, start, end int) string {
	t.Helper()
	for i := 0; ; i++ {
		k := fmt.Sprintf("handover:%d", i)
		if s := int(slotOf(t, n, k)); start <= s && s <= end {
			return k
		}
	}
}
