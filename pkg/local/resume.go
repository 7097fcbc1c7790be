package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
)

// Resumed reports whether the nodes already form a cluster: a data
// directory used before, whose nodes.conf files brought back the nodes'
// identities, slots and peers. A cluster of another size is an error,
// since creating over it would mix two clusters.
func Resumed(ctx context.Context, pool *conn.Pool, addrs []string) (bool, error) {
	resumed := false
	for _, addr := range addrs {
		info, err := clusterInfo(ctx, pool, addr)
		if err != nil {
			return false, err
		}
		known, _ := strconv.Atoi(info["cluster_known_nodes"])
		slots, _ := strconv.Atoi(info["cluster_slots_assigned"])
		if known <= 1 && slots == 0 {
			continue
		}
		if known != len(addrs) {
			return false, fmt.Errorf("node %s already belongs to a cluster of %d nodes, not %d: start with the same --masters and --replicas, or use another --dir",
				addr, known, len(addrs))
		}
		resumed = true
	}
	return resumed, nil
}

// checkSavedClusterSize refuses to start nodes on a data directory whose
// nodes.conf files describe a cluster of another size: the nodes would
// rejoin half a cluster (and could start failovers) before any check.
func checkSavedClusterSize(o Options) error {
	saved := 0
	for i := range o.Nodes {
		port := o.BasePort + i
		data, err := os.ReadFile(filepath.Join(o.Dir, strconv.Itoa(port), "nodes.conf"))
		if err != nil {
			continue
		}
		nodes := 0
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 8 && f[0] != "vars" {
				nodes++
			}
		}
		if nodes > 1 && nodes != o.Nodes {
			return fmt.Errorf("%s holds a cluster of %d nodes, not %d: start with the same --masters and --replicas (and --port), or use another --dir",
				filepath.Join(o.Dir, strconv.Itoa(port), "nodes.conf"), nodes, o.Nodes)
		}
		if nodes > 1 {
			saved++
		}
	}
	if saved > 0 && saved < o.Nodes {
		return fmt.Errorf("%s holds the nodes.conf of only %d of the %d nodes on ports %d-%d: use the same --port as before, or another --dir",
			o.Dir, saved, o.Nodes, o.BasePort, o.BasePort+o.Nodes-1)
	}
	return nil
}

// WaitClusterOK waits until every node reports cluster_state:ok (restarted
// nodes find each other again through the cluster bus).
func WaitClusterOK(ctx context.Context, pool *conn.Pool, addrs []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pending := ""
		for _, addr := range addrs {
			info, err := clusterInfo(ctx, pool, addr)
			if err != nil || info["cluster_state"] != "ok" {
				pending = addr
				break
			}
		}
		if pending == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the restarted cluster is not ok after %s (node %s): run gocluster check %s", timeout, pending, pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// clusterInfo reads CLUSTER INFO, waiting (up to a minute) while the node
// is still loading its dataset: a restarted node answers LOADING first.
func clusterInfo(ctx context.Context, pool *conn.Pool, addr string) (map[string]string, error) {
	deadline := time.Now().Add(time.Minute)
	text, err := pool.Get(addr).ClusterInfo(ctx).Result()
	for err != nil && strings.HasPrefix(err.Error(), "LOADING") && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		text, err = pool.Get(addr).ClusterInfo(ctx).Result()
	}
	if err != nil {
		return nil, fmt.Errorf("CLUSTER INFO on %s: %w", addr, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out, nil
}
