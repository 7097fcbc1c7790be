package admin

import (
	"context"
	"strings"
	"sync"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// keyTypes are the types redis-cli --bigkeys sizes, in the order printed,
// with the command that sizes them and its unit.
var keyTypes = []struct{ name, sizeCmd, unit string }{
	{"string", "STRLEN", "bytes"}, {"list", "LLEN", "items"}, {"set", "SCARD", "members"},
	{"hash", "HLEN", "fields"}, {"zset", "ZCARD", "members"}, {"stream", "XLEN", "entries"},
}

// KeyScanOptions shape bigkeys and memkeys.
type KeyScanOptions struct {
	// Memory sizes keys by MEMORY USAGE in bytes (memkeys) rather than
	// by length (bigkeys).
	Memory bool
	// Samples is MEMORY USAGE's SAMPLES (0: the server's default).
	Samples int
	// ScanCount is SCAN's COUNT hint (default 1000).
	ScanCount int64
	// Progress, when set, is called (from several goroutines) with the
	// number of keys just sized.
	Progress func(keys int)
}

// TypeStats sums one key type.
type TypeStats struct {
	Type        string `json:"type"`
	Unit        string `json:"unit"` // items, bytes, members...; bytes with memkeys
	Count       int64  `json:"count"`
	TotalSize   int64  `json:"total_size"`
	Biggest     string `json:"biggest_key,omitempty"`
	BiggestSize int64  `json:"biggest_size"`
	BiggestNode string `json:"biggest_node,omitempty"`
}

// NodeKeyStats is one master's share of the keys.
type NodeKeyStats struct {
	Addr    string      `json:"addr"`
	Sampled int64       `json:"sampled"`
	KeyLen  int64       `json:"key_length"`
	Types   []TypeStats `json:"types"`
}

// KeyScanResult is the whole cluster: per type and per master.
type KeyScanResult struct {
	Memory  bool           `json:"memory"`
	Sampled int64          `json:"sampled"`
	KeyLen  int64          `json:"key_length"`
	Types   []TypeStats    `json:"types"`
	Nodes   []NodeKeyStats `json:"nodes"`
}

// CountKeys is the sum of DBSIZE over the reachable masters, the total a
// progress bar of ScanKeys counts towards.
func CountKeys(ctx context.Context, pool *conn.Pool, c *topology.Cluster) (int64, error) {
	info, err := InfoLoaded(ctx, pool, c)
	if err != nil {
		return 0, err
	}
	return info.Keys, nil
}

// ScanKeys scans every master in parallel (SCAN, then TYPE and the size
// command or MEMORY USAGE for each batch, pipelined) and keeps, as
// redis-cli --bigkeys / --memkeys does for one node, the biggest key of
// each type and the totals, for the whole cluster and per master.
func ScanKeys(ctx context.Context, pool *conn.Pool, c *topology.Cluster, o KeyScanOptions) (*KeyScanResult, error) {
	if o.ScanCount <= 0 {
		o.ScanCount = 1000
	}
	masters := c.Masters()
	res := &KeyScanResult{Memory: o.Memory, Nodes: make([]NodeKeyStats, len(masters))}
	errs := make([]error, len(masters))
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.Nodes[i], errs[i] = scanNode(ctx, pool.Get(m.Addr()), m.Addr(), o)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	res.Types = newTypeStats(o.Memory)
	for _, n := range res.Nodes {
		res.Sampled += n.Sampled
		res.KeyLen += n.KeyLen
		res.Types = mergeTypes(res.Types, n.Types, n.Addr)
	}
	return res, nil
}

func newTypeStats(memory bool) []TypeStats {
	out := make([]TypeStats, len(keyTypes))
	for i, t := range keyTypes {
		out[i] = TypeStats{Type: t.name, Unit: t.unit}
		if memory {
			out[i].Unit = "bytes"
		}
	}
	return out
}

// mergeTypes adds one master's stats into the cluster's.
func mergeTypes(into, from []TypeStats, addr string) []TypeStats {
	for _, f := range from {
		i := typeIndex(into, f.Type)
		if i < 0 {
			into = append(into, TypeStats{Type: f.Type, Unit: f.Unit})
			i = len(into) - 1
		}
		t := &into[i]
		t.Count += f.Count
		t.TotalSize += f.TotalSize
		if f.Biggest != "" && (t.Biggest == "" || f.BiggestSize > t.BiggestSize) {
			t.Biggest, t.BiggestSize, t.BiggestNode = f.Biggest, f.BiggestSize, addr
		}
	}
	return into
}

func typeIndex(ts []TypeStats, name string) int {
	for i := range ts {
		if ts[i].Type == name {
			return i
		}
	}
	return -1
}

func scanNode(ctx context.Context, cl *redis.Client, addr string, o KeyScanOptions) (NodeKeyStats, error) {
	st := NodeKeyStats{Addr: addr, Types: newTypeStats(o.Memory)}
	var cursor uint64
	for {
		keys, next, err := cl.Scan(ctx, cursor, "", o.ScanCount).Result()
		if err != nil {
			return st, conn.NodeError(addr, "SCAN", err)
		}
		if err := sizeKeys(ctx, cl, keys, o, &st); err != nil {
			return st, conn.NodeError(addr, "TYPE", err)
		}
		if o.Progress != nil && len(keys) > 0 {
			o.Progress(len(keys))
		}
		if cursor = next; cursor == 0 {
			return st, nil
		}
	}
}

// sizeKeys types a batch of keys, then sizes them, two pipelines.
func sizeKeys(ctx context.Context, cl *redis.Client, keys []string, o KeyScanOptions, st *NodeKeyStats) error {
	if len(keys) == 0 {
		return nil
	}
	pipe := cl.Pipeline()
	types := make([]*redis.StatusCmd, len(keys))
	for i, k := range keys {
		types[i] = pipe.Type(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	pipe = cl.Pipeline()
	sizes := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		t := types[i].Val()
		switch {
		case o.Memory && o.Samples > 0:
			sizes[i] = pipe.MemoryUsage(ctx, k, o.Samples)
		case o.Memory:
			sizes[i] = pipe.MemoryUsage(ctx, k)
		default:
			for _, kt := range keyTypes {
				if kt.name == t {
					sizes[i] = redis.NewIntCmd(ctx, kt.sizeCmd, k)
					pipe.Process(ctx, sizes[i])
				}
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil && !strings.Contains(err.Error(), "WRONGTYPE") {
		return err
	}
	for i, k := range keys {
		t := types[i].Val()
		if t == "none" { // deleted since SCAN returned it
			continue
		}
		st.Sampled++
		st.KeyLen += int64(len(k))
		j := typeIndex(st.Types, t)
		if j < 0 {
			unit := "bytes"
			if !o.Memory {
				unit = "items"
			}
			st.Types = append(st.Types, TypeStats{Type: t, Unit: unit})
			j = len(st.Types) - 1
		}
		ts := &st.Types[j]
		ts.Count++
		if sizes[i] == nil {
			continue
		}
		n, err := sizes[i].Result()
		if err != nil { // changed type or deleted between the two pipelines
			continue
		}
		ts.TotalSize += n
		if ts.Biggest == "" || n > ts.BiggestSize {
			ts.Biggest, ts.BiggestSize = k, n
		}
	}
	return nil
}
