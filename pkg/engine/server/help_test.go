package server

import (
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// TestHelpMatchesRedisServer asks both servers for every <CMD> HELP: the
// engine answers redis-server 7.0.15's header and syntax lines, in its
// order, with descriptions of its own (none copied). CLUSTER HELP is
// checked in pkg/engine/cluster.
func TestHelpMatchesRedisServer(t *testing.T) {
	real, eng, _ := startDebugPair(t)
	for _, cmd := range []string{"ACL", "CLIENT", "COMMAND", "CONFIG", "DEBUG", "FUNCTION", "LATENCY", "MEMORY",
		"MODULE", "OBJECT", "PUBSUB", "SCRIPT", "SLOWLOG", "XGROUP", "XINFO"} {
		want, got := helpLines(t, real.do(t, cmd, "HELP")), helpLines(t, eng.do(t, cmd, "help"))
		redistest.CheckHelp(t, cmd, want, got, "SLOT-MIGRATION-")
	}
}

// helpLines is a HELP reply's lines; each must be a status reply.
func helpLines(t *testing.T, r resp.Reply) []string {
	t.Helper()
	if r.Type != '*' {
		t.Fatalf("HELP answered %s", show(r))
	}
	out := make([]string, len(r.Elems))
	for i, e := range r.Elems {
		if e.Type != '+' {
			t.Errorf("HELP line %d is %s, not a status", i, show(e))
		}
		out[i] = string(e.Str)
	}
	return out
}
