package topology

import (
	"strings"
	"testing"
)

const sampleNodes = `07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002,host-2 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003,host-3 master - 0 1426238318243 3 connected 10923-16383 [5->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca]
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005,host-5 slave 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 connected
824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@31006,host-6 slave,fail? 292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 0 1426238317741 6 disconnected
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001,host-1 myself,master - 0 0 1 connected 0-5460 [10923-<-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
`

func TestParseNodes(t *testing.T) {
	nodes, err := ParseNodes(sampleNodes)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 6 {
		t.Fatalf("got %d nodes", len(nodes))
	}
	me := nodes[5]
	if !me.Myself() || !me.IsMaster() || me.Addr() != "127.0.0.1:30001" || me.BusPort != 31001 || me.Hostname != "host-1" {
		t.Fatalf("myself parsed wrong: %+v", me)
	}
	if me.Slots.Len() != 5461 || me.Importing[10923] != "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f" {
		t.Fatalf("myself slots/importing wrong: %d %v", me.Slots.Len(), me.Importing)
	}
	if nodes[2].Migrating[5] != "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca" || nodes[2].Slots.String() != "10923-16383" {
		t.Fatalf("migrating wrong: %v %s", nodes[2].Migrating, nodes[2].Slots)
	}
	r := nodes[4]
	if !r.IsReplica() || !r.Failing() || r.Connected || r.MasterID != "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f" || r.ConfigEpoch != 6 {
		t.Fatalf("replica parsed wrong: %+v", r)
	}
	if got := r.FlagString(); got != "slave,fail?" {
		t.Fatalf("FlagString = %q", got)
	}
	if me.FlagString() != "master" || me.ShortID() != "e7d1eecc" {
		t.Fatalf("myself flag string %q short %q", me.FlagString(), me.ShortID())
	}
}

func TestParseNodeLineForms(t *testing.T) {
	tests := []struct {
		line     string
		addr     string
		hostname string
		flags    string
	}{
		{"07c37dfeb235213a872192d90877d0cd55635b91 :7000@17000 myself,master - 0 0 0 connected", ":7000", "", "myself,master"},
		{"07c37dfeb235213a872192d90877d0cd55635b91 ::1:7000@17000 master - 0 0 0 connected", "[::1]:7000", "", "master"},
		{"07c37dfeb235213a872192d90877d0cd55635b91 10.0.0.1:7000@17000,redis-1.example.com,shard-id=xyz master,nofailover - 0 0 0 connected", "10.0.0.1:7000", "redis-1.example.com", "master,nofailover"},
		{"07c37dfeb235213a872192d90877d0cd55635b91 10.0.0.1:7000 handshake,noaddr - 0 0 0 disconnected", "10.0.0.1:7000", "", "handshake,noaddr"},
	}
	for _, tt := range tests {
		n, err := ParseNodeLine(tt.line)
		if err != nil {
			t.Fatalf("%q: %v", tt.line, err)
		}
		if n.Addr() != tt.addr || n.Hostname != tt.hostname || strings.Join(n.Flags, ",") != tt.flags {
			t.Errorf("%q: addr %q hostname %q flags %v", tt.line, n.Addr(), n.Hostname, n.Flags)
		}
	}
}

func TestParseNodesRejectsGarbage(t *testing.T) {
	for _, bad := range []string{
		"",
		"garbage",
		"abc 127.0.0.1:x@1 master - 0 0 0 connected",
		"abc 127.0.0.1:1@1 master - x 0 0 connected",
		"abc 127.0.0.1:1@1 master - 0 0 0 sideways",
		"abc 127.0.0.1:1@1 master - 0 0 0 connected 16384",
		"abc 127.0.0.1:1@1 master - 0 0 0 connected 10-5",
		"abc 127.0.0.1:1@1 master - 0 0 0 connected [5-?-x]",
		"abc nocolon master - 0 0 0 connected",
		"abc 127.0.0.1:1@1 master - 0 0 0 connected",
		"07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:1@1 master - 0 0 0 connected\n07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:2@2 master - 0 0 0 connected",
	} {
		if _, err := ParseNodes(bad); err == nil {
			t.Errorf("ParseNodes(%q) accepted garbage", bad)
		}
	}
}

func TestConfigSignature(t *testing.T) {
	a, _ := ParseNodes(sampleNodes)
	b, _ := ParseNodes(sampleNodes)
	if ConfigSignature(a) != ConfigSignature(b) {
		t.Fatal("same views, different signatures")
	}
	b[1].Slots.Remove(5461)
	if ConfigSignature(a) == ConfigSignature(b) {
		t.Fatal("different slot maps, same signature")
	}
	if !strings.Contains(ConfigSignature(a), "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca:0-5460") {
		t.Fatalf("signature %q", ConfigSignature(a))
	}
}

func TestCheckPure(t *testing.T) {
	view, _ := ParseNodes(sampleNodes)
	c := &Cluster{Seed: "127.0.0.1:30001", Views: map[string][]*Node{}}
	for _, n := range view {
		c.Nodes = append(c.Nodes, n)
		c.Views[n.ID] = view
	}
	r := Check(c)
	if !r.Consistent || r.CoveredSlots != 16384 {
		t.Fatalf("report: %+v", r)
	}
	kinds := map[string]int{}
	for _, p := range r.Problems {
		kinds[p.Kind]++
	}
	if kinds[KindOpenSlot] != 3 || kinds[KindFailFlag] != 1 || kinds[KindReplicaHost] != 3 || r.OK() {
		t.Fatalf("problems: %+v", r.Problems)
	}
	if got := c.OpenSlots(); len(got) != 2 || got[0] != 5 || got[1] != 10923 {
		t.Fatalf("open slots %v", got)
	}
	if n, err := c.Find("e7d1eecc"); err != nil || n.Port != 30001 {
		t.Fatalf("Find prefix: %v %v", n, err)
	}
	if n, err := c.Find("127.0.0.1:30002"); err != nil || n.ID[:4] != "67ed" {
		t.Fatalf("Find addr: %v %v", n, err)
	}
	if _, err := c.Find("ffff"); err == nil {
		t.Fatal("Find of unknown node succeeded")
	}
}
