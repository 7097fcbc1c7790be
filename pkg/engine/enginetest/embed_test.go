package enginetest

import (
	"context"
	"testing"

	"github.com/gocluster/gocluster/pkg/engine"
	"github.com/gocluster/gocluster/pkg/engine/config"
)

// TestClusterNodeOnPortZero: an embedded cluster node asked for port 0 gets
// a port whose bus port is usable, and answers CLUSTER commands.
func TestClusterNodeOnPortZero(t *testing.T) {
	for range 3 {
		n := startLoneClusterNode(t)
		if n.Port()+10000 > 65535 {
			t.Fatalf("port %d leaves no room for the bus port", n.Port())
		}
		if id, err := client(t, n.Addr()).Do(context.Background(), "CLUSTER", "MYID").Text(); err != nil || len(id) != 40 {
			t.Fatalf("CLUSTER MYID: %q %v", id, err)
		}
	}
}

// startLoneClusterNode starts an embedded cluster node on a free port, in
// no cluster yet; the test stops it.
func startLoneClusterNode(t *testing.T) *engine.Node {
	t.Helper()
	cfg := config.Default()
	if err := cfg.ParseArgs([]string{"--port", "0", "--bind", "127.0.0.1", "--dir", t.TempDir(),
		"--cluster-enabled", "yes", "--loglevel", "nothing"}); err != nil {
		t.Fatal(err)
	}
	n, err := engine.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}
