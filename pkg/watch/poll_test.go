package watch

import (
	"fmt"
	"testing"

	"github.com/gocluster/gocluster/pkg/clustertest"
	"github.com/gocluster/gocluster/pkg/conn"
)

// Two polls of a 3+3 engine cluster: every node, its role and master,
// keys, the slot owners; the second tick's ops/s counts the client's
// writes and not the watcher's own commands.
func TestPollSeesEveryNodeAndCountsOps(t *testing.T) {
	c := clustertest.Start(t, 3, 1)
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	w := New(pool, c.Addrs()[0])
	first, err := w.Poll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Nodes) != 6 || first.Total.Masters != 3 || first.Total.Replicas != 3 || first.Total.SlotsCovered != 16384 {
		t.Fatalf("first tick: %d nodes, totals %+v", len(first.Nodes), first.Total)
	}
	masters := map[string]bool{}
	for _, n := range first.Nodes {
		if n.Error != "" {
			t.Errorf("%s: %s", n.Addr, n.Error)
		}
		if n.Role == "master" {
			masters[n.Addr] = true
		}
	}
	for _, n := range first.Nodes {
		if n.Role == "replica" && !masters[n.MasterAddr] {
			t.Errorf("replica %s names master %q", n.Addr, n.MasterAddr)
		}
	}
	for s, o := range first.Owner {
		if o < 0 || first.Nodes[o].Role != "master" {
			t.Fatalf("slot %d owner %d", s, o)
		}
	}
	cc := c.Client(t)
	for i := range 600 {
		if err := cc.Set(t.Context(), fmt.Sprint("k", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	second, err := w.Poll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if second.Total.Keys != 600 {
		t.Errorf("keys: %d, want 600", second.Total.Keys)
	}
	var ops, elapsed float64
	elapsed = second.Time.Sub(first.Time).Seconds()
	for _, n := range second.Nodes {
		if n.Role == "master" {
			ops += n.OpsPerSec * elapsed
		}
	}
	// 600 SETs, plus whatever the cluster client asked (CLUSTER SLOTS...).
	if ops < 590 || ops > 700 {
		t.Errorf("masters' ops over the tick add up to %.0f commands, want the 600 SETs (and a few)", ops)
	}
}
