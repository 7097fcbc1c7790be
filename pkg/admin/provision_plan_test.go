package admin

import (
	"errors"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/pkg/topology"
)

// A cluster of three masters (one without slots) on three hosts, with two
// replicas of m1 and one of m2.
const sampleNodes = `
m100000000000000000000000000000000000001 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-8191
m200000000000000000000000000000000000002 10.0.0.2:7000@17000 master - 0 0 2 connected 8192-16383
m300000000000000000000000000000000000003 10.0.0.3:7000@17000 master - 0 0 3 connected
r100000000000000000000000000000000000011 10.0.0.2:7001@17001 slave m100000000000000000000000000000000000001 0 0 1 connected
r100000000000000000000000000000000000012 10.0.0.3:7001@17001 slave m100000000000000000000000000000000000001 0 0 1 connected
r200000000000000000000000000000000000021 10.0.0.1:7001@17001 slave m200000000000000000000000000000000000002 0 0 2 connected
`

// sampleCluster loads the sample as if every node answered with the same
// view; down lists node IDs to report as unreachable instead.
func sampleCluster(t *testing.T, down ...string) *topology.Cluster {
	t.Helper()
	view, err := topology.ParseNodes(sampleNodes)
	if err != nil {
		t.Fatal(err)
	}
	c := &topology.Cluster{Seed: "10.0.0.1:7000", Views: map[string][]*topology.Node{}}
	for _, n := range view {
		if strings.Contains(strings.Join(down, " "), n.ID) {
			c.Unreachable = append(c.Unreachable, topology.Unreachable{Node: n, Err: errors.New("connection refused")})
			continue
		}
		c.Nodes = append(c.Nodes, n)
		c.Views[n.ID] = view
	}
	return c
}

func newFacts(addr, id string) NodeFacts {
	return NodeFacts{Addr: addr, Host: addr[:strings.LastIndexByte(addr, ':')], ID: id, ClusterEnabled: true, KnownNodes: 1}
}

func TestPlanAddNode(t *testing.T) {
	c := sampleCluster(t)
	ok := topology.Report{Consistent: true, CoveredSlots: 16384}
	fresh := newFacts("10.0.0.4:7000", "n400000000000000000000000000000000000004")

	p, err := PlanAddNode(c, ok, fresh, AddNodeOptions{})
	if err != nil || p.Master != nil || !p.CopyFunctions || len(p.Members) != 6 {
		t.Fatalf("as master: %+v, %v", p, err)
	}
	// The fewest replicas among masters that serve slots: m2, not the empty m3.
	p, err = PlanAddNode(c, ok, fresh, AddNodeOptions{Replica: true})
	if err != nil || p.Master == nil || !strings.HasPrefix(p.Master.ID, "m2") || !p.AutoMaster || p.CopyFunctions {
		t.Fatalf("as replica: %+v, %v", p, err)
	}
	p, err = PlanAddNode(c, ok, fresh, AddNodeOptions{MasterID: "m300"})
	if err != nil || !strings.HasPrefix(p.Master.ID, "m3") || p.AutoMaster {
		t.Fatalf("with master prefix: %+v, %v", p, err)
	}
	p, err = PlanAddNode(c, ok, fresh, AddNodeOptions{MasterID: "10.0.0.1:7000"})
	if err != nil || !strings.HasPrefix(p.Master.ID, "m1") {
		t.Fatalf("with master address: %+v, %v", p, err)
	}

	refusals := []struct {
		name   string
		facts  NodeFacts
		opts   AddNodeOptions
		report topology.Report
		want   string
	}{
		{"replica as master", fresh, AddNodeOptions{MasterID: "r100000000000000000000000000000000000011"}, ok, "is a replica, not a master"},
		{"unknown master", fresh, AddNodeOptions{MasterID: "ffff"}, ok, "no such master ffff"},
		{"member by address", newFacts("10.0.0.2:7000", "zz"), AddNodeOptions{}, ok, "already a member of this cluster (address 10.0.0.2:7000)"},
		{"member by ID", newFacts("10.0.0.9:7000", "m300000000000000000000000000000000000003"), AddNodeOptions{}, ok, "already a member"},
		{"non-empty", func() NodeFacts { f := fresh; f.Keys = 3; return f }(), AddNodeOptions{}, ok, "holds 3 key(s)"},
		{"unhealthy cluster", fresh, AddNodeOptions{}, topology.Report{Problems: []topology.Problem{{Severity: topology.SevError, Message: "Not all 16384 slots are covered by nodes."}}}, "not healthy"},
	}
	for _, r := range refusals {
		if _, err := PlanAddNode(c, r.report, r.facts, r.opts); err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%s: error %v, want %q", r.name, err, r.want)
		}
	}
}

func TestPlanDelNode(t *testing.T) {
	c := sampleCluster(t)
	// A replica: forgotten by the five others, reset and shut down.
	p, err := PlanDelNode(c, "r100000000000000000000000000000000000012", 10, DelNodeOptions{})
	if err != nil || !p.Reachable || !p.Shutdown || len(p.Others) != 5 || len(p.Reassign) != 0 {
		t.Fatalf("replica: %+v, %v", p, err)
	}
	if p, err = PlanDelNode(c, "10.0.0.1:7001", 0, DelNodeOptions{NoShutdown: true}); err != nil || p.Shutdown || !strings.HasPrefix(p.Node.ID, "r2") {
		t.Fatalf("by address, no shutdown: %+v, %v", p, err)
	}
	// A master with slots is refused with how to empty it.
	_, err = PlanDelNode(c, "m100000000000000000000000000000000000001", 0, DelNodeOptions{})
	if err == nil || !strings.Contains(err.Error(), "serves 8192 slot(s)") || !strings.Contains(err.Error(), "gocluster reshard 10.0.0.1:7000 --from m1") {
		t.Fatalf("master with slots: %v", err)
	}
	// The empty master with keys left is refused; without keys it goes.
	if _, err = PlanDelNode(c, "m300", 5, DelNodeOptions{}); err == nil || !strings.Contains(err.Error(), "holds 5 key(s)") {
		t.Fatalf("empty master with keys: %v", err)
	}
	if _, err = PlanDelNode(c, "m300", 0, DelNodeOptions{}); err != nil {
		t.Fatalf("empty master: %v", err)
	}
	if _, err = PlanDelNode(c, "nope", 0, DelNodeOptions{}); err == nil || !strings.Contains(err.Error(), "no such node nope") {
		t.Fatalf("unknown node: %v", err)
	}
}

func TestPlanDelNodeMovesReplicas(t *testing.T) {
	// m1 loses its slots in this variant so it can be removed; its two
	// replicas go to the master with the fewest replicas that serves slots
	// and is on another host, then the next.
	c := sampleCluster(t)
	m1 := c.ByID("m100000000000000000000000000000000000001")
	m3 := c.ByID("m300000000000000000000000000000000000003")
	for _, s := range m1.Slots.Slots() {
		m1.Slots.Remove(s)
		m3.Slots.Add(s)
	}
	p, err := PlanDelNode(c, m1.ID, 0, DelNodeOptions{})
	if err != nil || len(p.Reassign) != 2 {
		t.Fatalf("%+v, %v", p, err)
	}
	for _, r := range p.Reassign {
		if r.Master.ID == m1.ID || r.Master.Host == r.Replica.Host {
			t.Errorf("replica %s moved to %s", r.Replica.Addr(), r.Master.Addr())
		}
	}
	if p.Reassign[0].Master.ID == p.Reassign[1].Master.ID {
		t.Errorf("both replicas went to %s; the fewest-replicas rule should spread them", p.Reassign[0].Master.Addr())
	}
}

func TestPlanDelNodeDown(t *testing.T) {
	c := sampleCluster(t, "r100000000000000000000000000000000000011", "m200000000000000000000000000000000000002")
	p, err := PlanDelNode(c, "r100000000000000000000000000000000000011", 0, DelNodeOptions{})
	if err != nil || p.Reachable || p.Shutdown || len(p.Others) != 4 {
		t.Fatalf("down replica: %+v, %v", p, err)
	}
	if len(p.Warnings) != 2 || !strings.Contains(strings.Join(p.Warnings, "\n"), "is down") {
		t.Errorf("want warnings about the other unreachable node and the down one: %v", p.Warnings)
	}
	_, err = PlanDelNode(c, "m200000000000000000000000000000000000002", 0, DelNodeOptions{})
	if err == nil || !strings.Contains(err.Error(), "is down but still serves 8192 slot(s)") {
		t.Fatalf("down master with slots: %v", err)
	}
}
