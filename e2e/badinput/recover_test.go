package badinput

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestHalfDoneSaysHowToRecover: a source master that may not run MIGRATE
// (an ACL rule) makes reshard and rebalance fail half-way, and one that may
// not run RESTORE makes import fail half-way. It must lose no key, say so on
// stderr and say how to recover; fix must fail the same way while the
// cause is there, and repair everything once it is gone.
func TestHalfDoneSaysHowToRecover(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Addr()}})
	defer cc.Close()
	const keys = 500
	for i := range keys {
		if err := cc.Set(ctx, fmt.Sprintf("key:%d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	src, dst := c.Nodes[0], c.Nodes[1] // redis-cli gives the first node slots 0-5460
	deny := func(rule string) {
		cl := src.Client()
		defer cl.Close()
		if err := cl.Do(ctx, "ACL", "SETUSER", "default", rule).Err(); err != nil {
			t.Fatal(err)
		}
	}
	total := func() int64 {
		var n int64
		for _, s := range c.Nodes {
			cl := s.Client()
			n += cl.DBSize(ctx).Val()
			cl.Close()
		}
		return n
	}
	srcID, dstID := nodeID(t, src), nodeID(t, dst)
	for i, op := range [][]string{
		{"reshard", c.Addr(), "--from", srcID, "--to", dstID, "--slots", "500", "--yes"},
		{"rebalance", c.Addr(), "--weight", srcID + "=0"},
	} {
		deny("-migrate")
		r := harness.Run(t, op...)
		checkOutcome(t, op[:1], r, 1, "MIGRATE")
		if !strings.Contains(r.Output(), "gocluster fix "+c.Addr()) {
			t.Errorf("%s stopped half-way without saying how to recover:\n%s", op[0], r.Output())
		}
		if n := total(); n != keys {
			t.Fatalf("%d keys after the failed %s, want %d", n, op[0], keys)
		}
		if i == 0 {
			r = harness.Run(t, "fix", c.Addr(), "--yes")
			checkOutcome(t, []string{"fix"}, r, 1, "still has problems", "gocluster fix "+c.Addr())
		}
		deny("+migrate")
		if r = harness.Run(t, "fix", c.Addr(), "--yes"); r.Code != 0 {
			t.Fatalf("fix after %s, once MIGRATE is allowed again: exit %d\n%s", op[0], r.Code, r.Output())
		}
		c.WaitHealthy(t)
		if n := total(); n != keys {
			t.Fatalf("%d keys after fix, want %d", n, keys)
		}
	}

	// import: keys the cluster refuses stay on the source; running the
	// import again once the cause is gone moves them.
	source := redistest.Start(t, redistest.Options{})
	sc := source.Client()
	defer sc.Close()
	const more = 100
	for i := range more {
		if err := sc.Set(ctx, fmt.Sprintf("imported:%d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	deny("-restore")
	r := harness.Run(t, "import", c.Addr(), "--from", source.Addr())
	checkOutcome(t, []string{"import"}, r, 1, "could not be imported", "still on the source", "run the same import again")
	if left := sc.DBSize(ctx).Val(); left == 0 || left == more || total()+left != keys+more {
		t.Fatalf("after a partial import: %d keys left on the source, %d in the cluster; want some moved, none lost", left, total())
	}
	deny("+restore")
	if r = harness.Run(t, "import", c.Addr(), "--from", source.Addr()); r.Code != 0 {
		t.Fatalf("import again: exit %d\n%s", r.Code, r.Output())
	}
	if left, n := sc.DBSize(ctx).Val(), total(); left != 0 || n != keys+more {
		t.Fatalf("after the second import: %d keys left on the source, %d in the cluster, want 0 and %d", left, n, keys+more)
	}
}
