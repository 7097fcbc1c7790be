package admin

import (
	"context"
	"errors"
	"fmt"
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

// Call runs one command on every node (or only masters / only replicas) in
// parallel and returns the replies in the cluster's node order.
func Call(ctx context.Context, pool *conn.Pool, seed string, args []string, opts CallOptions) ([]CallResult, error) {
	if len(args) == 0 {
		return nil, errors.New("call needs a command to run")
	}
	c, err := topology.Load(ctx, pool, seed)
	if err != nil {
		return nil, err
	}
	var targets []*topology.Node
	for _, n := range c.Nodes {
		if (opts.OnlyMasters && !n.IsMaster()) || (opts.OnlyReplicas && !n.IsReplica()) {
			continue
		}
		targets = append(targets, n)
	}
	cmdArgs := make([]any, len(args))
	for i, a := range args {
		cmdArgs[i] = a
	}
	out := make([]CallResult, len(targets))
	var wg sync.WaitGroup
	for i, n := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			role := "master"
			if n.IsReplica() {
				role = "replica"
			}
			out[i] = CallResult{Addr: n.Addr(), ID: n.ID, Role: role}
			reply, err := pool.Get(n.Addr()).Do(ctx, cmdArgs...).Result()
			switch {
			case errors.Is(err, redis.Nil):
				out[i].Reply = nil
			case err != nil:
				out[i].Error = conn.NodeError(n.Addr(), "", err).Error()
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
	return out, nil
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
