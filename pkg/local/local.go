// Package local starts and stops a set of cluster-enabled nodes on this
// machine: embedded engine nodes (in this process) or redis-server
// processes. It only starts empty nodes; making them a cluster is
// admin.Create's job.
package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gocluster/gocluster/pkg/engine"
	"github.com/gocluster/gocluster/pkg/engine/config"
)

// Backends.
const (
	BackendEngine      = "engine"
	BackendRedisServer = "redis-server"
)

// Options describe the nodes to start.
type Options struct {
	Nodes       int    // how many nodes
	Host        string // loopback address to bind, default 127.0.0.1
	BasePort    int    // first port; nodes use BasePort, BasePort+1, ...
	Dir         string // data directory (one subdirectory per node); required
	Backend     string // BackendEngine (default) or BackendRedisServer
	Password    string // requirepass and masterauth
	NodeTimeout time.Duration
	// Persist keeps the data in Dir across restarts: every node runs with
	// appendonly yes (appendfsync everysec), as a production node would.
	Persist bool
}

// Node is one running node.
type Node struct {
	Addr   string
	engine *engine.Node
	proc   *exec.Cmd
	exited chan struct{}
}

// Set is the running nodes.
type Set struct {
	Nodes []*Node
}

// Addrs lists the nodes' host:port addresses.
func (s *Set) Addrs() []string {
	out := make([]string, len(s.Nodes))
	for i, n := range s.Nodes {
		out[i] = n.Addr
	}
	return out
}

// Start launches the nodes and waits until each accepts connections. On any
// failure the nodes already started are stopped again.
func Start(ctx context.Context, o Options) (*Set, error) {
	if o.Nodes <= 0 {
		return nil, errors.New("need at least one node")
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.BasePort <= 0 || o.BasePort+o.Nodes-1 > 55535 {
		return nil, fmt.Errorf("base port %d out of range: ports and their +10000 bus ports must fit below 65536", o.BasePort)
	}
	if o.Dir == "" {
		return nil, errors.New("a data directory is required")
	}
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = 5 * time.Second
	}
	if o.Backend == "" {
		o.Backend = BackendEngine
	}
	for i := range o.Nodes {
		for _, p := range []int{o.BasePort + i, o.BasePort + i + 10000} {
			if !portFree(o.Host, p) {
				return nil, fmt.Errorf("port %d on %s is in use: pick another --port", p, o.Host)
			}
		}
	}
	if err := checkSavedClusterSize(o); err != nil {
		return nil, err
	}
	set := &Set{}
	for i := range o.Nodes {
		port := o.BasePort + i
		dir := filepath.Join(o.Dir, strconv.Itoa(port))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			set.Stop()
			return nil, err
		}
		var n *Node
		var err error
		switch o.Backend {
		case BackendEngine:
			n, err = startEngine(o, port, dir)
		case BackendRedisServer:
			n, err = startRedis(ctx, o, port, dir)
		default:
			err = fmt.Errorf("unknown backend %q: use %s or %s", o.Backend, BackendEngine, BackendRedisServer)
		}
		if err != nil {
			set.Stop()
			return nil, fmt.Errorf("node on port %d: %w", port, err)
		}
		set.Nodes = append(set.Nodes, n)
	}
	return set, nil
}

func nodeArgs(o Options, port int, dir string) []string {
	args := []string{
		"--port", strconv.Itoa(port), "--bind", o.Host, "--dir", dir,
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", strconv.FormatInt(o.NodeTimeout.Milliseconds(), 10),
	}
	if o.Password != "" {
		args = append(args, "--requirepass", o.Password, "--masterauth", o.Password)
	}
	if o.Persist {
		args = append(args, "--appendonly", "yes")
	} else {
		args = append(args, "--appendonly", "no")
	}
	return args
}

func startEngine(o Options, port int, dir string) (*Node, error) {
	args := append(nodeArgs(o, port, dir), "--logfile", filepath.Join(dir, "node.log"))
	cfg, err := config.Load("", args)
	if err != nil {
		return nil, err
	}
	en, err := engine.Start(cfg)
	if err != nil {
		return nil, err
	}
	return &Node{Addr: net.JoinHostPort(o.Host, strconv.Itoa(port)), engine: en}, nil
}

func startRedis(ctx context.Context, o Options, port int, dir string) (*Node, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found in PATH (install redis-server, or use the engine backend)")
	}
	conf := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		return nil, err
	}
	args := append([]string{conf}, nodeArgs(o, port, dir)...)
	args = append(args, "--save", "", "--logfile", filepath.Join(dir, "redis.log"),
		"--repl-diskless-sync-delay", "0")
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &Node{Addr: net.JoinHostPort(o.Host, strconv.Itoa(port)), proc: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(n.exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-n.exited:
			return nil, fmt.Errorf("redis-server exited at start; see %s", filepath.Join(dir, "redis.log"))
		case <-ctx.Done():
			n.Stop()
			return nil, ctx.Err()
		default:
		}
		if c, err := net.DialTimeout("tcp", n.Addr, 200*time.Millisecond); err == nil {
			c.Close()
			return n, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.Stop()
	return nil, errors.New("redis-server did not accept connections in 10s")
}

// Stop ends the node: closes an engine node, or terminates the process it
// started (by PID) and waits for it.
func (n *Node) Stop() {
	if n.engine != nil {
		n.engine.Close()
	}
	if n.proc != nil && n.proc.Process != nil {
		select {
		case <-n.exited:
			return
		default:
		}
		n.proc.Process.Signal(os.Interrupt)
		select {
		case <-n.exited:
		case <-time.After(5 * time.Second):
			n.proc.Process.Kill()
			<-n.exited
		}
	}
}

// Stop ends every node.
func (s *Set) Stop() {
	for _, n := range s.Nodes {
		n.Stop()
	}
}

func portFree(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
