package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// CallOptions choose which nodes a command runs on.
type CallOptions struct {
	OnlyMasters  bool
	OnlyReplicas bool
}

// CallResult is one node's answer.
type CallResult struct {
	Addr  string `json:"node"`
	ID    string `json:"id"`
	Role  string `json:"role"`
	Reply any    `json:"reply"`
	Error string `json:"error,omitempty"`
}

// Failed reports whether the command failed on this node (connection or error reply).
func (r CallResult) Failed() bool { return r.Error != "" }

// CallPlan is the command and the nodes it will run on.
type CallPlan struct {
	Command []string     `json:"command"`
	Targets []CallTarget `json:"nodes"`
}

// CallTarget is one node a command runs on.
type CallTarget struct {
	Addr string `json:"node"`
	ID   string `json:"id"`
	Role string `json:"role"`
}

// PlanCall picks the nodes (all, only masters or only replicas) in the
// cluster's node order, then the unreachable ones: they are tried too, so
// that a node the command could not reach shows as a failure, not as
// nothing.
func PlanCall(c *topology.Cluster, args []string, opts CallOptions) (*CallPlan, error) {
	if len(args) == 0 {
		return nil, errors.New("call needs a command to run")
	}
	p := &CallPlan{Command: args}
	nodes := slices.Clone(c.Nodes)
	for _, u := range c.Unreachable {
		nodes = append(nodes, u.Node)
	}
	for _, n := range nodes {
		if (opts.OnlyMasters && !n.IsMaster()) || (opts.OnlyReplicas && !n.IsReplica()) {
			continue
		}
		role := "master"
		if n.IsReplica() {
			role = "replica"
		}
		p.Targets = append(p.Targets, CallTarget{Addr: n.Addr(), ID: n.ID, Role: role})
	}
	return p, nil
}

// ApplyCall runs the command on every planned node in parallel and returns
// the replies in plan order.
func ApplyCall(ctx context.Context, pool *conn.Pool, p *CallPlan) []CallResult {
	cmdArgs := make([]any, len(p.Command))
	for i, a := range p.Command {
		cmdArgs[i] = a
	}
	out := make([]CallResult, len(p.Targets))
	var wg sync.WaitGroup
	for i, t := range p.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = CallResult{Addr: t.Addr, ID: t.ID, Role: t.Role}
			reply, err := pool.Get(t.Addr).Do(ctx, cmdArgs...).Result()
			switch {
			case errors.Is(err, redis.Nil):
				out[i].Reply = nil
			case err != nil:
				out[i].Error = conn.NodeError(t.Addr, "", err).Error()
				var re redis.Error
				if errors.As(err, &re) {
					out[i].Error = re.Error() // an error reply is shown as the node sent it
				}
			default:
				out[i].Reply = reply
			}
		}()
	}
	wg.Wait()
	return out
}

// FormatRaw renders a reply the way redis-cli --cluster call does: strings
// as they are, integers in decimal, arrays one element per line, nil empty.
func FormatRaw(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return fmt.Sprint(x)
	case bool:
		if x {
			return "(true)"
		}
		return "(false)"
	case float64:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = FormatRaw(e)
		}
		return strings.Join(parts, "\n")
	case map[any]any:
		var parts []string
		for k, val := range x {
			parts = append(parts, FormatRaw(k)+" "+FormatRaw(val))
		}
		return strings.Join(parts, "\n")
	}
	return fmt.Sprint(v)
}
