package enginetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// slotMigration is one entry of CLUSTER GETSLOTMIGRATIONS.
type slotMigration map[string]any

func slotMigrations(t *testing.T, c *redis.Client) []slotMigration {
	t.Helper()
	var out []slotMigration
	for _, m := range replyMaps(t, c, "CLUSTER", "GETSLOTMIGRATIONS") {
		out = append(out, m)
	}
	return out
}

// replyMaps runs a command answering an array of maps (RESP2 flat arrays
// or RESP3 maps) and returns them keyed by field name.
func replyMaps(t *testing.T, c *redis.Client, args ...any) []map[string]any {
	t.Helper()
	v, err := c.Do(context.Background(), args...).Slice()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range v {
		m := map[string]any{}
		switch e := e.(type) {
		case map[any]any:
			for k, v := range e {
				m[fmt.Sprint(k)] = v
			}
		case []any:
			for i := 0; i+1 < len(e); i += 2 {
				m[fmt.Sprint(e[i])] = e[i+1]
			}
		}
		out = append(out, m)
	}
	return out
}

// waitMigrationDone polls the source until its newest export finishes and
// returns its final entry.
func waitMigrationDone(t *testing.T, c *redis.Client, timeout time.Duration) slotMigration {
	t.Helper()
	return waitEnded(t, timeout, func() []map[string]any { return replyMaps(t, c, "CLUSTER", "GETSLOTMIGRATIONS") },
		"success", "failed", "cancelled")
}

// waitEnded polls list until its first entry's state is one of ended and
// returns that entry.
func waitEnded(t *testing.T, timeout time.Duration, list func() []map[string]any, ended ...string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		entries := list()
		if len(entries) > 0 && slices.Contains(ended, fmt.Sprint(entries[0]["state"])) {
			return entries[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("not finished after %v: %v", timeout, entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mastersAndReplicas splits a created cluster by role.
func mastersAndReplicas(t *testing.T, nodes []*clusterNode) (masters, replicas []*clusterNode) {
	for _, n := range nodes {
		role, err := client(t, n.Addr()).Do(context.Background(), "ROLE").Slice()
		if err != nil {
			t.Fatal(err)
		}
		if role[0] == "master" {
			masters = append(masters, n)
		} else {
			replicas = append(replicas, n)
		}
	}
	return masters, replicas
}

// ownerOf returns the master serving slot.
func ownerOf(t *testing.T, masters []*clusterNode, slot int64) *clusterNode {
	t.Helper()
	for _, m := range masters {
		n, err := client(t, m.Addr()).Do(context.Background(), "CLUSTER", "COUNTKEYSINSLOT", slot).Int64()
		_ = n
		if err != nil {
			t.Fatal(err)
		}
		slots, err := client(t, m.Addr()).ClusterSlots(context.Background()).Result()
		if err != nil {
			t.Fatal(err)
		}
		me := nodeID(t, m)
		for _, s := range slots {
			if int64(s.Start) <= slot && slot <= int64(s.End) && s.Nodes[0].ID == me {
				return m
			}
		}
	}
	t.Fatalf("no master owns slot %d", slot)
	return nil
}

// liveLoad runs go-redis cluster clients doing single-key SET/GET and
// hash-tagged MSET/MGET until stop; every error counts.
type liveLoad struct {
	ops, errs atomic.Int64
	firstErr  atomic.Value
	acked     sync.Map
	stop      chan struct{}
	wg        sync.WaitGroup
	tags      [][]string
}

// startLiveLoad: workers write and read hash tags of which half fall in
// slots hot (the slots being moved).
func startLiveLoad(cc *redis.ClusterClient, workers int, hot func(slot int) bool) *liveLoad {
	l := &liveLoad{stop: make(chan struct{}), tags: make([][]string, workers)}
	for w := range workers {
		inHot, cold := 0, 0
		for n := 0; inHot < 100 || cold < 100; n++ {
			tag := fmt.Sprintf("{w%d:%d}", w, n)
			if hot(slots.Slot(tag)) && inHot < 100 {
				inHot++
				l.tags[w] = append(l.tags[w], tag)
			} else if !hot(slots.Slot(tag)) && cold < 100 {
				cold++
				l.tags[w] = append(l.tags[w], tag)
			}
		}
	}
	ctx := context.Background()
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				tag := l.tags[w][i%len(l.tags[w])] // one writer per tag: MGET must see its own MSET
				k1, k2 := "live:"+tag+":a", "live:"+tag+":b"
				val := fmt.Sprint(w, ":", i)
				var err error
				if i%2 == 0 {
					err = cc.Set(ctx, k1, val, 0).Err()
				} else {
					err = cc.MSet(ctx, k1, val, k2, val).Err()
					if err == nil {
						var got []any
						got, err = cc.MGet(ctx, k1, k2).Result()
						if err == nil && (got[0] != val || got[1] != val) {
							err = fmt.Errorf("MGET %s %s = %v after MSET %s", k1, k2, got, val)
						}
					}
				}
				l.ops.Add(1)
				if err != nil {
					l.errs.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				l.acked.Store(k1, val)
				if i%2 == 1 {
					l.acked.Store(k2, val)
				}
			}
		}()
	}
	return l
}

func (l *liveLoad) finish() { close(l.stop); l.wg.Wait() }

// TestAtomicMigrateSlotsUnderLoad moves 1000 slots with CLUSTER
// MIGRATESLOTS while go-redis clients write and read them with single- and
// multi-key commands: no client error, no lost key, the target's replica
// holds the data, and real redis-cli agrees with the result.
func TestAtomicMigrateSlotsUnderLoad(t *testing.T) {
	nodes := startClusterNodes(t, 6)
	createCluster(t, nodes, 1)
	masters, _ := mastersAndReplicas(t, nodes)
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(nodes), MaxRedirects: 16})
	t.Cleanup(func() { cc.Close() })
	for i := range 20000 {
		if err := cc.Set(ctx, fmt.Sprint("pre:", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	source, target := ownerOf(t, masters, 0), ownerOf(t, masters, 16383)
	srcC, dstC := client(t, source.Addr()), client(t, target.Addr())
	before := srcC.DBSize(ctx).Val()

	load := startLiveLoad(cc, 4, func(s int) bool { return s < 500 || s >= 600 && s < 1100 })
	time.Sleep(200 * time.Millisecond)
	if err := srcC.Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, 499, 600, 1099, "NODE", nodeID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	job := waitMigrationDone(t, srcC, 60*time.Second)
	time.Sleep(200 * time.Millisecond)
	load.finish()
	if job["state"] != "success" {
		t.Fatalf("migration ended %v", job)
	}
	if job["slot_ranges"] != "0-499 600-1099" || job["operation"] != "EXPORT" {
		t.Errorf("GETSLOTMIGRATIONS entry: %v", job)
	}
	imports := slotMigrations(t, dstC)
	if len(imports) == 0 || imports[0]["operation"] != "IMPORT" || imports[0]["state"] != "success" || imports[0]["name"] != job["name"] {
		t.Errorf("target's entry: %v", imports)
	}
	if load.errs.Load() != 0 {
		t.Fatalf("%d of %d client operations failed, first: %v", load.errs.Load(), load.ops.Load(), load.firstErr.Load())
	}
	waitClusterCheck(t, nodes[0].Addr(), 20*time.Second)
	lost := 0
	load.acked.Range(func(k, v any) bool {
		if got, err := cc.Get(ctx, k.(string)).Result(); err != nil || got != v.(string) {
			if lost++; lost < 5 {
				t.Errorf("%s: got %q (%v), acknowledged %q", k, got, err, v)
			}
		}
		return true
	})
	for i := range 20000 {
		if got, err := cc.Get(ctx, fmt.Sprint("pre:", i)).Int(); err != nil || got != i {
			if lost++; lost < 10 {
				t.Errorf("pre:%d: got %d (%v)", i, got, err)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d keys lost", lost)
	}
	for _, slot := range []int{0, 499, 600, 1099} {
		if n := srcC.ClusterCountKeysInSlot(ctx, slot).Val(); n != 0 {
			t.Errorf("source still holds %d keys in slot %d", n, slot)
		}
	}
	moved := int64(0)
	for s := 0; s < 1100; s++ {
		if s < 500 || s >= 600 {
			moved += dstC.ClusterCountKeysInSlot(ctx, s).Val()
		}
	}
	if moved == 0 {
		t.Fatal("target received no key")
	}
	// The target's replica got the keys through replication.
	for _, n := range nodes {
		r := client(t, n.Addr())
		if role, _ := r.Do(ctx, "ROLE").Slice(); role[0] == "slave" && fmt.Sprint(role[2]) == fmt.Sprint(target.Port()) {
			deadline := time.Now().Add(5 * time.Second)
			for {
				got := int64(0)
				for s := 0; s < 1100; s++ {
					if s < 500 || s >= 600 {
						got += r.ClusterCountKeysInSlot(ctx, s).Val()
					}
				}
				if got == moved {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("target's replica holds %d keys of the moved slots, target %d", got, moved)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	t.Logf("moved %d keys (source had %d) under %d client operations", moved, before, load.ops.Load())
}

// TestAtomicMigrationCancelAndTargetLoss: a cancelled migration and one
// whose target goes away both leave the source with every key and its
// slots, and the target with none of the keys it received.
func TestAtomicMigrationCancelAndTargetLoss(t *testing.T) {
	nodes := startClusterNodes(t, 3)
	createCluster(t, nodes, 0)
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(nodes)})
	t.Cleanup(func() { cc.Close() })
	source, target := ownerOf(t, nodes, 0), ownerOf(t, nodes, 16383)
	srcC, dstC := client(t, source.Addr()), client(t, target.Addr())
	big := strings.Repeat("x", 4096)
	pipe := cc.Pipeline()
	const keys = 60000
	for i := range keys {
		pipe.Set(ctx, fmt.Sprintf("k:{%d}", i%2000), big, 0) // overwritten: few keys, many slots
		pipe.Set(ctx, fmt.Sprint("k:", i), big, 0)
		if i%1000 == 999 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(c *redis.Client) int64 {
		n := int64(0)
		for s := 0; s <= 5000; s++ {
			n += c.ClusterCountKeysInSlot(ctx, s).Val()
		}
		return n
	}
	want := count(srcC)

	// Cancel while the snapshot is in flight.
	if err := srcC.Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, 5000, "NODE", nodeID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if err := srcC.Do(ctx, "CLUSTER", "CANCELSLOTMIGRATIONS").Err(); err != nil {
		t.Fatal(err)
	}
	job := waitMigrationDone(t, srcC, 20*time.Second)
	if job["state"] != "cancelled" {
		t.Fatalf("after CANCELSLOTMIGRATIONS the job is %v", job)
	}
	waitImportGone := func() {
		deadline := time.Now().Add(10 * time.Second)
		for count(dstC) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("target still holds %d imported keys", count(dstC))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitImportGone()
	if got := count(srcC); got != want {
		t.Fatalf("source holds %d keys after the cancel, had %d", got, want)
	}
	if err := srcC.Do(ctx, "CLUSTER", "CANCELSLOTMIGRATIONS").Err(); err == nil || err.Error() != "ERR No migrations ongoing" {
		t.Errorf("second cancel: %v", err)
	}

	// The target disappears mid-migration.
	if err := srcC.Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, 5000, "NODE", nodeID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	target.Close()
	job = waitMigrationDone(t, srcC, 30*time.Second)
	if job["state"] != "failed" {
		t.Fatalf("with the target gone the job is %v", job)
	}
	if got := count(srcC); got != want {
		t.Fatalf("source holds %d keys after losing the target, had %d", got, want)
	}
	// The source still owns the slots in its own view (the cluster as a
	// whole may be down by now: the target was a master without replica).
	slotsView, err := srcC.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	srcID := nodeID(t, source)
	owned := false
	for _, r := range slotsView {
		if r.Start <= 0 && 5000 <= r.End && r.Nodes[0].ID == srcID {
			owned = true
		}
	}
	if !owned {
		t.Fatalf("the source no longer owns slots 0-5000: %v", slotsView)
	}
}

// TestMigrateSlotsErrors: Valkey's refusals, word for word.
func TestMigrateSlotsErrors(t *testing.T) {
	nodes := startClusterNodes(t, 3)
	createCluster(t, nodes, 0)
	ctx := context.Background()
	source, target := ownerOf(t, nodes, 0), ownerOf(t, nodes, 16383)
	c := client(t, source.Addr())
	tid := nodeID(t, target)
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"SLOTSRANGE", 0, 10, "NODE", nodeID(t, source)}, "ERR Target node can not be this node."},
		{[]any{"SLOTSRANGE", 16000, 16383, "NODE", tid}, "ERR Slots are not served by this node."},
		{[]any{"SLOTSRANGE", 10, 5, "NODE", tid}, "ERR Start slot number 10 is greater than end slot number 5."},
		{[]any{"SLOTSRANGE", 0, 10, 5, 20, "NODE", tid}, "ERR Slot range 5-20 overlaps with previous range 0-10."},
		{[]any{"SLOTSRANGE", 0, 10, "NODE", "abc"}, "ERR Invalid node name: abc"},
		{[]any{"SLOTSRANGE", 0, 10, "NODE", strings.Repeat("a", 40)}, "ERR Unknown node name: " + strings.Repeat("a", 40)},
		{[]any{"SLOTSRANGE", "NODE", tid}, "ERR No slot ranges specified"},
		{[]any{"SLOTSRANGE", 0}, "ERR No end slot for final slot range"},
		{[]any{"SLOTSRANGE", 0, 16384, "NODE", tid}, "ERR Invalid or out of range slot"},
		{[]any{"NODE", tid}, "ERR syntax error"},
	} {
		err := c.Do(ctx, append([]any{"CLUSTER", "MIGRATESLOTS"}, tc.args...)...).Err()
		if err == nil || err.Error() != tc.want {
			t.Errorf("MIGRATESLOTS %v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if err := c.Do(ctx, "CLUSTER", "SYNCSLOTS", "PAUSED").Err(); err == nil || !strings.Contains(err.Error(), "should only be used by slot migration clients") {
		t.Errorf("SYNCSLOTS from a client: %v", err)
	}
	info, err := c.Do(ctx, "COMMAND", "INFO", "cluster|migrateslots").Slice()
	if err != nil || len(info) != 1 || info[0] == nil {
		t.Errorf("COMMAND INFO cluster|migrateslots: %v %v", info, err)
	}
	if jobs := slotMigrations(t, c); len(jobs) != 0 {
		t.Errorf("refused commands created jobs: %v", jobs)
	}
}

// TestAtomicMigrationRedirectsBlockedClients: a client blocked on a key of
// a slot that CLUSTER MIGRATESLOTS moves is answered MOVED to the target
// once the target owns it, as the source's blocked clients are after a
// SETSLOT NODE (e2e/engine TestBlockedClientsRedirectedWhenTheirSlotMoves).
func TestAtomicMigrationRedirectsBlockedClients(t *testing.T) {
	nodes := startClusterNodes(t, 3)
	createCluster(t, nodes, 0)
	ctx := context.Background()
	source, target := ownerOf(t, nodes, 0), ownerOf(t, nodes, 16383)
	srcC := client(t, source.Addr())
	key := "{06S}list" // slot 0
	if s := srcC.ClusterKeySlot(ctx, key).Val(); s != 0 {
		t.Fatalf("%s is in slot %d", key, s)
	}
	reply := make(chan error, 1)
	blocked := client(t, source.Addr())
	go func() { reply <- blocked.BLPop(ctx, 0, key).Err() }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(srcC.Info(ctx, "clients").Val(), "blocked_clients:1") {
		if time.Now().After(deadline) {
			t.Fatal("BLPOP did not block")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := srcC.Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, 0, "NODE", nodeID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	if job := waitMigrationDone(t, srcC, 30*time.Second); job["state"] != "success" {
		t.Fatalf("migration ended %v", job)
	}
	select {
	case err := <-reply:
		if want := "MOVED 0 " + target.Addr(); err == nil || err.Error() != want {
			t.Fatalf("blocked BLPOP answered %v, want %s", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked BLPOP was not answered after its slot moved")
	}
}

// TestFlushOnTargetFailsTheImport: a FLUSHALL on the target during an
// atomic import deletes keys it already imported; the import must fail
// ("Data was flushed", as Valkey), so that the source keeps its slots and
// every key, rather than hand the slots to a target that lost part of them.
func TestFlushOnTargetFailsTheImport(t *testing.T) {
	nodes, source, target := debugMasters(t)
	ctx := context.Background()
	srcC, dstC := client(t, source.Addr()), client(t, target.Addr())
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(nodes)})
	t.Cleanup(func() { cc.Close() })
	pipe := cc.Pipeline()
	for i := range 150000 {
		pipe.Set(ctx, fmt.Sprint("k:", i), i, 0)
		if i%10000 == 9999 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := srcC.DBSize(ctx).Val()
	if err := srcC.Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, 5000, "NODE", nodeID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	// Hold the import once some keys have arrived, then flush the target.
	deadline := time.Now().Add(10 * time.Second)
	for dstC.DBSize(ctx).Val() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no key reached the target")
		}
		time.Sleep(200 * time.Microsecond)
	}
	if err := dstC.Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 1).Err(); err != nil {
		t.Fatal(err)
	}
	// The command the import link runs at the stall finishes; the next
	// waits. The flush must come before the target claims the slots.
	time.Sleep(100 * time.Millisecond)
	if s := slotMigrations(t, dstC)[0]["state"]; s != "receiving-snapshot" && s != "waiting-for-paused" {
		t.Fatalf("the import is %v, past the snapshot, before the test could flush the target (held at %d keys)", s, dstC.DBSize(ctx).Val())
	}
	if err := dstC.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	dstC.Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 0)
	job := waitMigrationDone(t, srcC, 30*time.Second)
	if job["state"] != "failed" {
		t.Fatalf("the export after a flush of its target: %v", job)
	}
	imp := waitMigrationDone(t, dstC, 30*time.Second)
	if imp["operation"] != "IMPORT" || imp["state"] != "failed" || !strings.Contains(fmt.Sprint(imp["message"]), "Data was flushed") {
		t.Fatalf("the target's import: %v", imp)
	}
	if got := srcC.DBSize(ctx).Val(); got != before {
		t.Fatalf("the source holds %d keys, had %d", got, before)
	}
	if owner := ownerOf(t, nodes, 0); owner != source {
		t.Fatalf("slot 0 moved to %s", owner.Addr())
	}
	if n := dstC.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("the target kept %d imported keys", n)
	}
}
