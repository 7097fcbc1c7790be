package admin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/pkg/topology"
)

// strandedView is a view from viewer's side in which A, B and C own the
// given slots (CLUSTER NODES lines as viewer would print them).
func strandedView(t *testing.T, viewer string, a, b, c string) []*topology.Node {
	t.Helper()
	var view []*topology.Node
	for i, f := range []struct{ id, slots string }{{idA, a}, {idB, b}, {idC, c}} {
		flags := "master"
		if f.id == viewer {
			flags = "myself,master"
		}
		n, err := topology.ParseNodeLine(fmt.Sprintf("%s 127.0.0.1:%d@%d %s - 0 0 %d connected %s", f.id, 7000+i, 17000+i, flags, i+1, f.slots))
		if err != nil {
			t.Fatal(err)
		}
		view = append(view, n)
	}
	return view
}

// TestStrandedSlots: slot 100 is claimed by nobody in its own line; two
// views give it to B, one to C. It is stranded on B (most views). Slots
// claimed by some master are not stranded.
func TestStrandedSlots(t *testing.T) {
	s := survey(t, "0-99 101-5460", "5461-10922", "10923-16383", nil)
	s.Cluster.Views[idA] = strandedView(t, idA, "0-99 101-5460", "100 5461-10922", "10923-16383")
	s.Cluster.Views[idB] = strandedView(t, idB, "0-99 101-5460", "5461-10922", "100 10923-16383")
	s.Cluster.Views[idC] = strandedView(t, idC, "0-99 101-5460", "100 5461-10922", "10923-16383")
	got := strandedSlots(s.Cluster)
	if len(got) != 1 || got[100] != idB {
		t.Fatalf("stranded = %v, want slot 100 on B", got)
	}

	// Without the settle check fix leaves it (a failover may be in
	// progress); once stranded, it goes to the owner the views name, even
	// though C has fewer slots to its name.
	plan, err := PlanFix(s, FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ops(plan) != "" || len(plan.Unfixable) != 1 {
		t.Fatalf("unsettled: want no repair and one unfixable line, got %s %q", ops(plan), plan.Unfixable)
	}
	s.Stranded = got
	plan, err = PlanFix(s, FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "claim@7001 100, node@7000>7001 100, node@7002>7001 100"; ops(plan) != want {
		t.Errorf("plan %s, want %s", ops(plan), want)
	}
	if len(plan.Unfixable) > 0 || !strings.Contains(plan.Steps[0].Message, "no master claims") {
		t.Errorf("unfixable %q, message %q", plan.Unfixable, plan.Steps[0].Message)
	}

	// Keys decide over the views.
	s.Counts = map[int]map[string]int64{100: {idC: 3}}
	if plan, _ = PlanFix(s, FixOptions{}); !strings.HasPrefix(ops(plan), "claim@7002 100") {
		t.Errorf("keys on C: plan %s", ops(plan))
	}
}
