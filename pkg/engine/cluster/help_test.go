package cluster

import (
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// TestHelpMatchesRealRedis: CLUSTER HELP has redis-server 7.0.15's header
// and syntax lines, in its order, and descriptions of the engine's own.
func TestHelpMatchesRealRedis(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Cluster: true, Flavor: "redis"})
	want := statusLines(t, dialReal(t, rs.Addr(), 2).do(t, "CLUSTER", "HELP"))
	got := statusLines(t, startNode(t, nodeOpts{}).do(t, "HELP"))
	redistest.CheckHelp(t, "CLUSTER", want, got)
}

// statusLines is an array of status replies as strings.
func statusLines(t *testing.T, r resp.Reply) []string {
	t.Helper()
	if r.Type != '*' {
		t.Fatalf("HELP answered %c%s", r.Type, r.Str)
	}
	out := make([]string, len(r.Elems))
	for i, e := range r.Elems {
		if e.Type != '+' {
			t.Errorf("HELP line %d is %c%s, not a status", i, e.Type, e.Str)
		}
		out[i] = string(e.Str)
	}
	return out
}
