package migrate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/conn"
)

// TestRunFencesAReplicaTheTargetDoesNotList: a replica may be connected to
// the target, and electable by the other masters, before the target's own
// CLUSTER NODES lists it as its replica (just after create or add-node;
// CLUSTER FORGET makes that state last here). Keys must still stay on the
// source until that replica has them: it is paused, so they stay until it
// resumes, and then they move.
func TestRunFencesAReplicaTheTargetDoesNotList(t *testing.T) {
	ctx := context.Background()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	pool, err := conn.NewPool(conn.Options{})
	must(t, err)
	t.Cleanup(pool.Close)
	tc := &testCluster{Cluster: c, pool: pool}
	tc.reload(t)
	src, dst := tc.masters[0], tc.masters[1]
	replicas := tc.topo.ReplicasOf(dst.ID)
	if len(replicas) != 1 {
		t.Fatalf("target %s has %d replicas, want 1", dst.Addr(), len(replicas))
	}
	replica := pool.Get(replicas[0].Addr())
	target, source := pool.Get(dst.Addr()), pool.Get(src.Addr())

	moving := firstSlots(src, 2)
	const perSlot = 30
	for _, s := range moving {
		for _, k := range keysIn(s, perSlot) {
			must(t, source.Set(ctx, k, "v-"+k, 0).Err())
		}
	}
	harness.WaitFor(t, 10*time.Second, "the target's replica to be in sync", func() bool {
		return strings.Contains(target.Info(ctx, "replication").Val(), "state=online")
	})
	// Replication can be online before the target's gossip has finished
	// the handshake with its replica; FORGET needs the node known.
	harness.WaitFor(t, 10*time.Second, "the target to know its replica", func() bool {
		return strings.Contains(target.ClusterNodes(ctx).Val(), replicas[0].ID)
	})
	must(t, target.Do(ctx, "CLUSTER", "FORGET", replicas[0].ID).Err())
	// A replica paused for writes still answers, but applies nothing of
	// its master's stream until unpaused (redis 7 and Valkey 8 alike).
	must(t, replica.Do(ctx, "CLIENT", "PAUSE", "60000", "WRITE").Err())
	t.Cleanup(func() { replica.Do(ctx, "CLIENT", "UNPAUSE") })

	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Run(ctx, pool, tc.job(moving, src, dst), Options{})
		done <- outcome{res, err}
	}()
	harness.WaitFor(t, 10*time.Second, "the target to hold copies of the moving slots' keys", func() bool {
		for _, s := range moving {
			if target.ClusterCountKeysInSlot(ctx, s).Val() != perSlot {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // what MIGRATE would delete is deleted by now
	for _, s := range moving {
		if n := source.ClusterCountKeysInSlot(ctx, s).Val(); n != perSlot {
			t.Fatalf("slot %d: the source holds %d of %d keys while the target's replica, paused, has none of them", s, n, perSlot)
		}
	}
	must(t, replica.Do(ctx, "CLIENT", "UNPAUSE").Err())
	select {
	case o := <-done:
		if o.err != nil || o.res.Err() != nil {
			t.Fatalf("Run: %v / %v", o.err, o.res.Err())
		}
		if o.res.Keys != perSlot*len(moving) {
			t.Fatalf("Run moved %d keys, want %d", o.res.Keys, perSlot*len(moving))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run still going 15 s after the replica resumed")
	}
	for _, s := range moving {
		if n := source.ClusterCountKeysInSlot(ctx, s).Val(); n != 0 {
			t.Fatalf("slot %d: the source still holds %d keys", s, n)
		}
		if n := target.ClusterCountKeysInSlot(ctx, s).Val(); n != perSlot {
			t.Fatalf("slot %d: the target holds %d of %d keys", s, n, perSlot)
		}
	}
}
