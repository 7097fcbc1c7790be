package repair

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// fixEnv is a 3-master cluster and helpers to break it with raw commands.
type fixEnv struct {
	t  *testing.T
	c  *harness.Cluster
	cc *redis.ClusterClient
	// written holds every key the test wrote through the cluster, and its value.
	written map[string]string
}

func newFixEnv(t *testing.T, password string) *fixEnv {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Password: password})
	return &fixEnv{t: t, c: c, cc: c.ClusterClient(t), written: map[string]string{}}
}

// node returns a client to node i (closed at test end).
func (e *fixEnv) node(i int) *redis.Client {
	cl := e.c.Nodes[i].Client()
	e.t.Cleanup(func() { cl.Close() })
	return cl
}

func (e *fixEnv) do(i int, args ...any) {
	e.t.Helper()
	if err := e.node(i).Do(context.Background(), args...).Err(); err != nil {
		e.t.Fatalf("node %d %v: %v", i, args, err)
	}
}

func (e *fixEnv) id(i int) string {
	return e.node(i).ClusterMyID(context.Background()).Val()
}

// ownerOf returns the index of the master that serves slot.
func (e *fixEnv) ownerOf(slot int) int {
	e.t.Helper()
	for i := range e.c.Nodes {
		for _, r := range e.node(i).ClusterSlots(context.Background()).Val() {
			if slot >= int(r.Start) && slot <= int(r.End) && r.Nodes[0].Addr == e.c.Nodes[i].Addr() {
				return i
			}
		}
	}
	e.t.Fatalf("no node serves slot %d", slot)
	return -1
}

// slotTags[s] is a hash tag that hashes to slot s.
var slotTags = func() [slots.Count]string {
	var tags [slots.Count]string
	for found, i := 0, 0; found < slots.Count; i++ {
		tag := fmt.Sprintf("t%d", i)
		if s := slots.Slot(tag); tags[s] == "" {
			tags[s] = tag
			found++
		}
	}
	return tags
}()

// key returns the n-th key name hashing to slot.
func key(slot, n int) string { return fmt.Sprintf("{%s}:%d", slotTags[slot], n) }

// write puts n keys in slot through the cluster and remembers them.
func (e *fixEnv) write(slot, n int) []string {
	e.t.Helper()
	var ks []string
	for i := range n {
		k, v := key(slot, i), fmt.Sprintf("v-%d-%d", slot, i)
		if err := e.cc.Set(context.Background(), k, v, 0).Err(); err != nil {
			e.t.Fatalf("SET %s: %v", k, err)
		}
		e.written[k] = v
		ks = append(ks, k)
	}
	return ks
}

// plant writes key=value on node i for a slot i does not serve, as a
// crash in the middle of a migration would leave it.
func (e *fixEnv) plant(i, slot int, k, v string) {
	e.t.Helper()
	ctx := context.Background()
	owner := e.ownerOf(slot)
	cl := e.node(i)
	e.do(i, "CLUSTER", "SETSLOT", slot, "IMPORTING", e.id(owner))
	pipe := cl.Pipeline()
	pipe.Do(ctx, "ASKING")
	set := pipe.Set(ctx, k, v, 0)
	pipe.Exec(ctx)
	if err := set.Err(); err != nil {
		e.t.Fatalf("plant %s on node %d: %v", k, i, err)
	}
	e.do(i, "CLUSTER", "SETSLOT", slot, "STABLE")
}

// migrateRaw moves keys of slot from node src to dst with MIGRATE.
func (e *fixEnv) migrateRaw(src, dst int, keys ...string) {
	e.t.Helper()
	args := []any{"MIGRATE", e.c.Nodes[dst].Host, e.c.Nodes[dst].Port, "", 0, 5000, "KEYS"}
	for _, k := range keys {
		args = append(args, k)
	}
	e.do(src, args...)
}

// delslotsEverywhere makes slot uncovered on every node.
func (e *fixEnv) delslotsEverywhere(slot int) {
	for i := range e.c.Nodes {
		e.node(i).Do(context.Background(), "CLUSTER", "DELSLOTS", slot) // unassigned already is fine
	}
}

func (e *fixEnv) fix(args ...string) harness.Result {
	e.t.Helper()
	return harness.Run(e.t, append(append([]string{"fix", e.c.Addr()}, authArgs(e.c)...), args...)...)
}

// healthyAndComplete asserts redis-cli check is clean and every key
// written so far reads back with its value through the cluster.
func (e *fixEnv) healthyAndComplete() {
	e.t.Helper()
	redisCheckClean(e.t, e.c)
	ctx := context.Background()
	for k, v := range e.written {
		got, err := e.cc.Get(ctx, k).Result()
		if err != nil || got != v {
			e.t.Fatalf("after fix, GET %s = %q, %v; want %q (%s)", k, got, err, v, e.whereIs(k))
		}
	}
}

// whereIs says which nodes hold key, whatever they serve.
func (e *fixEnv) whereIs(key string) string {
	ctx := context.Background()
	var on []string
	for i, n := range e.c.Nodes {
		if !n.Alive() {
			continue
		}
		// GETKEYSINSLOT is not redirected: it sees a key in a slot the
		// node does not serve too.
		keys := e.node(i).ClusterGetKeysInSlot(ctx, slots.Slot(key), 100000).Val()
		if slices.Contains(keys, key) {
			on = append(on, n.Addr())
		}
	}
	if len(on) == 0 {
		return "on no node"
	}
	return "held by " + strings.Join(on, ", ")
}

func (e *fixEnv) mustFix(args ...string) harness.Result {
	e.t.Helper()
	r := e.fix(append(args, "--yes")...)
	if r.Code != 0 {
		e.t.Fatalf("fix exit %d:\n%s", r.Code, r.Output())
	}
	e.t.Cleanup(func() {
		if e.t.Failed() {
			e.t.Logf("fix said:\n%s", r.Output())
		}
	})
	e.healthyAndComplete()
	return r
}

// fixSaved runs fix --json --yes, which must leave the cluster healthy, and
// returns the keys whose two copies it kept.
func (e *fixEnv) fixSaved(args ...string) []admin.SavedConflict {
	e.t.Helper()
	r := e.fix(append(args, "--json", "--yes")...)
	var doc struct {
		OK     bool `json:"ok"`
		Result struct {
			Saved []admin.SavedConflict `json:"saved_conflicts"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || r.Code != 0 || !doc.OK {
		e.t.Fatalf("fix --json exit %d, %v:\n%s", r.Code, err, r.Output())
	}
	return doc.Result.Saved
}

// savedInSlot asserts a saved copy stays in the key's slot, on its owner.
func (e *fixEnv) savedInSlot(s admin.SavedConflict, slot, owner int) {
	e.t.Helper()
	if got := slots.Slot(s.SavedAs); got != slot {
		e.t.Fatalf("saved copy %q is in slot %d, want %d", s.SavedAs, got, slot)
	}
	if n := e.node(owner).Exists(context.Background(), s.SavedAs).Val(); n != 1 {
		e.t.Fatalf("saved copy %q is not on the owner (node %d)", s.SavedAs, owner)
	}
}

func want(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("missing %q in:\n%s", l, out)
		}
	}
}

// TestFixBrokenStates breaks one cluster in each way redis-cli's fix
// handles, with raw CLUSTER SETSLOT/DELSLOTS and MIGRATE, and checks that
// gocluster fix repairs it: redis-cli --cluster check clean, no key lost.
func TestFixBrokenStates(t *testing.T) {
	e := newFixEnv(t, "")
	ctx := context.Background()

	t.Run("healthy: nothing to fix", func(t *testing.T) {
		e.write(5, 10)
		r := e.fix()
		if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] Nothing to fix.") {
			t.Fatalf("exit %d:\n%s", r.Code, r.Output())
		}
	})

	t.Run("open slot with keys on both sides (interrupted migration)", func(t *testing.T) {
		slot := 100
		ks := e.write(slot, 20)
		src := e.ownerOf(slot)
		dst := (src + 1) % 3
		e.do(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", e.id(src))
		e.do(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", e.id(dst))
		e.migrateRaw(src, dst, ks[:8]...)

		dry := e.fix("--dry-run")
		want(t, dry.Stdout, "[WARNING] The following slots are open: 100.", ">>> Repairs to make (1):", "Dry run: nothing changed.")
		if dry.Code != 0 {
			t.Fatalf("dry run exit %d:\n%s", dry.Code, dry.Output())
		}
		if rc := e.c.RedisCheck(t); !strings.Contains(rc.Stdout, "slots are open: 100") {
			t.Fatalf("--dry-run changed the cluster:\n%s", rc.Stdout)
		}
		noTTY := e.fix()
		if noTTY.Code != 2 || !strings.Contains(noTTY.Stderr, "--yes") {
			t.Fatalf("without a terminal and --yes fix must refuse (exit 2), got %d:\n%s", noTTY.Code, noTTY.Output())
		}
		r := e.mustFix()
		want(t, r.Stdout, "Fixing open slot 100", "[OK] All 16384 slots covered.")
	})

	t.Run("open slot: importing only, keys on the importing node", func(t *testing.T) {
		slot := 200
		ks := e.write(slot, 10)
		owner := e.ownerOf(slot)
		other := (owner + 2) % 3
		e.do(other, "CLUSTER", "SETSLOT", slot, "IMPORTING", e.id(owner))
		e.do(owner, "CLUSTER", "SETSLOT", slot, "MIGRATING", e.id(other))
		e.migrateRaw(owner, other, ks[:3]...)
		e.do(owner, "CLUSTER", "SETSLOT", slot, "STABLE") // the migrating side was closed, keys stranded
		r := e.mustFix()
		want(t, r.Stdout, "case 2")
		if n := e.node(owner).ClusterCountKeysInSlot(ctx, slot).Val(); n != 10 {
			t.Fatalf("owner holds %d keys of slot %d, want 10", n, slot)
		}
	})

	t.Run("open slot: migrating only (case 4)", func(t *testing.T) {
		slot := 300
		e.write(slot, 5)
		owner := e.ownerOf(slot)
		e.do(owner, "CLUSTER", "SETSLOT", slot, "MIGRATING", e.id((owner+1)%3))
		r := e.fix("--json", "--yes")
		var doc struct {
			OK   bool `json:"ok"`
			Plan struct {
				Steps []struct {
					Kind    string `json:"kind"`
					Message string `json:"message"`
				} `json:"steps"`
			} `json:"plan"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || r.Code != 0 {
			t.Fatalf("fix --json exit %d, %v:\n%s", r.Code, err, r.Output())
		}
		if !doc.OK || len(doc.Plan.Steps) != 1 || doc.Plan.Steps[0].Kind != "open-slot" || !strings.Contains(doc.Plan.Steps[0].Message, "case 4") {
			t.Fatalf("fix --json document: %+v", doc)
		}
		e.healthyAndComplete()
	})

	t.Run("uncovered slots: no keys, keys on one node, keys on several", func(t *testing.T) {
		none, single, multi := 400, 401, 402
		e.write(single, 6)
		e.write(multi, 6)
		owner := e.ownerOf(multi)
		other := (owner + 1) % 3
		e.plant(other, multi, key(multi, 100), "planted")
		e.written[key(multi, 100)] = "planted"
		for _, s := range []int{none, single, multi} {
			e.delslotsEverywhere(s)
		}
		if rc := e.c.RedisCheck(t); !strings.Contains(rc.Stdout, "[ERR] Not all 16384 slots are covered by nodes.") {
			t.Fatalf("slots not uncovered:\n%s", rc.Stdout)
		}
		r := e.mustFix()
		want(t, r.Stdout, "Slot 402 has keys on", "uncovered slot(s)")
		if o := e.ownerOf(multi); o != owner {
			t.Errorf("slot %d went to node %d, want %d (most keys)", multi, o, owner)
		}
	})

	t.Run("same key with different values on both sides: both copies kept, the migration's under the key's name", func(t *testing.T) {
		slot := 500
		ks := e.write(slot, 4)
		owner := e.ownerOf(slot)
		other := (owner + 1) % 3
		ownersCopy := e.written[ks[0]]
		e.plant(other, slot, ks[0], "migrated-copy")
		e.plant(other, slot, key(slot, 50), "only-here")
		e.written[key(slot, 50)] = "only-here"
		// The source's replica took over without the migration's state:
		// the slot is importing on the target only (fix's case 2).
		e.do(other, "CLUSTER", "SETSLOT", slot, "IMPORTING", e.id(owner))

		saved := e.fixSaved()
		if len(saved) != 1 || saved[0].Key != ks[0] || saved[0].Kept != e.c.Nodes[other].Addr() || saved[0].From != e.c.Nodes[owner].Addr() {
			t.Fatalf("saved conflicts %+v, want %s kept from node %d and saved from the owner", saved, ks[0], other)
		}
		e.written[ks[0]] = "migrated-copy"
		e.written[saved[0].SavedAs] = ownersCopy
		e.savedInSlot(saved[0], slot, owner)
		e.healthyAndComplete()
	})

	t.Run("a stray copy against a source still migrating the slot: the source's kept under the key's name", func(t *testing.T) {
		slot := 505
		ks := e.write(slot, 4)
		owner := e.ownerOf(slot)
		stray, gone := (owner+1)%3, (owner+2)%3
		e.plant(stray, slot, ks[0], "stale-copy")
		// The owner still migrates the slot towards a target that failed
		// over; its replica took over holding the copies it had been given.
		e.do(owner, "CLUSTER", "SETSLOT", slot, "MIGRATING", e.id(gone))
		saved := e.fixSaved()
		if len(saved) != 1 || saved[0].Key != ks[0] || saved[0].Kept != e.c.Nodes[owner].Addr() || saved[0].From != e.c.Nodes[stray].Addr() {
			t.Fatalf("saved conflicts %+v, want %s kept on the owner (node %d) and the stray copy saved", saved, ks[0], owner)
		}
		e.written[saved[0].SavedAs] = "stale-copy"
		e.savedInSlot(saved[0], slot, owner)
		e.healthyAndComplete()
	})

	t.Run("--replace overwrites the owner's different copy", func(t *testing.T) {
		slot := 510
		ks := e.write(slot, 2)
		owner := e.ownerOf(slot)
		other := (owner + 1) % 3
		e.plant(other, slot, ks[0], "replacing-copy")
		e.do(other, "CLUSTER", "SETSLOT", slot, "IMPORTING", e.id(owner))
		e.written[ks[0]] = "replacing-copy"
		r := e.mustFix("--replace")
		if strings.Contains(r.Stdout, "gocluster-conflict") {
			t.Fatalf("--replace saved a copy:\n%s", r.Stdout)
		}
	})

	t.Run("different copies on two owners: the owner's kept, the other saved", func(t *testing.T) {
		slot := 520
		ks := e.write(slot, 3)
		owner := e.ownerOf(slot)
		other := (owner + 2) % 3
		e.plant(other, slot, ks[1], "foreign-copy")
		saved := e.fixSaved("--search-multiple-owners")
		if len(saved) != 1 || saved[0].Key != ks[1] || saved[0].Kept != e.c.Nodes[owner].Addr() {
			t.Fatalf("saved conflicts %+v, want %s kept on the owner (node %d)", saved, ks[1], owner)
		}
		e.written[saved[0].SavedAs] = "foreign-copy"
		e.savedInSlot(saved[0], slot, owner)
		e.healthyAndComplete()
	})

	t.Run("multiple owners", func(t *testing.T) {
		slot := 600
		e.write(slot, 3)
		owner := e.ownerOf(slot)
		other := (owner + 2) % 3
		e.plant(other, slot, key(slot, 70), "foreign")
		e.written[key(slot, 70)] = "foreign"
		r := e.fix("--search-multiple-owners", "--dry-run")
		want(t, r.Stdout, "Slot 600 has 2 owners", "Fixing multiple owners of slot 600")
		e.mustFix("--search-multiple-owners")
		if n := e.node(other).DBSize(ctx).Val(); n != 0 {
			// other serves other slots' keys too: check the slot only
			if c := e.node(other).ClusterCountKeysInSlot(ctx, slot).Val(); c != 0 {
				t.Fatalf("node %d still holds %d keys of slot %d", other, c, slot)
			}
		}
	})

	t.Run("slot bound to a master that does not claim it", func(t *testing.T) {
		// B takes the slot with a newer epoch, then hands it back to A
		// with SETSLOT NODE, which A never learns: no master claims the
		// slot in its own line, A's view gives it to B, B's to A, and no
		// newer claim ever comes to settle it (an interrupted apply left
		// this on Valkey 8). fix waits to see it last, then covers it.
		slot := 800
		a := e.ownerOf(slot)
		b := (a + 1) % 3
		// One pipeline: between a separate DELSLOTS and ADDSLOTS, a ping
		// from A could give the unassigned slot back to A ("already busy").
		pipe := e.node(b).Pipeline()
		pipe.Do(context.Background(), "CLUSTER", "DELSLOTS", slot)
		pipe.Do(context.Background(), "CLUSTER", "ADDSLOTS", slot)
		pipe.Do(context.Background(), "CLUSTER", "BUMPEPOCH")
		if _, err := pipe.Exec(context.Background()); err != nil {
			t.Fatalf("node %d takes slot %d: %v", b, slot, err)
		}
		harness.WaitFor(t, 10*time.Second, "every node to give the slot to B", func() bool {
			for i := range e.c.Nodes {
				if !e.servesAt(i, b, slot) {
					return false
				}
			}
			return true
		})
		e.do(b, "CLUSTER", "SETSLOT", slot, "NODE", e.id(a))
		if rc := e.c.RedisCheck(t); !strings.Contains(rc.Stdout, "[ERR] Nodes don't agree about configuration!") {
			t.Fatalf("the views agree:\n%s", rc.Stdout)
		}
		r := e.mustFix()
		want(t, r.Stdout, "no master claims")
		if o := e.ownerOf(slot); o != b {
			t.Errorf("slot %d went to node %d, want %d (most views)", slot, o, b)
		}
		e.write(slot, 3)
		e.healthyAndComplete()
	})

	t.Run("unreachable master: refused without the flag", func(t *testing.T) {
		victim := e.ownerOf(700)
		e.c.Nodes[victim].Kill()
		seed := e.c.Nodes[(victim+1)%3].Addr()
		r := harness.Run(t, "fix", seed, "--yes")
		if r.Code != 1 || !strings.Contains(r.Stdout, "unreachable masters is dangerous") ||
			!strings.Contains(r.Stdout, "--cluster-fix-with-unreachable-masters") {
			t.Fatalf("want redis-cli's refusal naming --cluster-fix-with-unreachable-masters (exit 1), got %d:\n%s", r.Code, r.Output())
		}
	})
}
