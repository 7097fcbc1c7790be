// Package watch polls every node of a cluster once per tick and turns the
// replies into a Snapshot: one row per node, the open slots with their
// progress, the slot owners and the cluster totals. It never prints; the
// CLI renders snapshots as a live view, a table or JSON.
package watch

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/slots"
)

// NodeRow is one node as seen in one tick.
type NodeRow struct {
	Addr       string   `json:"addr"`
	Host       string   `json:"host"`
	ID         string   `json:"id"`
	Role       string   `json:"role"` // "master" or "replica"
	MasterAddr string   `json:"master,omitempty"`
	Slots      int      `json:"slots"`
	Keys       int64    `json:"keys"`
	OpsPerSec  float64  `json:"ops_per_sec"`
	UsedMemory int64    `json:"used_memory"`
	Clients    int64    `json:"clients"`
	ReplLag    int64    `json:"repl_lag_bytes"`      // replicas: bytes behind their master
	ReplLink   string   `json:"repl_link,omitempty"` // replicas: master_link_status (up, down)
	Link       string   `json:"link"`                // cluster bus link as the observer sees it
	Flags      []string `json:"flags,omitempty"`     // fail, pfail, handshake, noaddr, ...
	Error      string   `json:"error,omitempty"`     // the poll failed: why
	replOffset int64    // master_repl_offset, or slave_repl_offset on a replica
}

// OpenSlot is a slot being migrated, with how far the keys have gone.
type OpenSlot struct {
	Slot     int    `json:"slot"`
	Source   string `json:"source"` // address, "" when unknown
	Target   string `json:"target"`
	KeysLeft int64  `json:"keys_left"`  // on the source, -1 until counted
	KeysDone int64  `json:"keys_moved"` // on the target, -1 until counted
}

// Progress is the share of the slot's keys already on the target, 0..1,
// or -1 when not counted yet.
func (o OpenSlot) Progress() float64 {
	if o.KeysLeft < 0 || o.KeysDone < 0 {
		return -1
	}
	if o.KeysLeft+o.KeysDone == 0 {
		return 1
	}
	return float64(o.KeysDone) / float64(o.KeysLeft+o.KeysDone)
}

// Totals sum the rows.
type Totals struct {
	Masters      int     `json:"masters"`
	Replicas     int     `json:"replicas"`
	Keys         int64   `json:"keys"` // masters only: replicas hold copies
	OpsPerSec    float64 `json:"ops_per_sec"`
	UsedMemory   int64   `json:"used_memory"`
	Clients      int64   `json:"clients"`
	SlotsCovered int     `json:"slots_covered"`
	Failing      int     `json:"failing"` // nodes flagged fail/pfail or not answering
}

// Snapshot is the cluster in one tick.
type Snapshot struct {
	Time  time.Time  `json:"time"`
	State string     `json:"state"` // cluster_state of the observer: ok, fail
	Seed  string     `json:"observer"`
	Nodes []NodeRow  `json:"nodes"`
	Open  []OpenSlot `json:"open_slots"`
	Total Totals     `json:"totals"`
	// Owner is the index in Nodes of each slot's master, -1 for a hole.
	Owner [slots.Count]int16 `json:"-"`
}

// Sort orders rows by a column: addr (default), keys, ops, memory,
// clients, slots, lag; numbers sort biggest first.
func (s *Snapshot) Sort(by string) {
	num := func(r NodeRow) float64 {
		switch by {
		case "keys":
			return float64(r.Keys)
		case "ops":
			return r.OpsPerSec
		case "memory", "mem":
			return float64(r.UsedMemory)
		case "clients":
			return float64(r.Clients)
		case "slots":
			return float64(r.Slots)
		case "lag":
			return float64(r.ReplLag)
		}
		return 0
	}
	ownerAddr := make([]string, len(s.Nodes))
	for i, n := range s.Nodes {
		ownerAddr[i] = n.Addr
	}
	slices.SortStableFunc(s.Nodes, func(a, b NodeRow) int {
		if d := cmp.Compare(num(b), num(a)); d != 0 {
			return d
		}
		return compareAddr(a.Addr, b.Addr)
	})
	s.reindexOwners(ownerAddr)
}

// Filter keeps masters only and/or the nodes on one host.
func (s *Snapshot) Filter(mastersOnly bool, host string) {
	ownerAddr := make([]string, len(s.Nodes))
	for i, n := range s.Nodes {
		ownerAddr[i] = n.Addr
	}
	s.Nodes = slices.DeleteFunc(s.Nodes, func(r NodeRow) bool {
		return mastersOnly && r.Role != "master" || host != "" && r.Host != host
	})
	s.reindexOwners(ownerAddr)
}

// reindexOwners points Owner at the rows' new positions (a filtered-out
// owner keeps its slots shown as owned: -2, not a hole).
func (s *Snapshot) reindexOwners(oldAddr []string) {
	pos := make(map[string]int16, len(s.Nodes))
	for i, n := range s.Nodes {
		pos[n.Addr] = int16(i)
	}
	remap := make([]int16, len(oldAddr))
	for i, a := range oldAddr {
		p, ok := pos[a]
		if !ok {
			p = OwnerHidden
		}
		remap[i] = p
	}
	for i, o := range s.Owner {
		if o >= 0 {
			s.Owner[i] = remap[o]
		}
	}
}

// Owner values that are not row indexes.
const (
	OwnerNone   int16 = -1 // a hole: no master serves the slot
	OwnerHidden int16 = -2 // served by a master filtered out of the rows
)

// compareAddr orders host:port by host, then port numerically.
func compareAddr(a, b string) int {
	ha, pa := splitAddr(a)
	hb, pb := splitAddr(b)
	if d := strings.Compare(ha, hb); d != 0 {
		return d
	}
	if d := cmp.Compare(len(pa), len(pb)); d != 0 {
		return d
	}
	return strings.Compare(pa, pb)
}

func splitAddr(a string) (string, string) {
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return a, ""
	}
	return a[:i], a[i+1:]
}

func sortOpen(o []OpenSlot) {
	slices.SortFunc(o, func(a, b OpenSlot) int { return a.Slot - b.Slot })
}
