package enginetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestReshardUnderLoadLosesNothing moves 600 slots between engine masters
// with the real `redis-cli --cluster reshard` (SETSLOT, GETKEYSINSLOT,
// MIGRATE between engine nodes) while a go-redis ClusterClient keeps writing
// and reading; afterwards every acknowledged write must be readable.
func TestReshardUnderLoadLosesNothing(t *testing.T) {
	nodes := startClusterNodes(t, 3)
	createCluster(t, nodes, 0)
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(nodes), MaxRedirects: 16})
	t.Cleanup(func() { cc.Close() })
	for i := range 3000 { // existing data that the reshard must carry
		if err := cc.Set(ctx, fmt.Sprint("pre:", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	var acked sync.Map // key -> value of the last acknowledged write
	var writes, failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("live:%d:%d", w, i%500)
				val := fmt.Sprint(i)
				if err := cc.Set(ctx, key, val, 0).Err(); err != nil {
					failures.Add(1)
					continue
				}
				acked.Store(key, val)
				writes.Add(1)
			}
		}()
	}

	from, to := nodeID(t, nodes[0]), nodeID(t, nodes[1])
	out := redisCLI(t, "--cluster", "reshard", nodes[0].Addr(), "--cluster-from", from, "--cluster-to", to,
		"--cluster-slots", "600", "--cluster-yes", "--cluster-pipeline", "50")
	close(stop)
	wg.Wait()
	if strings.Contains(out, "[ERR]") {
		t.Fatalf("reshard reported an error:\n%s", lastLines(out, 20))
	}
	waitClusterCheck(t, nodes[2].Addr(), 20*time.Second)
	if writes.Load() == 0 {
		t.Fatal("no writes happened during the reshard")
	}
	lost := 0
	acked.Range(func(k, v any) bool {
		if got, err := cc.Get(ctx, k.(string)).Result(); err != nil || got != v.(string) {
			lost++
			if lost < 5 {
				t.Errorf("%s: got %q (%v), acknowledged %q", k, got, err, v)
			}
		}
		return true
	})
	for i := range 3000 {
		if got, err := cc.Get(ctx, fmt.Sprint("pre:", i)).Int(); err != nil || got != i {
			lost++
			if lost < 10 {
				t.Errorf("pre:%d: got %d (%v)", i, got, err)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d keys lost or stale after reshard (%d writes, %d failed writes)", lost, writes.Load(), failures.Load())
	}
	moved := client(t, nodes[1].Addr()).DBSize(ctx).Val()
	t.Logf("reshard moved 600 slots under load: %d writes acknowledged, %d retried failures, target holds %d keys",
		writes.Load(), failures.Load(), moved)
}

func nodeID(t *testing.T, n *clusterNode) string {
	t.Helper()
	id, err := client(t, n.Addr()).Do(context.Background(), "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestRestartKeepsIdentityAndSlots: a node restarted on the same dir and
// port comes back with its id, its slots and its peers from nodes.conf.
func TestRestartKeepsIdentityAndSlots(t *testing.T) {
	nodes := startClusterNodes(t, 3)
	createCluster(t, nodes, 0)
	ctx := context.Background()
	victim := nodes[1]
	id := nodeID(t, victim)
	slotsBefore := myLine(t, victim)
	victim.Close()
	restarted := startClusterNode(t, victim.dir, victim.port)
	if got := nodeID(t, restarted); got != id {
		t.Fatalf("restarted node id %s, want %s", got, id)
	}
	if got := myLine(t, restarted); got != slotsBefore {
		t.Fatalf("restarted node slots %q, want %q", got, slotsBefore)
	}
	known := client(t, restarted.Addr()).Do(ctx, "CLUSTER", "INFO").String()
	if !strings.Contains(known, "cluster_known_nodes:3") {
		t.Fatalf("restarted node forgot its peers: %s", known)
	}
	waitClusterCheck(t, nodes[0].Addr(), 20*time.Second)
}

// myLine returns the slot ranges of the node's own CLUSTER NODES line.
func myLine(t *testing.T, n *clusterNode) string {
	t.Helper()
	nodes, err := client(t, n.Addr()).ClusterNodes(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(nodes, "\n") {
		if strings.Contains(l, "myself") {
			f := strings.Fields(l)
			return strings.Join(f[8:], " ")
		}
	}
	t.Fatalf("no myself line in CLUSTER NODES:\n%s", nodes)
	return ""
}
