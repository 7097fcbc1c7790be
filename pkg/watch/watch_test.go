package watch

import (
	"testing"

	"github.com/gocluster/gocluster/pkg/slots"
)

func TestBandMarksHolesMixedAndOpenCells(t *testing.T) {
	var owner [slots.Count]int16
	for s := range owner {
		owner[s] = int16(s * 3 / slots.Count) // three masters, even thirds
	}
	owner[100] = OwnerNone
	cells := Band(&owner, []int{9000}, 64) // 256 slots a cell
	if len(cells) != 64 || cells[0].First != 0 || cells[63].Last != slots.Count-1 {
		t.Fatalf("cells cover %d..%d in %d", cells[0].First, cells[len(cells)-1].Last, len(cells))
	}
	if cells[0].Owner != OwnerNone {
		t.Errorf("cell with slot 100 unassigned: owner %d, want a hole", cells[0].Owner)
	}
	if cells[1].Owner != 0 || cells[1].Mixed || cells[1].Open {
		t.Errorf("cell 1 = %+v, want owner 0, plain", cells[1])
	}
	// Slot 5461 is the first of master 1: cell 21 (5376..5631) holds both.
	if c := cells[21]; !c.Mixed || c.Owner != 1 {
		t.Errorf("cell 21 = %+v, want mixed, mostly master 1", c)
	}
	if c := cells[9000/256]; !c.Open || c.Owner != 1 {
		t.Errorf("cell of slot 9000 = %+v, want open, master 1", c)
	}
	if c := cells[63]; c.Owner != 2 {
		t.Errorf("last cell owner %d, want 2", c.Owner)
	}
}

func TestParseInfoReadsTheViewFields(t *testing.T) {
	text := "# Clients\r\nconnected_clients:7\r\n# Memory\r\nused_memory:123456\r\n" +
		"# Stats\r\ntotal_commands_processed:999\r\ninstantaneous_ops_per_sec:42\r\n" +
		"# Replication\r\nrole:slave\r\nmaster_link_status:down\r\nslave_repl_offset:500\r\nmaster_repl_offset:600\r\n" +
		"# Keyspace\r\ndb0:keys=10,expires=0,avg_ttl=0\r\ndb3:keys=5,expires=1,avg_ttl=9\r\n"
	f := parseInfo(text)
	want := infoFields{keys: 15, usedMemory: 123456, clients: 7, commands: 999, masterOffset: 600, slaveOffset: 500,
		instantOps: 42, masterLink: "down"}
	if f != want {
		t.Errorf("parseInfo = %+v, want %+v", f, want)
	}
}

func TestSortAndFilterKeepSlotOwners(t *testing.T) {
	s := &Snapshot{Nodes: []NodeRow{
		{Addr: "127.0.0.1:7000", Host: "127.0.0.1", Role: "master", Keys: 5},
		{Addr: "127.0.0.2:7001", Host: "127.0.0.2", Role: "master", Keys: 50},
		{Addr: "127.0.0.1:7002", Host: "127.0.0.1", Role: "replica", Keys: 5},
	}}
	for i := range s.Owner {
		s.Owner[i] = int16(i % 2)
	}
	s.Sort("keys")
	if s.Nodes[0].Addr != "127.0.0.2:7001" || s.Owner[1] != 0 || s.Owner[0] != 1 {
		t.Fatalf("after sort by keys: first %s, owner[0..1] = %d %d", s.Nodes[0].Addr, s.Owner[0], s.Owner[1])
	}
	s.Filter(true, "127.0.0.1")
	if len(s.Nodes) != 1 || s.Nodes[0].Addr != "127.0.0.1:7000" {
		t.Fatalf("filter masters on 127.0.0.1: %+v", s.Nodes)
	}
	if s.Owner[0] != 0 || s.Owner[1] != OwnerHidden {
		t.Errorf("owners after filter: %d %d, want 0 and hidden", s.Owner[0], s.Owner[1])
	}
}
