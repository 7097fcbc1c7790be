package faults

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/slots"
)

// commands are the gocluster commands a fault interrupts.
var commands = []string{"reshard", "rebalance", "add-node", "del-node", "import", "fix", "apply"}

// commandDeadline bounds every gocluster run: past it, gocluster hung.
const commandDeadline = 90 * time.Second

// trial is one command interrupted by one fault, then recovered and checked.
type trial struct {
	t                       *testing.T
	seed                    int64
	rng                     *rand.Rand
	backend, command, fault string
	all                     []node          // every process of the trial
	members                 []node          // the cluster's nodes at the start
	extra                   []node          // nodes the command adds, or the import source
	src, dst                node            // the two nodes the command moves data between
	entry                   node            // the address given to gocluster, never faulted
	argv                    func() []string // the command line, from the cluster as it is now
	goal                    func() string   // "" once the command's effect is there
	chk                     *checker
	started                 time.Time
	outcome                 outcome
}

// outcome is a trial's record for the report.
type outcome struct {
	seed                    int64
	backend, command, fault string
	landed                  bool          // the fault hit while the command ran
	delay, ran              time.Duration // fault after the start; how long the command ran
	failure                 string        // "" when the cluster recovered and no write was lost
	serverFault             string        // a server that could not start again from its own files
	checked, lost, failover int
	retryDup                int
	saved                   int           // missing under the key, found in the copy fix saved
	recovery                time.Duration // fault to `check` OK
	seen, appErrs           map[string]int64
	steps                   []string // what happened when, for the log
}

// newTrial draws everything from the seed: the server family, the
// command, the fault, its moment and its victim.
func newTrial(t *testing.T, seed int64) *trial {
	u := uint64(seed)
	tr := &trial{t: t, seed: seed, rng: rand.New(rand.NewPCG(u, u^0x9e3779b97f4a7c15)),
		command: commands[u%uint64(len(commands))],
		fault:   faultKinds[(u/uint64(len(commands)))%uint64(len(faultKinds))],
		backend: backends[(u/uint64(len(commands)*len(faultKinds)))%uint64(len(backends))]}
	tr.outcome = outcome{seed: seed, backend: tr.backend, command: tr.command, fault: tr.fault}
	return tr
}

// gocluster runs the binary with a deadline; hung reports a run that
// outlived it (the process is then killed).
func (tr *trial) gocluster(args ...string) (out string, code int, hung bool) {
	p := tr.startGocluster(args...)
	return p.wait()
}

type process struct {
	cmd  *exec.Cmd
	buf  *bytes.Buffer
	done chan struct{}
	ctx  context.Context
	stop context.CancelFunc

	started, ended time.Time // ended is set before done is closed
	t              *testing.T
}

func (tr *trial) startGocluster(args ...string) *process {
	ctx, cancel := context.WithTimeout(context.Background(), commandDeadline)
	cmd := exec.CommandContext(ctx, harness.Binary(tr.t), args...)
	cmd.Env = append(cmd.Environ(), "NO_COLOR=1")
	p := &process{cmd: cmd, buf: &bytes.Buffer{}, done: make(chan struct{}), ctx: ctx, stop: cancel, t: tr.t}
	cmd.Stdout, cmd.Stderr = p.buf, p.buf
	if err := cmd.Start(); err != nil {
		tr.t.Fatalf("start gocluster: %v", err)
	}
	p.started = time.Now()
	go func() { cmd.Wait(); p.ended = time.Now(); close(p.done) }()
	return p
}

func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// wait returns the output, exit code and whether the run hung; a run
// longer than slowRun is logged in full, to see what it waited for (every
// run with FAULTS_VERBOSE=1).
func (p *process) wait() (string, int, bool) {
	<-p.done
	defer p.stop()
	out := p.buf.String()
	if took := p.ended.Sub(p.started); took > slowRun || os.Getenv("FAULTS_VERBOSE") != "" {
		p.t.Logf("%s took %v:\n%s", strings.Join(p.cmd.Args[1:], " "), took.Round(time.Millisecond), out)
	}
	return out, p.cmd.ProcessState.ExitCode(), p.ctx.Err() != nil
}

const slowRun = 8 * time.Second

// setUp starts a 3 masters + 3 replicas cluster, the command's extra
// nodes and data, and picks src, dst and the entry node.
func (tr *trial) setUp() {
	t := tr.t
	tr.members = startNodes(t, tr.backend, 6, true)
	tr.all = append(tr.all, tr.members...)
	if out, code, hung := tr.gocluster(append(append([]string{"create"}, addrsOf(tr.members)...), "--replicas", "1", "--yes", "--wait-ok")...); code != 0 || hung {
		t.Fatalf("seed %d: create failed (exit %d, hung %v):\n%s", tr.seed, code, hung, out)
	}
	tr.waitAgreement(tr.members, 30*time.Second)
	masters := tr.masters()
	tr.src, tr.dst = masters[0], masters[1]
	for _, n := range tr.members {
		if n != tr.src && n != tr.dst {
			tr.entry = n
			break
		}
	}
	tr.chk = newChecker(addrsOf(tr.members))
	tr.chk.preload(t, "pre", 20000)
	seed := tr.entry.Addr()
	switch tr.command {
	case "reshard":
		// By slot, not by node: after a failover the replica that took
		// over is the one to name.
		from, to := tr.lastSlot(tr.src), tr.lastSlot(tr.dst)
		tr.argv = func() []string {
			return []string{"reshard", seed, "--from", tr.ownerOf(from), "--to", tr.ownerOf(to), "--slots", "1500", "--pipeline", "20", "--yes"}
		}
	case "rebalance":
		heavy := tr.lastSlot(tr.dst)
		tr.argv = func() []string {
			return []string{"rebalance", seed, "--weight", tr.ownerOf(heavy) + "=3", "--pipeline", "20", "--yes"}
		}
		tr.goal = func() string { return tr.share(tr.ownerOf(heavy), 16384*3/5) }
	case "add-node":
		tr.extra = startNodes(t, tr.backend, 1, true)
		tr.dst = tr.extra[0]
		tr.argv = fixed("add-node", tr.dst.Addr(), seed, "--converge-timeout", "20s")
		tr.goal = func() string { return tr.known(tr.dst, true) }
	case "del-node":
		tr.extra = startNodes(t, tr.backend, 1, true)
		tr.src = tr.extra[0]
		if out, code, _ := tr.gocluster("add-node", tr.src.Addr(), seed); code != 0 {
			t.Fatalf("seed %d: add-node before del-node: %s", tr.seed, out)
		}
		tr.waitAgreement(append(tr.members, tr.src), 30*time.Second)
		tr.argv = fixed("del-node", seed, tr.src.Addr(), "--converge-timeout", "20s")
		tr.goal = func() string { return tr.known(tr.src, false) }
	case "import":
		tr.extra = startNodes(t, tr.backend, 1, false)
		tr.src = tr.extra[0]
		tr.chk.preloadInto(t, tr.src.client(), "imp", 10000)
		tr.argv = fixed("import", seed, "--from", tr.src.Addr(), "--pipeline", "20")
	case "fix":
		tr.openSlots(6, 400)
		tr.argv = fixed("fix", seed, "--yes", "--pipeline", "10")
	case "apply":
		tr.extra = startNodes(t, tr.backend, 2, true)
		tr.dst = tr.extra[0]
		tr.argv = fixed(append(append([]string{"apply"}, addrsOf(append(tr.members, tr.extra...))...), "--replicas", "1", "--yes")...)
		tr.goal = func() string { return tr.masterCount(4) }
	}
	tr.all = append(tr.all, tr.extra...)
}

// masters are the members serving slots, in the entry-independent order
// of tr.members.
func (tr *trial) masters() []node {
	view, err := clusterNodes(tr.members[0])
	if err != nil {
		tr.t.Fatal(err)
	}
	isMaster := map[string]bool{}
	for _, cn := range view {
		isMaster[cn.addr] = cn.master && len(cn.slots) > 0
	}
	var out []node
	for _, n := range tr.members {
		if isMaster[n.Addr()] {
			out = append(out, n)
		}
	}
	return out
}

func fixed(args ...string) func() []string { return func() []string { return args } }

// lastSlot is the highest slot n serves: reshard and rebalance take
// slots from the low end, so it keeps its owner.
func (tr *trial) lastSlot(n node) int {
	view, err := clusterNodes(tr.entry)
	if err != nil {
		tr.t.Fatal(err)
	}
	for _, cn := range view {
		if cn.addr == n.Addr() {
			owners, _ := slotOwners([]clusterNode{cn})
			last := -1
			for s := range owners {
				last = max(last, s)
			}
			return last
		}
	}
	tr.t.Fatalf("%s serves no slot", n.Addr())
	return 0
}

// ownerOf is the address of the master serving slot, in the entry's view.
func (tr *trial) ownerOf(slot int) string {
	view, err := clusterNodes(tr.entry)
	if err != nil {
		return ""
	}
	owners, _ := slotOwners(view)
	return owners[slot]
}

// share says why addr does not serve about want slots, or "".
func (tr *trial) share(addr string, want int) string {
	view, err := clusterNodes(tr.entry)
	if err != nil {
		return err.Error()
	}
	for _, cn := range view {
		if cn.addr == addr {
			owners, _ := slotOwners([]clusterNode{cn})
			if len(owners) < want*9/10 {
				return fmt.Sprintf("%s serves %d slots, want about %d", addr, len(owners), want)
			}
			return ""
		}
	}
	return addr + " is not in the cluster"
}

// masterCount says why the cluster does not have n masters serving slots, or "".
func (tr *trial) masterCount(n int) string {
	view, err := clusterNodes(tr.entry)
	if err != nil {
		return err.Error()
	}
	got := 0
	for _, cn := range view {
		if cn.master && len(cn.slots) > 0 {
			got++
		}
	}
	if got != n {
		return fmt.Sprintf("%d masters serve slots, want %d", got, n)
	}
	return ""
}

// known says why the entry's view does (want false) or does not (want
// true) list n, or "".
func (tr *trial) known(n node, want bool) string {
	view, err := clusterNodes(tr.entry)
	if err != nil {
		return err.Error()
	}
	for _, cn := range view {
		if cn.addr == n.Addr() {
			if want {
				return ""
			}
			return n.Addr() + " is still in the cluster"
		}
	}
	if want {
		return n.Addr() + " did not join"
	}
	return ""
}

// openSlots leaves slots open from src to dst with keys on both sides,
// as an interrupted migration does, for fix to close.
func (tr *trial) openSlots(slotCount, keysPerSlot int) {
	ctx := context.Background()
	sc, dc := tr.src.client(), tr.dst.client()
	defer sc.Close()
	defer dc.Close()
	srcID, dstID := sc.ClusterMyID(ctx).Val(), dc.ClusterMyID(ctx).Val()
	owned, err := clusterNodes(tr.src)
	if err != nil {
		tr.t.Fatal(err)
	}
	var first int
	for _, cn := range owned {
		if cn.addr == tr.src.Addr() {
			fmt.Sscanf(cn.slots[0], "%d", &first)
		}
	}
	for s := first; s < first+slotCount; s++ {
		keys := tr.chk.preloadSlot(tr.t, sc, s, keysPerSlot)
		must(tr.t, dc.Do(ctx, "CLUSTER", "SETSLOT", s, "IMPORTING", srcID).Err())
		must(tr.t, sc.Do(ctx, "CLUSTER", "SETSLOT", s, "MIGRATING", dstID).Err())
		host, port, _ := strings.Cut(tr.dst.Addr(), ":")
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys[:len(keys)/2] {
			args = append(args, k)
		}
		must(tr.t, sc.Do(ctx, args...).Err())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitAgreement waits until the nodes agree on all slots, or fails.
func (tr *trial) waitAgreement(nodes []node, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		why := agreement(nodes)
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			tr.t.Fatalf("seed %d: the cluster did not settle in %v: %s", tr.seed, limit, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// run is the whole trial: the command under load with a fault at a
// random moment, then recovery (fix, the command again) and the checks.
func (tr *trial) run() {
	tr.setUp()
	tr.started = time.Now()
	tr.step(fmt.Sprintf("source %s, target %s, entry %s", tr.src.Addr(), tr.dst.Addr(), tr.entry.Addr()))
	tr.chk.start(fmt.Sprint("w", tr.seed))
	time.Sleep(300 * time.Millisecond) // writes before, during and after
	f := tr.plan()
	p := tr.startGocluster(tr.argv()...)
	time.Sleep(f.delay)
	tr.outcome.landed = p.running()
	faultAt := time.Now()
	f.inject(tr, p)
	out, code, hung := p.wait()
	tr.outcome.delay, tr.outcome.ran = f.delay, p.ended.Sub(p.started)
	tr.step(fmt.Sprintf("%s exited %d: %s", tr.command, code, lastLine(out)))
	if hung {
		tr.fail("%s hung past %v after %s:\n%s", tr.command, commandDeadline, tr.fault, out)
		return
	}
	f.heal(tr)
	if tr.outcome.serverFault != "" {
		tr.chk.halt()
		tr.chk.cc.Close()
		return
	}
	tr.step("healed")
	replaced := f.replacedSlots(tr)
	tr.step(fmt.Sprintf("%d slots replaced by a replica", len(replaced)))
	tr.recover()
	if tr.outcome.failure == "" {
		tr.outcome.recovery = time.Since(faultAt)
	}
	tr.chk.halt()
	tr.chk.cc.Close()
	tr.outcome.seen, tr.outcome.appErrs = snapshot(&tr.chk.seen), snapshot(&tr.chk.appErrs)
	if tr.outcome.failure != "" {
		return
	}
	v, err := tr.chk.verify(addrsOf(tr.live()), replaced, faultAt)
	if err != nil {
		tr.fail("read-back: %v", err)
		return
	}
	tr.outcome.checked, tr.outcome.lost, tr.outcome.failover, tr.outcome.retryDup = v.checked, len(v.lost), len(v.failover), v.retryDup
	tr.outcome.saved = len(v.saved)
	if len(v.saved) > 0 {
		tr.step(fmt.Sprintf("in copies fix saved, e.g. %s", strings.Join(v.saved[:min(3, len(v.saved))], "; ")))
	}
	if len(v.failover) > 0 {
		tr.step(fmt.Sprintf("lost at failover, e.g. %s", strings.Join(v.failover[:min(3, len(v.failover))], "; ")))
	}
	if len(v.lost) > 0 {
		tr.step("lost keys by slot: " + lostBySlot(v.lost, replaced))
		tr.fail("%d acknowledged writes lost, e.g. %s", len(v.lost), strings.Join(v.lost[:min(5, len(v.lost))], "; "))
	}
}

// lostBySlot counts lost writes ("key: why") by their key's slot, marking
// with * the slots a replica took over, to tell a loss at one migration
// from one spread over the keyspace.
func lostBySlot(lost []string, replaced map[int]bool) string {
	count := map[int]int{}
	for _, l := range lost {
		key, _, _ := strings.Cut(l, ": ")
		count[slots.KeySlot([]byte(key))]++
	}
	var out []string
	for _, sl := range slices.Sorted(maps.Keys(count)) {
		mark := ""
		if replaced[sl] {
			mark = "*"
		}
		out = append(out, fmt.Sprintf("%d%s:%d", sl, mark, count[sl]))
	}
	return strings.Join(out, " ")
}

// recover runs fix, then the command again, then waits for check OK.
func (tr *trial) recover() {
	live := tr.live()
	tr.settle(live, 10*time.Second)
	tr.step("settled")
	entry := tr.entry.Addr()
	out, code, hung := tr.gocluster("fix", entry, "--yes")
	if hung || code != 0 {
		tr.fail("fix after %s: exit %d, hung %v:\n%s", tr.fault, code, hung, out)
		return
	}
	tr.step("fixed")
	out, code, hung = tr.gocluster(tr.argv()...)
	tr.step(fmt.Sprintf("%s again exited %d: %s", tr.command, code, lastLine(out)))
	if hung {
		tr.fail("%s again hung:\n%s", tr.command, out)
		return
	}
	// add-node and del-node refuse to run twice; elsewhere the command
	// run again must succeed.
	if code != 0 && (tr.command != "add-node" && tr.command != "del-node" || tr.goal() != "") {
		tr.fail("%s again: exit %d:\n%s", tr.command, code, out)
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, code, hung = tr.gocluster("check", entry, "--search-multiple-owners")
		why := ""
		switch {
		case hung:
			tr.fail("check hung:\n%s", out)
			return
		case code != 0 || problems(out) != "":
			why = fmt.Sprintf("gocluster check (exit %d): %s", code, problems(out))
		default:
			why = agreement(members(tr.all, tr.entry))
		}
		if why == "" && tr.goal != nil {
			why = tr.goal()
		}
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			tr.fail("not recovered 30s after fix and %s again: %s", tr.command, why)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// settle waits, without failing, for every live node to say
// cluster_state:ok: an operator runs fix once failover is over.
func (tr *trial) settle(nodes []node, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ok := true
		for _, n := range nodes {
			c := n.client()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			info, err := c.ClusterInfo(ctx).Result()
			cancel()
			c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// live are the cluster nodes still running (del-node shuts its node down).
func (tr *trial) live() []node {
	var out []node
	for _, n := range members(tr.all, tr.entry) {
		c := n.client()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if c.Ping(ctx).Err() == nil {
			out = append(out, n)
		}
		cancel()
		c.Close()
	}
	return out
}

// problems are the [ERR] and [WARNING] lines of a check, but for the
// warning that replicas share their master's host: every node of a
// trial is on 127.0.0.1.
func problems(checkOutput string) string {
	var out []string
	for _, l := range strings.Split(checkOutput, "\n") {
		if (strings.Contains(l, "[ERR]") || strings.Contains(l, "[WARNING]")) && !strings.Contains(l, "are on the same host") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "; ")
}

// step logs a moment of the trial, timed from its start.
func (tr *trial) step(what string) {
	tr.outcome.steps = append(tr.outcome.steps, fmt.Sprintf("%.1fs %s", time.Since(tr.started).Seconds(), what))
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// serverOwnFailures are what a server says when it cannot start again
// from its own files after SIGKILL: Valkey 8.0.1 truncating nodes.conf
// (seeds 2064, 20645), redis-server 7.0.15 crashing on its AOF (12923).
var serverOwnFailures = []string{"corrupted cluster config file", "Bad file format reading the append only file", "Unrecoverable error"}

// restartFailed records a victim that did not start again: the server's
// own failure (the trial ends, reported apart) or, for anything else, the
// trial's failure.
func (tr *trial) restartFailed(n node, err error) {
	for _, s := range serverOwnFailures {
		if strings.Contains(err.Error(), s) {
			tr.outcome.serverFault = fmt.Sprintf("restart %s: %v", n.Addr(), err)
			return
		}
	}
	tr.fail("restart %s: %v", n.Addr(), err)
}

func (tr *trial) fail(format string, args ...any) {
	if tr.outcome.failure == "" {
		tr.outcome.failure = fmt.Sprintf(format, args...)
	}
}

// kill sends SIGKILL to a gocluster run.
func (p *process) kill() {
	if p.running() {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
}

// keepFiles copies every node's log and nodes.conf to
// $FAULTS_KEEP/seed-<seed>/<port>/, to read a failed trial afterwards.
func (tr *trial) keepFiles() {
	root := os.Getenv("FAULTS_KEEP")
	if root == "" {
		return
	}
	for _, n := range tr.all {
		_, port, _ := strings.Cut(n.Addr(), ":")
		to := filepath.Join(root, fmt.Sprintf("seed-%d", tr.seed), port)
		if err := os.MkdirAll(to, 0o755); err != nil {
			tr.t.Logf("FAULTS_KEEP: %v", err)
			return
		}
		for _, name := range []string{"redis.log", "engine.log", "nodes.conf"} {
			if data, err := os.ReadFile(filepath.Join(n.dir(), name)); err == nil {
				os.WriteFile(filepath.Join(to, name), data, 0o644)
			}
		}
	}
	tr.t.Logf("nodes' files kept in %s", filepath.Join(root, fmt.Sprintf("seed-%d", tr.seed)))
}
