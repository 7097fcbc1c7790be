// Package provision tests create, add-node and del-node end to end: the
// built gocluster binary against real redis-server nodes, cross-checked
// with real redis-cli.
package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/topology"
)

var threeHosts = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}

// fastNodes shortens cluster-node-timeout: Redis keeps a master that just
// joined in state fail for min(node-timeout, 5 s), which add-node waits out.
var fastNodes = redistest.Options{Args: []string{"--cluster-node-timeout", "2000"}}

func addrs(nodes []*redistest.Server) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr()
	}
	return out
}

// view is a node's CLUSTER NODES, parsed.
func view(t *testing.T, s *redistest.Server) []*topology.Node {
	t.Helper()
	c := s.Client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	text, err := c.ClusterNodes(ctx).Result()
	if err != nil {
		t.Fatalf("CLUSTER NODES on %s: %v", s.Addr(), err)
	}
	v, err := topology.ParseNodes(text)
	if err != nil {
		t.Fatalf("parse CLUSTER NODES of %s: %v", s.Addr(), err)
	}
	return v
}

func myself(t *testing.T, s *redistest.Server) *topology.Node {
	t.Helper()
	for _, n := range view(t, s) {
		if n.Myself() {
			return n
		}
	}
	t.Fatalf("%s: no myself line", s.Addr())
	return nil
}

func knows(t *testing.T, s *redistest.Server, id string) bool {
	t.Helper()
	return slices.ContainsFunc(view(t, s), func(n *topology.Node) bool { return n.ID == id })
}

// state is what "untouched" compares: the whole CLUSTER NODES reply but
// the timing fields, and the key count.
func state(t *testing.T, s *redistest.Server) string {
	t.Helper()
	c := s.Client()
	defer c.Close()
	ctx := context.Background()
	keys, err := c.DBSize(ctx).Result()
	if err != nil {
		t.Fatalf("DBSIZE on %s: %v", s.Addr(), err)
	}
	text, err := c.ClusterNodes(ctx).Result()
	if err != nil {
		return fmt.Sprintf("keys=%d cluster=%v", keys, err) // not a cluster node
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(l)
		// Keep ID, address, flags, master, config epoch and slots; drop the
		// ping/pong times and link state, which change by themselves.
		lines = append(lines, strings.Join(append(append(f[:4:4], f[6]), f[8:]...), " "))
	}
	slices.Sort(lines)
	return fmt.Sprintf("keys=%d\n%s", keys, strings.Join(lines, "\n"))
}

// settle waits until the nodes' states stop changing (a handshake the test
// started is over) so that "untouched" compares against a stable picture.
func settle(t *testing.T, nodes []*redistest.Server) {
	t.Helper()
	last := ""
	for range 100 {
		now := strings.Join(states(t, nodes), "|")
		if now == last && !strings.Contains(now, "handshake") && replicasSynced(t, nodes) {
			return
		}
		last = now
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("nodes did not settle:\n%s", last)
}

// replicasSynced reports whether every replica among nodes has its
// master link up and no sync in progress: a replica waiting for its first
// snapshot holds 0 keys for seconds (a diskless sync waits for more
// replicas), which looks settled until the keys arrive.
func replicasSynced(t *testing.T, nodes []*redistest.Server) bool {
	t.Helper()
	for _, n := range nodes {
		c := n.Client()
		info, err := c.Info(context.Background(), "replication").Result()
		c.Close()
		if err != nil {
			t.Fatalf("INFO replication on %s: %v", n.Addr(), err)
		}
		if strings.Contains(info, "role:slave") &&
			(!strings.Contains(info, "master_link_status:up") || !strings.Contains(info, "master_sync_in_progress:0")) {
			return false
		}
	}
	return true
}

func states(t *testing.T, nodes []*redistest.Server) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = state(t, n)
	}
	return out
}

// expectUntouched fails when any node changed since before.
func expectUntouched(t *testing.T, nodes []*redistest.Server, before []string) {
	t.Helper()
	for i, n := range nodes {
		if now := state(t, n); now != before[i] {
			t.Errorf("node %s was changed:\nbefore:\n%s\nafter:\n%s", n.Addr(), before[i], now)
		}
	}
}

// redisCheck runs real redis-cli --cluster check and wants it clean.
func redisCheck(t *testing.T, seed string, cliArgs ...string) {
	t.Helper()
	args := append(slices.Clone(cliArgs), "--cluster", "check", seed)
	r := harness.RedisCLI(t, args...)
	if r.Code != 0 || strings.Contains(r.Stdout, "[ERR]") || strings.Contains(r.Stdout, "[WARNING]") {
		t.Fatalf("redis-cli --cluster check %s is not clean (exit %d):\n%s", seed, r.Code, r.Output())
	}
}

// settledCheck waits (up to 20 s) until redis-cli --cluster check is clean:
// after redis-cli's own reshard or rebalance, which return before every
// node agrees.
func settledCheck(t *testing.T, seed string, cliArgs ...string) {
	t.Helper()
	args := append(slices.Clone(cliArgs), "--cluster", "check", seed)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := harness.RedisCLI(t, args...)
		if r.Code == 0 && !strings.Contains(r.Stdout, "[ERR]") && !strings.Contains(r.Stdout, "[WARNING]") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-cli --cluster check %s did not become clean in 20s:\n%s", seed, r.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// noReplicaOnMasterHost checks anti-affinity in a node's view.
func noReplicaOnMasterHost(t *testing.T, s *redistest.Server) {
	t.Helper()
	v := view(t, s)
	byID := map[string]*topology.Node{}
	for _, n := range v {
		byID[n.ID] = n
	}
	replicas := 0
	for _, n := range v {
		if !n.IsReplica() {
			continue
		}
		replicas++
		if m := byID[n.MasterID]; m == nil || m.Host == n.Host {
			t.Errorf("replica %s is on its master's host (master %v)", n.Addr(), m)
		}
	}
	if replicas == 0 {
		t.Errorf("no replicas in the view of %s", s.Addr())
	}
}

func mustRun(t *testing.T, args ...string) harness.Result {
	t.Helper()
	start := time.Now()
	r := harness.Run(t, args...)
	t.Logf("gocluster %s: %s", args[0], time.Since(start).Round(time.Millisecond))
	if r.Code != 0 {
		t.Fatalf("gocluster %s: exit %d\n%s", strings.Join(args, " "), r.Code, r.Output())
	}
	return r
}

func contains(t *testing.T, r harness.Result, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(r.Output(), w) {
			t.Errorf("output lacks %q:\n%s", w, r.Output())
		}
	}
}
