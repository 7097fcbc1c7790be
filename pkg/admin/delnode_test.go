package admin

import (
	"fmt"
	"testing"

	"github.com/gocluster/gocluster/pkg/topology"
)

// TestPlanDelNodeKnownOnlyByOneMember: a member that was down while a
// node was removed comes back still knowing it (as failed). The seed no
// longer lists it, yet del-node run again must find it in that member's
// view and plan to forget it everywhere (fault campaign, seed 87).
func TestPlanDelNodeKnownOnlyByOneMember(t *testing.T) {
	const idGone = "dddddddddddddddddddddddddddddddddddddddd"
	s := survey(t, "0-5460", "5461-10922", "10923-16383", nil)
	ghost, err := topology.ParseNodeLine(fmt.Sprintf("%s 127.0.0.1:7009@17009 master,fail - 0 0 9 disconnected", idGone))
	if err != nil {
		t.Fatal(err)
	}
	s.Cluster.Views[idB] = append(append([]*topology.Node{}, s.Cluster.Nodes...), ghost)
	for _, ref := range []string{idGone, "127.0.0.1:7009"} {
		p, err := PlanDelNode(s.Cluster, ref, 0, DelNodeOptions{})
		if err != nil {
			t.Fatalf("del-node %s: %v", ref, err)
		}
		if p.Node.ID != idGone || p.Reachable || len(p.Others) != 3 {
			t.Errorf("del-node %s: node %s reachable %v, %d others to forget it", ref, p.Node.ID, p.Reachable, len(p.Others))
		}
	}
	if _, err := PlanDelNode(s.Cluster, "eeee", 0, DelNodeOptions{}); err == nil {
		t.Error("a node no view knows was found")
	}
}
