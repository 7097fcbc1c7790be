package admin

import (
	"context"
	"sync"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// CheckOptions select the optional checks.
type CheckOptions struct {
	SearchMultipleOwners bool
}

// CheckResult is the cluster as loaded, per-master key counts, and the findings.
type CheckResult struct {
	Cluster *topology.Cluster
	Info    *InfoResult
	Report  topology.Report
	// MultipleOwnersSearched tells whether the multiple-owners search ran.
	MultipleOwnersSearched bool
}

// OK reports a healthy cluster.
func (r *CheckResult) OK() bool { return r.Report.OK() }

// Check loads the cluster from seed and runs every check redis-cli runs,
// plus gocluster's own (unreachable nodes, failure flags, replica placement).
func Check(ctx context.Context, pool *conn.Pool, seed string, opts CheckOptions) (*CheckResult, error) {
	c, err := topology.Load(ctx, pool, seed)
	if err != nil {
		return nil, err
	}
	return CheckLoaded(ctx, pool, c, opts)
}

// CheckLoaded runs the checks on an already loaded cluster.
func CheckLoaded(ctx context.Context, pool *conn.Pool, c *topology.Cluster, opts CheckOptions) (*CheckResult, error) {
	info, err := InfoLoaded(ctx, pool, c)
	if err != nil {
		return nil, err
	}
	res := &CheckResult{Cluster: c, Info: info, Report: topology.Check(c)}
	res.Report.Problems = append(res.Report.Problems, atomicMigrationProblems(ctx, pool, c)...)
	if opts.SearchMultipleOwners {
		keys, err := keysInUnownedSlots(ctx, pool, c)
		if err != nil {
			return nil, err
		}
		res.Report.Problems = append(res.Report.Problems, topology.MultipleOwners(c, keys)...)
		res.MultipleOwnersSearched = true
	}
	return res, nil
}

// keysInUnownedSlots counts, for every master, the keys it holds in slots it
// does not own: one pipeline of COUNTKEYSINSLOT per master, all in parallel.
func keysInUnownedSlots(ctx context.Context, pool *conn.Pool, c *topology.Cluster) (map[string]map[int]int64, error) {
	masters := c.Masters()
	out := make(map[string]map[int]int64, len(masters))
	var mu sync.Mutex
	errs := make([]error, len(masters))
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pipe := pool.Get(m.Addr()).Pipeline()
			cmds := map[int]*redis.IntCmd{}
			for s := range slots.Count {
				if !m.Slots.Has(s) {
					cmds[s] = pipe.ClusterCountKeysInSlot(ctx, s)
				}
			}
			if _, err := pipe.Exec(ctx); err != nil {
				errs[i] = conn.NodeError(m.Addr(), "CLUSTER COUNTKEYSINSLOT", err)
				return
			}
			counts := map[int]int64{}
			for s, cmd := range cmds {
				if n := cmd.Val(); n > 0 {
					counts[s] = n
				}
			}
			mu.Lock()
			out[m.ID] = counts
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
