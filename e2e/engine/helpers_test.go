package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// redisCLI runs the real redis-cli. TERM=dumb because redis-cli --cluster
// colours its output whenever TERM names an xterm, even into a pipe.
func redisCLI(t *testing.T, args ...string) harness.Result {
	t.Helper()
	return harness.Exec(t, redistest.Binary(t, "redis-cli"), harness.Cmd{Args: args, Env: []string{"TERM=dumb"}})
}

// withAuth prefixes redis-cli arguments with the node's password, if any.
func withAuth(n *Node, args ...string) []string {
	if n.opts.Password == "" {
		return args
	}
	return append([]string{"-a", n.opts.Password, "--no-auth-warning"}, args...)
}

// cli runs the real redis-cli against one node.
func cli(t *testing.T, n *Node, args ...string) harness.Result {
	t.Helper()
	return redisCLI(t, withAuth(n, append([]string{"-h", n.Host, "-p", strconv.Itoa(n.Port)}, args...)...)...)
}

// cliOK runs redis-cli and returns its trimmed stdout, failing the test on
// a non-zero exit.
func cliOK(t *testing.T, n *Node, args ...string) string {
	t.Helper()
	r := cli(t, n, args...)
	if r.Code != 0 {
		t.Fatalf("redis-cli %s on %s: exit %d\n%s", strings.Join(args, " "), n.Addr(), r.Code, r.Output())
	}
	return strings.TrimSpace(r.Stdout)
}

// client is a go-redis client for a node, closed at test end.
func client(t *testing.T, n *Node) *redis.Client {
	c := n.Client()
	t.Cleanup(func() { c.Close() })
	return c
}

func nodeID(t *testing.T, n *Node) string {
	t.Helper()
	id := cliOK(t, n, "CLUSTER", "MYID")
	if len(id) != 40 {
		t.Fatalf("CLUSTER MYID on %s: %q", n.Addr(), id)
	}
	return id
}

// createCluster runs the real `redis-cli --cluster create` on the nodes and
// waits until the cluster is healthy.
func createCluster(t *testing.T, nodes []*Node, replicas int) {
	t.Helper()
	args := append([]string{"--cluster", "create"}, Addrs(nodes)...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	r := redisCLI(t, withAuth(nodes[0], args...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] All 16384 slots covered.") {
		t.Fatalf("redis-cli --cluster create: exit %d\n%s\n%s", r.Code, r.Output(), nodes[0].LogTail(10))
	}
	waitHealthy(t, nodes, 30*time.Second)
}

// healthy reports whether redis-cli --cluster check passes cleanly from
// nodes[0], every node says cluster_state:ok and lists exactly these
// nodes by id, none in handshake (gossip has converged, as redis-cli
// rebalance/reshard need); otherwise why not.
func healthy(t *testing.T, nodes []*Node) (checkOutput string, problem string) {
	t.Helper()
	r := redisCLI(t, withAuth(nodes[0], "--cluster", "check", nodes[0].Addr())...)
	switch {
	case r.Code != 0:
		return r.Stdout, fmt.Sprintf("redis-cli --cluster check exit %d:\n%s", r.Code, r.Output())
	case strings.Contains(r.Stdout, "[ERR]") || strings.Contains(r.Stdout, "[WARNING]"):
		return r.Stdout, "redis-cli --cluster check complains:\n" + r.Stdout
	case !strings.Contains(r.Stdout, "[OK] All 16384 slots covered.") ||
		!strings.Contains(r.Stdout, "[OK] All nodes agree about slots configuration."):
		return r.Stdout, "redis-cli --cluster check lacks the [OK] lines:\n" + r.Stdout
	}
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = strings.TrimSpace(cli(t, n, "CLUSTER", "MYID").Stdout)
	}
	for _, n := range nodes {
		if info := cli(t, n, "CLUSTER", "INFO").Stdout; !strings.Contains(info, "cluster_state:ok") {
			return r.Stdout, n.Addr() + " CLUSTER INFO:\n" + info
		}
		view := cli(t, n, "CLUSTER", "NODES").Stdout
		for _, id := range ids {
			if !strings.Contains(view, id+" ") {
				return r.Stdout, fmt.Sprintf("%s does not know %s yet:\n%s", n.Addr(), id, view)
			}
		}
		if strings.Contains(view, "handshake") || strings.Contains(view, "noaddr") || strings.Count(strings.TrimSpace(view), "\n")+1 != len(nodes) {
			return r.Stdout, fmt.Sprintf("%s has not converged on %d nodes:\n%s", n.Addr(), len(nodes), view)
		}
	}
	return r.Stdout, ""
}

// waitHealthy polls until healthy or fails the test, returning the last
// redis-cli --cluster check output.
func waitHealthy(t *testing.T, nodes []*Node, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, problem := healthy(t, nodes)
		if problem == "" {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not healthy after %v: %s", timeout, problem)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// myself returns the node's own CLUSTER NODES line, split into fields.
func myself(t *testing.T, n *Node) []string {
	t.Helper()
	for _, l := range strings.Split(cliOK(t, n, "CLUSTER", "NODES"), "\n") {
		if f := strings.Fields(l); len(f) >= 8 && strings.Contains(f[2], "myself") {
			return f
		}
	}
	t.Fatalf("no myself line in CLUSTER NODES of %s", n.Addr())
	return nil
}

// mySlots is the slot ranges part of the node's own CLUSTER NODES line.
func mySlots(t *testing.T, n *Node) string {
	return strings.Join(myself(t, n)[8:], " ")
}

// masters returns the nodes whose own line says master and which own slots.
func masters(t *testing.T, nodes []*Node) []*Node {
	t.Helper()
	var out []*Node
	for _, n := range nodes {
		if f := myself(t, n); strings.Contains(f[2], "master") && len(f) > 8 {
			out = append(out, n)
		}
	}
	return out
}

// clusterClient is a go-redis ClusterClient over the nodes.
func clusterClient(t *testing.T, nodes []*Node) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: Addrs(nodes), MaxRedirects: 16,
		Password: nodes[0].opts.Password, DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// totalKeys sums DBSIZE over the masters.
func totalKeys(t *testing.T, nodes []*Node) int64 {
	t.Helper()
	var total int64
	for _, n := range masters(t, nodes) {
		v, err := client(t, n).DBSize(context.Background()).Result()
		if err != nil {
			t.Fatalf("DBSIZE on %s: %v", n.Addr(), err)
		}
		total += v
	}
	return total
}
