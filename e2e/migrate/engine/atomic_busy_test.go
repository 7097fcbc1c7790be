package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/slots"
)

// keyInSlot returns a key named after prefix that hashes to slot.
func keyInSlot(slot int, prefix string) string {
	for i := 0; ; i++ {
		if k := fmt.Sprintf("%s{%d}", prefix, i); slots.Slot(k) == slot {
			return k
		}
	}
}

// TestAtomicReshardBusyKey: the target already holds a key in a slot it
// is to receive (left by an interrupted move). Atomic migration would
// replace it without a word, so that slot moves with MIGRATE, which stops
// on it as redis-cli does: without --replace the reshard fails naming the
// key, the source keeps its value and the other slots do not move; with
// --replace every slot moves and the source's value wins.
func TestAtomicReshardBusyKey(t *testing.T) {
	e := startEngineCluster(t)
	ctx := context.Background()
	// The two first masters with slots in the seed's view, once it lists
	// all three (a node's ROLE can say master before its REPLICATE).
	var src, dst *engine.Node
	var owned []int
	waitUntil(t, func() bool {
		src, dst, owned = nil, nil, nil
		for _, line := range strings.Split(e.nodes[0].Client().Do(ctx, "CLUSTER", "NODES").String(), "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || !strings.Contains(f[2], "master") {
				continue
			}
			addr := strings.Split(f[1], "@")[0]
			for _, n := range e.nodes {
				if n.Addr() != addr {
					continue
				}
				switch {
				case src == nil:
					src = n
					r, _ := slots.ParseRange(f[8])
					for s := r.Start; s <= r.End; s++ {
						owned = append(owned, s)
					}
				case dst == nil:
					dst = n
				}
			}
		}
		return src != nil && dst != nil && len(owned) >= 3
	})
	if src == nil || dst == nil || len(owned) < 3 {
		t.Fatalf("no two masters with slots in %s's view", e.seed())
	}
	srcID, dstID := myID(t, src), myID(t, dst)
	busySlot := owned[1]
	busy := keyInSlot(busySlot, "busy")
	plain := keyInSlot(owned[0], "plain")
	for _, k := range []string{busy, plain} {
		if err := e.cc.Set(ctx, k, "source", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	pipe := dst.Client().Pipeline()
	pipe.Do(ctx, "CLUSTER", "SETSLOT", busySlot, "IMPORTING", srcID)
	pipe.Do(ctx, "ASKING")
	pipe.Set(ctx, busy, "target", 0)
	pipe.Do(ctx, "CLUSTER", "SETSLOT", busySlot, "STABLE")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("planting a key on the target: %v", err)
	}

	r := harness.Run(t, "reshard", e.seed(), "--from", srcID, "--to", dstID, "--slots", "3", "--atomic", "always", "--yes")
	if r.Code != 1 || !strings.Contains(r.Output(), busy) || !strings.Contains(r.Output(), "--replace") {
		t.Fatalf("busy key without --replace: exit %d, want 1 naming %s and --replace:\n%s", r.Code, busy, r.Output())
	}
	if v, _ := e.cc.Get(ctx, busy).Result(); v != "source" {
		t.Fatalf("%s = %q after the refused move, want the source's value", busy, v)
	}
	if n, _ := src.Client().ClusterCountKeysInSlot(ctx, owned[0]).Result(); n == 0 {
		t.Fatalf("slot %d left the source although the move stopped at the busy slot", owned[0])
	}
	// Close the slot the MIGRATE pipeline left open, as the operator would
	// (the source still has the key, so it keeps the slot), then move
	// with --replace.
	for _, n := range e.masters(t) {
		n.Client().Do(ctx, "CLUSTER", "SETSLOT", busySlot, "STABLE")
	}
	r = harness.Run(t, "reshard", e.seed(), "--from", srcID, "--to", dstID, "--slots", "3", "--atomic", "always", "--replace", "--yes")
	if r.Code != 0 {
		t.Fatalf("busy key with --replace: exit %d:\n%s", r.Code, r.Output())
	}
	for _, k := range []string{busy, plain} {
		if v, err := e.cc.Get(ctx, k).Result(); v != "source" {
			t.Fatalf("%s after --replace = %q, %v; want the source's value", k, v, err)
		}
	}
	if !strings.Contains(r.Output(), "move with MIGRATE") {
		t.Fatalf("the reshard did not say why a slot took the MIGRATE pipeline:\n%s", r.Output())
	}
	settled(t, e)
}
