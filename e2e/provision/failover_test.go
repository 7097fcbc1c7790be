package provision

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/topology"
)

// roles maps each node address to "master" (with slots) or the address
// of its master, as the seed sees them.
func roles(t *testing.T, c *harness.Cluster) map[string]string {
	t.Helper()
	top := c.Topology(t)
	out := map[string]string{}
	for _, n := range top.Nodes {
		if n.IsMaster() {
			if n.Slots.Len() > 0 {
				out[n.Addr()] = "master"
			}
			continue
		}
		if m := top.ByID(n.MasterID); m != nil {
			out[n.Addr()] = m.Addr()
		}
	}
	return out
}

func firstMasterWithReplica(t *testing.T, top *topology.Cluster) (*topology.Node, *topology.Node) {
	t.Helper()
	for _, m := range top.Masters() {
		if r := top.ReplicasOf(m.ID); len(r) > 0 && m.Slots.Len() > 0 {
			return m, r[0]
		}
	}
	t.Fatal("no master with a replica")
	return nil, nil
}

// TestFailoverOfAMasterUnderLoad: `gocluster failover <master>` promotes
// its replica while clients read and write: no client error, no lost
// acknowledged write, the old master follows the new one, and
// redis-cli --cluster check agrees. --dry-run before it changes nothing.
func TestFailoverOfAMasterUnderLoad(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	cc := c.ClusterClient(t)
	harness.Preload(t, cc, 3000)
	master, replica := firstMasterWithReplica(t, c.Topology(t))

	before := roles(t, c)
	dry := harness.Run(t, "failover", master.Addr(), "--dry-run", "--json")
	if dry.Code != 0 {
		t.Fatalf("failover --dry-run: exit %d\n%s", dry.Code, dry.Output())
	}
	var plan struct {
		Plan struct {
			Steps []struct{ Replica string } `json:"steps"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(dry.Stdout), &plan); err != nil || len(plan.Plan.Steps) != 1 || plan.Plan.Steps[0].Replica != replica.Addr() {
		t.Fatalf("dry-run plan should promote %s: %v\n%s", replica.Addr(), err, dry.Stdout)
	}
	if after := roles(t, c); !maps.Equal(before, after) {
		t.Fatalf("--dry-run changed roles: %v -> %v", before, after)
	}

	load := harness.StartLoad(t, cc, 3000, 3, 3)
	r := harness.Run(t, "failover", master.Addr())
	if r.Code != 0 {
		t.Fatalf("failover: exit %d\n%s", r.Code, r.Output())
	}
	if !strings.Contains(r.Stdout, "is the master now") {
		t.Errorf("failover output does not report the new master:\n%s", r.Stdout)
	}
	load.Finish(t)
	after := roles(t, c)
	if after[replica.Addr()] != "master" || after[master.Addr()] != replica.Addr() {
		t.Fatalf("after failover: %s should be master and %s its replica; roles: %v", replica.Addr(), master.Addr(), after)
	}
	if rc := c.RedisCheck(t); rc.Code != 0 || strings.Contains(rc.Stdout, "[ERR]") {
		t.Fatalf("redis-cli --cluster check after failover:\n%s", rc.Output())
	}

	// Naming the replica (now the old master) switches them back.
	if r := harness.Run(t, "failover", master.Addr(), "--json"); r.Code != 0 || !json.Valid([]byte(r.Stdout)) {
		t.Fatalf("failover of the replica back: exit %d\n%s", r.Code, r.Output())
	}
	if back := roles(t, c); back[master.Addr()] != "master" {
		t.Fatalf("%s is not master again: %v", master.Addr(), back)
	}
}

// TestFailoverHostMovesEveryMasterOff: with nodes on three loopback
// addresses, `failover --host` leaves no master with slots on that host.
func TestFailoverHostMovesEveryMasterOff(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1, Hosts: []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}})
	host := ""
	for addr, role := range roles(t, c) {
		if role == "master" && !strings.HasPrefix(addr, "127.0.0.1:") {
			host = strings.Split(addr, ":")[0]
		}
	}
	if host == "" {
		t.Fatal("no master off 127.0.0.1 to move")
	}
	r := harness.Run(t, "failover", c.Addr(), "--host", host, "--yes")
	if r.Code != 0 {
		t.Fatalf("failover --host %s: exit %d\n%s", host, r.Code, r.Output())
	}
	for addr, role := range roles(t, c) {
		if role == "master" && strings.HasPrefix(addr, host+":") {
			t.Fatalf("%s is still a master after failover --host %s", addr, host)
		}
	}
	if rc := c.RedisCheck(t); rc.Code != 0 {
		t.Fatalf("redis-cli --cluster check:\n%s", rc.Output())
	}
}

// TestFailoverRefusals: a master without replicas, --force without an
// answer, and both --force and --takeover are refused before any change.
func TestFailoverRefusals(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	before := roles(t, c)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"failover", c.Addr()}, 1, "has no replica"},
		{[]string{"failover", c.Addr(), "--force", "--takeover"}, 2, "exclusive"},
		{[]string{"failover", c.Addr(), "--host", "not-an-ip"}, 2, "invalid --host"},
		{[]string{"failover", c.Addr(), "--host", "127.0.0.9"}, 1, "nothing to move"},
	} {
		r := harness.Run(t, tc.args...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("gocluster %s: exit %d, want %d with %q\n%s", strings.Join(tc.args, " "), r.Code, tc.code, tc.want, r.Output())
		}
	}
	if after := roles(t, c); !maps.Equal(before, after) {
		t.Fatalf("a refused failover changed roles: %v -> %v", before, after)
	}
}
