package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/redis/go-redis/v9"
)

// engineCluster is 3 engine masters with a replica each, made by gocluster create.
type engineCluster struct {
	nodes []*engine.Node
	cc    *redis.ClusterClient
}

func startEngineCluster(t *testing.T, nodeArgs ...string) *engineCluster {
	t.Helper()
	nodes := engine.StartN(t, 6, engine.Options{Cluster: true, Args: nodeArgs})
	args := []string{"create"}
	for _, n := range nodes {
		args = append(args, n.Addr())
	}
	if r := harness.Run(t, append(args, "--replicas", "1", "--yes")...); r.Code != 0 {
		t.Fatalf("gocluster create on engine nodes: exit %d:\n%s", r.Code, r.Output())
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{nodes[0].Addr()}, MaxRedirects: 3})
	t.Cleanup(func() { cc.Close() })
	ctx := context.Background()
	waitUntil(t, func() bool { return cc.Set(ctx, "probe", "1", 0).Err() == nil && cc.Del(ctx, "probe").Err() == nil })
	return &engineCluster{nodes: nodes, cc: cc}
}

func (e *engineCluster) seed() string { return e.nodes[0].Addr() }

// masters returns the running masters, in port order of the nodes list.
func (e *engineCluster) masters(t *testing.T) []*engine.Node {
	t.Helper()
	var out []*engine.Node
	for _, n := range e.nodes {
		if n.Exited() {
			continue
		}
		role, err := n.Client().Do(context.Background(), "ROLE").Slice()
		if err == nil && role[0] == "master" {
			out = append(out, n)
		}
	}
	return out
}

func myID(t *testing.T, n *engine.Node) string {
	t.Helper()
	id, err := n.Client().Do(context.Background(), "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// totalKeys sums DBSIZE over the masters: a key left behind on a node
// that does not own its slot counts twice.
func (e *engineCluster) totalKeys(t *testing.T) int64 {
	t.Helper()
	var n int64
	for _, m := range e.masters(t) {
		n += m.Client().DBSize(context.Background()).Val()
	}
	return n
}

// doneLine returns the final JSON summary of a --json reshard/rebalance.
func doneLine(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var doc map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &doc); err != nil || doc["event"] != "done" {
		t.Fatalf("no final JSON summary (%v) in:\n%s", err, out)
	}
	return doc
}

// TestAtomicReshardAndRebalanceUnderLoad: `reshard --atomic always` and
// `rebalance --atomic always` between engine nodes while go-redis clients
// run single-key SET/GET and hash-tagged MSET/MGET: no client error (so no
// redirection loop, no TRYAGAIN), no lost key, no stray copy, and both
// gocluster check and redis-cli --cluster check pass.
func TestAtomicReshardAndRebalanceUnderLoad(t *testing.T) {
	reshardAndRebalanceUnderLoad(t, migrate.MoverAtomic)
}

// reshardAndRebalanceUnderLoad runs `reshard --atomic always` and
// `rebalance --atomic always` under live load on engine nodes started
// with nodeArgs, and checks that they moved the slots with wantMover,
// reporting progress, with no client error and no key lost or doubled.
func reshardAndRebalanceUnderLoad(t *testing.T, wantMover string, nodeArgs ...string) {
	t.Helper()
	e := startEngineCluster(t, nodeArgs...)
	const preN = 20000
	harness.Preload(t, e.cc, preN)
	load := harness.StartLoad(t, e.cc, preN, 2, 2)
	load.AddMultiKeyWriters(2)
	time.Sleep(200 * time.Millisecond)

	to := e.masters(t)[2]
	r := harness.Run(t, "reshard", e.seed(), "--from", "all", "--to", to.Addr(), "--slots", "3000", "--atomic", "always", "--yes", "--json")
	if r.Code != 0 {
		t.Fatalf("reshard --atomic always: exit %d\n%s", r.Code, r.Output())
	}
	d := doneLine(t, r.Stdout)
	if d["mover"] != wantMover || d["moved_slots"] != float64(3000) || d["ok"] != true {
		t.Fatalf("reshard summary: %v", d)
	}
	t.Logf("reshard with %s: %v slots, %v keys in %.2f s", wantMover, d["moved_slots"], d["keys"], d["seconds"])
	if !strings.Contains(r.Stdout, `"event":"slot-moved"`) {
		t.Fatalf("reshard --json reported no slot-moved progress:\n%s", r.Stdout)
	}
	r = harness.Run(t, "rebalance", e.seed(), "--atomic", "always", "--yes", "--json")
	if r.Code != 0 {
		t.Fatalf("rebalance --atomic always: exit %d\n%s", r.Code, r.Output())
	}
	if d = doneLine(t, r.Stdout); d["mover"] != wantMover || d["moved_slots"].(float64) < 1000 {
		t.Fatalf("rebalance summary: %v", d)
	}
	t.Logf("rebalance with %s: %v slots, %v keys in %.2f s", wantMover, d["moved_slots"], d["keys"], d["seconds"])
	time.Sleep(200 * time.Millisecond)
	load.Finish(t)
	harness.VerifyPreload(t, e.cc, preN)
	settled(t, e)
}

// settled runs gocluster fix, then waits until gocluster check (with the
// multiple-owners search: no key outside its owner) and redis-cli
// --cluster check pass.
func settled(t *testing.T, e *engineCluster) {
	t.Helper()
	var last harness.Result
	if !waitUntil(t, func() bool {
		last = harness.Run(t, "fix", e.seed(), "--yes")
		return last.Code == 0
	}) {
		t.Fatalf("gocluster fix:\n%s", last.Output())
	}
	if !waitUntil(t, func() bool {
		last = harness.Run(t, "check", e.seed(), "--search-multiple-owners")
		return last.Code == 0
	}) {
		t.Fatalf("gocluster check --search-multiple-owners:\n%s", last.Output())
	}
	if !waitUntil(t, func() bool {
		last = harness.RedisCLI(t, "--cluster", "check", e.seed())
		return last.Code == 0 && !strings.Contains(last.Stdout, "[ERR]") && !strings.Contains(last.Stdout, "[WARNING]")
	}) {
		t.Fatalf("redis-cli --cluster check:\n%s", last.Output())
	}
}

// settledWithKeys is settled, then every preloaded key is there, once.
func settledWithKeys(t *testing.T, e *engineCluster, preN int) {
	t.Helper()
	settled(t, e)
	harness.VerifyPreload(t, e.cc, preN)
	if n := e.totalKeys(t); n != int64(preN) {
		t.Fatalf("the masters hold %d keys, want %d", n, preN)
	}
}

// stalledPair picks two masters, makes the target stop reading its import
// links (DEBUG SLOT-MIGRATION-STALL-IMPORTS) and returns them with the
// first slot of the source's last range.
func stalledPair(t *testing.T, e *engineCluster) (source, target *engine.Node, start int) {
	t.Helper()
	ms := e.masters(t)
	source, target = ms[0], ms[1]
	ctx := context.Background()
	if err := target.Client().Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 1).Err(); err != nil {
		t.Fatal(err)
	}
	slots, err := source.Client().ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	mine := myID(t, source)
	for _, s := range slots {
		if s.Nodes[0].ID == mine {
			start = int(s.Start)
		}
	}
	return source, target, start
}

// startReshard runs `gocluster reshard --atomic always` in the background.
func startReshard(t *testing.T, e *engineCluster, to *engine.Node, slots int) (*exec.Cmd, chan struct{}, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(harness.Binary(t), "reshard", e.seed(), "--from", "all", "--to", to.Addr(),
		"--slots", strconv.Itoa(slots), "--atomic", "always", "--yes")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd, done, out
}

// exportInProgress waits until one of the masters reports an atomic
// export in progress and returns that master, or nil when the reshard
// ended first (a fast run on a quiet machine).
func exportInProgress(t *testing.T, e *engineCluster, done chan struct{}) *engine.Node {
	t.Helper()
	return masterWhere(t, e, done, "atomic export in progress", func(m *engine.Node) bool {
		jobs, _ := migrate.SlotMigrations(context.Background(), m.Client())
		return slices.ContainsFunc(jobs, func(j migrate.SlotMigration) bool {
			return j.Export() && (j.State == "snapshotting" || j.State == "replicating")
		})
	})
}

// masterWhere polls the masters until one satisfies cond and returns it,
// or nil when done closes first.
func masterWhere(t *testing.T, e *engineCluster, done chan struct{}, what string, cond func(*engine.Node) bool) *engine.Node {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return nil
		default:
		}
		for _, m := range e.masters(t) {
			if cond(m) {
				return m
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no %s seen", what)
	return nil
}

func nodeByID(t *testing.T, e *engineCluster, id string) *engine.Node {
	t.Helper()
	for _, n := range e.nodes {
		if !n.Exited() && myID(t, n) == id {
			return n
		}
	}
	t.Fatalf("no running node has id %s", id)
	return nil
}

// TestAtomicReshardSurvivesKills kills, with SIGKILL, the target, the
// source, and gocluster itself in the middle of an atomic migration. Each
// time, once the killed node is back (its replica took over meanwhile),
// check and fix find every key in one place and one owner per slot.
func TestAtomicReshardSurvivesKills(t *testing.T) {
	for _, victim := range []string{"target", "source", "gocluster"} {
		t.Run(victim, func(t *testing.T) {
			e := startEngineCluster(t)
			const preN = 150000
			harness.Preload(t, e.cc, preN)
			// A reshard that ends before a migration is caught in progress
			// is followed by another one, to the next master.
			var (
				to, source *engine.Node
				cmd        *exec.Cmd
				done       chan struct{}
				out        *strings.Builder
			)
			for attempt := 0; source == nil; attempt++ {
				if attempt == 3 {
					t.Fatalf("three reshards ended before a migration could be caught in progress; last:\n%s", out.String())
				}
				to = e.masters(t)[(2+attempt)%3]
				cmd, done, out = startReshard(t, e, to, 6000)
				source = exportInProgress(t, e, done)
			}
			ctx := context.Background()
			var killed *engine.Node
			switch victim {
			case "target":
				killed = to
			case "source":
				killed = source
			case "gocluster":
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
			if killed != nil {
				killed.Signal(syscall.SIGKILL)
			}
			<-done
			if killed != nil && cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("reshard succeeded although the %s died:\n%s", victim, out.String())
			}
			if killed != nil {
				// Its replica takes over; the node comes back empty and
				// follows it.
				waitUntil(t, func() bool { return len(e.masters(t)) == 3 })
				killed.Restart()
			}
			// No migration stays in progress: the nodes finish or undo them.
			waitUntil(t, func() bool {
				for _, m := range e.masters(t) {
					jobs, _ := migrate.SlotMigrations(ctx, m.Client())
					for _, j := range jobs {
						if j.InProgress() {
							return false
						}
					}
				}
				return true
			})
			settled(t, e)
			harness.VerifyPreload(t, e.cc, preN)
			if n := e.totalKeys(t); n != preN {
				t.Fatalf("the masters hold %d keys, want %d (a key in two places or lost)", n, preN)
			}
		})
	}
}

// TestAtomicOnRedisServer7: --atomic always is refused before anything
// changes on redis-server 7, and auto falls back to MIGRATE.
func TestAtomicOnRedisServer7(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Flavor: "redis"})
	cc := c.ClusterClient(t)
	harness.Preload(t, cc, 2000)
	before := harness.RedisCLI(t, "--cluster", "check", c.Addr()).Stdout
	top := c.Topology(t)
	to := top.Masters()[2].Addr()
	r := harness.Run(t, "reshard", c.Addr(), "--from", "all", "--to", to, "--slots", "100", "--atomic", "always", "--yes")
	if r.Code == 0 {
		t.Fatalf("--atomic always on redis-server 7 succeeded:\n%s", r.Output())
	}
	errLines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	if len(errLines) != 1 || !strings.Contains(r.Stderr, "--atomic always") || !strings.Contains(r.Stderr, "nothing was changed") {
		t.Fatalf("want one clear error line, got stderr:\n%s", r.Stderr)
	}
	if after := harness.RedisCLI(t, "--cluster", "check", c.Addr()).Stdout; after != before {
		t.Fatalf("the refused reshard changed the cluster:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	r = harness.Run(t, "reshard", c.Addr(), "--from", "all", "--to", to, "--slots", "100", "--yes", "--json")
	if r.Code != 0 {
		t.Fatalf("reshard (auto) on redis-server 7: exit %d\n%s", r.Code, r.Output())
	}
	if d := doneLine(t, r.Stdout); d["mover"] != migrate.MoverMigrate || d["moved_slots"] != float64(100) {
		t.Fatalf("auto on redis-server 7 did not fall back to MIGRATE: %v", d)
	}
	harness.VerifyPreload(t, cc, 2000)
}

// TestCheckAndFixStuckAtomicMigration: a migration whose target stopped
// reading its import link (DEBUG SLOT-MIGRATION-STALL-IMPORTS) is reported
// by check and cancelled by fix; the source keeps its slots and every key,
// the target none of them.
func TestCheckAndFixStuckAtomicMigration(t *testing.T) {
	e := startEngineCluster(t, "--enable-debug-command", "yes")
	const preN = 5000
	harness.Preload(t, e.cc, preN)
	source, target, start := stalledPair(t, e)
	ctx := context.Background()
	if err := source.Client().Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", start, start+99, "NODE", myID(t, target)).Err(); err != nil {
		t.Fatal(err)
	}
	r := harness.Run(t, "check", source.Addr())
	want := fmt.Sprintf("[WARNING] Node %s has an atomic slot migration in progress: slots %d-%d to %s", source.Addr(), start, start+99, target.Addr())
	if r.Code == 0 || !strings.Contains(r.Stdout, want) {
		t.Fatalf("check does not report the stuck migration (want %q):\n%s", want, r.Output())
	}
	r = harness.Run(t, "fix", source.Addr(), "--yes")
	if r.Code != 0 || !strings.Contains(r.Stdout, "CANCELSLOTMIGRATIONS") {
		t.Fatalf("fix did not cancel the migration: exit %d\n%s", r.Code, r.Output())
	}
	jobs, err := migrate.SlotMigrations(ctx, source.Client())
	if err != nil || len(jobs) == 0 || jobs[0].State != "cancelled" {
		t.Fatalf("after fix the source's migration is %v (%v)", jobs, err)
	}
	if err := target.Client().Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 0).Err(); err != nil {
		t.Fatal(err)
	}
	settledWithKeys(t, e, preN)
}

// TestAtomicReshardInterrupted: Ctrl-C (SIGINT) during an atomic reshard
// cancels the migrations in flight, reports what moved and how to resume;
// every key stays in one place. The target stops reading its import links
// so that the reshard is surely in flight when the signal comes (a fast
// machine finished it before the test could interrupt it).
func TestAtomicReshardInterrupted(t *testing.T) {
	e := startEngineCluster(t, "--enable-debug-command", "yes")
	const preN = 150000
	harness.Preload(t, e.cc, preN)
	target := e.masters(t)[2]
	ctx := context.Background()
	if err := target.Client().Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 1).Err(); err != nil {
		t.Fatal(err)
	}
	cmd, done, out := startReshard(t, e, target, 6000)
	if exportInProgress(t, e, done) == nil {
		t.Fatalf("the reshard ended before any export was seen in progress:\n%s", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := target.Client().Do(ctx, "DEBUG", "SLOT-MIGRATION-STALL-IMPORTS", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(out.String(), "Interrupted after moving") ||
		!strings.Contains(out.String(), "Resume with: gocluster reshard") {
		t.Fatalf("interrupted reshard: exit %d\n%s", cmd.ProcessState.ExitCode(), out.String())
	}
	settledWithKeys(t, e, preN)
}
