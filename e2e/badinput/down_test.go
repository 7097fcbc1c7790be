package badinput

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// TestMasterDown: with one master of three killed, every operation that
// needs the whole cluster refuses with one line naming the dead node,
// exit 1, and changes nothing on the live nodes; the ones that run on
// every node count the dead one as a failure.
func TestMasterDown(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	spare := redistest.StartNodes(t, 1, redistest.Options{})[0]
	live, dead := c.Nodes[:2], c.Nodes[2]
	liveID := nodeID(t, live[1])
	deadID := nodeID(t, dead)
	dead.Kill()
	down := dead.Addr()
	watch := append(append([]*redistest.Server{}, live...), spare)
	seed := live[0].Addr()
	dir := filepath.Join(t.TempDir(), "backup")
	runBad(t, []badCase{
		{name: "reshard", args: []string{"reshard", seed, "--from", "all", "--to", liveID, "--slots", "10", "--yes"},
			code: 1, want: []string{down, "unreachable"}, watch: watch},
		{name: "reshard from the live master", args: []string{"reshard", seed, "--from", nodeID(t, live[0]), "--to", liveID, "--slots", "10", "--yes"},
			code: 1, want: []string{down}, watch: watch},
		{name: "rebalance", args: []string{"rebalance", seed, "--weight", liveID + "=3"}, code: 1, want: []string{down}, watch: watch},
		{name: "fix", args: []string{"fix", seed, "--yes"}, code: 1, want: []string{down, "--fix-with-unreachable-masters"}, watch: watch},
		{name: "del-node the dead master", args: []string{"del-node", seed, deadID, "--yes"}, code: 1,
			want: []string{down, "down"}, watch: watch},
		{name: "add-node", args: []string{"add-node", spare.Addr(), seed}, code: 1, want: []string{down}, watch: watch},
		{name: "import", args: []string{"import", seed, "--from", spare.Addr()}, code: 1, want: []string{down}, watch: watch},
		{name: "call", args: []string{"call", seed, "PING"}, code: 1, want: []string{"PING", "1 of 3"}},
		{name: "set-timeout", args: []string{"set-timeout", seed, "6000"}, code: 1, want: []string{"1 of 3"}},
		{name: "backup", args: []string{"backup", seed, dir}, code: 1, want: []string{"incomplete", down}},
	})
	// The reachable masters' data is saved all the same.
	files, _ := filepath.Glob(filepath.Join(dir, "*.rdb"))
	if _, err := os.Stat(filepath.Join(dir, "nodes.json")); err != nil || len(files) != 2 {
		t.Errorf("incomplete backup should keep the 2 live masters' RDB files and nodes.json: %v %v", files, err)
	}
	r := harness.Run(t, "call", seed, "PING")
	if !strings.Contains(r.Stdout, down+": ") || strings.Count(r.Stdout, ": PONG") != 2 {
		t.Errorf("call should show both answers and the dead node's failure:\n%s", r.Output())
	}
}

func nodeID(t *testing.T, s *redistest.Server) string {
	t.Helper()
	c := s.Client()
	defer c.Close()
	id, err := c.ClusterMyID(t.Context()).Result()
	if err != nil {
		t.Fatalf("CLUSTER MYID on %s: %v", s.Addr(), err)
	}
	return id
}
