package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// TestCreateRefusesAndTouchesNothing gives create one bad node at a time
// next to three good ones: every refusal must name the bad node, exit with
// the right code, and leave every node exactly as it was.
func TestCreateRefusesAndTouchesNothing(t *testing.T) {
	good := redistest.StartNodes(t, 3, redistest.Options{})
	withKey := redistest.StartNodes(t, 1, redistest.Options{Args: []string{"--enable-debug-command", "yes"}})[0]
	withSlot := redistest.StartNodes(t, 1, redistest.Options{})[0]
	paired := redistest.StartNodes(t, 2, redistest.Options{})
	plain := redistest.Start(t, redistest.Options{}) // cluster-enabled no
	ctx := context.Background()
	for _, step := range []func() error{
		func() error { // DEBUG POPULATE writes a key even though the node serves no slot
			c := withKey.Client()
			defer c.Close()
			return c.Do(ctx, "DEBUG", "POPULATE", "1").Err()
		},
		func() error { c := withSlot.Client(); defer c.Close(); return c.ClusterAddSlots(ctx, 42).Err() },
		func() error {
			c := paired[0].Client()
			defer c.Close()
			return c.ClusterMeet(ctx, paired[1].Host, fmt.Sprint(paired[1].Port)).Err()
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	all := append(append([]*redistest.Server{}, good...), withKey, withSlot, paired[0], paired[1], plain)
	// The paired masters met with equal config epochs; Redis resolves that
	// collision by itself within a few pings: wait until both see it
	// resolved (the node that bumped its epoch knows at once, the other at
	// its next ping from it, up to a second later).
	epochs := func(s *redistest.Server) map[string]int64 {
		out := map[string]int64{}
		for _, n := range view(t, s) {
			out[n.ID] = int64(n.ConfigEpoch)
		}
		return out
	}
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		a, b := epochs(paired[0]), epochs(paired[1])
		distinct := map[int64]bool{}
		for _, e := range a {
			distinct[e] = true
		}
		if len(a) == 2 && len(distinct) == 2 && maps.Equal(a, b) {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("paired nodes did not settle their config epochs")
		}
	}
	settle(t, all)
	before := states(t, all)
	down := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t, "127.0.0.1"))
	g := addrs(good)

	cases := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"node with a key", append(g, withKey.Addr()), 1, []string{withKey.Addr(), "holds 1 key(s)"}},
		{"node with a slot", append(g, withSlot.Addr()), 1, []string{withSlot.Addr(), "serves 1 slot(s)"}},
		{"node that knows another", append(g, paired[0].Addr()), 1, []string{paired[0].Addr(), "already knows 1 other node(s)"}},
		{"not a cluster node", append(g, plain.Addr()), 1, []string{plain.Addr(), "not configured as a cluster node"}},
		{"unreachable node", append(g, down), 1, []string{down, "connection refused"}},
		{"two bad nodes are both named", append(g, withKey.Addr(), plain.Addr()), 1, []string{withKey.Addr(), plain.Addr()}},
		{"duplicate address", append(g, g[0]), 2, []string{g[0], "more than once"}},
		{"too few masters", g[:2], 2, []string{"at least 3 master nodes"}},
		{"too few for replicas", append(g, "--replicas", "1"), 2, []string{"at least 6 nodes are required"}},
		{"bad address", append(g, "127.0.0.1"), 2, []string{`invalid address "127.0.0.1"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := harness.Run(t, append(append([]string{"create"}, c.args...), "--yes")...)
			if r.Code != c.code {
				t.Fatalf("exit %d, want %d:\n%s", r.Code, c.code, r.Output())
			}
			if strings.Count(strings.TrimSpace(r.Stderr), "\n") > 1 {
				t.Errorf("error is not one line:\n%s", r.Stderr)
			}
			contains(t, r, c.wants...)
			expectUntouched(t, all, before)
		})
	}

	t.Run("no terminal and no --yes", func(t *testing.T) {
		r := harness.Run(t, append([]string{"create"}, g...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "--yes") {
			t.Fatalf("want a usage error asking for --yes, got exit %d:\n%s", r.Code, r.Output())
		}
		contains(t, r, "Master[0] -> Slots 0 - 5460", "M: ")
		expectUntouched(t, all, before)
	})

	t.Run("dry run", func(t *testing.T) {
		r := harness.Run(t, append([]string{"create", "--dry-run"}, g...)...)
		if r.Code != 0 {
			t.Fatalf("exit %d:\n%s", r.Code, r.Output())
		}
		contains(t, r, "Master[2] -> Slots 10923 - 16383", "Dry run: no node was changed.")
		expectUntouched(t, all, before)
	})

	t.Run("dry run json", func(t *testing.T) {
		r := harness.Run(t, append([]string{"create", "--dry-run", "--json"}, g...)...)
		var doc struct {
			OK     bool `json:"ok"`
			DryRun bool `json:"dry_run"`
			Plan   struct {
				Nodes []struct {
					Addr  string `json:"addr"`
					Role  string `json:"role"`
					Slots string `json:"slots"`
					Epoch int    `json:"config_epoch"`
				} `json:"nodes"`
			} `json:"plan"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || r.Code != 0 {
			t.Fatalf("exit %d, not JSON (%v):\n%s", r.Code, err, r.Output())
		}
		if !doc.OK || !doc.DryRun || len(doc.Plan.Nodes) != 3 || doc.Plan.Nodes[0].Slots != "0-5460" ||
			doc.Plan.Nodes[2].Epoch != 3 || doc.Plan.Nodes[1].Role != "master" {
			t.Fatalf("unexpected plan: %+v", doc)
		}
		expectUntouched(t, all, before)
	})

	t.Run("add-node refusals", func(t *testing.T) {
		// A real cluster of the three good nodes, then bad candidates.
		mustRun(t, append(append([]string{"create"}, g...), "--yes")...)
		members := states(t, good)
		fresh := redistest.StartNodes(t, 1, redistest.Options{})[0]
		outsiders := []*redistest.Server{withKey, plain, paired[0], fresh}
		outsidersBefore := states(t, outsiders)
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{withKey.Addr(), g[0]}, "holds 1 key(s)"},
			{[]string{plain.Addr(), g[0]}, "not configured as a cluster node"},
			{[]string{paired[0].Addr(), g[0]}, "already knows 1 other node(s)"},
			{[]string{g[1], g[0]}, "already a member of this cluster"},
			{[]string{fresh.Addr(), g[0], "--master-id", "ffffffff"}, "no such master ffffffff"},
		} {
			r := harness.Run(t, append([]string{"add-node"}, c.args...)...)
			if r.Code != 1 || !strings.Contains(r.Stderr, c.want) || !strings.Contains(r.Stderr, c.args[0]) {
				t.Errorf("add-node %v: exit %d, want 1 with %q naming the node:\n%s", c.args, r.Code, c.want, r.Output())
			}
		}
		expectUntouched(t, good, members)
		expectUntouched(t, outsiders, outsidersBefore)
	})
}
