package admin

import (
	"context"
	"sync"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
)

// MasterInfo is one line of `info`: a master, its key count, slots and replicas.
type MasterInfo struct {
	Addr     string `json:"addr"`
	ID       string `json:"id"`
	Keys     int64  `json:"keys"`
	Slots    int    `json:"slots"`
	Replicas int    `json:"replicas"`
}

// InfoResult summarises the masters of a cluster.
type InfoResult struct {
	Masters []MasterInfo `json:"masters"`
	Keys    int64        `json:"keys"`
}

// KeysPerSlot is the average number of keys per slot.
func (r *InfoResult) KeysPerSlot() float64 { return float64(r.Keys) / 16384 }

// Info loads the cluster from seed and counts keys on every master.
func Info(ctx context.Context, pool *conn.Pool, seed string) (*InfoResult, error) {
	c, err := topology.Load(ctx, pool, seed)
	if err != nil {
		return nil, err
	}
	return InfoLoaded(ctx, pool, c)
}

// InfoLoaded runs DBSIZE on every reachable master in parallel.
func InfoLoaded(ctx context.Context, pool *conn.Pool, c *topology.Cluster) (*InfoResult, error) {
	masters := c.Masters()
	res := &InfoResult{Masters: make([]MasterInfo, len(masters))}
	errs := make([]error, len(masters))
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := pool.Get(m.Addr()).DBSize(ctx).Result()
			errs[i] = conn.NodeError(m.Addr(), "DBSIZE", err)
			res.Masters[i] = MasterInfo{Addr: m.Addr(), ID: m.ID, Keys: n, Slots: m.Slots.Len(),
				Replicas: len(c.ReplicasOf(m.ID))}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		res.Keys += res.Masters[i].Keys
	}
	return res, nil
}
