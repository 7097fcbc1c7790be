// Package migrate holds the end-to-end tests of reshard and rebalance: the
// built gocluster binary against real redis-server nodes, with a go-redis
// ClusterClient reading and writing the whole time.
package migrate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// preloadedCluster makes 3 masters holding n preloaded keys and returns
// them with a cluster client.
func preloadedCluster(t *testing.T, n int) (*harness.Cluster, *redis.ClusterClient) {
	t.Helper()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	cc := c.ClusterClient(t)
	harness.Preload(t, cc, n)
	return c, cc
}

// assertRedisCheckClean waits for the cluster to settle and requires
// redis-cli --cluster check to pass with no warning.
func assertRedisCheckClean(t *testing.T, c *harness.Cluster) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var r harness.Result
	for time.Now().Before(deadline) {
		r = c.RedisCheck(t)
		if r.Code == 0 && !strings.Contains(r.Stdout, "[WARNING]") && !strings.Contains(r.Stdout, "[ERR]") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("redis-cli --cluster check is not clean:\n%s", r.Output())
}

// slotCounts maps each master's address to its slot count.
func slotCounts(t *testing.T, c *harness.Cluster) map[string]int {
	out := map[string]int{}
	for _, m := range c.Topology(t).Masters() {
		out[m.Addr()] = m.Slots.Len()
	}
	return out
}

var (
	tagsOnce sync.Once
	slotTags [slots.Count]string
)

// keyIn returns a key "<prefix>{tag}" that hashes to slot.
func keyIn(slot int, prefix string) string {
	tagsOnce.Do(func() {
		left := slots.Count
		for i := 0; left > 0; i++ {
			tag := fmt.Sprintf("t%d", i)
			if s := slots.Slot(tag); slotTags[s] == "" {
				slotTags[s] = tag
				left--
			}
		}
	})
	return prefix + "{" + slotTags[slot] + "}"
}

// waitGossip waits until every node knows every other one.
func waitGossip(t *testing.T, c *harness.Cluster) {
	t.Helper()
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	if err := admin.WaitConverged(context.Background(), pool, addrs, admin.ConvergeOptions{SameSlots: true}); err != nil {
		t.Fatal(err)
	}
}

// harnessClient returns a plain client to the cluster node at addr.
func harnessClient(c *harness.Cluster, addr string) *redis.Client {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n.Client()
		}
	}
	return redis.NewClient(&redis.Options{Addr: addr})
}
