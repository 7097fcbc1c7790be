package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// testCluster is a 3-master cluster made by real redis-cli, loaded.
type testCluster struct {
	*harness.Cluster
	pool    *conn.Pool
	topo    *topology.Cluster
	masters []*topology.Node
}

func newTestCluster(t *testing.T) *testCluster {
	t.Helper()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	tc := &testCluster{Cluster: c, pool: pool}
	tc.reload(t)
	return tc
}

func (tc *testCluster) reload(t *testing.T) {
	t.Helper()
	topo, err := topology.Load(context.Background(), tc.pool, tc.Addr())
	if err != nil {
		t.Fatal(err)
	}
	tc.topo, tc.masters = topo, topo.Masters()
}

func (tc *testCluster) job(moveSlots []int, from, to *topology.Node) Job {
	var j Job
	for _, m := range tc.masters {
		j.Masters = append(j.Masters, Node{ID: m.ID, Addr: m.Addr()})
	}
	for _, s := range moveSlots {
		j.Moves = append(j.Moves, Move{Slot: s, Source: Node{from.ID, from.Addr()}, Target: Node{to.ID, to.Addr()}})
	}
	return j
}

func (tc *testCluster) client(t *testing.T) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{tc.Addr()}})
	t.Cleanup(func() { cc.Close() })
	return cc
}

var (
	tagsOnce sync.Once
	slotTags [slots.Count]string
)

// keysIn returns n keys that hash to slot, sharing a hash tag of that slot.
func keysIn(slot, n int) []string {
	tagsOnce.Do(func() {
		left := slots.Count
		for i := 0; left > 0; i++ {
			tag := fmt.Sprintf("t%d", i)
			if s := slots.Slot(tag); slotTags[s] == "" {
				slotTags[s] = tag
				left--
			}
		}
	})
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("{%s}:%d", slotTags[slot], i)
	}
	return out
}

func firstSlots(n *topology.Node, count int) []int { return n.Slots.Slots()[:count] }

// assertClean fails unless every node agrees the slots moved and none is open.
func (tc *testCluster) assertOwned(t *testing.T, owned []int, owner *topology.Node) {
	t.Helper()
	tc.reload(t)
	for _, n := range tc.topo.Nodes {
		if len(n.Migrating)+len(n.Importing) > 0 {
			t.Fatalf("%s has open slots: migrating %v importing %v", n.Addr(), n.Migrating, n.Importing)
		}
	}
	for _, view := range tc.topo.Views {
		for _, v := range view {
			for _, s := range owned {
				if v.Slots.Has(s) && v.ID != owner.ID {
					t.Fatalf("a node still sees %s owning slot %d", v.Addr(), s)
				}
			}
		}
	}
	if r := tc.RedisCheck(t); r.Code != 0 || strings.Contains(r.Stdout, "[WARNING]") {
		t.Fatalf("redis-cli --cluster check after move:\n%s", r.Output())
	}
}

func TestRunMovesSlotsWithKeys(t *testing.T) {
	tc := newTestCluster(t)
	ctx := context.Background()
	cc := tc.client(t)
	src, dst := tc.masters[0], tc.masters[1]
	moving := firstSlots(src, 300)
	want := map[string]string{}
	pipe := cc.Pipeline()
	for _, s := range moving[:50] {
		for i, k := range keysIn(s, 30) {
			want[k] = fmt.Sprintf("v%d-%d", s, i)
			pipe.Set(ctx, k, want[k], 0)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	var events []Event
	var mu sync.Mutex
	res, err := Run(ctx, tc.pool, tc.job(moving, src, dst), Options{Pipeline: 7, BatchSlots: 64, InFlight: 5,
		Report: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
	if err != nil || res.Err() != nil {
		t.Fatalf("Run: %v / %v", err, res.Err())
	}
	if len(res.Moved) != len(moving) || res.Keys != len(want) || len(res.Open) != 0 {
		t.Fatalf("moved %d slots, %d keys, open %v; want %d slots, %d keys", len(res.Moved), res.Keys, res.Open, len(moving), len(want))
	}
	if len(events) != len(moving) {
		t.Fatalf("got %d slot events, want %d", len(events), len(moving))
	}
	for k, v := range want {
		got, err := cc.Get(ctx, k).Result()
		if err != nil || got != v {
			t.Fatalf("key %s = %q, %v; want %q", k, got, err, v)
		}
		if n, _ := tc.pool.Get(dst.Addr()).Exists(ctx, k).Result(); n != 1 {
			t.Fatalf("key %s is not on the target", k)
		}
	}
	tc.assertOwned(t, moving, dst)
}

// busySlot is one slot of n keys "source-<key>" on src, opened towards
// dst, where an ASK-redirected client already wrote keys[0] with the same
// value and keys[1] with a different one.
type busySlot struct {
	slot     int
	keys     []string
	src, dst *topology.Node
	s, d     *redis.Client
}

func newBusySlot(t *testing.T, tc *testCluster, n int) *busySlot {
	t.Helper()
	ctx := context.Background()
	b := &busySlot{src: tc.masters[0], dst: tc.masters[1]}
	b.slot = b.src.Slots.Slots()[0]
	b.keys = keysIn(b.slot, n)
	b.s, b.d = tc.pool.Get(b.src.Addr()), tc.pool.Get(b.dst.Addr())
	for _, k := range b.keys {
		must(t, b.s.Set(ctx, k, "source-"+k, 0).Err())
	}
	must(t, b.d.Do(ctx, "CLUSTER", "SETSLOT", b.slot, "IMPORTING", b.src.ID).Err())
	must(t, b.s.Do(ctx, "CLUSTER", "SETSLOT", b.slot, "MIGRATING", b.dst.ID).Err())
	for k, v := range map[string]string{b.keys[0]: "source-" + b.keys[0], b.keys[1]: "target-" + b.keys[1]} {
		pipe := b.d.Pipeline()
		pipe.Do(ctx, "ASKING")
		pipe.Set(ctx, k, v, 0)
		_, err := pipe.Exec(ctx)
		must(t, err)
	}
	return b
}

// onTarget reads a key of the importing slot on the target.
func (b *busySlot) onTarget(k string) string {
	pipe := b.d.Pipeline()
	pipe.Do(context.Background(), "ASKING")
	get := pipe.Get(context.Background(), k)
	_, _ = pipe.Exec(context.Background())
	return get.Val()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDrainSlotBusyKey(t *testing.T) {
	tc := newTestCluster(t)
	ctx := context.Background()
	b := newBusySlot(t, tc, 3)
	keys := b.keys

	_, err := DrainSlot(ctx, tc.pool, b.slot, b.src.Addr(), b.dst.Addr(), Options{})
	var busy *BusyKeyError
	if !errors.As(err, &busy) || len(busy.Keys) != 1 || busy.Keys[0] != keys[1] || busy.Slot != b.slot {
		t.Fatalf("want BusyKeyError naming only %s, got %v", keys[1], err)
	}
	if !strings.Contains(err.Error(), "--replace") {
		t.Fatalf("error should tell about --replace: %v", err)
	}
	if v, _ := b.s.Get(ctx, keys[1]).Result(); v != "source-"+keys[1] {
		t.Fatalf("source copy of the busy key changed or vanished: %q", v)
	}
	n, err := DrainSlot(ctx, tc.pool, b.slot, b.src.Addr(), b.dst.Addr(), Options{Replace: true})
	if err != nil || n == 0 {
		t.Fatalf("DrainSlot with Replace: %d keys, %v", n, err)
	}
	for _, k := range keys {
		if got := b.onTarget(k); got != "source-"+k {
			t.Fatalf("target %s = %q, want the source's value", k, got)
		}
	}
	if left, _ := b.s.ClusterCountKeysInSlot(ctx, b.slot).Result(); left != 0 {
		t.Fatalf("%d keys left on source", left)
	}
	must(t, b.d.Do(ctx, "CLUSTER", "SETSLOT", b.slot, "NODE", b.dst.ID).Err())
	must(t, b.s.Do(ctx, "CLUSTER", "SETSLOT", b.slot, "NODE", b.dst.ID).Err())
}

// TestDrainSlotKeepConflicts: with KeepConflicts (gocluster fix) the
// drain moves every key it can, including an identical copy already on
// the target, leaves the key whose value differs on the source, and names
// it at the end.
func TestDrainSlotKeepConflicts(t *testing.T) {
	tc := newTestCluster(t)
	ctx := context.Background()
	b := newBusySlot(t, tc, 5)
	keys := b.keys
	var reported int
	var mu sync.Mutex
	n, err := DrainSlot(ctx, tc.pool, b.slot, b.src.Addr(), b.dst.Addr(), Options{KeepConflicts: true, Pipeline: 2,
		Report: func(e Event) {
			mu.Lock()
			defer mu.Unlock()
			if e.Kind == EventKeysMoved {
				reported += e.Keys
			}
		}})
	var busy *BusyKeyError
	if !errors.As(err, &busy) || !slices.Equal(busy.Keys, []string{keys[1]}) {
		t.Fatalf("want a BusyKeyError naming only %s, got %v", keys[1], err)
	}
	if n != 4 || reported != 4 {
		t.Fatalf("moved %d keys, reported %d; want 4", n, reported)
	}
	if v, _ := b.s.Get(ctx, keys[1]).Result(); v != "source-"+keys[1] {
		t.Fatalf("the conflicting key's source copy is %q, want it kept", v)
	}
	if left, _ := b.s.ClusterCountKeysInSlot(ctx, b.slot).Result(); left != 1 {
		t.Fatalf("%d keys left on the source, want only the conflicting one", left)
	}
	for _, k := range keys {
		want := "source-" + k
		if k == keys[1] {
			want = "target-" + k
		}
		if got := b.onTarget(k); got != want {
			t.Fatalf("target %s = %q, want %q", k, got, want)
		}
	}
}

func TestDrainRetriesTimeouts(t *testing.T) {
	tc := newTestCluster(t)
	ctx := context.Background()
	src, dst := tc.masters[0], tc.masters[2]
	slot := src.Slots.Slots()[5]
	key := keysIn(slot, 1)[0]
	big := strings.Repeat("x", 8<<20)
	if err := tc.pool.Get(src.Addr()).Set(ctx, key, big, 0).Err(); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	var mu sync.Mutex
	// 1 ms cannot carry 8 MB: the first MIGRATE fails with IOERR, the retry
	// with a 10 s timeout succeeds.
	res, err := Run(ctx, tc.pool, tc.job([]int{slot}, src, dst), Options{Timeout: time.Millisecond,
		Report: func(e Event) {
			if e.Kind == EventWarning {
				mu.Lock()
				warnings = append(warnings, e.Message)
				mu.Unlock()
			}
		}})
	if err != nil || res.Err() != nil {
		t.Fatalf("Run: %v / %v", err, res.Err())
	}
	if len(warnings) == 0 || !strings.Contains(warnings[0], "retrying") {
		t.Fatalf("expected a retry warning, got %q", warnings)
	}
	if v, _ := tc.client(t).Get(ctx, key).Result(); v != big {
		t.Fatalf("big key lost or changed (len %d)", len(v))
	}
	tc.assertOwned(t, []int{slot}, dst)
}

func TestRunCancelFinishesOpenBatch(t *testing.T) {
	tc := newTestCluster(t)
	cc := tc.client(t)
	src, dst := tc.masters[1], tc.masters[0]
	moving := firstSlots(src, 400)
	ctx := context.Background()
	pipe := cc.Pipeline()
	for _, s := range moving {
		for _, k := range keysIn(s, 5) {
			pipe.Set(ctx, k, k, 0)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err := Run(cctx, tc.pool, tc.job(moving, src, dst), Options{BatchSlots: 50, InFlight: 4,
		Report: func(e Event) { cancel() }})
	if !errors.Is(err, context.Canceled) || !res.Interrupted {
		t.Fatalf("want cancellation, got %v (interrupted %v)", err, res.Interrupted)
	}
	// The batch that reported and the one opened meanwhile are finished
	// whole; nothing else is started.
	if n := len(res.Moved); n == 0 || n > 100 || n%50 != 0 || n+len(res.Remaining) != 400 || len(res.Open) != 0 || res.Err() != nil {
		t.Fatalf("moved %d remaining %d open %v failed %v; want whole batches of 50 finished", n, len(res.Remaining), res.Open, res.Err())
	}
	tc.reload(t)
	if open := tc.topo.OpenSlots(); len(open) != 0 {
		t.Fatalf("slots left open: %v", open)
	}
	for _, s := range moving {
		for _, k := range keysIn(s, 5) {
			if v, err := cc.Get(ctx, k).Result(); v != k {
				t.Fatalf("key %s lost: %q %v", k, v, err)
			}
		}
	}
}

func TestValidateRejectsBadPlans(t *testing.T) {
	a, b := Node{"a", "127.0.0.1:1"}, Node{"b", "127.0.0.1:2"}
	for _, j := range []Job{
		{Moves: []Move{{Slot: 16384, Source: a, Target: b}}},
		{Moves: []Move{{Slot: 1, Source: a, Target: b}, {Slot: 1, Source: a, Target: b}}},
		{Moves: []Move{{Slot: 1, Source: a, Target: a}}},
		{Moves: []Move{{Slot: 1, Source: a, Target: Node{ID: "c"}}}},
	} {
		if _, err := Run(context.Background(), nil, j, Options{}); err == nil {
			t.Errorf("plan %+v accepted", j)
		}
	}
}

// A target in cluster_state:fail refuses RESTORE-ASKING with CLUSTERDOWN,
// which the source's MIGRATE reports as "Target instance replied with
// error: CLUSTERDOWN". The drain must wait that out like a CLUSTERDOWN of
// its own, not give the slot up: a target just failed over or restarted
// stays in state fail for a while.
func TestDrainWaitsOutTargetClusterDown(t *testing.T) {
	tc := newTestCluster(t)
	ctx := context.Background()
	src, other, dst := tc.masters[0], tc.masters[1], tc.masters[2]
	slot := src.Slots.Slots()[3]
	keys := keysIn(slot, 20)
	for _, k := range keys {
		if err := tc.pool.Get(src.Addr()).Set(ctx, k, "v"+k, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	hole := tc.holdClusterDown(t, src, other, dst)
	healed := make(chan error, 1)
	go func() {
		time.Sleep(700 * time.Millisecond)
		for _, n := range tc.masters {
			if err := tc.pool.Get(n.Addr()).Do(ctx, "CLUSTER", "SETSLOT", hole, "NODE", other.ID).Err(); err != nil {
				healed <- fmt.Errorf("SETSLOT NODE on %s: %w", n.Addr(), err)
				return
			}
		}
		healed <- nil
	}()
	res, err := Run(ctx, tc.pool, tc.job([]int{slot}, src, dst), Options{})
	if herr := <-healed; herr != nil {
		t.Fatal(herr)
	}
	if err != nil || res.Err() != nil {
		t.Fatalf("Run against a target in state fail: %v / %v", err, res.Err())
	}
	for _, k := range keys {
		if v, err := tc.pool.Get(dst.Addr()).Do(ctx, "GET", k).Text(); err != nil || v != "v"+k {
			t.Fatalf("key %s on the target: %q, %v", k, v, err)
		}
	}
	tc.assertOwned(t, []int{slot}, dst)
}

// TestDrainGivesUpOnATargetThatStaysDown: when the target keeps answering
// CLUSTERDOWN, the wait for it is one budget for the whole move, not one
// per slot: a batch of slots must fail after about settleWait, where it
// used to wait settleWait for each slot in turn (fault campaign seed
// 34042: a rebalance stuck past 90 s).
func TestDrainGivesUpOnATargetThatStaysDown(t *testing.T) {
	old := settleWait
	settleWait = time.Second
	t.Cleanup(func() { settleWait = old })
	tc := newTestCluster(t)
	ctx := context.Background()
	src, other, dst := tc.masters[0], tc.masters[1], tc.masters[2]
	moving := src.Slots.Slots()[10:16]
	for _, slot := range moving {
		for _, k := range keysIn(slot, 3) {
			if err := tc.pool.Get(src.Addr()).Set(ctx, k, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	tc.holdClusterDown(t, src, other, dst)
	start := time.Now()
	res, err := Run(ctx, tc.pool, tc.job(moving, src, dst), Options{})
	took := time.Since(start)
	if err == nil && res.Err() == nil {
		t.Fatal("Run against a target that stays down succeeded")
	}
	if took > time.Duration(len(moving)-2)*settleWait {
		t.Fatalf("Run took %v to give up on %d slots: the wait for the target was paid per slot (settleWait %v)", took, len(moving), settleWait)
	}
	for _, slot := range moving {
		if n := tc.pool.Get(src.Addr()).ClusterCountKeysInSlot(ctx, slot).Val(); n != 3 {
			t.Fatalf("slot %d: %d keys left on the source, want 3 (nothing moved)", slot, n)
		}
	}
}

// TestDrainGivesUpOnATargetThatNeverAnswers: a target frozen for good
// times a slot's MIGRATE out through every retry; the pair's other slots
// must then fail at once instead of each paying the timeout again.
func TestDrainGivesUpOnATargetThatNeverAnswers(t *testing.T) {
	tc := newTestCluster(t)
	ctx := context.Background()
	src, dst := tc.masters[0], tc.masters[2]
	moving := src.Slots.Slots()[20:24]
	for _, slot := range moving {
		if err := tc.pool.Get(src.Addr()).Set(ctx, keysIn(slot, 1)[0], "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	job := tc.job(moving, src, dst) // built while dst still answers
	for _, n := range tc.Nodes {
		if n.Addr() == dst.Addr() {
			if err := n.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { n.Signal(syscall.SIGCONT) })
		}
	}
	start := time.Now()
	res, err := Run(ctx, tc.pool, job, Options{Timeout: 200 * time.Millisecond, Retries: -1})
	took := time.Since(start)
	if err == nil && res.Err() == nil {
		t.Fatal("Run against a frozen target succeeded")
	}
	// One slot pays the escalated timeout (retryTimeout: 10 s), the others none.
	if limit := retryTimeout(200*time.Millisecond) + 5*time.Second; took > limit {
		t.Fatalf("Run took %v to give up on %d slots (limit %v): every slot waited for the frozen target", took, len(moving), limit)
	}
}

// holdClusterDown leaves one of other's slots unassigned everywhere, so
// that dst (full coverage required) stays in cluster_state:fail while src
// (coverage not required) stays ok, and returns that slot.
func (tc *testCluster) holdClusterDown(t *testing.T, src, other, dst *topology.Node) int {
	t.Helper()
	ctx := context.Background()
	hole := other.Slots.Slots()[0]
	if err := tc.pool.Get(src.Addr()).ConfigSet(ctx, "cluster-require-full-coverage", "no").Err(); err != nil {
		t.Fatal(err)
	}
	for _, n := range tc.masters {
		if err := tc.pool.Get(n.Addr()).ClusterDelSlots(ctx, hole).Err(); err != nil {
			t.Fatalf("DELSLOTS on %s: %v", n.Addr(), err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := tc.pool.Get(dst.Addr()).ClusterInfo(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info, "cluster_state:fail") {
			return hole
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never entered cluster_state:fail:\n%s", dst.Addr(), info)
		}
	}
}
