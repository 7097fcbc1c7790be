package admin

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/topology"
)

// A migration waits until its target's replicas finished their first
// sync: keys MIGRATE hands to a target whose replica is still waiting for
// its snapshot would be lost with the target. The replica here waits
// about 2 s for a diskless snapshot (repl-diskless-sync-delay).
func TestMigrationWaitsForTargetReplicaSync(t *testing.T) {
	hc := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	ctx := context.Background()
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c := hc.Topology(t)
	masters := c.Masters()
	source, target := masters[0], masters[2]
	for _, kv := range [][2]string{{"repl-diskless-sync", "yes"}, {"repl-diskless-sync-delay", "2"}} {
		if err := pool.Get(target.Addr()).ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	replica := redistest.Start(t, redistest.Options{Cluster: true, Flavor: hc.Flavor})
	if err := pool.Get(replica.Addr()).ClusterMeet(ctx, target.Host, strconv.Itoa(target.Port)).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pool.Get(replica.Addr()).Do(ctx, "CLUSTER", "REPLICATE", target.ID).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the new node never learned the target")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		info, _ := pool.Get(target.Addr()).Info(ctx, "replication").Result()
		if strings.Contains(info, "connected_slaves:1") {
			if strings.Contains(info, "state=online") {
				t.Fatalf("the replica synced at once; the test needs it to wait:\n%s", info)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica never connected:\n%s", info)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var topo *topology.Cluster
	for { // the seed's view must list the new replica
		if topo, err = topology.Load(ctx, pool, target.Addr()); err != nil {
			t.Fatal(err)
		}
		if len(topo.Nodes) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica never appeared in the target's view")
		}
		time.Sleep(20 * time.Millisecond)
	}
	job := migrate.Job{Moves: []migrate.Move{{Slot: source.Slots.Slots()[0],
		Source: migrate.Node{ID: source.ID, Addr: source.Addr()}, Target: migrate.Node{ID: target.ID, Addr: target.Addr()}}}}
	if behind := waitTargetReplicasOnline(ctx, pool, topo, job, replicaSyncWait); behind != "" {
		t.Fatalf("replicas still behind: %s", behind)
	}
	info, _ := pool.Get(target.Addr()).Info(ctx, "replication").Result()
	if !strings.Contains(info, "state=online") {
		t.Fatalf("returned before the replica was in sync:\n%s", info)
	}
}
