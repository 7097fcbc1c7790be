package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisCLIAdministersPasswordProtectedEngineCluster: the rest of the
// real `redis-cli --cluster` toolbox works on engine processes that require
// a password: add-node (master and replica), rebalance onto an empty master
// (MIGRATE ... AUTH between engine nodes), del-node, call, info and fix of
// an open slot, with every key kept.
func TestRedisCLIAdministersPasswordProtectedEngineCluster(t *testing.T) {
	opts := Options{Cluster: true, Password: "s3cret"}
	nodes := StartN(t, 3, opts)
	createCluster(t, nodes, 0)
	seed := nodes[0]
	admin := func(args ...string) string {
		t.Helper()
		r := redisCLI(t, withAuth(seed, append([]string{"--cluster"}, args...)...)...)
		if r.Code != 0 || strings.Contains(r.Stdout, "[ERR]") {
			t.Fatalf("redis-cli --cluster %s: exit %d\n%s", strings.Join(args, " "), r.Code, lastLines(r.Output(), 30))
		}
		return r.Stdout
	}
	ctx := context.Background()
	anon := redis.NewClient(&redis.Options{Addr: seed.Addr()})
	defer anon.Close()
	if err := anon.Get(ctx, "k").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Fatalf("GET without the password: %v", err)
	}
	cc := clusterClient(t, nodes)
	const keys = 3000
	p := cc.Pipeline()
	for i := range keys {
		p.Set(ctx, fmt.Sprint("k:", i), i, 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatalf("write %d keys: %v", keys, err)
	}
	checkKeys := func(when string) {
		t.Helper()
		cc := clusterClient(t, nodes[:1])
		for i := range keys {
			if v, err := cc.Get(ctx, fmt.Sprint("k:", i)).Int(); err != nil || v != i {
				t.Fatalf("%s: k:%d = %d, %v", when, i, v, err)
			}
		}
	}

	// a new empty master, then rebalance moves a quarter of the slots to it
	fresh := Start(t, opts)
	admin("add-node", fresh.Addr(), seed.Addr())
	nodes = append(nodes, fresh)
	waitHealthy(t, nodes, 20*time.Second)
	admin("rebalance", seed.Addr(), "--cluster-use-empty-masters")
	waitHealthy(t, nodes, 20*time.Second)
	if n, _ := strconv.Atoi(cliOK(t, fresh, "DBSIZE")); n < keys/8 {
		t.Fatalf("after rebalance the new master holds %d of %d keys", n, keys)
	}
	checkKeys("after rebalance")

	// a replica for it, which then is deleted again
	replica := Start(t, opts)
	admin("add-node", replica.Addr(), seed.Addr(), "--cluster-slave", "--cluster-master-id", nodeID(t, fresh))
	nodes = append(nodes, replica)
	waitFor(t, 20*time.Second, "new replica in sync", func() string {
		if f := myself(t, replica); !strings.Contains(f[2], "slave") {
			return "replica says " + strings.Join(f, " ")
		}
		if r, m := cliOK(t, replica, "DBSIZE"), cliOK(t, fresh, "DBSIZE"); r != m {
			return fmt.Sprintf("replica has %s keys, master %s", r, m)
		}
		return ""
	})
	out := waitHealthy(t, nodes, 20*time.Second)
	if !strings.Contains(out, "1 additional replica(s)") {
		t.Fatalf("check does not show the new replica:\n%s", out)
	}
	replicaID := nodeID(t, replica)
	admin("del-node", seed.Addr(), replicaID)
	nodes = nodes[:4]
	waitHealthy(t, nodes, 20*time.Second)
	for _, n := range nodes {
		if strings.Contains(cliOK(t, n, "CLUSTER", "NODES"), replicaID) {
			t.Fatalf("%s still knows the deleted node", n.Addr())
		}
	}
	if info := cliOK(t, replica, "CLUSTER", "INFO"); !strings.Contains(info, "cluster_known_nodes:1") {
		t.Fatalf("the deleted node was not reset:\n%s", info)
	}

	// call and info see every key
	total := 0
	for _, l := range strings.Split(admin("call", seed.Addr(), "DBSIZE"), "\n") {
		if _, v, ok := strings.Cut(l, ": "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil {
				total += n
			}
		}
	}
	if total != keys {
		t.Fatalf("redis-cli --cluster call DBSIZE sums to %d, want %d", total, keys)
	}
	if out := admin("info", seed.Addr()); !strings.Contains(out, fmt.Sprintf("[OK] %d keys in 4 masters.", keys)) {
		t.Fatalf("redis-cli --cluster info:\n%s", out)
	}

	// fix closes a slot left open on one side
	var owner *Node
	for _, n := range nodes {
		if strings.HasPrefix(mySlots(t, n), "0-") || strings.HasPrefix(mySlots(t, n), "0 ") {
			owner = n
		}
	}
	if owner == nil {
		t.Fatal("no node owns slot 0")
	}
	other := nodes[0]
	if other == owner {
		other = nodes[1]
	}
	cliOK(t, owner, "CLUSTER", "SETSLOT", "0", "MIGRATING", nodeID(t, other))
	if _, problem := healthy(t, nodes); !strings.Contains(problem, "open") {
		t.Fatalf("check does not report the open slot: %s", problem)
	}
	admin("fix", seed.Addr())
	waitHealthy(t, nodes, 20*time.Second)
	checkKeys("after fix")
}
