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
}

// SetTimeout sets cluster-node-timeout on every reachable node and persists
// it with CONFIG REWRITE. It returns one result per node; a failure on one
// node does not stop the others.
func SetTimeout(ctx context.Context, pool *conn.Pool, seed string, ms int64, rep Reporter) ([]NodeResult, error) {
	if ms < MinNodeTimeout {
		return nil, fmt.Errorf("timeout %d ms is too small: setting a node timeout of less than %d milliseconds is a bad idea", ms, MinNodeTimeout)
	}
	c, err := topology.Load(ctx, pool, seed)
	if err != nil {
		return nil, err
	}
	out := make([]NodeResult, len(c.Nodes))
	var wg sync.WaitGroup
	for i, n := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = NodeResult{Addr: n.Addr()}
			cl := pool.Get(n.Addr())
			step := "CONFIG SET cluster-node-timeout"
			err := cl.ConfigSet(ctx, "cluster-node-timeout", strconv.FormatInt(ms, 10)).Err()
			if err == nil {
				step = "CONFIG REWRITE"
				err = cl.ConfigRewrite(ctx).Err()
			}
			if err != nil {
				out[i].Error = conn.NodeError(n.Addr(), step, err).Error()
				rep.Report(Event{Kind: EventNodeFailed, Node: n.Addr(), Message: step + ": " + err.Error()})
				return
			}
			rep.Report(Event{Kind: EventNodeUpdated, Node: n.Addr(), Message: "New timeout set for " + n.Addr()})
		}()
	}
	wg.Wait()
	return out, nil
}
