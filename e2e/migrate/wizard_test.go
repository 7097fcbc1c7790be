package migrate

import (
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
)

// TestReshardWizard runs reshard with no --from/--to/--slots on a real
// pseudo-terminal (driven by Python's pty module) and answers the wizard:
// 10 slots, the first master as target, all the others as sources, yes.
func TestReshardWizard(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	target := c.Topology(t).Masters()[0].Addr()
	before := slotCounts(t, c)[target]
	r := harness.Exec(t, "/usr/bin/python3", harness.Cmd{Args: []string{"testdata/wizard.py", harness.Binary(t), c.Addr(), "10"}})
	if r.Code != 0 {
		t.Fatalf("wizard run exit %d:\n%s", r.Code, r.Output())
	}
	for _, want := range []string{"Ready to move 10 slots.", "[OK] Moved 10 slots"} {
		if !strings.Contains(r.Stdout, want) {
			t.Fatalf("wizard output lacks %q:\n%s", want, r.Stdout)
		}
	}
	if got := slotCounts(t, c)[target]; got != before+10 {
		t.Fatalf("target %s has %d slots, want %d", target, got, before+10)
	}
	assertRedisCheckClean(t, c)
}
