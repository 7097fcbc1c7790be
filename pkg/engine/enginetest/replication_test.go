package enginetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestReplicasCopyDataAndSurviveFailover: replicas made by redis-cli
// --cluster create receive their master's data (snapshot and live stream);
// when a master dies, its replica is promoted with the data intact.
func TestReplicasCopyDataAndSurviveFailover(t *testing.T) {
	nodes := startClusterNodes(t, 6)
	createCluster(t, nodes, 1)
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(nodes), MaxRedirects: 16})
	t.Cleanup(func() { cc.Close() })
	for i := range 500 {
		key := fmt.Sprint("r:", i)
		if err := cc.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		cc.SAdd(ctx, "{r:1}set", i)
	}
	cc.Set(ctx, "{r:1}ttl", "x", time.Hour)
	cc.SPop(ctx, "{r:1}set") // random effect: replicated as the resulting set
	master := masterOf(t, cc, nodes, "r:1")
	replica := replicaOf(t, nodes, master)
	rc := client(t, replica.Addr())
	mc := client(t, master.Addr())
	waitFor(t, 10*time.Second, "replica to catch up", func() bool {
		return rc.DBSize(ctx).Val() == mc.DBSize(ctx).Val() && rc.DBSize(ctx).Val() > 0
	})
	if n := mc.Do(ctx, "WAIT", 1, 1000).Val(); n != int64(1) {
		t.Fatalf("WAIT 1 = %v", n)
	}
	rc.Do(ctx, "READONLY")
	if got := rc.SCard(ctx, "{r:1}set").Val(); got != 499 || got != mc.SCard(ctx, "{r:1}set").Val() {
		t.Fatalf("replica set size %d", got)
	}
	if ttl := rc.TTL(ctx, "{r:1}ttl").Val(); ttl < 59*time.Minute {
		t.Fatalf("replica TTL %v", ttl)
	}
	if info := mc.Info(ctx, "replication").Val(); !strings.Contains(info, "connected_slaves:1") {
		t.Fatalf("master INFO replication:\n%s", info)
	}
	if info := rc.Info(ctx, "replication").Val(); !strings.Contains(info, "role:slave") || !strings.Contains(info, "master_link_status:up") {
		t.Fatalf("replica INFO replication:\n%s", info)
	}
	// a replica added later gets the existing data through the snapshot
	late := startClusterNodes(t, 1)[0]
	out := redisCLI(t, "--cluster", "add-node", late.Addr(), master.Addr(), "--cluster-slave",
		"--cluster-master-id", nodeID(t, master))
	if !strings.Contains(out, "[OK] New node added correctly.") {
		t.Fatalf("add-node:\n%s", out)
	}
	lc := client(t, late.Addr())
	waitFor(t, 10*time.Second, "late replica full sync", func() bool {
		return lc.DBSize(ctx).Val() == mc.DBSize(ctx).Val()
	})
	lc.Do(ctx, "READONLY")
	if v := lc.Get(ctx, "r:1").Val(); v != "1" {
		t.Fatalf("late replica r:1 = %q", v)
	}
	if err := rc.FlushAll(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
		t.Fatalf("FLUSHALL on a replica: %v", err)
	}
	if err := rc.Set(ctx, "r:1", "x", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "MOVED") {
		t.Fatalf("write on a replica: %v", err)
	}

	master.Close() // the master dies; its replica must take over with the data
	waitFor(t, 20*time.Second, "failover to one of the two replicas", func() bool {
		return strings.Contains(rc.Info(ctx, "replication").Val(), "role:master") ||
			strings.Contains(lc.Info(ctx, "replication").Val(), "role:master")
	})
	after := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{rc.Options().Addr}}) // fresh slot map
	t.Cleanup(func() { after.Close() })
	for i := range 500 {
		key := fmt.Sprint("r:", i)
		v, err := after.Get(ctx, key).Int()
		if err != nil || v != i {
			t.Fatalf("after failover %s = %d, %v", key, v, err)
		}
	}
}

// masterOf returns the engine node serving key's slot.
func masterOf(t *testing.T, cc *redis.ClusterClient, nodes []*clusterNode, key string) *clusterNode {
	t.Helper()
	m, err := cc.MasterForKey(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Addr() == m.Options().Addr {
			return n
		}
	}
	t.Fatalf("no engine node at %s", m.Options().Addr)
	return nil
}

// replicaOf returns the node replicating master.
func replicaOf(t *testing.T, nodes []*clusterNode, master *clusterNode) *clusterNode {
	t.Helper()
	id := nodeID(t, master)
	for _, n := range nodes {
		if n == master {
			continue
		}
		nodesText := client(t, n.Addr()).ClusterNodes(context.Background()).Val()
		for _, l := range strings.Split(nodesText, "\n") {
			f := strings.Fields(l)
			if len(f) > 3 && strings.Contains(f[2], "myself") && strings.Contains(f[2], "slave") && f[3] == id {
				return n
			}
		}
	}
	t.Fatalf("no replica of %s", master.Addr())
	return nil
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
