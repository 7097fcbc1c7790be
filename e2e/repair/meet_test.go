package repair

import (
	"context"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// TestFixWaitsForANodeStillInHandshake: add-node killed right after its
// CLUSTER MEET leaves the cluster meeting the new node; until the
// handshake ends the meeting node lists it under a placeholder ID, while
// the node itself answers with its own. fix run then must wait for the
// handshake to end, not exit 1 calling the node replaced or reset (fault
// campaign seed 65977, valkey add-node × kill-gocluster). Here the seed
// meets a live node on a bus port where nothing listens, so the handshake
// lasts until it times out (cluster-node-timeout, 4 s, within fix's 5 s
// wait).
func TestFixWaitsForANodeStillInHandshake(t *testing.T) {
	ctx := context.Background()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Args: []string{"--cluster-node-timeout", "4000"}})
	joining := redistest.Start(t, redistest.Options{Cluster: true})
	harness.Binary(t) // built now, not while the handshake runs
	seed := c.Nodes[0].Client()
	defer seed.Close()
	host, port, _ := strings.Cut(joining.Addr(), ":")
	noBus := redistest.FreePort(t, "127.0.0.1")
	if err := seed.Do(ctx, "CLUSTER", "MEET", host, port, noBus).Err(); err != nil {
		t.Fatal(err)
	}
	if nodes := seed.ClusterNodes(ctx).Val(); !strings.Contains(nodes, "handshake") {
		t.Fatalf("the seed lists no node in handshake:\n%s", nodes)
	}
	r := harness.Run(t, append(append([]string{"fix", c.Addr()}, authArgs(c)...), "--yes")...)
	if r.Code != 0 || strings.Contains(r.Output(), "replaced or reset") {
		t.Fatalf("fix while the seed is in handshake with %s: exit %d:\n%s", joining.Addr(), r.Code, r.Output())
	}
}
