// Package migrate holds the end-to-end tests of reshard and rebalance: the
// built gocluster binary against real redis-server nodes, with a go-redis
// ClusterClient reading and writing the whole time.
package migrate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

func loadTopology(t *testing.T, c *harness.Cluster, password ...string) *topology.Cluster {
	t.Helper()
	pool, err := conn.NewPool(conn.Options{Password: strings.Join(password, "")})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	topo, err := topology.Load(context.Background(), pool, c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func clusterClient(t *testing.T, c *harness.Cluster) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Addr()}, MaxRedirects: 8})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// preloadedCluster makes 3 masters holding n preloaded keys and returns
// them with a cluster client.
func preloadedCluster(t *testing.T, n int) (*harness.Cluster, *redis.ClusterClient) {
	t.Helper()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	cc := clusterClient(t, c)
	preload(t, cc, n)
	return c, cc
}

// preload writes n keys "pre:<i>" = "v<i>" with pipelines.
func preload(t *testing.T, cc *redis.ClusterClient, n int) {
	t.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += 5000 {
		pipe := cc.Pipeline()
		for i := start; i < min(start+5000, n); i++ {
			pipe.Set(ctx, fmt.Sprintf("pre:%d", i), fmt.Sprintf("v%d", i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("preload: %v", err)
		}
	}
}

// verifyPreload checks every preloaded key still has its value.
func verifyPreload(t *testing.T, cc *redis.ClusterClient, n int) {
	t.Helper()
	ctx := context.Background()
	bad := 0
	for start := 0; start < n; start += 5000 {
		pipe := cc.Pipeline()
		cmds := map[int]*redis.StringCmd{}
		for i := start; i < min(start+5000, n); i++ {
			cmds[i] = pipe.Get(ctx, fmt.Sprintf("pre:%d", i))
		}
		_, _ = pipe.Exec(ctx)
		for i, cmd := range cmds {
			if v, err := cmd.Result(); err != nil || v != fmt.Sprintf("v%d", i) {
				if bad++; bad < 5 {
					t.Errorf("pre:%d = %q, %v", i, v, err)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d preloaded keys lost or changed", bad, n)
	}
}

// liveLoad is a go-redis ClusterClient writing and reading all the time:
// writers overwrite their own keys with increasing values (each key's last
// acknowledged value is remembered), readers check preloaded keys.
type liveLoad struct {
	cc      *redis.ClusterClient
	preN    int
	stop    chan struct{}
	wg      sync.WaitGroup
	ops     atomic.Int64
	errs    atomic.Int64
	mu      sync.Mutex
	lastErr []string
	written sync.Map // key -> last acknowledged value
}

func startLoad(t *testing.T, cc *redis.ClusterClient, preN, writers, readers int) *liveLoad {
	l := &liveLoad{cc: cc, preN: preN, stop: make(chan struct{})}
	ctx := context.Background()
	for w := range writers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				key, val := fmt.Sprintf("live:%d:%d", w, i%3000), fmt.Sprintf("%d", i)
				if err := cc.Set(ctx, key, val, 0).Err(); err != nil {
					l.fail(fmt.Sprintf("SET %s: %v", key, err))
					continue
				}
				l.written.Store(key, val)
				l.ops.Add(1)
			}
		}()
	}
	for r := range readers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := r * 7919; ; i += 13 {
				select {
				case <-l.stop:
					return
				default:
				}
				k := i % preN
				v, err := cc.Get(ctx, fmt.Sprintf("pre:%d", k)).Result()
				if err != nil || v != fmt.Sprintf("v%d", k) {
					l.fail(fmt.Sprintf("GET pre:%d = %q, %v", k, v, err))
					continue
				}
				l.ops.Add(1)
			}
		}()
	}
	return l
}

func (l *liveLoad) fail(msg string) {
	l.errs.Add(1)
	l.mu.Lock()
	if len(l.lastErr) < 5 {
		l.lastErr = append(l.lastErr, msg)
	}
	l.mu.Unlock()
}

// finish stops the load and fails the test on any client error or any
// written key whose last acknowledged value is not what the cluster holds.
func (l *liveLoad) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if n := l.errs.Load(); n > 0 {
		t.Fatalf("%d client errors during the operation (of %d ops); first: %s", n, l.ops.Load(), strings.Join(l.lastErr, "; "))
	}
	if l.ops.Load() < 100 {
		t.Fatalf("the load made only %d operations: it did not really run", l.ops.Load())
	}
	ctx := context.Background()
	checked := 0
	l.written.Range(func(k, v any) bool {
		got, err := l.cc.Get(ctx, k.(string)).Result()
		if err != nil || got != v.(string) {
			t.Errorf("written key %s = %q, %v; want %q", k, got, err, v)
			return false
		}
		checked++
		return true
	})
	verifyPreload(t, l.cc, l.preN)
	t.Logf("live load: %d ops, 0 errors, %d written keys verified", l.ops.Load(), checked)
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
	for _, m := range loadTopology(t, c).Masters() {
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
