package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// renderReply prints a reply fully (types and values), to compare two servers.
func renderReply(r resp.Reply) string {
	switch r.Type {
	case '*', '%', '~':
		s := fmt.Sprintf("%c%d[", r.Type, len(r.Elems))
		for _, e := range r.Elems {
			s += renderReply(e) + " "
		}
		return s + "]"
	case ':':
		return fmt.Sprintf(":%d", r.Int)
	}
	return fmt.Sprintf("%c%s", r.Type, r.Str)
}

// CLUSTER SLOT-STATS is Valkey 8's: the engine answers as a real
// valkey-server does, for the same slots and keys, in RESP2 and RESP3.
func TestSlotStatsMatchesValkey(t *testing.T) {
	vk := redistest.Start(t, redistest.Options{Cluster: true, Flavor: "valkey"})
	v2, v3 := dialReal(t, vk.Addr(), 2), dialReal(t, vk.Addr(), 3)
	eng := startNode(t, nodeOpts{})
	// Keys in slots 0-100 and 200 only, some slots holding more than others.
	keys := []string{}
	for i := 0; len(keys) < 40; i++ {
		k := fmt.Sprintf("k%d", i)
		if s := KeySlot([]byte(k)); s <= 100 || s == 200 {
			keys = append(keys, k)
		}
	}
	for i := range 6 {
		keys = append(keys, fmt.Sprintf("{%s}x%d", keys[0], i))
	}
	for _, cmd := range [][]string{{"ADDSLOTSRANGE", "0", "100"}, {"ADDSLOTS", "200"}} {
		if r := v2.do(t, append([]string{"CLUSTER"}, cmd...)...); r.Type == '-' {
			t.Fatalf("valkey %v: %s", cmd, r.Str)
		}
		if r := runCommand(t, eng.Cluster, 2, cmd...); r.Type == '-' {
			t.Fatalf("engine %v: %s", cmd, r.Str)
		}
	}
	for _, k := range keys {
		eng.ks.add(k)
	}
	// A lone node with 102 slots serves them only without full coverage.
	v2.do(t, "CONFIG", "SET", "cluster-require-full-coverage", "no")
	eventually(t, 5*time.Second, "valkey serves its slots", func() bool {
		return v2.do(t, "SET", keys[0], "1").Type != '-'
	})
	for _, k := range keys {
		if r := v2.do(t, "SET", k, "1"); r.Type == '-' {
			t.Fatalf("valkey SET %s: %s", k, r.Str)
		}
	}
	cases := [][]string{
		{"SLOTSRANGE", "0", "5"}, {"SLOTSRANGE", "95", "300"}, {"SLOTSRANGE", "300", "400"},
		{"ORDERBY", "key-count"}, {"ORDERBY", "KEY-COUNT", "LIMIT", "3"}, {"ORDERBY", "key-count", "LIMIT", "5", "ASC"},
		{"ORDERBY", "key-count", "desc", "limit", "2"},
		{"SLOTSRANGE", "5", "2"}, {"SLOTSRANGE", "0", "16384"}, {"SLOTSRANGE", "-1", "2"}, {"SLOTSRANGE", "a", "2"},
		{"SLOTSRANGE", "0"}, {"SLOTSRANGE", "1", "2", "3"}, {"FOO"}, {"FOO", "BAR"},
		{"ORDERBY", "cpu-usec"}, {"ORDERBY", "key-count", "LIMIT", "0"}, {"ORDERBY", "key-count", "LIMIT", "16385"},
		{"ORDERBY", "key-count", "LIMIT", "x"}, {"ORDERBY", "key-count", "LIMIT"}, {"ORDERBY", "key-count", "FOO"},
		{"ORDERBY", "key-count", "ASC", "DESC"}, {"ORDERBY", "key-count", "LIMIT", "1", "LIMIT", "2"},
	}
	for _, c := range cases {
		args := append([]string{"CLUSTER", "SLOT-STATS"}, c...)
		for _, proto := range []int{2, 3} {
			real := v2
			if proto == 3 {
				real = v3
			}
			want := renderReply(real.do(t, args...))
			got := renderReply(runCommand(t, eng.Cluster, proto, args[1:]...))
			if want != got {
				t.Errorf("RESP%d %v:\n valkey %s\n engine %s", proto, args, want, got)
			}
		}
	}
}
