package provision

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// TestLifecycleOnThreeHosts walks one cluster through the issue: create on
// three "hosts", add masters and a replica and reshard / rebalance with
// real redis-cli right after each add-node, then del-node of a replica, a
// master with slots (refused), an empty master with a replica, and a node
// that was killed.
func TestLifecycleOnThreeHosts(t *testing.T) {
	nodes := redistest.StartNodes(t, 6, fastNodes, threeHosts...)
	spare := redistest.StartNodes(t, 5, fastNodes, threeHosts...)
	seed := nodes[0].Addr()

	r := mustRun(t, append(append([]string{"create"}, addrs(nodes)...), "--replicas", "1", "--yes", "--wait-ok")...)
	contains(t, r, ">>> Performing hash slots allocation on 6 nodes...", "Master[0] -> Slots 0 - 5460",
		"Master[2] -> Slots 10923 - 16383",
		">>> Performing Cluster Check (using node "+seed+")", "[OK] All 16384 slots covered.")
	// create returns only once every node agrees: no polling here.
	redisCheck(t, seed)
	for _, n := range nodes {
		noReplicaOnMasterHost(t, n)
	}
	writeKeys(t, seed, 500)

	t.Run("add master then redis-cli rebalance at once", func(t *testing.T) {
		b := spare[1]
		mustRun(t, "add-node", b.Addr(), nodes[1].Addr())
		id := myself(t, b).ID
		for _, n := range nodes {
			if !knows(t, n, id) {
				t.Fatalf("%s does not know the new node right after add-node", n.Addr())
			}
		}
		// A small weight keeps the move short: about 500 slots.
		rr := harness.RedisCLI(t, "--cluster", "rebalance", seed, "--cluster-use-empty-masters",
			"--cluster-weight", id+"=0.1")
		if rr.Code != 0 || strings.Contains(rr.Output(), "[ERR]") {
			t.Fatalf("redis-cli rebalance right after add-node failed (%d):\n%s", rr.Code, tail(rr.Output()))
		}
		if myself(t, b).Slots.Len() == 0 {
			t.Fatalf("rebalance gave the new master no slots")
		}
	})

	t.Run("add master then redis-cli reshard at once", func(t *testing.T) {
		a := spare[0]
		mustRun(t, "add-node", a.Addr(), seed) // waits for the rebalance above to settle
		id := myself(t, a).ID
		rr := harness.RedisCLI(t, "--cluster", "reshard", seed, "--cluster-from", "all", "--cluster-to", id,
			"--cluster-slots", "200", "--cluster-yes")
		if rr.Code != 0 || strings.Contains(rr.Output(), "[ERR]") {
			t.Fatalf("redis-cli reshard right after add-node failed (%d):\n%s", rr.Code, tail(rr.Output()))
		}
		if got := myself(t, a).Slots.Len(); got < 190 || got > 200 {
			t.Fatalf("new master serves %d slots after reshard of 200 (redis-cli rounds per source)", got)
		}
		settledCheck(t, seed)
		countKeys(t, seed, 500)
	})

	t.Run("add replica then del-node it", func(t *testing.T) {
		c := spare[2]
		r := mustRun(t, "add-node", c.Addr(), seed, "--cluster-slave")
		contains(t, r, "Automatically selected master", "[OK] New node added correctly.")
		me := myself(t, c)
		if !me.IsReplica() {
			t.Fatalf("%s is not a replica after add-node --replica: %v", c.Addr(), me.Flags)
		}
		// The masters without replicas were the two added above.
		if m := masterAddr(t, nodes[0], me.MasterID); m != spare[0].Addr() && m != spare[1].Addr() {
			t.Errorf("replica went to %s, want a master with no replica (%s or %s)", m, spare[0].Addr(), spare[1].Addr())
		}
		redisCheck(t, seed)
		dry := mustRun(t, "del-node", seed, c.Addr(), "--dry-run")
		contains(t, dry, "Would make 8 node(s) forget "+c.Addr(), "then reset and shut it down", "Dry run: no node was changed.")
		if !knows(t, nodes[0], me.ID) {
			t.Fatalf("del-node --dry-run removed the node")
		}
		r = mustRun(t, "del-node", seed, me.ID)
		contains(t, r, ">>> Sending CLUSTER FORGET messages to the cluster...", "Sending CLUSTER RESET SOFT")
		for _, n := range nodes {
			if knows(t, n, me.ID) {
				t.Fatalf("%s still knows the deleted replica", n.Addr())
			}
		}
		waitExited(t, c)
		redisCheck(t, seed)
	})

	t.Run("master with slots is refused", func(t *testing.T) {
		before := states(t, nodes)
		id := myself(t, spare[0]).ID
		r := harness.Run(t, "del-node", seed, id)
		if r.Code != 1 || !strings.Contains(r.Stderr, "is not empty") || !strings.Contains(r.Stderr, "reshard") ||
			!strings.Contains(r.Stderr, spare[0].Addr()) {
			t.Fatalf("want a refusal naming the node and how to empty it, got exit %d:\n%s", r.Code, r.Output())
		}
		expectUntouched(t, nodes, before)
	})

	t.Run("empty master with a replica, right after add-node", func(t *testing.T) {
		d, e := spare[3], spare[4]
		dry := mustRun(t, "add-node", d.Addr(), seed, "--dry-run", "--json")
		if !strings.Contains(dry.Stdout, `"dry_run": true`) || !strings.Contains(dry.Stdout, `"role": "master"`) || len(view(t, d)) != 1 {
			t.Fatalf("add-node --dry-run --json: %s (node knows %d nodes)", dry.Output(), len(view(t, d)))
		}
		mustRun(t, "add-node", d.Addr(), seed)
		dID := myself(t, d).ID
		mustRun(t, "add-node", e.Addr(), seed, "--master-id", dID[:10])
		if got := myself(t, e).MasterID; got != dID {
			t.Fatalf("replica follows %s, want %s", got, dID)
		}
		r := mustRun(t, "del-node", seed, dID, "--no-shutdown")
		contains(t, r, e.Addr()+" as replica of ")
		for _, n := range append(nodes, e) {
			if knows(t, n, dID) {
				t.Fatalf("%s still knows the deleted master", n.Addr())
			}
		}
		if v := view(t, d); len(v) != 1 {
			t.Errorf("deleted node was not reset: it knows %d nodes", len(v))
		}
		if m := myself(t, e); !m.IsReplica() || m.MasterID == dID {
			t.Errorf("replica of the deleted master was not moved: %v master %s", m.Flags, m.MasterID)
		}
		redisCheck(t, seed)
	})

	t.Run("killed node", func(t *testing.T) {
		e := spare[4]
		id := myself(t, e).ID
		e.Kill()
		r := mustRun(t, "del-node", seed, id)
		contains(t, r, "is down")
		for _, n := range nodes {
			if knows(t, n, id) {
				t.Fatalf("%s still knows the killed node", n.Addr())
			}
		}
		redisCheck(t, seed)
		if gc := harness.Run(t, "check", seed); gc.Code != 0 {
			t.Fatalf("gocluster check after del-node of a dead node: %d\n%s", gc.Code, gc.Output())
		}
	})

	if harness.Run(t, "reshard", "--help").Code == 0 {
		t.Run("gocluster reshard right after add-node", func(t *testing.T) {
			f := redistest.StartNodes(t, 1, fastNodes, "127.0.0.2")[0]
			mustRun(t, "add-node", f.Addr(), seed)
			mustRun(t, "reshard", seed, "--from", myself(t, spare[0]).ID, "--to", myself(t, f).ID, "--slots", "100", "--yes")
			if got := myself(t, f).Slots.Len(); got != 100 {
				t.Fatalf("new master serves %d slots after gocluster reshard, want 100", got)
			}
			redisCheck(t, seed)
		})
	} else {
		t.Log("gocluster reshard is not available yet: only redis-cli reshard/rebalance were exercised")
	}
}

func masterAddr(t *testing.T, s *redistest.Server, id string) string {
	t.Helper()
	for _, n := range view(t, s) {
		if n.ID == id {
			return n.Addr()
		}
	}
	return "unknown " + id
}

func writeKeys(t *testing.T, seed string, n int) {
	t.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{seed}})
	defer c.Close()
	ctx := context.Background()
	for i := range n {
		if err := c.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET through the new cluster: %v", err)
		}
	}
}

func countKeys(t *testing.T, seed string, n int) {
	t.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{seed}})
	defer c.Close()
	ctx := context.Background()
	var wrong []string
	for i := range n {
		key := fmt.Sprintf("key:%d", i)
		if v, err := c.Get(ctx, key).Int(); err != nil || v != i {
			wrong = append(wrong, fmt.Sprintf("%s (slot %d) = %d, %v", key, slots.Slot(key), v, err))
		}
	}
	if len(wrong) > 0 {
		t.Fatalf("%d of %d keys wrong after resharding: %s", len(wrong), n, strings.Join(wrong[:min(len(wrong), 20)], "; "))
	}
}

// waitExited waits for the shut down server's port to stop answering.
func waitExited(t *testing.T, s *redistest.Server) {
	t.Helper()
	c := s.Client()
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c.Ping(context.Background()).Err() != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s still answers after del-node shut it down", s.Addr())
}

func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}
