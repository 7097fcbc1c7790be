package enginetest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine"
	"github.com/gocluster/gocluster/pkg/engine/config"
)

// clusterNode is one cluster-enabled engine node with its own directory.
type clusterNode struct {
	*engine.Node
	dir  string
	port int
	args []string
}

// startClusterNodes starts n cluster-enabled engine nodes on 127.0.0.1.
func startClusterNodes(t *testing.T, n int, extra ...string) []*clusterNode {
	t.Helper()
	nodes := make([]*clusterNode, n)
	for i := range nodes {
		nodes[i] = startClusterNode(t, t.TempDir(), 0, extra...)
	}
	return nodes
}

// startClusterNode starts (or restarts, with the same dir and port) a node.
func startClusterNode(t *testing.T, dir string, port int, extra ...string) *clusterNode {
	t.Helper()
	var lastErr error
	for range 5 { // a port found free can be taken by a parallel process; retry
		p := port
		if p == 0 {
			p = redistest.FreePort(t, "127.0.0.1")
		}
		args := append([]string{"--port", strconv.Itoa(p), "--bind", "127.0.0.1", "--dir", dir,
			"--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--loglevel", "nothing"}, extra...)
		cfg := config.Default()
		if err := cfg.ParseArgs(args); err != nil {
			t.Fatal(err)
		}
		n, err := engine.Start(cfg)
		if err == nil {
			cn := &clusterNode{Node: n, dir: dir, port: p, args: extra}
			t.Cleanup(func() { cn.Close() })
			return cn
		}
		lastErr = err
		if port != 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Fatalf("start cluster node: %v", lastErr)
	return nil
}

func addrs(nodes []*clusterNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Addr())
	}
	return out
}

// createCluster runs the real `redis-cli --cluster create` on the nodes and
// waits until `redis-cli --cluster check` passes.
func createCluster(t *testing.T, nodes []*clusterNode, replicas int) {
	t.Helper()
	args := append([]string{"--cluster", "create"}, addrs(nodes)...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	out := redisCLI(t, args...)
	if !strings.Contains(out, "[OK] All 16384 slots covered.") {
		t.Fatalf("redis-cli --cluster create:\n%s", out)
	}
	waitClusterCheck(t, nodes[0].Addr(), 20*time.Second)
}

// waitClusterCheck polls `redis-cli --cluster check` until it reports a
// consistent, fully covered cluster.
func waitClusterCheck(t *testing.T, addr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var out string
	for {
		out = redisCLIMayFail(t, "--cluster", "check", addr)
		if strings.Contains(out, "[OK] All nodes agree about slots configuration.") &&
			strings.Contains(out, "[OK] All 16384 slots covered.") && !strings.Contains(out, "[ERR]") &&
			!strings.Contains(out, "[WARNING]") {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster check did not pass in %v:\n%s", timeout, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
