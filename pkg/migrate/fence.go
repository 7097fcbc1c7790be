package migrate

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
)

// DefaultReplicaWait bounds how long a drain waits for a target's replicas
// to confirm the keys copied to it before it deletes them from the source.
const DefaultReplicaWait = 10 * time.Second

// replicaFence tells when every replica of a target holds the writes the
// target had made when wait was called. A key leaves the source only
// after the fence: MIGRATE alone deletes it as soon as the target master
// has it, and a failover of the target before its replica got the key
// would lose it (issue 16's seed 82795).
//
// Waits that overlap share one round of checks, which starts after all of
// them began: a round reads the target's offset once, then each replica's.
type replicaFence struct {
	pool   *conn.Pool
	target string
	bound  time.Duration
	// replid is the target's replication ID when the fence was made: a
	// target that restarted or failed over since may have lost the copies.
	replid string

	// broken is set once a round failed: sharedFence makes a new one.
	broken atomic.Bool

	mu       sync.Mutex
	busy     bool
	next     *fenceRound
	replicas []string // the target's replicas not flagged fail
	// ackOnly are connected replicas the target's CLUSTER NODES does not
	// list yet (just after create or add-node): the fence reads the offset
	// each acknowledged from the target, since their own address as the
	// target sees it may not be reachable from here.
	ackOnly  []string
	listedAt time.Time // when replicas was read
}

type fenceRound struct {
	done chan struct{}
	err  error
}

// newReplicaFence reads the target's replication ID and replicas; it
// returns nil when the target has no replica that could take its place.
func newReplicaFence(ctx context.Context, pool *conn.Pool, target string, bound time.Duration) (*replicaFence, error) {
	f := &replicaFence{pool: pool, target: target, bound: bound}
	fields, err := f.targetInfo(ctx)
	if err != nil {
		return nil, err
	}
	if f.replid, _, err = f.targetOffset(fields); err != nil {
		return nil, err
	}
	if err := f.listReplicas(ctx, conn.ConnectedReplicas(fields)); err != nil {
		return nil, err
	}
	if len(f.replicas) == 0 && len(f.ackOnly) == 0 {
		return nil, nil
	}
	return f, nil
}

// fenceReuse is how long sharedFence hands out the same fence: fix drains
// one slot per call, and each fence costs an INFO and a CLUSTER NODES to
// make; slots that share a fence also share its rounds.
const fenceReuse = 5 * time.Second

var fences struct {
	sync.Mutex
	m map[fenceKey]cachedFence
}

type fenceKey struct {
	pool   *conn.Pool
	target string
}

type cachedFence struct {
	fence *replicaFence // nil: the target had no replica
	made  time.Time
}

// sharedFence returns a recent fence for target, or makes one.
func sharedFence(ctx context.Context, pool *conn.Pool, target string, bound time.Duration) (*replicaFence, error) {
	key := fenceKey{pool, target}
	fences.Lock()
	c, ok := fences.m[key]
	fences.Unlock()
	if ok && time.Since(c.made) < fenceReuse && (c.fence == nil || !c.fence.broken.Load()) {
		return c.fence, nil
	}
	f, err := newReplicaFence(ctx, pool, target, bound)
	if err != nil {
		return nil, err
	}
	fences.Lock()
	defer fences.Unlock()
	if fences.m == nil {
		fences.m = map[fenceKey]cachedFence{}
	}
	for k, c := range fences.m {
		if time.Since(c.made) >= fenceReuse {
			delete(fences.m, k)
		}
	}
	fences.m[key] = cachedFence{f, time.Now()}
	return f, nil
}

// wait returns once the target's replicas hold everything the target had
// when wait was called, or why they may not.
func (f *replicaFence) wait(ctx context.Context) error {
	f.mu.Lock()
	if f.next == nil {
		f.next = &fenceRound{done: make(chan struct{})}
	}
	round := f.next
	if !f.busy {
		f.startNextLocked()
	}
	f.mu.Unlock()
	select {
	case <-round.done:
		return round.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *replicaFence) startNextLocked() {
	round := f.next
	f.next, f.busy = nil, true
	go func() {
		// A round outlives a cancelled waiter: others may share it.
		ctx, cancel := context.WithTimeout(context.Background(), f.bound+5*time.Second)
		round.err = f.check(ctx)
		cancel()
		if round.err != nil {
			f.broken.Store(true)
		}
		close(round.done)
		f.mu.Lock()
		f.busy = false
		if f.next != nil {
			f.startNextLocked()
		}
		f.mu.Unlock()
	}()
}

// check reads the target's offset, then waits for each replica to reach it.
func (f *replicaFence) check(ctx context.Context) error {
	fields, err := f.targetInfo(ctx)
	if err != nil {
		return err
	}
	replid, offset, err := f.targetOffset(fields)
	if err != nil {
		return err
	}
	if replid != f.replid {
		return fmt.Errorf("target %s changed its replication ID since the migration began (restarted or failed over): the keys it was given may be gone, so they stay on the source", f.target)
	}
	deadline := time.Now().Add(f.bound)
	pause := 200 * time.Microsecond
	for {
		if time.Since(f.listedAt) > time.Second {
			links, err := f.targetLinks(ctx)
			if err != nil {
				return err
			}
			if err := f.listReplicas(ctx, links); err != nil {
				return err
			}
		}
		behind, why := f.firstBehind(ctx, offset)
		if behind == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %s of target %s has not confirmed the copied keys within %s (%s); they stay on the source too, so nothing is lost: run `gocluster fix` once the replica catches up or is marked failed", behind, f.target, f.bound, why)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for replica %s of target %s: %w", behind, f.target, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(pause*2, 20*time.Millisecond)
	}
}

// firstBehind returns the first replica whose offset is below offset (or
// that does not answer), and why; "" when all have it.
func (f *replicaFence) firstBehind(ctx context.Context, offset int64) (string, string) {
	for _, r := range f.replicas {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		info, err := f.pool.Get(r).Info(rctx, "replication").Result()
		cancel()
		if err != nil {
			return r, err.Error()
		}
		fields := conn.InfoFields(info)
		got, _ := strconv.ParseInt(fields["slave_repl_offset"], 10, 64)
		switch {
		case fields["role"] != "slave":
			return r, "it is not a replica any more"
		case fields["master_replid"] != f.replid:
			return r, "it follows another replication stream"
		case got < offset:
			return r, fmt.Sprintf("at offset %d of %d", got, offset)
		}
	}
	if len(f.ackOnly) == 0 {
		return "", ""
	}
	links, err := f.targetLinks(ctx)
	if err != nil {
		return f.ackOnly[0], err.Error()
	}
	for _, r := range f.ackOnly {
		i := slices.IndexFunc(links, func(l conn.ReplicaLink) bool { return l.Addr == r })
		switch {
		case i < 0:
			return r, "it is not connected to the target"
		case links[i].Offset < offset:
			return r, fmt.Sprintf("acknowledged offset %d of %d", links[i].Offset, offset)
		}
	}
	return "", ""
}

// targetInfo reads the target's INFO replication fields.
func (f *replicaFence) targetInfo(ctx context.Context) (map[string]string, error) {
	info, err := f.pool.Get(f.target).Info(ctx, "replication").Result()
	if err != nil {
		return nil, conn.NodeError(f.target, "INFO replication", err)
	}
	return conn.InfoFields(info), nil
}

// targetLinks reads the replicas connected to the target.
func (f *replicaFence) targetLinks(ctx context.Context) ([]conn.ReplicaLink, error) {
	fields, err := f.targetInfo(ctx)
	if err != nil {
		return nil, err
	}
	return conn.ConnectedReplicas(fields), nil
}

// targetOffset reads the target's replication ID and offset from its INFO
// replication fields.
func (f *replicaFence) targetOffset(fields map[string]string) (string, int64, error) {
	offset, err := strconv.ParseInt(fields["master_repl_offset"], 10, 64)
	if err != nil || fields["master_replid"] == "" {
		return "", 0, conn.NodeError(f.target, "INFO replication", fmt.Errorf("no master_replid/master_repl_offset in its reply"))
	}
	return fields["master_replid"], offset, nil
}

// listReplicas reads the target's replicas from its own view of the
// cluster. Replicas flagged fail are left out: the cluster will not elect
// them, and waiting for one would stall every slot. INFO's list of
// connected replicas is not enough: one whose link just dropped is still a
// candidate for failover. Nor is CLUSTER NODES alone: a replica that just
// joined may be connected, and electable, before the target's view has it
// (links: the target's connected replicas, read by the caller).
func (f *replicaFence) listReplicas(ctx context.Context, links []conn.ReplicaLink) error {
	view, err := topology.FetchNodes(ctx, f.pool, f.target)
	if err != nil {
		return err
	}
	var me string
	for _, n := range view {
		if n.Myself() {
			me = n.ID
		}
	}
	var replicas, listed []string
	for _, n := range view {
		if !n.IsReplica() || n.MasterID != me || me == "" {
			continue
		}
		listed = append(listed, n.Addr())
		if !n.HasFlag("fail") && !n.HasFlag("noaddr") && !n.HasFlag("handshake") {
			replicas = append(replicas, n.Addr())
		}
	}
	// Only when the target has more links than listed replicas: an address
	// the target sees may differ from the one its view announces (NAT).
	var ackOnly []string
	if len(links) > len(listed) {
		for _, l := range links {
			if !slices.Contains(listed, l.Addr) {
				ackOnly = append(ackOnly, l.Addr)
			}
		}
	}
	f.replicas, f.ackOnly, f.listedAt = replicas, ackOnly, time.Now()
	return nil
}
