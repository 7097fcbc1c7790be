package admin

import (
	"fmt"
	"strings"
	"testing"
)

// An ID prefix shared by two nodes is refused as ambiguous, naming both,
// whether both are reachable or one of them is down.
func TestPlanDelNodeAmbiguousPrefix(t *testing.T) {
	for _, down := range [][]string{nil, {"r100000000000000000000000000000000000012"}} {
		_, err := PlanDelNode(sampleCluster(t, down...), "r100", 0, DelNodeOptions{})
		if err == nil || !strings.Contains(err.Error(), `"r100" is ambiguous`) ||
			!strings.Contains(err.Error(), "10.0.0.2:7001") || !strings.Contains(err.Error(), "10.0.0.3:7001") {
			t.Errorf("down %v: want an ambiguous prefix naming both replicas, got %v", down, err)
		}
	}
}

// call and set-timeout plan the unreachable nodes too (last), so that a
// node they could not reach is reported as failed rather than skipped.
func TestPlansIncludeUnreachableNodes(t *testing.T) {
	const m2 = "m200000000000000000000000000000000000002"
	c := sampleCluster(t, m2)
	call, err := PlanCall(c, []string{"PING"}, CallOptions{})
	if err != nil || len(call.Targets) != 6 || call.Targets[5].ID != m2 {
		t.Fatalf("call plan: %+v, %v", call, err)
	}
	masters, err := PlanCall(c, []string{"PING"}, CallOptions{OnlyMasters: true})
	if err != nil || len(masters.Targets) != 3 || masters.Targets[2].Role != "master" {
		t.Fatalf("call --only-masters plan: %+v, %v", masters, err)
	}
	st, err := PlanSetTimeout(c, 5000)
	if err != nil || len(st.Nodes) != 6 || st.Nodes[5] != "10.0.0.2:7000" {
		t.Fatalf("set-timeout plan: %+v, %v", st, err)
	}
}

// Many bad nodes make one readable line: the first ten and a count.
func TestJoinNodeErrorsCapsTheList(t *testing.T) {
	var errs []error
	for i := range 300 {
		errs = append(errs, fmt.Errorf("node 10.0.0.%d:7000: connection refused", i))
	}
	msg := joinNodeErrors(errs).Error()
	if strings.Count(msg, "connection refused") != 10 || !strings.HasSuffix(msg, "and 290 more node(s) with problems") {
		t.Fatalf("got %q", msg)
	}
	if msg := joinNodeErrors(errs[:2]).Error(); strings.Count(msg, "connection refused") != 2 {
		t.Fatalf("two errors: %q", msg)
	}
}
