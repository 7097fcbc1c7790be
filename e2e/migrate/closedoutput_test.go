package migrate

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
)

// TestReshardOutputClosed closes gocluster's standard output in the middle
// of a reshard, as `gocluster reshard ... | head` does: the reshard must
// still finish every slot (a process killed by SIGPIPE would leave slots
// open), exit 0, and lose no key.
func TestReshardOutputClosed(t *testing.T) {
	const preN = 50000
	c, cc := preloadedCluster(t, preN)
	target := c.Topology(t).Masters()[2]
	before := slotCounts(t, c)[target.Addr()]

	cmd := exec.Command(harness.Binary(t), "reshard", c.Addr(), "--from", "all", "--to", target.ID,
		"--slots", "6000", "--yes", "--json", "--pipeline", "1")
	cmd.Env = append(cmd.Environ(), "NO_COLOR=1")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = pw, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	// Read until the first slot has moved, then hang up: every later event
	// line is written to a closed pipe.
	sc := bufio.NewScanner(pr)
	for sc.Scan() && !strings.Contains(sc.Text(), `"slot-moved"`) {
	}
	pr.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatal("reshard did not finish within 2 minutes of its output closing")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("reshard with its output closed: %s, want exit 0\n%s", cmd.ProcessState, stderr.String())
	}
	if got := slotCounts(t, c)[target.Addr()]; got != before+6000 {
		t.Fatalf("target has %d slots after the reshard, want %d", got, before+6000)
	}
	assertRedisCheckClean(t, c)
	harness.VerifyPreload(t, cc, preN)
}
