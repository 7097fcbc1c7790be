package migrate

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

var (
	movingRE = regexp.MustCompile(`(?m)^Moving (\d+) slots from (\S+) to (\S+)$`)
	ansiRE   = regexp.MustCompile("\x1b\\[[0-9;]*m") // redis-cli colors its output even on a pipe
)

// predictedCounts applies "Moving N slots from A to B" lines to counts.
func predictedCounts(counts map[string]int, out string) map[string]int {
	res := map[string]int{}
	for k, v := range counts {
		res[k] = v
	}
	for _, m := range movingRE.FindAllStringSubmatch(ansiRE.ReplaceAllString(out, ""), -1) {
		n, _ := strconv.Atoi(m[1])
		res[m[2]] -= n
		res[m[3]] += n
	}
	return res
}

func movingLines(out string) []string {
	var lines []string
	for _, m := range movingRE.FindAllString(ansiRE.ReplaceAllString(out, ""), -1) {
		lines = append(lines, m)
	}
	slices.Sort(lines)
	return lines
}

// TestRebalanceAfterAddNode adds two empty masters and rebalances with
// --use-empty-masters under live load: gocluster must plan the same moves
// as redis-cli --cluster rebalance --cluster-simulate, and end with the
// slot counts redis-cli would give.
func TestRebalanceAfterAddNode(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	extra := redistest.StartNodes(t, 2, redistest.Options{})
	cc := c.ClusterClient(t)
	const preN = 20000
	harness.Preload(t, cc, preN)
	for i, n := range extra {
		if r := harness.RedisCLI(t, "--cluster", "add-node", n.Addr(), c.Addr()); r.Code != 0 {
			t.Fatalf("redis-cli add-node: %s", r.Output())
		}
		c.Nodes = append(c.Nodes, n)
		if i == 0 {
			waitGossip(t, c) // redis-cli add-node refuses a cluster still gossiping
		}
	}
	seedHears(t, c, extra[1].Addr())
	// Right after the last add-node, while gossip still spreads the new
	// node: gocluster waits for the views to converge, then plans.
	ours := harness.Run(t, "rebalance", c.Addr(), "--cluster-use-empty-masters", "--cluster-simulate")
	if ours.Code != 0 || !strings.Contains(ours.Stdout, ">>> Rebalancing across 5 nodes. Total weight = 5.00") {
		t.Fatalf("simulate right after add-node: exit %d:\n%s", ours.Code, ours.Output())
	}
	before := slotCounts(t, c)
	if len(before) != 5 {
		t.Fatalf("want 5 masters after add-node, got %v", before)
	}
	sim := harness.RedisCLI(t, "--cluster", "rebalance", c.Addr(), "--cluster-use-empty-masters", "--cluster-simulate")
	if a, b := movingLines(sim.Stdout), movingLines(ours.Stdout); len(a) == 0 || !slices.Equal(a, b) {
		t.Fatalf("moves differ from redis-cli:\nredis-cli: %q\ngocluster: %q", a, b)
	}
	if after := slotCounts(t, c); !maps.Equal(after, before) {
		t.Fatalf("--simulate changed the cluster")
	}
	want := predictedCounts(before, sim.Stdout)

	load := harness.StartLoad(t, cc, preN, 3, 3)
	r := harness.Run(t, "rebalance", c.Addr(), "--use-empty-masters")
	if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] Moved ") {
		t.Fatalf("rebalance exit %d:\n%s", r.Code, r.Output())
	}
	load.Finish(t)
	if got := slotCounts(t, c); !maps.Equal(got, want) {
		t.Fatalf("slot counts %v, redis-cli would give %v", got, want)
	}
	assertRedisCheckClean(t, c)

	// Weights: the first master gets twice the others; same counts as redis-cli.
	first := c.Topology(t).Masters()[0].Addr()
	before = slotCounts(t, c)
	id := c.Topology(t).Masters()[0].ID
	sim = harness.RedisCLI(t, "--cluster", "rebalance", c.Addr(), "--cluster-weight", id+"=2", "--cluster-simulate")
	want = predictedCounts(before, sim.Stdout)
	r = harness.Run(t, "rebalance", c.Addr(), "--cluster-weight", id[:10]+"=2")
	if r.Code != 0 {
		t.Fatalf("weighted rebalance exit %d:\n%s", r.Code, r.Output())
	}
	if got := slotCounts(t, c); !maps.Equal(got, want) || got[first] < 5000 {
		t.Fatalf("weighted: slot counts %v, redis-cli would give %v", got, want)
	}
	harness.VerifyPreload(t, cc, preN)
	assertRedisCheckClean(t, c)
}

// seedHears waits until the seed lists addr in CLUSTER NODES, even still
// in handshake: the earliest moment a tool started from the seed can see
// the new node.
func seedHears(t *testing.T, c *harness.Cluster, addr string) {
	t.Helper()
	cl := c.Nodes[0].Client()
	defer cl.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if text, err := cl.ClusterNodes(context.Background()).Result(); err == nil && strings.Contains(text, " "+addr+"@") {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the seed never heard of %s", addr)
}

// TestRebalanceRightAfterGoclusterAddNode chains gocluster add-node and
// rebalance with nothing in between, as an operator's script would.
func TestRebalanceRightAfterGoclusterAddNode(t *testing.T) {
	const preN = 5000
	c, cc := preloadedCluster(t, preN)
	n := redistest.StartNodes(t, 1, redistest.Options{})[0]
	if r := harness.Run(t, "add-node", n.Addr(), c.Addr()); r.Code != 0 {
		t.Fatalf("gocluster add-node: exit %d:\n%s", r.Code, r.Output())
	}
	c.Nodes = append(c.Nodes, n)
	r := harness.Run(t, "rebalance", c.Addr(), "--use-empty-masters")
	if r.Code != 0 || !strings.Contains(r.Stdout, ">>> Rebalancing across 4 nodes. Total weight = 4.00") {
		t.Fatalf("rebalance right after add-node: exit %d:\n%s", r.Code, r.Output())
	}
	for addr, got := range slotCounts(t, c) {
		if got != 4096 {
			t.Fatalf("%s has %d slots after rebalance, want 4096", addr, got)
		}
	}
	harness.VerifyPreload(t, cc, preN)
	assertRedisCheckClean(t, c)
}
