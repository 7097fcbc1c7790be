// Package clustertest starts a real, in-process Redis Cluster for Go tests,
// built from gocluster's embedded engine: no redis-server needed.
//
//	c := clustertest.Start(t, 3, 1) // 3 masters, 1 replica each
//	client := c.Client()           // a go-redis ClusterClient
package clustertest

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/local"
	"github.com/redis/go-redis/v9"
)

// Cluster is a running in-process cluster; it stops when the test ends.
type Cluster struct {
	set *local.Set
}

// Addrs lists the nodes' addresses (masters first as created).
func (c *Cluster) Addrs() []string { return c.set.Addrs() }

// Client returns a cluster client; it is closed when the test ends.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { cl.Close() })
	return cl
}

// Start runs masters*(1+replicas) engine nodes on free loopback ports and
// makes them a cluster with gocluster's create. Failures fail the test.
func Start(tb testing.TB, masters, replicas int) *Cluster {
	tb.Helper()
	n := masters * (1 + replicas)
	ctx := context.Background()
	var set *local.Set
	var err error
	for range 5 { // a range found free can be taken before we bind it
		set, err = local.Start(ctx, local.Options{Nodes: n, BasePort: freeRange(n), Dir: tb.TempDir()})
		if err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatalf("clustertest: start nodes: %v", err)
	}
	tb.Cleanup(set.Stop)
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer pool.Close()
	opts := admin.CreateOptions{Replicas: replicas}
	plan, err := admin.PrepareCreate(ctx, pool, set.Addrs(), opts)
	if err != nil {
		tb.Fatalf("clustertest: %v", err)
	}
	if err := admin.ApplyCreate(ctx, pool, plan, opts, admin.Discard); err != nil {
		tb.Fatalf("clustertest: create: %v", err)
	}
	return &Cluster{set: set}
}

// freeRange picks a base port with n free ports and free bus ports (+10000).
func freeRange(n int) int {
	for {
		base := 12000 + rand.IntN(10000) // port and bus port below the ephemeral range (32768+)
		free := true
		for p := base; p < base+n && free; p++ {
			free = portFree(p) && portFree(p+10000)
		}
		if free {
			return base
		}
	}
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
