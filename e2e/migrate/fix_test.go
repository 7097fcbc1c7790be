package migrate

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/topology"
)

// openSlots leaves n slots of from half-migrated to to, as an interrupted
// reshard does: IMPORTING on to, MIGRATING on from, and half of each
// slot's keys already moved with MIGRATE.
func openSlots(t *testing.T, c *harness.Cluster, from, to *topology.Node, n int) []int {
	t.Helper()
	ctx := context.Background()
	src, dst := harnessClient(c, from.Addr()), harnessClient(c, to.Addr())
	open := from.Slots.Slots()[:n]
	for _, s := range open {
		must(t, dst.Do(ctx, "CLUSTER", "SETSLOT", s, "IMPORTING", from.ID).Err())
		must(t, src.Do(ctx, "CLUSTER", "SETSLOT", s, "MIGRATING", to.ID).Err())
		keys, err := src.ClusterGetKeysInSlot(ctx, s, 1000).Result()
		must(t, err)
		if half := keys[:len(keys)/2]; len(half) > 0 {
			args := []any{"MIGRATE", to.Host, strconv.Itoa(to.Port), "", 0, 5000, "KEYS"}
			for _, k := range half {
				args = append(args, k)
			}
			must(t, src.Do(ctx, args...).Err())
		}
	}
	return open
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestFixUnderLoad repairs 300 half-migrated slots while a go-redis
// ClusterClient writes and reads all the time: 0 client errors, no key
// lost or changed, redis-cli --cluster check clean.
func TestFixUnderLoad(t *testing.T) {
	const preN = 60000
	c, cc := preloadedCluster(t, preN)
	m := c.Topology(t).Masters()
	openSlots(t, c, m[0], m[1], 300)

	load := harness.StartLoad(t, cc, preN, 4, 4)
	r := harness.Run(t, "fix", c.Addr(), "--yes", "--pipeline", "2")
	load.Finish(t)
	if r.Code != 0 {
		t.Fatalf("fix exit %d:\n%s", r.Code, r.Output())
	}
	assertRedisCheckClean(t, c)
}

// TestFixSIGINT interrupts a fix of 2000 half-migrated slots with a real
// SIGINT: exit 130, the slot in flight finished, a line saying how to go
// on, no key lost; running fix again finishes the job.
func TestFixSIGINT(t *testing.T) {
	const preN = 100000
	c, cc := preloadedCluster(t, preN)
	m := c.Topology(t).Masters()
	openSlots(t, c, m[0], m[1], 2000)

	out, code := interrupt(t, ">>> Fixing open slot", "fix", c.Addr(), "--yes", "--pipeline", "1")
	if code != 130 {
		t.Fatalf("exit %d after SIGINT, want 130:\n%s", code, out)
	}
	if !strings.Contains(out, "Interrupted after") || !strings.Contains(out, "gocluster fix "+c.Addr()+"' again") {
		t.Fatalf("no interruption summary or resume line:\n%s", out)
	}
	left := len(c.Topology(t).OpenSlots())
	if left == 0 || left >= 2000 {
		t.Fatalf("%d slots still open after the interrupted fix; want some repaired, not all", left)
	}
	harness.VerifyPreload(t, cc, preN)

	if r := harness.Run(t, "fix", c.Addr(), "--yes"); r.Code != 0 {
		t.Fatalf("second fix exit %d:\n%s", r.Code, r.Output())
	}
	assertRedisCheckClean(t, c)
	harness.VerifyPreload(t, cc, preN)
}
