package migrate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/redis/go-redis/v9"
)

// TestReshardAndRebalanceUnderLoad moves 600 slots to one master and then
// rebalances them back while a ClusterClient writes and reads all the time.
func TestReshardAndRebalanceUnderLoad(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	cc := c.ClusterClient(t)
	const preN = 20000
	harness.Preload(t, cc, preN)
	load := harness.StartLoad(t, cc, preN, 4, 4)
	target := c.Topology(t).Masters()[2].Addr()
	before := slotCounts(t, c)[target]

	r := harness.Run(t, "reshard", c.Addr(), "--from", "all", "--to", target, "--slots", "600", "--yes")
	if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] Moved 600 slots") {
		t.Fatalf("reshard exit %d:\n%s", r.Code, r.Output())
	}
	if got := slotCounts(t, c)[target]; got != before+600 {
		t.Fatalf("target has %d slots, want %d", got, before+600)
	}
	r = harness.Run(t, "rebalance", c.Addr())
	if r.Code != 0 || !strings.Contains(r.Stdout, ">>> Rebalancing across 3 nodes. Total weight = 3.00") {
		t.Fatalf("rebalance exit %d:\n%s", r.Code, r.Output())
	}
	for addr, n := range slotCounts(t, c) {
		if n < 5461 || n > 5462 {
			t.Fatalf("after rebalance %s has %d slots", addr, n)
		}
	}
	load.Finish(t)
	assertRedisCheckClean(t, c)
	r = harness.Run(t, "rebalance", c.Addr())
	if r.Code != 0 || !strings.Contains(r.Stdout, "*** No rebalancing needed! All nodes are within the 2.00% threshold.") {
		t.Fatalf("second rebalance should have nothing to do (exit %d):\n%s", r.Code, r.Output())
	}
}

// TestReshardOptionsAndOutputs covers dry runs, usage errors without a
// terminal, node addresses and ID prefixes as references, and JSON lines.
func TestReshardOptionsAndOutputs(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	topo := c.Topology(t)
	m := topo.Masters()
	before := slotCounts(t, c)

	r := harness.Run(t, "reshard", c.Addr(), "--from", m[0].ID[:8], "--to", m[1].Addr(), "--slots", "10")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--yes") {
		t.Fatalf("without a terminal or --yes, the confirmation must be a usage error (exit %d):\n%s", r.Code, r.Output())
	}
	r = harness.Run(t, "reshard", c.Addr(), "--to", m[1].Addr())
	if r.Code != 2 || !strings.Contains(r.Stderr, "missing --from, --slots") {
		t.Fatalf("missing flags without a terminal: exit %d:\n%s", r.Code, r.Output())
	}
	r = harness.Run(t, "reshard", c.Addr(), "--from", "all", "--to", m[1].Addr(), "--slots", "16385", "--yes")
	if r.Code != 2 {
		t.Fatalf("--slots 16385: exit %d", r.Code)
	}
	r = harness.Run(t, "reshard", c.Addr(), "--from", m[1].Addr(), "--to", m[1].Addr(), "--slots", "5", "--yes")
	if r.Code != 2 || !strings.Contains(r.Stderr, "target node") {
		t.Fatalf("source = target: exit %d:\n%s", r.Code, r.Output())
	}
	r = harness.Run(t, "reshard", c.Addr(), "--cluster-from", m[0].ID[:8], "--cluster-to", m[1].Addr(), "--cluster-slots", "10", "--dry-run")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Ready to move 10 slots.") || !strings.Contains(r.Stdout, "Moving 10 slots 0-9 from "+m[0].ID) {
		t.Fatalf("dry run exit %d:\n%s", r.Code, r.Output())
	}
	if after := slotCounts(t, c); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("dry run changed the cluster: %v -> %v", before, after)
	}
	r = harness.Run(t, "reshard", c.Addr(), "--from", m[0].Addr()+","+m[2].ID, "--to", m[1].ID, "--slots", "100", "--json", "--dry-run")
	var plan struct {
		DryRun  bool `json:"dry_run"`
		Slots   int  `json:"slots"`
		Sources []struct {
			Count int `json:"count"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &plan); err != nil || !plan.DryRun || plan.Slots != 100 || len(plan.Sources) != 2 || plan.Sources[0].Count+plan.Sources[1].Count != 100 {
		t.Fatalf("json dry run (%v): %+v\n%s", err, plan, r.Output())
	}

	// Keys in the moved slots, then a real run with JSON lines.
	cc := c.ClusterClient(t)
	ctx := context.Background()
	for s := range 10 {
		if err := cc.Set(ctx, keyIn(s, "k"), "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r = harness.Run(t, "reshard", c.Addr(), "--from", m[0].ID, "--to", m[1].ID, "--slots", "10", "--yes", "--json", "--pipeline", "3", "--timeout", "5000")
	if r.Code != 0 {
		t.Fatalf("json reshard exit %d:\n%s", r.Code, r.Output())
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	slotEvents, keys := 0, 0
	var done map[string]any
	for _, line := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		switch ev["event"] {
		case "slot-moved":
			slotEvents++
			keys += int(ev["keys"].(float64))
		case "done":
			done = ev
		}
	}
	if slotEvents != 10 || keys != 10 || done == nil || done["ok"] != true || done["moved_slots"].(float64) != 10 {
		t.Fatalf("JSON lines: %d slot events, %d keys, done %v\n%s", slotEvents, keys, done, r.Stdout)
	}
	for s := range 10 {
		if v, err := cc.Get(ctx, keyIn(s, "k")).Result(); v != "x" {
			t.Fatalf("key of slot %d: %q %v", s, v, err)
		}
	}
	assertRedisCheckClean(t, c)
}

// plantOnTarget makes the target hold key (in a slot it does not own) the
// way an ASK-redirected client would, then closes the slot again.
func plantOnTarget(t *testing.T, target *redis.Client, slot int, sourceID, key, val string) {
	t.Helper()
	ctx := context.Background()
	pipe := target.Pipeline()
	pipe.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", sourceID)
	pipe.Do(ctx, "ASKING")
	pipe.Set(ctx, key, val, 0)
	pipe.Do(ctx, "CLUSTER", "SETSLOT", slot, "STABLE")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestReshardBusyKey(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	m := c.Topology(t).Masters()
	src, dst := m[0], m[1]
	var target *redis.Client
	for _, n := range c.Nodes {
		if n.Addr() == dst.Addr() {
			target = n.Client()
		}
	}
	defer target.Close()
	cc := c.ClusterClient(t)
	ctx := context.Background()
	first, second := src.Slots.Slots()[0], src.Slots.Slots()[1]
	busy1, busy2 := keyIn(first, "busy"), keyIn(second, "busy")
	for _, k := range []string{busy1, busy2} {
		if err := cc.Set(ctx, k, "source", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	plantOnTarget(t, target, first, src.ID, busy1, "target")
	plantOnTarget(t, target, second, src.ID, busy2, "target")

	// Without --replace: the slot with the busy key is not moved, the
	// error names the key, and the source copy is intact. MIGRATE's case:
	// a server with Redis 8.4's atomic migration hides a key in a slot
	// its node does not own, and deletes it when it imports the slot.
	r := harness.Run(t, "reshard", c.Addr(), "--from", src.ID, "--to", dst.ID, "--slots", "1", "--yes", "--atomic", "never")
	if r.Code != 1 || !strings.Contains(r.Output(), busy1) || !strings.Contains(r.Output(), "--replace") {
		t.Fatalf("busy key without --replace: exit %d:\n%s", r.Code, r.Output())
	}
	if v, _ := cc.Get(ctx, busy1).Result(); v != "source" {
		t.Fatalf("source value lost: %q", v)
	}
	if !strings.Contains(r.Output(), "Slots left open: "+fmt.Sprint(first)) {
		t.Fatalf("the open slot must be reported:\n%s", r.Output())
	}
	// Close it as the operator would (the key is still on the source, so
	// the source keeps the slot), then move the other slot with --replace.
	for _, n := range c.Nodes {
		cl := n.Client()
		cl.Do(ctx, "CLUSTER", "SETSLOT", first, "STABLE")
		cl.Close()
	}
	assertRedisCheckClean(t, c)

	r = harness.Run(t, "reshard", c.Addr(), "--from", src.ID, "--to", dst.ID, "--slots", "2", "--yes", "--replace", "--atomic", "never")
	if r.Code != 0 {
		t.Fatalf("busy key with --replace: exit %d:\n%s", r.Code, r.Output())
	}
	for _, k := range []string{busy1, busy2} {
		if v, err := cc.Get(ctx, k).Result(); v != "source" {
			t.Fatalf("%s after --replace = %q, %v; want the source's value", k, v, err)
		}
	}
	assertRedisCheckClean(t, c)
}

var resumeRE = regexp.MustCompile(`Resume with: gocluster (\S+ .*)`)

// interrupt runs gocluster with args, sends it a real SIGINT 300 ms after
// it printed a line starting with marker, and returns everything it
// printed and its exit code.
func interrupt(t *testing.T, marker string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(harness.Binary(t), args...)
	cmd.Env = append(cmd.Environ(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd.Stdout = pw
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	seen := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			stdout.WriteString(sc.Text() + "\n")
			if !signalled && strings.HasPrefix(sc.Text(), marker) {
				signalled = true
				close(seen)
			}
		}
	}()
	select {
	case <-seen:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no %q line in 60s", marker)
	}
	time.Sleep(300 * time.Millisecond) // well into the moves: tens of thousands of single-key MIGRATEs take seconds
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("gocluster did not stop within 60s of SIGINT")
	}
	<-readerDone
	return stdout.String() + stderr.String(), cmd.ProcessState.ExitCode()
}

// assertInterrupted checks the exit code and the closing lines of an
// interrupted run and returns the resume command's arguments.
func assertInterrupted(t *testing.T, out string, code int) []string {
	t.Helper()
	if code != 130 {
		t.Fatalf("exit %d after SIGINT, want 130:\n%s", code, out)
	}
	match := resumeRE.FindStringSubmatch(out)
	if match == nil || !strings.Contains(out, "no key lost") {
		t.Fatalf("no resume command or closing note:\n%s", out)
	}
	return strings.Fields(match[1])
}

// TestReshardSIGINT interrupts a long reshard with a real SIGINT: exit 130,
// no slot open, no key lost, and the printed command finishes the job.
func TestReshardSIGINT(t *testing.T) {
	const preN = 100000
	c, cc := preloadedCluster(t, preN)
	m := c.Topology(t).Masters()
	target := m[2]
	before := slotCounts(t, c)[target.Addr()]

	out, code := interrupt(t, "  Resharding plan:", "reshard", c.Addr(), "--from", "all", "--to", target.ID, "--slots", "10000", "--yes", "--pipeline", "1")
	resume := assertInterrupted(t, out, code)
	moved := slotCounts(t, c)[target.Addr()] - before
	if moved <= 0 || moved >= 10000 {
		t.Fatalf("interrupted reshard moved %d slots; want some but not all", moved)
	}
	t.Logf("interrupted after %d of 10000 slots:\n%s", moved, out)
	assertRedisCheckClean(t, c)
	harness.VerifyPreload(t, cc, preN)

	// The printed command resumes exactly the rest.
	if r := harness.Run(t, resume...); r.Code != 0 {
		t.Fatalf("resume exit %d:\n%s", r.Code, r.Output())
	}
	if got := slotCounts(t, c)[target.Addr()]; got != before+10000 {
		t.Fatalf("after resume the target has %d slots, want %d", got, before+10000)
	}
	harness.VerifyPreload(t, cc, preN)
	assertRedisCheckClean(t, c)
}

// TestRebalanceSIGINT interrupts a rebalance (weights 1,1,4: ~6000 slots
// move) and resumes it with the printed command.
func TestRebalanceSIGINT(t *testing.T) {
	const preN = 100000
	c, cc := preloadedCluster(t, preN)
	heavy := c.Topology(t).Masters()[2]
	weight := heavy.ID + "=4"

	// The MIGRATE pipeline's interruption: an atomic rebalance of this
	// cluster on a server that has it ends before the signal lands.
	out, code := interrupt(t, ">>> Rebalancing across", "rebalance", c.Addr(), "--weight", weight, "--pipeline", "1", "--atomic", "never")
	resume := assertInterrupted(t, out, code)
	if got := slotCounts(t, c)[heavy.Addr()]; got <= 5461 || got >= 10924 {
		t.Fatalf("interrupted rebalance left the heavy master with %d slots; want some moves done, not all", got)
	}
	assertRedisCheckClean(t, c)
	harness.VerifyPreload(t, cc, preN)

	if r := harness.Run(t, resume...); r.Code != 0 {
		t.Fatalf("resume exit %d:\n%s", r.Code, r.Output())
	}
	// As redis-cli: expected (int)(16384/6*4) = 10922 and 2730 each; the 2
	// slots rounding leaves go to the receiving node: 10924.
	counts := slotCounts(t, c)
	for addr, n := range counts {
		if want := map[bool]int{true: 10924, false: 2730}[addr == heavy.Addr()]; n != want {
			t.Fatalf("after resume: %v; want 10924 on the weight-4 master, 2730 on the others", counts)
		}
	}
	harness.VerifyPreload(t, cc, preN)
	assertRedisCheckClean(t, c)
}

// TestReshardWithPassword moves keys between nodes that require a password:
// MIGRATE must carry AUTH to the target.
func TestReshardWithPassword(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Password: "s3cret"})
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Addr()}, Password: "s3cret"})
	defer cc.Close()
	ctx := context.Background()
	m := c.Topology(t).Masters()
	for s := range 20 {
		if err := cc.Set(ctx, keyIn(s, "pw"), fmt.Sprint(s), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r := harness.Run(t, "reshard", c.Addr(), "-a", "s3cret", "--from", m[0].ID, "--to", m[2].ID, "--slots", "20", "--yes")
	if r.Code != 0 {
		t.Fatalf("reshard with password: exit %d:\n%s", r.Code, r.Output())
	}
	for s := range 20 {
		if v, err := cc.Get(ctx, keyIn(s, "pw")).Result(); v != fmt.Sprint(s) {
			t.Fatalf("key of slot %d: %q %v", s, v, err)
		}
	}
	if r := harness.Run(t, "reshard", c.Addr(), "--from", m[0].ID, "--to", m[2].ID, "--slots", "20", "--yes"); r.Code != 1 || !strings.Contains(r.Stderr, "-a/--pass") {
		t.Fatalf("without the password: exit %d, want a clear authentication error:\n%s", r.Code, r.Output())
	}
}
