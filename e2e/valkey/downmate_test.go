package valkey

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// TestFixLeavesSlotOpenWhileTargetsOldPrimaryIsDown: a slot is open from A
// to the primary D, D dies with the import in its nodes.conf and its
// replica R takes over, importing the slot too. Finishing the migration
// towards R now would make A stop claiming the slot; Valkey 8 lets D,
// when it returns, take a slot it imports once its source gives it up,
// bumping its epoch without a vote, which also wins back D's whole shard:
// R turns replica and a full resync discards every write R acknowledged
// (fault campaign seed 50559: a target killed during fix, fix's second
// pass finishing towards the promoted replica; 128 to 628 writes lost).
// fix must leave the slot open and name D; once D is back, as a replica
// of R, fix finishes the slot, and every write is there.
func TestFixLeavesSlotOpenWhileTargetsOldPrimaryIsDown(t *testing.T) {
	runTargetsPrimaryDown(t, true, false)
}

// TestFixLeavesSlotOpenWhenSeedRefusesClusterShards: the same, with fix's
// seed refusing CLUSTER SHARDS (an ACL): fix reads the shards from
// another node instead of giving up.
func TestFixLeavesSlotOpenWhenSeedRefusesClusterShards(t *testing.T) {
	runTargetsPrimaryDown(t, true, true)
}

// TestFixReturnsSlotWhenSourceStillMigratesToDeadPrimary: the same, but A
// never heard that R took over from D (Valkey 8 retargets A's migration
// only if it already knew R and D share a shard), so R is no migration
// target: fix moves R's keys of the slot back to A, which keeps claiming
// it, so D has nothing to retake when it returns.
func TestFixReturnsSlotWhenSourceStillMigratesToDeadPrimary(t *testing.T) {
	runTargetsPrimaryDown(t, false, false)
}

// runTargetsPrimaryDown plays the scenario above, with A's migration
// pointing at R (retarget) or still at dead D; with seedNoShards, A (fix's
// seed) refuses CLUSTER SHARDS during the first fix.
func runTargetsPrimaryDown(t *testing.T, retarget, seedNoShards bool) {
	ctx := context.Background()
	c := newCluster(t, 3, 1)
	topo := c.Topology(t)
	const slot = 0
	var srcID string
	for _, m := range topo.Masters() {
		if m.Slots.Has(slot) {
			srcID = m.ID
		}
	}
	var dstID string
	var dstSlot int // one of D's own slots
	for _, m := range topo.Masters() {
		if m.ID != srcID {
			dstID, dstSlot = m.ID, m.Slots.Slots()[0]
			break
		}
	}
	byID := func(id string) *redistest.Server {
		for _, n := range c.Nodes {
			for _, tn := range topo.Nodes {
				if tn.ID == id && tn.Addr() == n.Addr() {
					return n
				}
			}
		}
		t.Fatalf("no node with ID %s", id)
		return nil
	}
	src, dst := byID(srcID), byID(dstID)
	replicaID := topo.ReplicasOf(dstID)[0].ID
	replica := byID(replicaID)
	sc, dc, rc := src.Client(), dst.Client(), replica.Client()
	defer sc.Close()
	defer dc.Close()
	defer rc.Close()

	// Keys of the open slot, half moved to D, as an interrupted migration leaves them.
	written := map[string]string{}
	var keys []string
	for i := 0; len(keys) < 20; i++ {
		if k := fmt.Sprintf("k%d", i); slots.Slot(k) == slot {
			keys = append(keys, k)
			written[k] = "v-" + k
			must(t, sc.Set(ctx, k, written[k], 0).Err())
		}
	}
	// Valkey replicates SETSLOT only to replicas online at the time: wait
	// for D's replica link first (under load it can still be syncing).
	waitFor(t, "D's replica to be online", func() bool { return dc.Do(ctx, "WAIT", 1, 100).Val() == int64(1) })
	must(t, dc.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err())
	must(t, sc.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err())
	host, port, _ := strings.Cut(dst.Addr(), ":")
	args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
	for _, k := range keys[:len(keys)/2] {
		args = append(args, k)
	}
	must(t, sc.Do(ctx, args...).Err())
	must(t, dc.Do(ctx, "WAIT", 1, 5000).Err())
	waitFor(t, "the replica to import the slot too (Valkey 8 replicates SETSLOT)", func() bool {
		return strings.Contains(myselfLine(t, replica), fmt.Sprintf("[%d-<-%s]", slot, srcID))
	})

	// Valkey 8.0.1 refuses its own nodes.conf at restart when it was killed
	// before its replicas' shard IDs settled (valkey-io/valkey#774): wait
	// until every shard D lists has its master.
	waitFor(t, "D's view of the shard IDs to settle", func() bool {
		shards, err := dc.ClusterShards(ctx).Result()
		if err != nil {
			return false
		}
		for _, sh := range shards {
			if !slices.ContainsFunc(sh.Nodes, func(n redis.Node) bool { return n.Role == "master" }) {
				return false
			}
		}
		return true
	})
	dst.Kill()
	must(t, rc.Do(ctx, "CLUSTER", "FAILOVER", "TAKEOVER").Err())
	waitFor(t, "the replica to serve the dead primary's slots in the source's view", func() bool {
		return ownerAddr(t, sc, dstSlot) == replica.Addr()
	})
	// Valkey 8 points A's migration at R when it hears of the takeover,
	// if it already knows both share a shard; set the state each test
	// wants rather than race that gossip.
	want := map[bool]string{true: replicaID, false: dstID}[retarget]
	if !strings.Contains(myselfLine(t, src), fmt.Sprintf("[%d->-%s]", slot, want)) {
		must(t, sc.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", want).Err())
	}
	// Writes the promoted replica acknowledges while D is down.
	cc := c.ClusterClient(t)
	for i := 0; len(written) < 60; i++ {
		k := fmt.Sprintf("after%d", i)
		if owner := ownerAddr(t, sc, slots.Slot(k)); owner == replica.Addr() {
			written[k] = "w-" + k
			must(t, cc.Set(ctx, k, written[k], 0).Err())
		}
	}

	if seedNoShards {
		must(t, sc.Do(ctx, "ACL", "SETUSER", "default", "-cluster|shards").Err())
		if err := sc.Do(ctx, "CLUSTER", "SHARDS").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Fatalf("the seed still answers CLUSTER SHARDS: %v", err)
		}
	}
	r := harness.Run(t, "fix", src.Addr(), "--yes")
	t.Logf("fix while %s is down:\n%s", dst.Addr(), r.Output())
	if seedNoShards {
		must(t, sc.Do(ctx, "ACL", "SETUSER", "default", "+cluster|shards").Err())
	}
	if retarget {
		// Finishing towards the promoted replica would hand D the slot.
		if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "left open") || !strings.Contains(r.Stdout+r.Stderr, dst.Addr()) {
			t.Fatalf("fix with the target's old primary down must leave slot %d open and name %s (exit %d):\n%s", slot, dst.Addr(), r.Code, r.Output())
		}
	} else {
		// The promoted replica is no migration target: fix moves its keys
		// back to the source, which keeps claiming the slot, and closes it.
		for _, n := range []*redistest.Server{src, replica} {
			if line := myselfLine(t, n); strings.Contains(line, fmt.Sprintf("[%d-", slot)) {
				t.Fatalf("slot %d still open on %s after fix: %s\n%s", slot, n.Addr(), line, r.Output())
			}
		}
	}
	if owner := ownerAddr(t, sc, slot); owner != src.Addr() {
		t.Fatalf("slot %d is served by %s, want its source %s to keep it", slot, owner, src.Addr())
	}

	if err := dst.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the old primary to rejoin as a replica", func() bool {
		return strings.Contains(myselfLine(t, dst), "slave")
	})
	if !strings.Contains(myselfLine(t, replica), "master") {
		t.Fatalf("the promoted replica lost its shard to the returning primary: %s", myselfLine(t, replica))
	}
	if r := harness.Run(t, "fix", src.Addr(), "--yes"); r.Code != 0 {
		t.Fatalf("fix once the old primary is back: exit %d:\n%s", r.Code, r.Output())
	}
	assertChecksAgree(t, c)
	for k, v := range written {
		if got, err := cc.Get(ctx, k).Result(); err != nil || got != v {
			t.Fatalf("GET %s = %q, %v; want %q", k, got, err, v)
		}
	}
	assertAllAlive(t, c)
}

// ownerAddr is the master serving slot in n's CLUSTER SLOTS.
func ownerAddr(t *testing.T, n *redis.Client, slot int) string {
	t.Helper()
	ranges, err := n.ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ranges {
		if slot >= int(r.Start) && slot <= int(r.End) {
			return r.Nodes[0].Addr
		}
	}
	return ""
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
