package migrate

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
)

// TestSetslotSentAgainAfterNoReplicas: Valkey 8 replicates SETSLOT before
// running it and answers NOREPLICAS when the replicas do not acknowledge
// within its TIMEOUT; the replicas have it, the primary not. With the
// target's replica frozen past that timeout, a move must send the SETSLOT
// again and finish, instead of failing the slots (fault campaign seed
// 37869: a restarted target whose replica was still syncing).
func TestSetslotSentAgainAfterNoReplicas(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1, Flavor: "valkey"})
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ctx := context.Background()
	topo, err := topology.Load(ctx, pool, c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	tc := &testCluster{Cluster: c, pool: pool, topo: topo, masters: topo.Masters()}
	src, dst := tc.masters[0], tc.masters[1]
	moving := src.Slots.Slots()[:2]
	for _, slot := range moving {
		if err := pool.Get(src.Addr()).Set(ctx, keysIn(slot, 1)[0], "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var replica string
	for _, n := range topo.Nodes {
		if n.IsReplica() && n.MasterID == dst.ID {
			replica = n.Addr()
		}
	}
	// The replica stays frozen until the first SETSLOT is sent again (or,
	// failing that, well past its timeout): a timer started here would
	// shrink the frozen window by however long Run takes to get there on
	// a loaded machine.
	var thaw func()
	for _, n := range c.Nodes {
		if n.Addr() == replica {
			if err := n.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			thaw = func() { once.Do(func() { n.Signal(syscall.SIGCONT) }) }
			time.AfterFunc(4*replicatedSetslotTimeout, thaw)
			t.Cleanup(func() { n.Signal(syscall.SIGCONT) })
		}
	}
	if replica == "" {
		t.Fatal("the target has no replica")
	}
	var mu sync.Mutex
	var warnings []string
	res, err := Run(ctx, pool, tc.job(moving, src, dst), Options{Report: func(e Event) {
		if e.Kind == EventWarning {
			mu.Lock()
			warnings = append(warnings, e.Message)
			mu.Unlock()
			if strings.Contains(e.Message, "sending again") {
				time.AfterFunc(time.Second, thaw) // the second SETSLOT meets a replica that answers
			}
		}
	}})
	if err != nil || res.Err() != nil {
		t.Fatalf("Run with the target's replica frozen past SETSLOT's timeout: %v / %v (warnings %q)", err, res.Err(), warnings)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "sending again") {
		t.Errorf("no SETSLOT was sent again (warnings %q): the replica was not frozen long enough to test it", warnings)
	}
	tc.assertOwned(t, moving, dst)
}
