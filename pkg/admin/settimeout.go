package admin

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
)

// MinNodeTimeout is the smallest cluster-node-timeout set-timeout accepts,
// as redis-cli ("less than 100 milliseconds is a bad idea").
const MinNodeTimeout = 100

// NodeResult is the outcome of a per-node step.
type NodeResult struct {
	Addr  string `json:"node"`
	Error string `json:"error,omitempty"`
	// NotPersisted says why a change in effect was not saved to the
	// node's config file (e.g. a node started without one).
	NotPersisted string `json:"not_persisted,omitempty"`
}

// SetTimeoutPlan lists the nodes whose cluster-node-timeout will be set.
type SetTimeoutPlan struct {
	TimeoutMS int64    `json:"timeout_ms"`
	Nodes     []string `json:"nodes"`
}

// PlanSetTimeout checks the value and lists every node, the unreachable
// ones last: trying them too makes a node left with the old timeout show
// as a failure.
func PlanSetTimeout(c *topology.Cluster, ms int64) (*SetTimeoutPlan, error) {
	if ms < MinNodeTimeout {
		return nil, fmt.Errorf("timeout %d ms is too small: setting a node timeout of less than %d milliseconds is a bad idea", ms, MinNodeTimeout)
	}
	p := &SetTimeoutPlan{TimeoutMS: ms}
	for _, n := range c.Nodes {
		p.Nodes = append(p.Nodes, n.Addr())
	}
	for _, u := range c.Unreachable {
		p.Nodes = append(p.Nodes, u.Node.Addr())
	}
	return p, nil
}

// ApplySetTimeout sets cluster-node-timeout on every planned node and
// persists it with CONFIG REWRITE, all nodes in parallel. A failure on one
// node does not stop the others; each node gets a result. A node whose
// CONFIG REWRITE fails (no config file, as docker-style nodes run) has the
// timeout in effect: it is reported as set but not persisted, not failed.
func ApplySetTimeout(ctx context.Context, pool *conn.Pool, p *SetTimeoutPlan, rep Reporter) []NodeResult {
	out := make([]NodeResult, len(p.Nodes))
	var wg sync.WaitGroup
	for i, addr := range p.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = NodeResult{Addr: addr}
			cl := pool.Get(addr)
			const step = "CONFIG SET cluster-node-timeout"
			if err := cl.ConfigSet(ctx, "cluster-node-timeout", strconv.FormatInt(p.TimeoutMS, 10)).Err(); err != nil {
				out[i].Error = conn.NodeError(addr, step, err).Error()
				rep.Report(Event{Kind: EventNodeFailed, Node: addr, Message: step + ": " + err.Error()})
				return
			}
			if err := cl.ConfigRewrite(ctx).Err(); err != nil {
				out[i].NotPersisted = "CONFIG REWRITE: " + err.Error()
				rep.Report(Event{Kind: EventWarning, Node: addr, Message: "New timeout set for " + addr + " but not persisted (" + out[i].NotPersisted + ")"})
				return
			}
			rep.Report(Event{Kind: EventNodeUpdated, Node: addr, Message: "New timeout set for " + addr})
		}()
	}
	wg.Wait()
	return out
}
