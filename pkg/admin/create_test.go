package admin

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// fakeNodes makes facts for nodes on the given hosts, ports from 7000.
func fakeNodes(hosts ...string) []NodeFacts {
	out := make([]NodeFacts, len(hosts))
	for i, h := range hosts {
		out[i] = NodeFacts{Addr: fmt.Sprintf("%s:%d", h, 7000+i), Host: h, Port: 7000 + i, IP: h,
			ID: fmt.Sprintf("%040d", i+1), ClusterEnabled: true, KnownNodes: 1}
	}
	return out
}

func hostOfAddr(addr string) string { return addr[:strings.LastIndexByte(addr, ':')] }

// replicasOnMasterHost counts replicas placed on their master's host.
func replicasOnMasterHost(p *CreatePlan) int {
	n := 0
	for m, rs := range p.Replicas {
		for _, r := range rs {
			if hostOfAddr(r) == hostOfAddr(m) {
				n++
			}
		}
	}
	return n
}

func checkPlanShape(t *testing.T, p *CreatePlan, nodes, masters, perMaster int) {
	t.Helper()
	if len(p.Masters) != masters {
		t.Fatalf("masters = %d, want %d: %v", len(p.Masters), masters, p.Masters)
	}
	covered := &slots.Set{}
	for _, m := range p.Masters {
		r, ok := p.SlotRanges[m]
		if !ok {
			t.Fatalf("master %s has no slots", m)
		}
		for s := r.Start; s <= r.End; s++ {
			if covered.Has(s) {
				t.Fatalf("slot %d given twice", s)
			}
			covered.Add(s)
		}
	}
	if covered.Len() != slots.Count {
		t.Fatalf("%d slots covered, want all", covered.Len())
	}
	seen := map[string]bool{}
	for _, m := range p.Masters {
		seen[m] = true
		if len(p.Replicas[m]) < perMaster {
			t.Errorf("master %s has %d replicas, want at least %d", m, len(p.Replicas[m]), perMaster)
		}
		for _, r := range p.Replicas[m] {
			if seen[r] {
				t.Fatalf("node %s used twice", r)
			}
			seen[r] = true
		}
	}
	if len(seen) != nodes {
		t.Fatalf("plan places %d nodes, want %d", len(seen), nodes)
	}
	epochs := map[int]bool{}
	for _, e := range p.Epochs {
		if epochs[e] || e < 1 {
			t.Fatalf("config epochs not distinct and positive: %v", p.Epochs)
		}
		epochs[e] = true
	}
	if len(epochs) != nodes {
		t.Fatalf("%d epochs for %d nodes", len(epochs), nodes)
	}
}

func TestPlanCreateThreeHostsIsPerfect(t *testing.T) {
	nodes := fakeNodes("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3", "10.0.0.3")
	p, err := PlanCreate(nodes, CreateOptions{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkPlanShape(t, p, 6, 3, 1)
	masterHosts := map[string]bool{}
	for _, m := range p.Masters {
		masterHosts[hostOfAddr(m)] = true
	}
	if len(masterHosts) != 3 {
		t.Errorf("masters not spread over the 3 hosts: %v", p.Masters)
	}
	if p.AffinityScore != 0 || replicasOnMasterHost(p) != 0 || len(p.Warnings) != 0 {
		t.Errorf("want perfect anti-affinity, got score %d, warnings %v, replicas %v", p.AffinityScore, p.Warnings, p.Replicas)
	}
	if got := p.SlotRanges[p.Masters[0]]; got != (slots.Range{Start: 0, End: 5460}) {
		t.Errorf("first master slots %v, want redis-cli's 0-5460", got)
	}
	if got := p.SlotRanges[p.Masters[2]]; got != (slots.Range{Start: 10923, End: 16383}) {
		t.Errorf("last master slots %v, want redis-cli's 10923-16383", got)
	}
}

func TestPlanCreateOneHostWarns(t *testing.T) {
	p, err := PlanCreate(fakeNodes("127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"), CreateOptions{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkPlanShape(t, p, 6, 3, 1)
	if p.AffinityScore < sameHostAsMaster || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "same host as their master") {
		t.Errorf("want a same-host warning, got score %d warnings %v", p.AffinityScore, p.Warnings)
	}
	// With one host the plan keeps the argument order, like redis-cli.
	if want := []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"}; !reflect.DeepEqual(p.Masters, want) {
		t.Errorf("masters %v, want %v", p.Masters, want)
	}
}

func TestPlanCreateUnevenHosts(t *testing.T) {
	cases := []struct {
		name      string
		hosts     []string
		replicas  int
		masters   int
		onMaster  int // replicas that cannot avoid their master's host
		wantWarns bool
	}{
		{"4+1+1 forces one replica home", []string{"a", "a", "a", "a", "b", "c"}, 1, 3, 1, true},
		{"2+2+1+1 can be perfect", []string{"a", "a", "b", "b", "c", "d"}, 1, 3, 0, false},
		{"3+3 two hosts", []string{"a", "a", "a", "b", "b", "b"}, 1, 3, 0, false},
		{"3+2+2+2 with 2 replicas", []string{"a", "a", "a", "b", "b", "c", "c", "d", "d"}, 2, 3, 0, false},
		{"7 nodes gives an extra replica", []string{"a", "b", "c", "a", "b", "c", "a"}, 1, 3, 0, false},
		{"no replicas", []string{"a", "a", "b"}, 0, 3, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := PlanCreate(fakeNodes(c.hosts...), CreateOptions{Replicas: c.replicas})
			if err != nil {
				t.Fatal(err)
			}
			checkPlanShape(t, p, len(c.hosts), c.masters, c.replicas)
			if got := replicasOnMasterHost(p); got != c.onMaster {
				t.Errorf("%d replicas on their master's host, want %d: %v", got, c.onMaster, p.Replicas)
			}
			if (len(p.Warnings) > 0) != c.wantWarns {
				t.Errorf("warnings %v, want some: %v", p.Warnings, c.wantWarns)
			}
		})
	}
}

// TestOptimizeAffinityReachesOptimum compares the deterministic optimizer
// with an exhaustive search of every assignment on small layouts.
func TestOptimizeAffinityReachesOptimum(t *testing.T) {
	layouts := [][]string{
		{"a", "a", "a", "b", "b", "c"},
		{"a", "b", "a", "b", "a", "b", "c", "c", "c"},
		{"a", "a", "a", "a", "b", "b", "c", "c"},
		{"a", "a", "b", "c", "c", "c", "c", "d", "d"},
	}
	for _, hosts := range layouts {
		for _, perMaster := range []int{1, 2} {
			nodes := fakeNodes(hosts...)
			if len(nodes)/(perMaster+1) < MinMasters {
				continue
			}
			p, err := PlanCreate(nodes, CreateOptions{Replicas: perMaster})
			if err != nil {
				t.Fatal(err)
			}
			if best := bestScore(p); p.AffinityScore != best {
				t.Errorf("hosts %v replicas %d: score %d, best possible %d", hosts, perMaster, p.AffinityScore, best)
			}
			again, _ := PlanCreate(fakeNodes(hosts...), CreateOptions{Replicas: perMaster})
			if !reflect.DeepEqual(p, again) {
				t.Errorf("hosts %v: plan is not deterministic", hosts)
			}
		}
	}
}

// bestScore tries every permutation of the plan's replicas over the same
// master slots.
func bestScore(p *CreatePlan) int {
	hostOf := map[string]string{}
	for _, n := range p.Nodes {
		hostOf[n.Addr] = n.Host
	}
	var replicas, slotsOf []string
	for _, m := range p.Masters {
		for _, r := range p.Replicas[m] {
			replicas = append(replicas, r)
			slotsOf = append(slotsOf, m)
		}
	}
	best := -1
	var permute func(k int)
	permute = func(k int) {
		if k == len(replicas) {
			masterOf := map[string]string{}
			for i, r := range replicas {
				masterOf[r] = slotsOf[i]
			}
			if s := affinityScore(masterOf, hostOf); best < 0 || s < best {
				best = s
			}
			return
		}
		for i := k; i < len(replicas); i++ {
			replicas[k], replicas[i] = replicas[i], replicas[k]
			permute(k + 1)
			replicas[k], replicas[i] = replicas[i], replicas[k]
		}
	}
	permute(0)
	return best
}

func TestValidateCreateArgs(t *testing.T) {
	cases := []struct {
		addrs    []string
		replicas int
		want     string
	}{
		{[]string{"127.0.0.1:1", "127.0.0.1:2"}, 0, "at least 3 master nodes"},
		{[]string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5"}, 1, "at least 6 nodes are required"},
		{[]string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:1"}, 0, "127.0.0.1:1 is given more than once"},
		{[]string{"127.0.0.1:1", "nonsense", "127.0.0.1:3"}, 0, `invalid address "nonsense"`},
		{[]string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}, -1, "invalid --replicas -1"},
	}
	for _, c := range cases {
		_, err := ValidateCreateArgs(c.addrs, c.replicas)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v replicas %d: error %v, want %q", c.addrs, c.replicas, err, c.want)
		}
	}
	got, err := ValidateCreateArgs([]string{"127.0.0.1:1", "[::1]:2", "localhost:3"}, 0)
	if err != nil || !slices.Equal(got, []string{"127.0.0.1:1", "[::1]:2", "localhost:3"}) {
		t.Errorf("valid args: %v %v", got, err)
	}
}

func TestPlanCreateRejectsSameNodeTwice(t *testing.T) {
	nodes := fakeNodes("a", "b", "c")
	nodes[2].ID = nodes[0].ID
	if _, err := PlanCreate(nodes, CreateOptions{}); err == nil || !strings.Contains(err.Error(), "are the same node") {
		t.Fatalf("error %v, want same node", err)
	}
}

func TestEmptyError(t *testing.T) {
	base := NodeFacts{Addr: "h:1", ClusterEnabled: true, KnownNodes: 1}
	cases := []struct {
		mod  func(*NodeFacts)
		want string
	}{
		{func(f *NodeFacts) {}, ""},
		{func(f *NodeFacts) { f.ClusterEnabled = false }, "not configured as a cluster node"},
		{func(f *NodeFacts) { f.KnownNodes = 3 }, "already knows 2 other node(s)"},
		{func(f *NodeFacts) { f.Slots = 5 }, "serves 5 slot(s)"},
		{func(f *NodeFacts) { f.Keys = 2 }, "holds 2 key(s)"},
	}
	for _, c := range cases {
		f := base
		c.mod(&f)
		err := f.emptyError()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) ||
			(err != nil && !strings.HasPrefix(err.Error(), "node h:1 ")) {
			t.Errorf("emptyError = %v, want %q naming the node", err, c.want)
		}
	}
}

// TestStaleViews checks which announcements a create still needs: node a's
// line as b sees it lacks a's slots, c does not know its new role yet.
func TestStaleViews(t *testing.T) {
	const (
		a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		c = "cccccccccccccccccccccccccccccccccccccccc"
	)
	line := func(id, port, flags, master, slotsField string) string {
		return strings.TrimSpace(fmt.Sprintf("%s 127.0.0.1:%s@1%s %s %s 0 0 1 connected %s", id, port, port, flags, master, slotsField))
	}
	parse := func(lines ...string) []*topology.Node {
		v, err := topology.ParseNodes(strings.Join(lines, "\n") + "\n")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	views := [][]*topology.Node{
		parse(line(a, "7000", "myself,master", "-", "0-8191"), line(b, "7001", "master", "-", "8192-16383"), line(c, "7002", "slave", a, "")),
		parse(line(a, "7000", "master", "-", ""), line(b, "7001", "myself,master", "-", "8192-16383"), line(c, "7002", "master", "-", "")),
		parse(line(a, "7000", "master", "-", "0-8191"), line(b, "7001", "master", "-", "8192-16383"), line(c, "7002", "myself,slave", a, "")),
	}
	got := staleViews(views)
	want := [][]int{{1}, nil, {1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("staleViews = %v, want %v (a must tell b its slots, c must tell b its role)", got, want)
	}
}

// TestDivergenceSeesEpochs: two views that agree on slots and replicas but
// not on a master's config epoch converge only when epochs are not asked.
func TestDivergenceSeesEpochs(t *testing.T) {
	const (
		a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	)
	view := func(self string, epochA int) []*topology.Node {
		flags := map[string]string{a: "master", b: "master"}
		flags[self] = "myself,master"
		v, err := topology.ParseNodes(fmt.Sprintf("%s 127.0.0.1:7000@17000 %s - 0 0 %d connected 0-8191\n%s 127.0.0.1:7001@17001 %s - 0 0 2 connected 8192-16383\n",
			a, flags[a], epochA, b, flags[b]))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	addrs := []string{"127.0.0.1:7000", "127.0.0.1:7001"}
	views := [][]*topology.Node{view(a, 3), view(b, 1)}
	o := ConvergeOptions{SameSlots: true, SameReplicas: true}
	if d := divergence(addrs, views, o); d != "" {
		t.Fatalf("without epochs: %q, want converged", d)
	}
	o.SameEpochs = true
	if d := divergence(addrs, views, o); !strings.Contains(d, "config epochs") {
		t.Fatalf("with epochs: %q, want a disagreement about config epochs", d)
	}
	views[1] = view(b, 3)
	if d := divergence(addrs, views, o); d != "" {
		t.Fatalf("same epochs: %q, want converged", d)
	}
}
