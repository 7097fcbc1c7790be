package admin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// fakeCluster builds a cluster from "slot-ranges" per master, e.g.
// "0-5460", "" (empty master); replicas are added with "replica-of:N".
// Node i is 127.0.0.1:700i with ID "n<i>" padded to 40 characters.
func fakeCluster(t *testing.T, masters ...string) *topology.Cluster {
	t.Helper()
	var lines []string
	for i, spec := range masters {
		id := fakeID(i)
		addr := fmt.Sprintf("127.0.0.1:%d@%d", 7000+i, 17000+i)
		flags := "master"
		if i == 0 {
			flags = "myself,master"
		}
		if of, ok := strings.CutPrefix(spec, "replica-of:"); ok {
			var m int
			fmt.Sscan(of, &m)
			lines = append(lines, fmt.Sprintf("%s %s slave %s 0 0 1 connected", id, addr, fakeID(m)))
			continue
		}
		line := fmt.Sprintf("%s %s %s - 0 0 %d connected", id, addr, flags, i+1)
		if spec != "" {
			line += " " + strings.ReplaceAll(spec, ",", " ")
		}
		lines = append(lines, line)
	}
	view, err := topology.ParseNodes(strings.Join(lines, "\n") + "\n")
	if err != nil {
		t.Fatal(err)
	}
	c := &topology.Cluster{Seed: "127.0.0.1:7000", Views: map[string][]*topology.Node{}}
	for _, n := range view {
		c.Nodes = append(c.Nodes, n)
		c.Views[n.ID] = view
	}
	return c
}

func fakeID(i int) string { return fmt.Sprintf("n%d%s", i, strings.Repeat("0", 38)) }

func threeMasters(t *testing.T) *topology.Cluster {
	return fakeCluster(t, "0-5460", "5461-10922", "10923-16383", "replica-of:0")
}

func countBySource(p *ReshardPlan) map[string]int {
	out := map[string]int{}
	for _, m := range p.Moves {
		out[m.Source.Addr]++
	}
	return out
}

func TestPlanReshardLikeRedisCLI(t *testing.T) {
	c := threeMasters(t)
	// redis-cli: sources sorted by slots (5462 first): ceil(1000/10923*5462)
	// = 501, then floor(1000/10923*5461) = 499.
	p, err := PlanReshard(c, ReshardOptions{From: []string{"all"}, To: "127.0.0.1:7002", Slots: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got := countBySource(p)
	if got["127.0.0.1:7001"] != 501 || got["127.0.0.1:7000"] != 499 || len(p.Moves) != 1000 {
		t.Fatalf("shares %v", got)
	}
	if p.Sources[0].Node.Addr() != "127.0.0.1:7001" || p.Sources[0].Slots[0] != 5461 || p.Sources[0].Slots[500] != 5961 {
		t.Fatalf("first source should give its lowest slots 5461..5961: %v", p.Sources[0].Slots[:3])
	}
	if p.Sources[1].Slots[0] != 0 || p.Sources[1].Slots[498] != 498 {
		t.Fatalf("second source should give 0..498")
	}
	for _, m := range p.Moves {
		if m.Target.ID != fakeID(2) {
			t.Fatalf("move to %v", m.Target)
		}
	}
}

func TestPlanReshardAlwaysExactlyN(t *testing.T) {
	// Four equal sources: redis-cli gives ceil + 3 floors of 10/4 = 3+2+2+2 = 9.
	c := fakeCluster(t, "0-99", "100-199", "200-299", "300-399", "400-16383")
	for n := 1; n <= 400; n++ {
		p, err := PlanReshard(c, ReshardOptions{From: []string{fakeID(0)[:6], "127.0.0.1:7001", fakeID(2), fakeID(3)}, To: "127.0.0.1:7004", Slots: n})
		if err != nil {
			t.Fatal(err)
		}
		seen := slots.Set{}
		for _, m := range p.Moves {
			if seen.Has(m.Slot) || m.Slot >= 400 {
				t.Fatalf("n=%d: bad or repeated slot %d", n, m.Slot)
			}
			seen.Add(m.Slot)
		}
		if len(p.Moves) != n {
			t.Fatalf("n=%d: planned %d moves", n, len(p.Moves))
		}
	}
	p, _ := PlanReshard(c, ReshardOptions{From: []string{fakeID(0), fakeID(1), fakeID(2), fakeID(3)}, To: fakeID(4), Slots: 10})
	if got := countBySource(p); got["127.0.0.1:7000"] != 3 || got["127.0.0.1:7001"] != 3 || got["127.0.0.1:7002"] != 2 || got["127.0.0.1:7003"] != 2 {
		t.Fatalf("10 from four equal sources: %v", got)
	}
	// Deterministic: same input, same plan.
	q, _ := PlanReshard(c, ReshardOptions{From: []string{fakeID(0), fakeID(1), fakeID(2), fakeID(3)}, To: fakeID(4), Slots: 10})
	if fmt.Sprint(p.Moves) != fmt.Sprint(q.Moves) {
		t.Fatal("plan is not deterministic")
	}
}

func TestPlanReshardErrors(t *testing.T) {
	c := threeMasters(t)
	for _, tc := range []struct {
		o    ReshardOptions
		want string
	}{
		{ReshardOptions{From: []string{"all"}, To: fakeID(0), Slots: 0}, "invalid number of slots"},
		{ReshardOptions{From: []string{"all"}, To: fakeID(0), Slots: 16385}, "invalid number of slots"},
		{ReshardOptions{From: []string{"all"}, To: "", Slots: 5}, "no receiving node"},
		{ReshardOptions{From: []string{"all"}, To: "nope", Slots: 5}, "unknown node"},
		{ReshardOptions{From: []string{"all"}, To: fakeID(3), Slots: 5}, "not a master"},
		{ReshardOptions{From: []string{fakeID(0)}, To: fakeID(0), Slots: 5}, "target node"},
		{ReshardOptions{From: []string{}, To: fakeID(0), Slots: 5}, "no source nodes"},
		{ReshardOptions{From: []string{fakeID(1)}, To: fakeID(0), Slots: 6000}, "hold only 5462"},
	} {
		_, err := PlanReshard(c, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.o, err, tc.want)
		}
	}
}
