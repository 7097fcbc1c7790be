package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
)

// TestFixReleasesOldClaimBeforeNewOwnerClaims: an open slot whose owner
// holds fewer keys than a master that does not own it has no single clear
// owner; fix gives the slot to the master with the most keys and moves the
// old owner's keys there. The old owner must give up its claim before the
// new owner claims the slot with a new epoch: an engine node spreads that
// claim at once, and a master that still owns a slot with keys when a
// newer claim arrives deletes them (fault campaign seed 11107: 200 writes
// lost; the Valkey pass of TestApplyAfterSIGKILL lost a key the same way).
func TestFixReleasesOldClaimBeforeNewOwnerClaims(t *testing.T) {
	e := startEngineCluster(t)
	ctx := context.Background()
	ms := e.masters(t)
	oldOwner, holder, third := ms[0], ms[1], ms[2]
	slots, err := oldOwner.Client().ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	first := -1
	for _, s := range slots {
		if s.Nodes[0].ID == myID(t, oldOwner) {
			first = int(s.Start)
		}
	}
	// Many slots in that state: each is a race between the new owner's
	// claim on the cluster bus and fix's next command.
	const open = 20
	want := map[string]string{}
	hc := holder.Client()
	for sl := first; sl < first+open; sl++ {
		tag := tagInSlot(sl)
		for i := range 3 {
			k := fmt.Sprintf("%s:owner:%d", tag, i)
			if err := e.cc.Set(ctx, k, "on-old-owner", 0).Err(); err != nil {
				t.Fatal(err)
			}
			want[k] = "on-old-owner"
		}
		// Keys on a master that does not own the slot, as a crash in the
		// middle of a migration leaves them: more than the owner holds.
		if err := hc.Do(ctx, "CLUSTER", "SETSLOT", sl, "IMPORTING", myID(t, oldOwner)).Err(); err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			k := fmt.Sprintf("%s:holder:%d", tag, i)
			pipe := hc.Pipeline()
			pipe.Do(ctx, "ASKING")
			set := pipe.Set(ctx, k, "on-holder", 0)
			pipe.Exec(ctx)
			if err := set.Err(); err != nil {
				t.Fatalf("SET %s on the holder: %v", k, err)
			}
			want[k] = "on-holder"
		}
		if err := hc.Do(ctx, "CLUSTER", "SETSLOT", sl, "STABLE").Err(); err != nil {
			t.Fatal(err)
		}
		if err := oldOwner.Client().Do(ctx, "CLUSTER", "SETSLOT", sl, "MIGRATING", myID(t, third)).Err(); err != nil {
			t.Fatal(err)
		}
	}

	r := harness.Run(t, "fix", e.seed(), "--yes")
	if r.Code != 0 {
		t.Fatalf("gocluster fix: exit %d\n%s", r.Code, r.Output())
	}
	if ownerOf(t, holder, first) != myID(t, holder) {
		t.Fatalf("fix did not give slot %d to the master with the most keys:\n%s", first, r.Stdout)
	}
	settled(t, e)
	for k, v := range want {
		if got, err := e.cc.Get(ctx, k).Result(); err != nil || got != v {
			t.Errorf("after fix, GET %s (slot %d) = %q, %v; want %q", k, slotOf(t, holder, k), got, err, v)
		}
	}
	if n := e.totalKeys(t); n != int64(len(want)) {
		t.Fatalf("the masters hold %d keys, want %d", n, len(want))
	}
}
