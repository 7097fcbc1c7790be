package admin

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// memorySamplesPerSlot is how many keys of a slot MEMORY USAGE weighs when
// the server cannot tell a slot's bytes itself; the slot's bytes are their
// mean times its key count.
const memorySamplesPerSlot = 8

// pipelineBatch bounds the commands sent in one pipeline.
const pipelineBatch = 1000

// MeasureSlots weighs every slot of every master, all masters in
// parallel: by keys with CLUSTER SLOT-STATS (Valkey 8+, the engine) in
// one call, else CLUSTER COUNTKEYSINSLOT per slot, pipelined; by memory
// with SLOT-STATS memory-bytes where the server reports it, else by
// sampling MEMORY USAGE of a few keys per slot.
func MeasureSlots(ctx context.Context, pool *conn.Pool, c *topology.Cluster, by string) (*SlotLoads, error) {
	if by != ByKeys && by != ByMemory {
		return nil, fmt.Errorf("cannot measure slots by %q: want %s or %s", by, ByKeys, ByMemory)
	}
	out := &SlotLoads{By: by, Method: map[string]string{}}
	masters := c.Masters()
	errs := make([]error, len(masters))
	methods := make([]string, len(masters))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loads, method, err := measureMaster(ctx, pool.Get(m.Addr()), m.Slots.Slots(), by)
			if err != nil {
				errs[i] = conn.NodeError(m.Addr(), method, err)
				return
			}
			methods[i] = method
			mu.Lock()
			for s, l := range loads {
				out.Load[s] = l
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i, m := range masters {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out.Method[m.Addr()] = methods[i]
	}
	return out, nil
}

func measureMaster(ctx context.Context, cl *redis.Client, owned []int, by string) (map[int]int64, string, error) {
	stats, statsErr := slotStats(ctx, cl)
	keys := map[int]int64{}
	method := "CLUSTER SLOT-STATS"
	if statsErr == nil {
		for _, s := range owned {
			keys[s] = stats[s]["key-count"]
		}
	} else {
		method = "CLUSTER COUNTKEYSINSLOT"
		var err error
		if keys, err = countKeys(ctx, cl, owned); err != nil {
			return nil, method, err
		}
	}
	if by == ByKeys {
		return keys, method, nil
	}
	if statsErr == nil && hasStat(stats, "memory-bytes") {
		mem := map[int]int64{}
		for _, s := range owned {
			mem[s] = stats[s]["memory-bytes"]
		}
		return mem, method, nil
	}
	mem, err := sampleMemory(ctx, cl, keys)
	return mem, "sampled MEMORY USAGE", err
}

// slotStats reads CLUSTER SLOT-STATS SLOTSRANGE 0 16383: slot -> metric -> value.
func slotStats(ctx context.Context, cl *redis.Client) (map[int]map[string]int64, error) {
	v, err := cl.Do(ctx, "CLUSTER", "SLOT-STATS", "SLOTSRANGE", "0", fmt.Sprint(slots.Count-1)).Slice()
	if err != nil {
		return nil, err
	}
	out := make(map[int]map[string]int64, len(v))
	for _, e := range v {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("CLUSTER SLOT-STATS: unexpected entry %v", e)
		}
		slot, ok1 := pair[0].(int64)
		fields, ok2 := pair[1].([]any)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("CLUSTER SLOT-STATS: unexpected entry %v", e)
		}
		m := map[string]int64{}
		for i := 0; i+1 < len(fields); i += 2 {
			name, _ := fields[i].(string)
			n, _ := fields[i+1].(int64)
			m[strings.ToLower(name)] = n
		}
		out[int(slot)] = m
	}
	return out, nil
}

func hasStat(stats map[int]map[string]int64, name string) bool {
	for _, m := range stats {
		_, ok := m[name]
		return ok
	}
	return false
}

func countKeys(ctx context.Context, cl *redis.Client, owned []int) (map[int]int64, error) {
	out := make(map[int]int64, len(owned))
	for start := 0; start < len(owned); start += pipelineBatch {
		batch := owned[start:min(start+pipelineBatch, len(owned))]
		pipe := cl.Pipeline()
		cmds := make([]*redis.IntCmd, len(batch))
		for i, s := range batch {
			cmds[i] = pipe.ClusterCountKeysInSlot(ctx, s)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		for i, s := range batch {
			out[s] = cmds[i].Val()
		}
	}
	return out, nil
}

// sampleMemory estimates each slot's bytes: the mean MEMORY USAGE of up
// to memorySamplesPerSlot of its keys, times its key count.
func sampleMemory(ctx context.Context, cl *redis.Client, keys map[int]int64) (map[int]int64, error) {
	var busy []int
	for s, n := range keys {
		if n > 0 {
			busy = append(busy, s)
		}
	}
	out := make(map[int]int64, len(keys))
	for start := 0; start < len(busy); start += pipelineBatch / memorySamplesPerSlot {
		batch := busy[start:min(start+pipelineBatch/memorySamplesPerSlot, len(busy))]
		pipe := cl.Pipeline()
		names := make([]*redis.StringSliceCmd, len(batch))
		for i, s := range batch {
			names[i] = pipe.ClusterGetKeysInSlot(ctx, s, memorySamplesPerSlot)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		pipe = cl.Pipeline()
		usage := make([][]*redis.IntCmd, len(batch))
		for i := range batch {
			for _, k := range names[i].Val() {
				usage[i] = append(usage[i], pipe.MemoryUsage(ctx, k))
			}
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, err
		}
		for i, s := range batch {
			var sum, n int64
			for _, u := range usage[i] {
				if b, err := u.Result(); err == nil { // a key deleted meanwhile is skipped
					sum, n = sum+b, n+1
				}
			}
			if n > 0 {
				out[s] = sum / n * keys[s]
			}
		}
	}
	return out, nil
}
