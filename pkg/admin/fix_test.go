package admin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
)

const (
	idA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	idB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	idC = "cccccccccccccccccccccccccccccccccccccccc"
)

// survey builds a FixSurvey from each master's slot fields as CLUSTER
// NODES prints them (A on port 7000, B 7001, C 7002) and key counts.
func survey(t *testing.T, a, b, c string, counts map[int]map[string]int64) *FixSurvey {
	t.Helper()
	cl := &topology.Cluster{Seed: "127.0.0.1:7000", Views: map[string][]*topology.Node{}}
	for i, f := range []struct{ id, slots string }{{idA, a}, {idB, b}, {idC, c}} {
		line := fmt.Sprintf("%s 127.0.0.1:%d@%d myself,master - 0 0 %d connected %s", f.id, 7000+i, 17000+i, i+1, f.slots)
		n, err := topology.ParseNodeLine(line)
		if err != nil {
			t.Fatal(err)
		}
		cl.Nodes = append(cl.Nodes, n)
	}
	if counts == nil {
		counts = map[int]map[string]int64{}
	}
	return &FixSurvey{Cluster: cl, Counts: counts}
}

// ops renders a plan's actions compactly: "op@port[->peerport] slots".
func ops(p *FixPlan) string {
	var out []string
	for _, s := range p.Steps {
		for _, a := range s.Actions {
			x := a.Op + "@" + a.Node[len(a.Node)-4:]
			if a.Peer != "" {
				x += ">" + a.Peer[len(a.Peer)-4:]
			}
			out = append(out, x+" "+slotList(a.Slots))
		}
	}
	return strings.Join(out, ", ")
}

func TestPlanFixOpenSlots(t *testing.T) {
	mig := fmt.Sprintf("[100->-%s]", idB)
	imp := fmt.Sprintf("[100-<-%s]", idA)
	cases := []struct {
		name    string
		a, b, c string
		counts  map[int]map[string]int64
		want    string
		message string
	}{{
		name: "case 1: migrating and importing, keys only on the owner",
		a:    "0-5460 " + mig, b: "5461-10922 " + imp, c: "10923-16383",
		counts: map[int]map[string]int64{100: {idA: 5}},
		want: "importing@7001>7000 100, migrating@7000>7001 100, move-keys@7000>7001 100, " +
			"node@7001>7001 100, node@7000>7001 100, node@7002>7001 100",
		message: "case 1",
	}, {
		// redis-cli would make A stable and move B's keys back cold; the
		// migration is finished instead, so clients are served throughout.
		name: "killed reshard, keys on both sides: the migration is finished (case 1)",
		a:    "0-5460 " + mig, b: "5461-10922 " + imp, c: "10923-16383",
		counts: map[int]map[string]int64{100: {idA: 3, idB: 5}},
		want: "importing@7001>7000 100, migrating@7000>7001 100, move-keys@7000>7001 100, " +
			"node@7001>7001 100, node@7000>7001 100, node@7002>7001 100",
		message: "case 1",
	}, {
		name: "open slot, keys on a third node too: redis-cli's multiple owners path",
		a:    "0-5460 " + mig, b: "5461-10922 " + imp, c: "10923-16383",
		counts: map[int]map[string]int64{100: {idA: 5, idB: 3, idC: 1}},
		want: "stable@7000 100, claim@7000 100, node@7002>7000 100, importing@7002>7000 100, " +
			"move-keys@7001>7000 100, stable@7001 100, move-keys@7002>7000 100, stable@7002 100, node@7001>7000 100, node@7002>7000 100",
		message: "no single clear owner",
	}, {
		name: "case 2: importing only, keys there go back to the owner",
		a:    "0-5460", b: "5461-10922 " + imp, c: "10923-16383",
		counts: map[int]map[string]int64{100: {idA: 5, idB: 2}},
		want: "stable@7000 100, claim@7000 100, node@7001>7000 100, importing@7001>7000 100, " +
			"move-keys@7001>7000 100, stable@7001 100, node@7001>7000 100, node@7002>7000 100",
		message: "case 2",
	}, {
		name: "case 2: importing node without keys",
		a:    "0-5460", b: "5461-10922 " + imp, c: "10923-16383",
		want:    "move-keys@7001>7000 100, stable@7001 100, node@7001>7000 100, node@7002>7000 100",
		message: "case 2",
	}, {
		name: "case 4: migrating with nothing importing",
		a:    "0-5460 " + mig, b: "5461-10922", c: "10923-16383",
		counts:  map[int]map[string]int64{100: {idA: 9}},
		want:    "stable@7000 100",
		message: "case 4",
	}, {
		name: "case 3: one migrating, several importing, none with keys",
		a:    "0-5460 " + mig, b: "5461-10922 " + imp, c: "10923-16383 " + imp,
		want: "importing@7001>7000 100, migrating@7000>7001 100, move-keys@7000>7001 100, node@7001>7001 100, " +
			"node@7000>7001 100, node@7002>7001 100, stable@7002 100",
		message: "case 3",
	}, {
		name: "open slot nobody claims: the node with keys takes it",
		a:    "0-99 101-5460", b: "5461-10922 " + imp, c: "10923-16383",
		counts:  map[int]map[string]int64{100: {idB: 4}},
		want:    "claim@7001 100, node@7000>7001 100, node@7002>7001 100",
		message: "case 2",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanFix(survey(t, tc.a, tc.b, tc.c, tc.counts), FixOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := ops(p); got != tc.want {
				t.Errorf("actions:\n got %s\nwant %s", got, tc.want)
			}
			if len(p.Steps) == 0 || !strings.Contains(p.Steps[len(p.Steps)-1].Message, tc.message) {
				t.Errorf("message %+v does not mention %q", p.Steps, tc.message)
			}
			if len(p.Unfixable) > 0 {
				t.Errorf("unfixable: %v", p.Unfixable)
			}
			again, _ := PlanFix(survey(t, tc.a, tc.b, tc.c, tc.counts), FixOptions{})
			if ops(again) != ops(p) {
				t.Error("plan is not deterministic")
			}
		})
	}
}

func TestPlanFixUnfixable(t *testing.T) {
	mig := fmt.Sprintf("[100->-%s]", idB)
	imp := fmt.Sprintf("[100-<-%s]", idA)
	// A migrates slot 100 it does not claim, B (the only node with keys)
	// and C import it: redis-cli's case 3 with keys on an importing node.
	p, err := PlanFix(survey(t, "0-99 101-5460 "+mig, "5461-10922 "+imp, "10923-16383 "+imp,
		map[int]map[string]int64{100: {idB: 1}}), FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Unfixable) != 1 || !strings.Contains(p.Unfixable[0], "slot 100") || len(p.Steps) != 0 {
		t.Fatalf("want slot 100 unfixable and no step, got %+v", p)
	}
}

func TestPlanFixCoverage(t *testing.T) {
	t.Run("no keys: the masters with the fewest slots take them", func(t *testing.T) {
		p, err := PlanFix(survey(t, "10-5460", "5461-10922", "10923-16381", nil), FixOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A has 5451 slots, B 5462, C 5459: A takes slots until it has
		// as many as C, then they alternate.
		want := "claim@7000 0-8,16382, node@7001>7000 0-8,16382, node@7002>7000 0-8,16382, " +
			"claim@7002 9,16383, node@7000>7002 9,16383, node@7001>7002 9,16383"
		if got := ops(p); got != want {
			t.Errorf("got %s", got)
		}
	})
	t.Run("keys on one node or several", func(t *testing.T) {
		p, err := PlanFix(survey(t, "0-5460", "5461-10922", "10923-16381",
			map[int]map[string]int64{16382: {idA: 1}, 16383: {idA: 1, idB: 3}}), FixOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Every claim first (the cluster is whole again), then the key moves.
		want := "claim@7000 16382, node@7001>7000 16382, node@7002>7000 16382, claim@7001 16383, node@7000>7001 16383, node@7002>7001 16383, " +
			"importing@7000>7001 16383, move-keys@7000>7001 16383, stable@7000 16383"
		if got := ops(p); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		if !p.Steps[1].Actions[0].Clear {
			t.Error("claims of uncovered slots must also clear their state")
		}
	})
}

func TestPlanFixMultipleOwners(t *testing.T) {
	s := survey(t, "0-5460", "5460-10922", "10923-16383", map[int]map[string]int64{5460: {idA: 1, idB: 7}, 42: {idC: 2}})
	p, err := PlanFix(s, FixOptions{})
	if err != nil || !p.Empty() {
		t.Fatalf("without --search-multiple-owners nothing to do, got %s (%v)", ops(p), err)
	}
	p, err = PlanFix(s, FixOptions{SearchMultipleOwners: true})
	if err != nil {
		t.Fatal(err)
	}
	// Slot 42: A claims it without keys, C holds keys: C (most keys) keeps it.
	want := "delslot@7000 42, delslot@7000 5460, claim@7002 42, claim@7001 5460, node@7000>7002 42, node@7001>7002 42, " +
		"node@7000>7001 5460, importing@7000>7001 5460, move-keys@7000>7001 5460, stable@7000 5460, node@7002>7001 5460"
	if got := ops(p); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestPlanFixUnreachableMasters(t *testing.T) {
	s := survey(t, "0-5460", "5461-10922", "", nil)
	s.UnreachableMasters = []string{"127.0.0.1:7003"}
	if _, err := PlanFix(s, FixOptions{}); err == nil || !strings.Contains(err.Error(), "--fix-with-unreachable-masters") {
		t.Fatalf("want a refusal naming --fix-with-unreachable-masters, got %v", err)
	}
	p, err := PlanFix(s, FixOptions{FixWithUnreachableMasters: true})
	if err != nil || len(p.Steps) == 0 {
		t.Fatalf("with the flag the uncovered slots are claimed: %v %+v", err, p)
	}
}

// withReplica adds a replica of C (port 7003) whose own CLUSTER NODES line
// carries slotFields, and says what C runs.
func withReplica(t *testing.T, s *FixSurvey, slotFields string, primary conn.Server) *FixSurvey {
	t.Helper()
	line := fmt.Sprintf("dddddddddddddddddddddddddddddddddddddddd 127.0.0.1:7003@17003 myself,slave %s 0 0 3 connected %s", idC, slotFields)
	n, err := topology.ParseNodeLine(line)
	if err != nil {
		t.Fatal(err)
	}
	s.Cluster.Nodes = append(s.Cluster.Nodes, n)
	s.Servers = map[string]conn.Server{"127.0.0.1:7002": primary}
	return s
}

func TestPlanFixReplicaStates(t *testing.T) {
	valkey8 := conn.Server{Flavor: "valkey", Version: "8.0.1"}
	stale := fmt.Sprintf("[467-<-%s] [468-<-%s] [500->-%s]", idA, idA, idB)

	// A replica of C keeps importing states C no longer has: STABLE goes to C.
	p, err := PlanFix(withReplica(t, survey(t, "0-5460", "5461-10922", "10923-16383", nil), stale, valkey8), FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ops(p), "stable@7002 467, stable@7002 468, stable@7002 500"; got != want || len(p.Unfixable) != 0 {
		t.Fatalf("plan %q (unfixable %q), want %q", got, p.Unfixable, want)
	}
	if !strings.Contains(p.Steps[0].Message, "replica 127.0.0.1:7003") || !strings.Contains(p.Steps[0].Message, "467-468,500") {
		t.Fatalf("step message %q", p.Steps[0].Message)
	}

	// Redis 7 does not replicate SETSLOT: reported, nothing planned.
	p, err = PlanFix(withReplica(t, survey(t, "0-5460", "5461-10922", "10923-16383", nil), stale, conn.Server{Flavor: "redis", Version: "7.0.15"}), FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steps) != 0 || len(p.Unfixable) != 1 || !strings.Contains(p.Unfixable[0], "does not replicate CLUSTER SETSLOT") {
		t.Fatalf("redis 7 primary: steps %q unfixable %q", ops(p), p.Unfixable)
	}

	// The primary has the same slot open: the master-level repair handles
	// it (its SETSLOTs replicate), no extra step for the replica.
	p, err = PlanFix(withReplica(t, survey(t, "0-5460", "5461-10922", fmt.Sprintf("10923-16383 [467-<-%s]", idA), nil),
		fmt.Sprintf("[467-<-%s]", idA), valkey8), FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Steps {
		if strings.Contains(st.Message, "replica") {
			t.Fatalf("unexpected replica step: %q", st.Message)
		}
	}
}

// TestPlanFixImportFromReplacedSource: the source of a migration crashed
// and its replica (A here) took the slots over. B still imports slot 100
// from the dead node, which Redis keeps as the slot's owner in B's view
// (gossip never changes an importing slot), so B is cluster-down and
// answers CLUSTERDOWN to MIGRATE. Fix first tells B the owner of every
// such slot in one step, before any key moves (fault campaign, seed 12).
func TestPlanFixImportFromReplacedSource(t *testing.T) {
	const idGone = "dddddddddddddddddddddddddddddddddddddddd"
	s := survey(t, "0-5460", fmt.Sprintf("5461-10922 [100-<-%s] [101-<-%s]", idGone, idGone), "10923-16383",
		map[int]map[string]int64{100: {idA: 3, idB: 5}, 101: {idA: 4}})
	plan, err := PlanFix(s, FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := ops(plan)
	if first := "node@7001>7000 100-101, "; !strings.HasPrefix(got, first) {
		t.Fatalf("plan does not start by telling B the owner of its stale importing slots:\n%s", got)
	}
	if !strings.Contains(plan.Steps[0].Message, "no longer owns them") {
		t.Errorf("first step says %q", plan.Steps[0].Message)
	}
	// The open slots are still repaired after, one by one.
	if !strings.Contains(got, "move-keys@") || strings.Count(got, "100") < 2 || len(plan.Unfixable) > 0 {
		t.Errorf("open slots not repaired after the first step:\n%s\nunfixable: %v", got, plan.Unfixable)
	}

	// A migration interrupted with both sides alive is left to case 1.
	s = survey(t, fmt.Sprintf("0-5460 [100->-%s]", idB), fmt.Sprintf("5461-10922 [100-<-%s]", idA), "10923-16383", nil)
	if plan, _ = PlanFix(s, FixOptions{}); strings.Contains(ops(plan), "node@7001>7000") {
		t.Errorf("a live migration's target was told the source owns the slot:\n%s", ops(plan))
	}
}

// TestPlanFixCoverageDuringFailover: each node's own line is read at its
// own moment, so during a failover B's line (now a replica, read after)
// and its replica's (still a replica, read before) can both lack B's old
// slots while the seed's view still gives them to B. Covering them would
// hand the slots to a master without their keys (fault campaign, seed
// 3666: 7 908 keys lost); fix leaves them for a later run.
func TestPlanFixCoverageDuringFailover(t *testing.T) {
	s := survey(t, "0-5460", "", "10923-16383", nil)
	var view []*topology.Node
	for i, f := range []struct{ id, flags, slots string }{{idA, "myself,master", "0-5460"}, {idB, "master", "5461-10922"}, {idC, "master", "10923-16383"}} {
		n, err := topology.ParseNodeLine(fmt.Sprintf("%s 127.0.0.1:%d@%d %s - 0 0 %d connected %s", f.id, 7000+i, 17000+i, f.flags, i+1, f.slots))
		if err != nil {
			t.Fatal(err)
		}
		view = append(view, n)
	}
	s.Cluster.Views[idA] = view
	plan, err := PlanFix(s, FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(plan); got != "" {
		t.Errorf("fix covers slots a view still gives to a reachable master:\n%s", got)
	}
	if len(plan.Unfixable) != 1 || !strings.Contains(plan.Unfixable[0], "slots 5461-10922") || !strings.Contains(plan.Unfixable[0], "failover may be in progress") {
		t.Errorf("unfixable: %q", plan.Unfixable)
	}

	// Slots no view gives to anyone are still covered.
	s = survey(t, "0-5460", "", "10923-16383", nil)
	if plan, _ = PlanFix(s, FixOptions{}); !strings.Contains(ops(plan), "claim@") || len(plan.Unfixable) > 0 {
		t.Errorf("uncovered slots not claimed: %s %q", ops(plan), plan.Unfixable)
	}
}

func TestPlanFixCancelsAtomicMigrations(t *testing.T) {
	s := survey(t, "0-5460", "5461-10922", "10923-16383", nil)
	s.Check = &CheckResult{Report: topology.Report{Problems: []topology.Problem{
		{Kind: topology.KindAtomicMigration, Node: "127.0.0.1:7000", Slots: []int{0, 1, 2}, Message: "m1"},
		{Kind: topology.KindAtomicMigration, Node: "127.0.0.1:7000", Slots: []int{10}, Message: "m2"},
		{Kind: topology.KindAtomicMigration, Node: "127.0.0.1:7001", Slots: []int{6000}, Message: "m3"},
		{Kind: topology.KindAtomicImport, Node: "127.0.0.1:7002", Slots: []int{100, 101}, Message: "m4"},
		{Kind: topology.KindAtomicImport, Node: "127.0.0.1:7002", Slots: []int{200}, Message: "m5"},
	}}}
	p, err := PlanFix(s, FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ops(p), "cancel-atomic-migration@7000 0-2,10, cancel-atomic-migration@7001 6000, cancel-atomic-import@7002 100-101,200"; got != want {
		t.Fatalf("plan %q, want %q", got, want)
	}
	if p.Steps[0].Actions[0].NodeID != idA {
		t.Errorf("cancel action names node %q, want %q", p.Steps[0].Actions[0].NodeID, idA)
	}
}

// While a failover spreads, a view may still call the promoted replica a
// replica: fix must see that and wait instead of planning on it.
func TestRoleDisagreement(t *testing.T) {
	line := func(id string, port int, flags, master, slots string) *topology.Node {
		n, err := topology.ParseNodeLine(fmt.Sprintf("%s 127.0.0.1:%d@%d %s %s 0 0 1 connected %s", id, port, port+10000, flags, master, slots))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	a := line(idA, 7000, "myself,master", "-", "0-16383")
	b := line(idB, 7001, "myself,master", "-", "") // just promoted
	c := &topology.Cluster{Nodes: []*topology.Node{a, b}, Views: map[string][]*topology.Node{
		idA: {a, line(idB, 7001, "slave", idA, "")},
		idB: {line(idA, 7000, "master", "-", "0-16383"), b},
	}}
	if got := roleDisagreement(c); !strings.Contains(got, "127.0.0.1:7000 sees 127.0.0.1:7001 as a replica") {
		t.Errorf("roleDisagreement = %q", got)
	}
	c.Views[idA][1] = line(idB, 7001, "master", "-", "")
	if got := roleDisagreement(c); got != "" {
		t.Errorf("agreeing views reported as %q", got)
	}
}

// TestPlanFixReleasesBeforeAnyClaim: apply killed mid-rebalance on Valkey
// left a batch of slots claimed by both the source A (still migrating) and
// the target B, which had bumped its epoch to take them. Slot 100's key is
// on B; slot 101 has none. Every DELSLOTS must come before the first claim:
// a claim's BUMPEPOCH on A for slot 101 would otherwise make A's claim on
// slot 100 win too, and B would delete slot 100's key before it moved.
// On a tie the claimer with the newer epoch (B) keeps the slot.
func TestPlanFixReleasesBeforeAnyClaim(t *testing.T) {
	a := fmt.Sprintf("0-5460 [100->-%s] [101->-%s]", idB, idB)
	s := survey(t, a, "100-101 5461-10922", "10923-16383", map[int]map[string]int64{100: {idB: 1}})
	s.Cluster.Nodes[1].ConfigEpoch = 9
	p, err := PlanFix(s, FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := ops(p)
	firstClaim := strings.Index(got, "claim@")
	if last := strings.LastIndex(got, "delslot@"); firstClaim < 0 || last > firstClaim {
		t.Errorf("a DELSLOTS follows a claim: %s", got)
	}
	if strings.Contains(got, "claim@7000") || !strings.Contains(got, "delslot@7000 100") || !strings.Contains(got, "delslot@7000 101") {
		t.Errorf("the target (newer epoch, the key) must keep both slots: %s", got)
	}
}

// TestPlanFixOpenSlotNobodyClaims: the target of a migration took the slot
// (SETSLOT NODE on itself first) and then failed over before the source
// heard of it; the promoted replica never claimed it, the views dropped it
// when the target turned replica, and the source still has it migrating
// towards the old target. No node claims the slot and it holds no keys:
// the source claims it and closes it (fault campaign seed 32752, where fix
// called 422 such slots a combination it cannot fix).
func TestPlanFixOpenSlotNobodyClaims(t *testing.T) {
	const idGone = "dddddddddddddddddddddddddddddddddddddddd"
	s := survey(t, fmt.Sprintf("0-515 517-5460 [516->-%s]", idGone), "5461-10922", "10923-16383", nil)
	plan, err := PlanFix(s, FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Unfixable) > 0 {
		t.Fatalf("unfixable: %q", plan.Unfixable)
	}
	got := ops(plan)
	for _, want := range []string{"stable@7000 516", "claim@7000 516", "node@7001>7000 516", "node@7002>7000 516"} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
}

// TestPlanFixKeepsSlotFromShardWithDownMaster: on Valkey 8+ a down master
// of the importing node's shard could retake the slot once its source
// gives it up (bug 17), so that slot stays open; a slot imported by
// another shard is still finished.
// TestPlanFixKeepsSlotMigratingToDownMaster: A migrates slot 100 to D,
// which is down; B, D's replica promoted, holds most of the slot's keys
// without importing it (it missed the replicated SETSLOT). Giving the
// slot to B would make A stop claiming it, and D, importing it in its
// nodes.conf, would retake it with its whole shard when it returns.
func TestPlanFixKeepsSlotMigratingToDownMaster(t *testing.T) {
	const idD, addrD = "dddddddddddddddddddddddddddddddddddddddd", "127.0.0.1:7009"
	plan := func(mates map[string]string) *FixPlan {
		s := survey(t, fmt.Sprintf("0-5460 [100->-%s]", idD), "5461-10922", "10923-16383",
			map[int]map[string]int64{100: {idA: 1, idB: 5}})
		s.DownShardMates = mates
		p, err := PlanFix(s, FixOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Without the guard fix gives the slot to B (the test's premise).
	if got := ops(plan(nil)); !strings.Contains(got, "@7001 100") {
		t.Fatalf("without a down master the plan should give slot 100 to 7001:\n%s", got)
	}
	p := plan(map[string]string{idD: addrD, idB: addrD})
	if len(p.Unfixable) != 1 || !strings.Contains(p.Unfixable[0], "slot 100: left open: 127.0.0.1:7000 migrates it to "+idD) || !strings.Contains(p.Unfixable[0], addrD) {
		t.Fatalf("unfixable: %q", p.Unfixable)
	}
	if got := ops(p); strings.Contains(got, " 100") {
		t.Errorf("plan touches slot 100:\n%s", got)
	}
}

func TestPlanFixKeepsSlotFromShardWithDownMaster(t *testing.T) {
	a := fmt.Sprintf("0-5460 [100->-%s] [300->-%s]", idB, idC)
	s := survey(t, a, fmt.Sprintf("5461-10922 [100-<-%s]", idA), fmt.Sprintf("10923-16383 [300-<-%s]", idA), nil)
	s.DownShardMates = map[string]string{idB: "127.0.0.1:7009"}
	plan, err := PlanFix(s, FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Unfixable) != 1 || !strings.Contains(plan.Unfixable[0], "slot 100: left open") || !strings.Contains(plan.Unfixable[0], "127.0.0.1:7009") {
		t.Fatalf("unfixable: %q", plan.Unfixable)
	}
	got := ops(plan)
	if strings.Contains(got, " 100") {
		t.Errorf("plan touches slot 100:\n%s", got)
	}
	if !strings.Contains(got, "node@7002>7002 300") {
		t.Errorf("plan does not finish slot 300 towards 7002:\n%s", got)
	}
}
