package faults

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	enginee2e "github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// nodeTimeout is cluster-node-timeout on every node: short, so that a
// killed or frozen master's replica takes over within a trial.
const nodeTimeout = 1500 * time.Millisecond

// persistence makes a killed node come back with what it acknowledged.
var persistence = []string{"--appendonly", "yes", "--appendfsync", "always"}

// node is one server process of a trial: redis-server, valkey-server or
// `gocluster server`, all stopped and restarted the same way.
type node interface {
	Addr() string
	kill()          // SIGKILL, returns once the process is gone
	restart() error // start again on the same port and data directory
	pause() error   // SIGSTOP
	resume() error  // SIGCONT
	exited() bool   // the process ended (del-node shuts the removed node down)
	client() *redis.Client
	dir() string // its data directory: log, nodes.conf, AOF
}

type serverNode struct{ s *redistest.Server }

func (n serverNode) Addr() string          { return n.s.Addr() }
func (n serverNode) kill()                 { n.s.Kill() }
func (n serverNode) restart() error        { return n.s.Restart() }
func (n serverNode) pause() error          { return n.s.Signal(syscall.SIGSTOP) }
func (n serverNode) resume() error         { return n.s.Signal(syscall.SIGCONT) }
func (n serverNode) exited() bool          { return !n.s.Alive() }
func (n serverNode) client() *redis.Client { return n.s.Client() }
func (n serverNode) dir() string           { return n.s.Dir }

type engineNode struct{ n *enginee2e.Node }

func (n engineNode) Addr() string { return n.n.Addr() }
func (n engineNode) kill() {
	if !n.n.Exited() {
		n.n.Signal(syscall.SIGKILL)
	}
}
func (n engineNode) restart() error        { n.kill(); n.n.Restart(); return nil }
func (n engineNode) pause() error          { return n.signal(syscall.SIGSTOP) }
func (n engineNode) resume() error         { return n.signal(syscall.SIGCONT) }
func (n engineNode) exited() bool          { return n.n.Exited() }
func (n engineNode) client() *redis.Client { return n.n.Client() }
func (n engineNode) dir() string           { return n.n.Dir }

// signal sends sig without waiting for an exit, as Node.Signal does.
func (n engineNode) signal(sig syscall.Signal) error {
	pid := n.n.PID()
	if pid == 0 {
		return fmt.Errorf("%s is not running", n.Addr())
	}
	return syscall.Kill(pid, sig)
}

// backends are the server families a trial runs on.
var backends = []string{"redis", "valkey", "engine"}

// startNodes starts n empty cluster-enabled nodes of a backend, with
// persistence; standalone nodes (the source of import) have cluster off.
func startNodes(t *testing.T, backend string, n int, cluster bool) []node {
	t.Helper()
	out := make([]node, n)
	for i := range out {
		if backend == "engine" {
			var args []string
			args = append(args, persistence...)
			out[i] = engineNode{enginee2e.Start(t, enginee2e.Options{Cluster: cluster, NodeTimeout: nodeTimeout, Args: args})}
			continue
		}
		args := append([]string{"--cluster-node-timeout", fmt.Sprint(nodeTimeout.Milliseconds())}, persistence...)
		out[i] = serverNode{redistest.Start(t, redistest.Options{Cluster: cluster, Flavor: backend, Args: args})}
	}
	return out
}

func addrsOf(nodes []node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr()
	}
	return out
}

// clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id, addr, masterID string
	master, failed     bool
	slots              []string // ranges as printed, open-slot entries left out
	open               []int    // slots this node migrates or imports
}

// clusterNodes reads CLUSTER NODES from a node, with a short deadline.
func clusterNodes(n node) ([]clusterNode, error) {
	c := n.client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	text, err := c.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, err
	}
	var out []clusterNode
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		cn := clusterNode{id: f[0], addr: strings.SplitN(f[1], "@", 2)[0], masterID: f[3],
			master: strings.Contains(f[2], "master"), failed: strings.Contains(f[2], "fail")}
		for _, s := range f[8:] {
			if !strings.HasPrefix(s, "[") {
				cn.slots = append(cn.slots, s)
				continue
			}
			var slot int
			if _, err := fmt.Sscanf(s, "[%d", &slot); err == nil {
				cn.open = append(cn.open, slot)
			}
		}
		out = append(out, cn)
	}
	return out, nil
}

// slotOwners maps every slot to the address of its owner in one view.
func slotOwners(view []clusterNode) (map[int]string, error) {
	owners := map[int]string{}
	for _, n := range view {
		for _, r := range n.slots {
			lo, hi := 0, 0
			if _, err := fmt.Sscanf(r, "%d-%d", &lo, &hi); err != nil {
				if _, err := fmt.Sscanf(r, "%d", &lo); err != nil {
					return nil, fmt.Errorf("bad slot range %q", r)
				}
				hi = lo
			}
			for s := lo; s <= hi; s++ {
				if prev, ok := owners[s]; ok && prev != n.addr {
					return nil, fmt.Errorf("slot %d claimed by %s and %s", s, prev, n.addr)
				}
				owners[s] = n.addr
			}
		}
	}
	return owners, nil
}

// agreement says why the members' views differ, or "" when every member
// sees all 16384 slots, each with one owner, the same on every node, and
// no member marked failed.
func agreement(members []node) string {
	var first map[int]string
	var firstAddr string
	for _, n := range members {
		view, err := clusterNodes(n)
		if err != nil {
			return fmt.Sprintf("CLUSTER NODES on %s: %v", n.Addr(), err)
		}
		for _, cn := range view {
			if cn.failed {
				return fmt.Sprintf("%s sees %s as failed", n.Addr(), cn.addr)
			}
		}
		owners, err := slotOwners(view)
		if err != nil {
			return n.Addr() + ": " + err.Error()
		}
		if len(owners) != 16384 {
			return fmt.Sprintf("%s sees %d of 16384 slots covered", n.Addr(), len(owners))
		}
		if first == nil {
			first, firstAddr = owners, n.Addr()
			continue
		}
		for s, o := range owners {
			if first[s] != o {
				return fmt.Sprintf("slot %d: %s says %s owns it, %s says %s", s, firstAddr, first[s], n.Addr(), o)
			}
		}
	}
	return ""
}

// members are the nodes that a node's view lists, by address.
func members(all []node, seed node) []node {
	view, err := clusterNodes(seed)
	if err != nil {
		return nil
	}
	in := map[string]bool{}
	for _, cn := range view {
		in[cn.addr] = true
	}
	var out []node
	for _, n := range all {
		if in[n.Addr()] {
			out = append(out, n)
		}
	}
	return out
}
