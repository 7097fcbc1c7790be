// Package valkey holds the end-to-end tests about what only Valkey 8+
// does: it replicates CLUSTER SETSLOT to a primary's replicas and blocks
// the caller until they acknowledge. These tests always run against
// valkey-server and valkey-cli, whatever redistest.FlavorEnv says (the
// other suites run once with each server family under `make test`).
package valkey

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

const flavor = "valkey"

func newCluster(t *testing.T, masters, replicas int) *harness.Cluster {
	t.Helper()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: masters, Replicas: replicas, Flavor: flavor})
	cl := c.Nodes[0].Client()
	defer cl.Close()
	info, err := cl.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	if srv, err := conn.ParseServer(info); err != nil || !srv.ReplicatesSetslot() {
		t.Fatalf("these tests need Valkey 8+ (SETSLOT replicated to replicas); the node runs %v (%v)", srv, err)
	}
	return c
}

// assertAllAlive fails the test if any node process died, with its log.
func assertAllAlive(t *testing.T, c *harness.Cluster) {
	t.Helper()
	for _, n := range c.Nodes {
		if !n.Alive() {
			t.Fatalf("valkey-server %s died: %s", n.Addr(), n.LogTail())
		}
	}
}

// assertChecksAgree waits until valkey-cli --cluster check is clean, then
// requires gocluster check to agree.
func assertChecksAgree(t *testing.T, c *harness.Cluster) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var r harness.Result
	for time.Now().Before(deadline) {
		r = c.RedisCheck(t)
		if r.Code == 0 && !strings.Contains(r.Stdout, "[WARNING]") && !strings.Contains(r.Stdout, "[ERR]") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r.Code != 0 || strings.Contains(r.Stdout, "[WARNING]") || strings.Contains(r.Stdout, "[ERR]") {
		t.Fatalf("valkey-cli --cluster check is not clean:\n%s", r.Output())
	}
	if g := harness.Run(t, "check", c.Addr()); g.Code != 0 || strings.Contains(g.Stdout, "[ERR]") || strings.Contains(g.Stdout, "slots are open") {
		t.Fatalf("gocluster check disagrees with valkey-cli (exit %d):\n%s", g.Code, g.Output())
	}
}

// TestReshardUnderLoadKeepsPrimariesAlive is the regression test for the
// crash of issue 19: on Valkey 8 a SETSLOT inside MULTI/EXEC blocks for the
// replicas and the primary aborts ('c->flag.blocked == 0'). Reshard, then
// add a primary with a replica and rebalance onto it, all under go-redis
// load: no node dies, no client error, no key lost.
func TestReshardUnderLoadKeepsPrimariesAlive(t *testing.T) {
	c := newCluster(t, 3, 1)
	cc := c.ClusterClient(t)
	const preN = 20000
	harness.Preload(t, cc, preN)
	load := harness.StartLoad(t, cc, preN, 4, 4)

	target := c.Topology(t).Masters()[2]
	r := harness.Run(t, "reshard", c.Addr(), "--from", "all", "--to", target.ID, "--slots", "2000", "--yes")
	assertAllAlive(t, c)
	if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] Moved 2000 slots") {
		t.Fatalf("reshard exit %d:\n%s", r.Code, r.Output())
	}

	added := redistest.StartNodes(t, 2, redistest.Options{Flavor: flavor})
	if r := harness.Run(t, "add-node", added[0].Addr(), c.Addr()); r.Code != 0 {
		t.Fatalf("add-node: exit %d:\n%s", r.Code, r.Output())
	}
	// valkey-cli's spelling of --cluster-slave
	if r := harness.Run(t, "--cluster", "add-node", added[1].Addr(), c.Addr(), "--cluster-replica"); r.Code != 0 {
		t.Fatalf("add-node --cluster-replica: exit %d:\n%s", r.Code, r.Output())
	}
	c.Nodes = append(c.Nodes, added...)
	r = harness.Run(t, "rebalance", c.Addr(), "--use-empty-masters")
	assertAllAlive(t, c)
	if r.Code != 0 || !strings.Contains(r.Stdout, ">>> Rebalancing across 4 nodes") {
		t.Fatalf("rebalance exit %d:\n%s", r.Code, r.Output())
	}
	load.Finish(t)
	assertAllAlive(t, c)
	assertChecksAgree(t, c)
	assertReplicasMatchPrimaries(t, c)
}

// assertReplicasMatchPrimaries requires every replica's own slot states to
// be empty: Valkey replicas keep their primary's importing/migrating
// states, and a reshard must leave none behind.
func assertReplicasMatchPrimaries(t *testing.T, c *harness.Cluster) {
	t.Helper()
	for _, n := range c.Nodes {
		cl := n.Client()
		text, err := cl.ClusterNodes(context.Background()).Result()
		cl.Close()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(text, "\n") {
			if strings.Contains(line, "myself") && strings.Contains(line, "[") {
				t.Fatalf("%s still has slots open: %s", n.Addr(), line)
			}
		}
	}
}

// TestFixClearsStaleReplicaState makes the state valkey-cli's reshard
// leaves behind on Valkey 8: a SETSLOT IMPORTING that timed out waiting
// for a frozen replica reached the replica but not its primary. The
// replica refuses SETSLOT itself; gocluster fix clears it through the
// primary, and both checkers are clean afterwards.
func TestFixClearsStaleReplicaState(t *testing.T) {
	c := newCluster(t, 3, 1)
	topo := c.Topology(t)
	primary, source := topo.Masters()[0], topo.Masters()[1]
	replicas := topo.ReplicasOf(primary.ID)
	if len(replicas) != 1 {
		t.Fatalf("primary %s has %d replicas", primary.Addr(), len(replicas))
	}
	var replica *redistest.Server
	for _, n := range c.Nodes {
		if n.Addr() == replicas[0].Addr() {
			replica = n
		}
	}
	slot := source.Slots.Slots()[0]

	if err := replica.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	pcl := redis.NewClient(&redis.Options{Addr: primary.Addr()})
	defer pcl.Close()
	err := pcl.Do(context.Background(), "CLUSTER", "SETSLOT", slot, "IMPORTING", source.ID, "TIMEOUT", 200).Err()
	if cerr := replica.Signal(syscall.SIGCONT); cerr != nil {
		t.Fatal(cerr)
	}
	if err == nil || !strings.Contains(err.Error(), "NOREPLICAS") {
		t.Fatalf("SETSLOT with a frozen replica: %v, want NOREPLICAS", err)
	}
	stale := fmt.Sprintf("[%d-<-%s]", slot, source.ID)
	waitFor(t, "the replica to apply the replicated SETSLOT", func() bool {
		return strings.Contains(myselfLine(t, replica), stale)
	})
	for _, n := range c.Nodes {
		if n.Addr() == primary.Addr() && strings.Contains(myselfLine(t, n), "[") {
			t.Fatalf("the primary has the slot open too; the test wants a replica-only state")
		}
	}

	r := harness.Run(t, "check", c.Addr())
	if r.Code != 1 || !strings.Contains(r.Stdout, fmt.Sprintf("[WARNING] Node %s has slots in importing state %d.", replica.Addr(), slot)) {
		t.Fatalf("check should report the replica's open slot (exit %d):\n%s", r.Code, r.Output())
	}
	r = harness.Run(t, "fix", c.Addr(), "--yes")
	if r.Code != 0 || !strings.Contains(r.Stdout, "through its primary "+primary.Addr()) {
		t.Fatalf("fix exit %d:\n%s", r.Code, r.Output())
	}
	waitFor(t, "the replica's importing state to clear", func() bool {
		return !strings.Contains(myselfLine(t, replica), "[")
	})
	assertChecksAgree(t, c)
	// valkey-cli's spelling of --cluster-only-masters
	if r := harness.Run(t, "--cluster", "call", c.Addr(), "PING", "--cluster-only-primaries"); r.Code != 0 || strings.Count(r.Stdout, ": PONG") != 3 {
		t.Fatalf("call --cluster-only-primaries should reach the 3 primaries (exit %d):\n%s", r.Code, r.Output())
	}
	// A cluster fix has cleaned is one reshard accepts again.
	if r := harness.Run(t, "reshard", c.Addr(), "--from", source.ID, "--to", primary.ID, "--slots", "10", "--yes"); r.Code != 0 {
		t.Fatalf("reshard after fix: exit %d:\n%s", r.Code, r.Output())
	}
	assertAllAlive(t, c)
	assertChecksAgree(t, c)
}

func myselfLine(t *testing.T, s *redistest.Server) string {
	t.Helper()
	cl := s.Client()
	defer cl.Close()
	text, err := cl.ClusterNodes(context.Background()).Result()
	if err != nil {
		t.Fatalf("CLUSTER NODES on %s: %v", s.Addr(), err)
	}
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, "myself") {
			return line
		}
	}
	t.Fatalf("%s: no myself line in CLUSTER NODES", s.Addr())
	return ""
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestMixedRedisValkeyCluster is a rolling upgrade caught half way: Redis
// 7 and Valkey 8 nodes in one cluster, replicas of either family under
// primaries of either. gocluster creates it and reshards under load from
// every primary into the Valkey ones (SETSLOT in MULTI on Redis,
// replicated and outside it on Valkey); a move from Valkey 8 to Redis 7.0,
// whose MIGRATE payloads Redis 7.0 cannot read, is refused before any
// slot is touched; redis-cli and valkey-cli both find it clean.
func TestMixedRedisValkeyCluster(t *testing.T) {
	var nodes []*redistest.Server
	for i := range 6 {
		f := []string{"redis", "valkey"}[i%2]
		nodes = append(nodes, redistest.StartNodes(t, 1, redistest.Options{Flavor: f})...)
	}
	args := []string{"create"}
	for _, n := range nodes {
		args = append(args, n.Addr())
	}
	if r := harness.Run(t, append(args, "--replicas", "1", "--yes")...); r.Code != 0 {
		t.Fatalf("create: exit %d:\n%s", r.Code, r.Output())
	}
	c := &harness.Cluster{Nodes: nodes, Flavor: flavor}
	c.WaitHealthy(t)
	cc := c.ClusterClient(t)
	const preN = 10000
	harness.Preload(t, cc, preN)
	load := harness.StartLoad(t, cc, preN, 3, 3)
	flavors := map[string]string{}
	for _, n := range nodes {
		cl := n.Client()
		info, err := cl.Info(context.Background(), "server").Result()
		cl.Close()
		srv, perr := conn.ParseServer(info)
		if err != nil || perr != nil {
			t.Fatalf("INFO server on %s: %v %v", n.Addr(), err, perr)
		}
		flavors[n.Addr()] = srv.Flavor
	}
	var toValkey, toRedis []*topology.Node
	for _, m := range c.Topology(t).Masters() {
		if flavors[m.Addr()] == "valkey" {
			toValkey = append(toValkey, m)
		} else {
			toRedis = append(toRedis, m)
		}
	}
	if len(toValkey) == 0 || len(toRedis) == 0 {
		t.Fatalf("want primaries of both families, have valkey %d redis %d", len(toValkey), len(toRedis))
	}
	for _, m := range toValkey {
		r := harness.Run(t, "reshard", c.Addr(), "--from", "all", "--to", m.ID, "--slots", "1500", "--yes")
		assertAllAlive(t, c)
		if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] Moved 1500 slots") {
			t.Fatalf("reshard to %s: exit %d:\n%s", m.Addr(), r.Code, r.Output())
		}
	}
	before := c.Topology(t)
	r := harness.Run(t, "reshard", c.Addr(), "--from", toValkey[0].ID, "--to", toRedis[0].ID, "--slots", "100", "--yes")
	if r.Code == 0 || !strings.Contains(r.Output(), "cannot move slots from "+toValkey[0].Addr()) || !strings.Contains(r.Output(), "RDB version 11 > 10") {
		t.Fatalf("valkey 8 -> redis 7.0 reshard should be refused up front (exit %d):\n%s", r.Code, r.Output())
	}
	if after := c.Topology(t); after.ByID(toValkey[0].ID).Slots.Len() != before.ByID(toValkey[0].ID).Slots.Len() {
		t.Fatalf("the refused reshard moved slots")
	}
	load.Finish(t)
	assertChecksAgree(t, c)
	assertReplicasMatchPrimaries(t, c)
	redisView := harness.Exec(t, redistest.CLIBinary(t, "redis"), harness.Cmd{Args: []string{"--cluster", "check", c.Addr()}})
	if redisView.Code != 0 || strings.Contains(redisView.Stdout, "[WARNING]") || strings.Contains(redisView.Stdout, "[ERR]") {
		t.Fatalf("redis-cli --cluster check on the mixed cluster:\n%s", redisView.Output())
	}
}
