package enginetest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestClusterCreateWithRedisCLIAndClients: six engine nodes become a
// cluster with the real `redis-cli --cluster create --cluster-replicas 1`,
// pass `--cluster check`, and serve redis-cli -c, go-redis ClusterClient and
// redis-py RedisCluster.
func TestClusterCreateWithRedisCLIAndClients(t *testing.T) {
	nodes := startClusterNodes(t, 6)
	createCluster(t, nodes, 1)
	out := waitClusterCheck(t, nodes[3].Addr(), 20*time.Second)
	if strings.Count(out, "M: ") != 3 || strings.Count(out, "S: ") != 3 {
		t.Fatalf("want 3 masters and 3 replicas:\n%s", out)
	}

	// redis-cli -c follows MOVED
	h, p := hostPort(nodes[0].Addr())
	for i := range 20 {
		key := fmt.Sprint("cli:", i)
		if got := redisCLI(t, "-c", "-h", h, "-p", p, "SET", key, "v"+fmt.Sprint(i)); got != "OK" {
			t.Fatalf("redis-cli -c SET %s: %s", key, got)
		}
		if got := redisCLI(t, "-c", "-h", h, "-p", p, "GET", key); got != "v"+fmt.Sprint(i) {
			t.Fatalf("redis-cli -c GET %s: %s", key, got)
		}
	}
	// without -c a key of another node's slot is a MOVED error
	ctx := context.Background()
	direct := client(t, nodes[0].Addr())
	moved := 0
	for i := range 20 {
		if err := direct.Get(ctx, fmt.Sprint("cli:", i)).Err(); err != nil && strings.HasPrefix(err.Error(), "MOVED ") {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no MOVED redirection from a node that owns a third of the slots")
	}
	if err := direct.MSet(ctx, "a", "1", "b", "2").Err(); err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Fatalf("cross-slot MSET: %v", err)
	}

	// go-redis ClusterClient
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(nodes)})
	t.Cleanup(func() { cc.Close() })
	for i := range 300 {
		if err := cc.Set(ctx, fmt.Sprint("go:", i), i, 0).Err(); err != nil {
			t.Fatalf("ClusterClient SET: %v", err)
		}
	}
	for i := range 300 {
		if v, err := cc.Get(ctx, fmt.Sprint("go:", i)).Int(); err != nil || v != i {
			t.Fatalf("ClusterClient GET go:%d = %d, %v", i, v, err)
		}
	}
	if err := cc.MSet(ctx, "{tag}a", "1", "{tag}b", "2").Err(); err != nil {
		t.Fatalf("hash-tagged MSET: %v", err)
	}
	var total atomic.Int64 // ForEachMaster runs the function concurrently
	cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		total.Add(m.DBSize(ctx).Val())
		return nil
	})
	if total := total.Load(); total != 20+300+2 {
		t.Fatalf("masters hold %d keys, want %d", total, 322)
	}

	// redis-py RedisCluster
	script := `
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
for i in range(200):
    rc.set("py:%d" % i, str(i))
for i in range(200):
    assert rc.get("py:%d" % i) == str(i), i
assert rc.get("go:7") == "7"
rc.hset("py:h", "f", "v")
assert rc.hgetall("py:h") == {"f": "v"}
print("ok")
`
	out2, err := exec.Command("/usr/bin/python3", "-c", script, h, p).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out2)) != "ok" {
		t.Fatalf("redis-py RedisCluster: %v\n%s", err, out2)
	}
}
