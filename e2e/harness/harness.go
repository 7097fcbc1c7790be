// Package harness runs the built gocluster binary and real redis-cli
// against real redis-server nodes for the end-to-end tests in e2e/...
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// Result is what a command printed and how it exited.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Output is stdout and stderr together, for error messages.
func (r Result) Output() string { return r.Stdout + r.Stderr }

// Cmd describes a process to run.
type Cmd struct {
	Args    []string
	Env     []string // extra KEY=VALUE
	Stdin   string
	Timeout time.Duration // default 2 minutes
}

// Exec runs a program and waits for it; a hang past the timeout fails the test.
func Exec(tb testing.TB, bin string, c Cmd) Result {
	tb.Helper()
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, c.Args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Env = append(cmd.Env, c.Env...)
	cmd.Stdin = strings.NewReader(c.Stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := Result{Stdout: out.String(), Stderr: errb.String()}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		tb.Fatalf("%s %s: no answer in %s (hang)\n%s", filepath.Base(bin), strings.Join(c.Args, " "), c.Timeout, res.Output())
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
	case err != nil:
		tb.Fatalf("run %s: %v", bin, err)
	}
	return res
}

// Run runs gocluster with args.
func Run(tb testing.TB, args ...string) Result {
	tb.Helper()
	return Exec(tb, Binary(tb), Cmd{Args: args})
}

// RedisCLI runs the real redis-cli (valkey-cli when redistest.FlavorEnv
// says valkey) with args.
func RedisCLI(tb testing.TB, args ...string) Result {
	tb.Helper()
	return Exec(tb, redistest.CLIBinary(tb), Cmd{Args: args})
}

// Cluster is a set of real redis-server nodes made into a cluster.
type Cluster struct {
	Nodes    []*redistest.Server
	Password string
	TLS      *redistest.TLSFiles // nil for plain TCP
	Flavor   string              // pinned server family, "" for the chosen one
}

// ClusterOptions shape a test cluster.
type ClusterOptions struct {
	Masters  int
	Replicas int      // per master
	Hosts    []string // loopback addresses used round-robin, default 127.0.0.1
	Password string
	Args     []string            // extra redis-server arguments
	TLS      *redistest.TLSFiles // TLS-only nodes (make with redistest.MakeTLS)
	Flavor   string              // "redis" or "valkey" for a test about one; "" follows redistest.FlavorEnv
}

// NewCluster starts nodes and creates the cluster with real
// `redis-cli --cluster create`, then waits until every node reports
// cluster_state:ok and agrees with the others.
func NewCluster(tb testing.TB, o ClusterOptions) *Cluster {
	tb.Helper()
	n := o.Masters * (1 + o.Replicas)
	nodes := redistest.StartNodes(tb, n, redistest.Options{Password: o.Password, Args: o.Args, TLS: o.TLS, Flavor: o.Flavor}, o.Hosts...)
	c := &Cluster{Nodes: nodes, Password: o.Password, TLS: o.TLS, Flavor: o.Flavor}
	args := []string{"--cluster", "create"}
	for _, s := range nodes {
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", fmt.Sprint(o.Replicas), "--cluster-yes")
	if r := c.CLI(tb, args...); r.Code != 0 {
		tb.Fatalf("redis-cli --cluster create failed (%d):\n%s", r.Code, r.Output())
	}
	c.WaitHealthy(tb)
	return c
}

// Addr is the first node's address, a seed for commands.
func (c *Cluster) Addr() string { return c.Nodes[0].Addr() }

// CLI runs redis-cli with the cluster's password, if any.
func (c *Cluster) CLI(tb testing.TB, args ...string) Result {
	tb.Helper()
	return Exec(tb, redistest.CLIBinary(tb, c.Flavor), Cmd{Args: append(c.ConnArgs(), args...)})
}

// ConnArgs are the password and TLS flags for this cluster, which
// redis-cli and gocluster both accept.
func (c *Cluster) ConnArgs() []string {
	var args []string
	if c.Password != "" {
		args = append(args, "-a", c.Password, "--no-auth-warning")
	}
	if c.TLS != nil {
		args = append(args, c.TLS.CLIArgs()...)
	}
	return args
}

// RedisCheck runs `redis-cli --cluster check` on the cluster.
func (c *Cluster) RedisCheck(tb testing.TB) Result {
	tb.Helper()
	return c.CLI(tb, "--cluster", "check", c.Addr())
}

// WaitHealthy waits until redis-cli --cluster check passes and every node
// says cluster_state:ok, or fails the test after 30 s.
func (c *Cluster) WaitHealthy(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		if r := c.RedisCheck(tb); r.Code == 0 && !strings.Contains(r.Stdout, "[ERR]") && !strings.Contains(r.Stdout, "[WARNING]") {
			ok := true
			for _, s := range c.Nodes {
				info := c.CLI(tb, "-h", s.Host, "-p", fmt.Sprint(s.Port), "CLUSTER", "INFO")
				if !strings.Contains(info.Stdout, "cluster_state:ok") {
					ok, last = false, s.Addr()+": "+info.Output()
					break
				}
			}
			if ok {
				return
			}
		} else {
			last = r.Output()
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("cluster did not become healthy in 30s; last:\n%s", last)
}

// valkeyWords maps valkey-cli's words onto the redis-cli lines gocluster
// keeps on every server (docs/valkey.md lists them).
var valkeyWords = strings.NewReplacer(
	" primaries.", " masters.",
	" replicas.\n", " slaves.\n",
	" slots) replica", " slots) slave",
	"Primary[", "Master[",
)

// RedisWords returns a valkey-cli output in redis-cli's words, so one
// assertion compares gocluster with either CLI; redis-cli output is
// returned as it is.
func RedisWords(out string) string { return valkeyWords.Replace(out) }

// Topology loads the cluster from its first node, as gocluster sees it.
func (c *Cluster) Topology(tb testing.TB) *topology.Cluster {
	tb.Helper()
	pool, err := conn.NewPool(conn.Options{Password: c.Password})
	if err != nil {
		tb.Fatal(err)
	}
	defer pool.Close()
	topo, err := topology.Load(context.Background(), pool, c.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	return topo
}

// ClusterClient is a go-redis cluster client seeded with every node (it
// is closed when the test ends).
func (c *Cluster) ClusterClient(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Password: c.Password,
		DialTimeout: time.Second, ReadTimeout: 5 * time.Second, MaxRedirects: 8})
	tb.Cleanup(func() { cc.Close() })
	return cc
}

// WaitFor polls cond until it holds, or fails the test after limit,
// naming what it waited for.
func WaitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
