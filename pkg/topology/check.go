package topology

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gocluster/gocluster/pkg/slots"
)

// Severity says how much a problem matters.
type Severity string

const (
	// SevError fails the check ("[ERR] ...").
	SevError Severity = "error"
	// SevWarning fails the check but is printed as redis-cli does ("[WARNING] ...").
	SevWarning Severity = "warning"
	// SevAdvice is printed as a warning but does not fail the check.
	SevAdvice Severity = "advice"
)

// Problem kinds, stable for --json consumers.
const (
	KindInconsistent   = "inconsistent"
	KindOpenSlot       = "open-slot"
	KindUncovered      = "uncovered"
	KindMultipleOwners = "multiple-owners"
	KindUnreachable    = "unreachable"
	KindFailFlag       = "fail-flag"
	KindUnknownMaster  = "unknown-master"
	KindReplicaHost    = "replica-same-host"
	// KindAtomicMigration: an atomic slot migration (CLUSTER MIGRATESLOTS)
	// in progress; found by pkg/admin, which asks the nodes.
	KindAtomicMigration = "atomic-migration"
	// KindAtomicImport: a Redis 8.4 atomic slot migration task (CLUSTER
	// MIGRATION IMPORT) in progress, named by its destination, which
	// drives it.
	KindAtomicImport = "atomic-import"
)

// Problem is one finding of a check.
type Problem struct {
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Node     string   `json:"node,omitempty"`
	Slots    []int    `json:"slots,omitempty"`
	Message  string   `json:"message"`
}

// Fails reports whether the problem makes the cluster unhealthy.
func (p Problem) Fails() bool { return p.Severity != SevAdvice }

// Report is the result of the pure checks on a loaded cluster.
type Report struct {
	Consistent   bool      `json:"consistent"`
	OpenSlots    []int     `json:"open_slots"`
	CoveredSlots int       `json:"covered_slots"`
	Problems     []Problem `json:"problems"`
}

// OK reports a healthy cluster: no problem that fails.
func (r Report) OK() bool {
	for _, p := range r.Problems {
		if p.Fails() {
			return false
		}
	}
	return true
}

// Check runs every check that needs no extra I/O: configuration agreement,
// open slots, coverage, unreachable nodes, failure flags, replicas of
// unknown masters and replicas on their master's host.
func Check(c *Cluster) Report {
	r := Report{OpenSlots: c.OpenSlots()}
	r.Consistent = Consistent(c)
	if !r.Consistent {
		r.Problems = append(r.Problems, Problem{Kind: KindInconsistent, Severity: SevError,
			Message: "Nodes don't agree about configuration!"})
	}
	r.Problems = append(r.Problems, openSlotProblems(c)...)
	covered := c.Covered()
	r.CoveredSlots = covered.Len()
	if r.CoveredSlots != slots.Count {
		missing := &slots.Set{}
		for s := range slots.Count {
			if !covered.Has(s) {
				missing.Add(s)
			}
		}
		r.Problems = append(r.Problems, Problem{Kind: KindUncovered, Severity: SevError, Slots: missing.Slots(),
			Message: fmt.Sprintf("Not all %d slots are covered by nodes.", slots.Count)})
	}
	for _, u := range c.Unreachable {
		role := "master"
		if u.Node.IsReplica() {
			role = "replica"
		}
		r.Problems = append(r.Problems, Problem{Kind: KindUnreachable, Severity: SevError, Node: u.Node.Addr(),
			Message: fmt.Sprintf("Node %s (%s, %s) is unreachable: %v", u.Node.Addr(), u.Node.ShortID(), role, u.Err)})
	}
	r.Problems = append(r.Problems, failFlagProblems(c)...)
	r.Problems = append(r.Problems, replicaProblems(c)...)
	return r
}

// Consistent reports whether every reachable node holds the same slot map.
func Consistent(c *Cluster) bool {
	first := ""
	for i, n := range c.Nodes {
		sig := ConfigSignature(c.Views[n.ID])
		if i == 0 {
			first = sig
		} else if sig != first {
			return false
		}
	}
	return true
}

func openSlotProblems(c *Cluster) []Problem {
	var out []Problem
	for _, n := range c.Nodes {
		for _, st := range []struct {
			m    map[int]string
			name string
		}{{n.Migrating, "migrating"}, {n.Importing, "importing"}} {
			if len(st.m) == 0 {
				continue
			}
			ss := sortedKeys(st.m)
			out = append(out, Problem{Kind: KindOpenSlot, Severity: SevWarning, Node: n.Addr(), Slots: ss,
				Message: fmt.Sprintf("Node %s has slots in %s state %s.", n.Addr(), st.name, joinInts(ss))})
		}
	}
	if open := c.OpenSlots(); len(open) > 0 {
		out = append(out, Problem{Kind: KindOpenSlot, Severity: SevWarning, Slots: open,
			Message: fmt.Sprintf("The following slots are open: %s.", joinInts(open))})
	}
	return out
}

// failFlagProblems reports reachable nodes that some other node still flags
// as failing: the cluster has not healed yet.
func failFlagProblems(c *Cluster) []Problem {
	var out []Problem
	for _, n := range c.Nodes {
		var by []string
		for _, viewer := range c.Nodes {
			for _, v := range c.Views[viewer.ID] {
				if v.ID == n.ID && v.Failing() {
					by = append(by, viewer.Addr())
				}
			}
		}
		if len(by) > 0 {
			out = append(out, Problem{Kind: KindFailFlag, Severity: SevWarning, Node: n.Addr(),
				Message: fmt.Sprintf("Node %s is flagged as failing by %s.", n.Addr(), strings.Join(by, ", "))})
		}
	}
	return out
}

func replicaProblems(c *Cluster) []Problem {
	var out []Problem
	known := map[string]*Node{}
	for _, v := range c.Views[c.Nodes[0].ID] {
		known[v.ID] = v
	}
	for _, n := range c.Nodes {
		if !n.IsReplica() {
			continue
		}
		m := c.ByID(n.MasterID)
		if m == nil {
			if known[n.MasterID] == nil {
				out = append(out, Problem{Kind: KindUnknownMaster, Severity: SevWarning, Node: n.Addr(),
					Message: fmt.Sprintf("%s claims to be slave of unknown node ID %s.", n.Addr(), n.MasterID)})
			}
			continue
		}
		if m.Host == n.Host {
			out = append(out, Problem{Kind: KindReplicaHost, Severity: SevAdvice, Node: n.Addr(),
				Message: fmt.Sprintf("Replica %s and its master %s are on the same host %s.", n.Addr(), m.Addr(), n.Host)})
		}
	}
	return out
}

// MultipleOwners finds slots that more than one master claims or holds keys
// for. keys[nodeID][slot] is the number of keys a master has in a slot it
// does not own (from COUNTKEYSINSLOT).
func MultipleOwners(c *Cluster, keys map[string]map[int]int64) []Problem {
	var out []Problem
	masters := c.Masters()
	for s := range slots.Count {
		var owners []string
		for _, m := range masters {
			if m.Slots.Has(s) || keys[m.ID][s] > 0 {
				owners = append(owners, m.Addr())
			}
		}
		if len(owners) > 1 {
			out = append(out, Problem{Kind: KindMultipleOwners, Severity: SevWarning, Slots: []int{s},
				Message: fmt.Sprintf("Slot %d has %d owners: %s", s, len(owners), strings.Join(owners, ", "))})
		}
	}
	return out
}

func sortedKeys(m map[int]string) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
