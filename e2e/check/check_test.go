package check

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

type checkDoc struct {
	OK           bool  `json:"ok"`
	Consistent   bool  `json:"consistent"`
	OpenSlots    []int `json:"open_slots"`
	CoveredSlots int   `json:"covered_slots"`
	Nodes        []struct {
		ID   string `json:"id"`
		Addr string `json:"addr"`
		Role string `json:"role"`
	} `json:"nodes"`
	Problems []struct {
		Kind     string `json:"kind"`
		Severity string `json:"severity"`
		Node     string `json:"node"`
		Slots    []int  `json:"slots"`
	} `json:"problems"`
}

func checkJSON(t *testing.T, addr string) (checkDoc, harness.Result) {
	t.Helper()
	r := harness.Run(t, "check", addr, "--json")
	var d checkDoc
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil {
		t.Fatalf("check --json output is not JSON: %v\n%s", err, r.Output())
	}
	return d, r
}

func hasProblem(d checkDoc, kind string) bool {
	for _, p := range d.Problems {
		if p.Kind == kind {
			return true
		}
	}
	return false
}

// TestCheckAgreesWithRedisCLI walks one cluster through the states of the
// issue (healthy, open slot, uncovered slot, node down) and compares
// gocluster check with redis-cli --cluster check at each step.
func TestCheckAgreesWithRedisCLI(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	seed := c.Addr()
	cli := func(node int, args ...string) harness.Result {
		s := c.Nodes[node]
		return c.CLI(t, append([]string{"-h", s.Host, "-p", fmt.Sprint(s.Port)}, args...)...)
	}
	nodeID := func(node int) string { return strings.TrimSpace(cli(node, "CLUSTER", "MYID").Stdout) }
	// The master that serves slot 100 (its range starts at 0) and another master.
	owner, other := -1, -1
	for i := range c.Nodes {
		for _, line := range strings.Split(cli(i, "CLUSTER", "NODES").Stdout, "\n") {
			if !strings.Contains(line, "myself,master") {
				continue
			}
			if strings.Contains(line, " 0-") {
				owner = i
			} else if other < 0 {
				other = i
			}
		}
	}
	if owner < 0 || other < 0 {
		t.Fatalf("could not find the owner of slot 100 and another master")
	}

	t.Run("healthy", func(t *testing.T) {
		r := harness.Run(t, "check", seed)
		if r.Code != 0 {
			t.Fatalf("gocluster check exit %d on a healthy cluster:\n%s", r.Code, r.Output())
		}
		for _, want := range []string{"[OK] All nodes agree about slots configuration.", "[OK] All 16384 slots covered.",
			">>> Performing Cluster Check (using node " + seed + ")", "keys in 3 masters."} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("missing %q in:\n%s", want, r.Stdout)
			}
		}
		if rc := c.RedisCheck(t); rc.Code != 0 {
			t.Fatalf("redis-cli disagrees: exit %d\n%s", rc.Code, rc.Output())
		}
		d, _ := checkJSON(t, seed)
		if !d.OK || !d.Consistent || d.CoveredSlots != 16384 || len(d.Nodes) != 6 {
			t.Fatalf("json: %+v", d)
		}
	})

	t.Run("open slot", func(t *testing.T) {
		if r := cli(owner, "CLUSTER", "SETSLOT", "100", "MIGRATING", nodeID(other)); r.Stdout != "OK\n" {
			t.Fatalf("SETSLOT MIGRATING: %s", r.Output())
		}
		if r := cli(other, "CLUSTER", "SETSLOT", "100", "IMPORTING", nodeID(owner)); r.Stdout != "OK\n" {
			t.Fatalf("SETSLOT IMPORTING: %s", r.Output())
		}
		r := harness.Run(t, "check", seed)
		rc := c.RedisCheck(t)
		if r.Code != 1 || rc.Code == 0 {
			t.Fatalf("want both to fail: gocluster %d, redis-cli %d\n%s\n%s", r.Code, rc.Code, r.Output(), rc.Output())
		}
		for _, want := range []string{"[WARNING] The following slots are open: 100.", "has slots in migrating state 100.", "has slots in importing state 100."} {
			if !strings.Contains(r.Stdout, want) || !strings.Contains(rc.Stdout, want) {
				t.Errorf("want %q in both outputs:\n--- gocluster\n%s\n--- redis-cli\n%s", want, r.Stdout, rc.Stdout)
			}
		}
		d, _ := checkJSON(t, seed)
		if d.OK || fmt.Sprint(d.OpenSlots) != "[100]" || !hasProblem(d, "open-slot") {
			t.Fatalf("json: %+v", d)
		}
		cli(owner, "CLUSTER", "SETSLOT", "100", "STABLE")
		cli(other, "CLUSTER", "SETSLOT", "100", "STABLE")
		c.WaitHealthy(t)
	})

	t.Run("uncovered slot", func(t *testing.T) {
		if r := cli(owner, "CLUSTER", "DELSLOTS", "200"); r.Stdout != "OK\n" {
			t.Fatalf("DELSLOTS: %s", r.Output())
		}
		for i := range c.Nodes { // so that gossip cannot hand the slot back
			if i != owner {
				cli(i, "CLUSTER", "DELSLOTS", "200")
			}
		}
		r := harness.Run(t, "check", seed)
		rc := c.RedisCheck(t)
		if r.Code != 1 || rc.Code == 0 {
			t.Fatalf("want both to fail: gocluster %d, redis-cli %d\n%s\n%s", r.Code, rc.Code, r.Output(), rc.Output())
		}
		want := "[ERR] Not all 16384 slots are covered by nodes."
		if !strings.Contains(r.Stdout, want) || !strings.Contains(rc.Stdout, want) {
			t.Errorf("want %q in both:\n%s\n%s", want, r.Stdout, rc.Stdout)
		}
		d, _ := checkJSON(t, seed)
		if d.OK || d.CoveredSlots != 16383 || !hasProblem(d, "uncovered") {
			t.Fatalf("json: %+v", d)
		}
		cli(owner, "CLUSTER", "ADDSLOTS", "200")
		c.WaitHealthy(t)
	})

	t.Run("node down", func(t *testing.T) {
		c.Nodes[other].Kill()
		r := harness.Run(t, "check", seed)
		rc := c.RedisCheck(t)
		if r.Code != 1 || rc.Code == 0 {
			t.Fatalf("want both to fail: gocluster %d, redis-cli %d\n%s\n%s", r.Code, rc.Code, r.Output(), rc.Output())
		}
		if !strings.Contains(r.Stdout, "is unreachable") || !strings.Contains(r.Stdout, c.Nodes[other].Addr()) {
			t.Errorf("gocluster does not name the unreachable node %s:\n%s", c.Nodes[other].Addr(), r.Stdout)
		}
		d, _ := checkJSON(t, seed)
		if d.OK || !hasProblem(d, "unreachable") {
			t.Fatalf("json: %+v", d)
		}
	})
}

// TestSearchMultipleOwners: a key left on a master that does not own its
// slot makes that master a second owner, which both gocluster and redis-cli
// report with --search-multiple-owners.
func TestSearchMultipleOwners(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	cli := func(node int, args ...string) string {
		s := c.Nodes[node]
		return strings.TrimSpace(c.CLI(t, append([]string{"-h", s.Host, "-p", fmt.Sprint(s.Port)}, args...)...).Stdout)
	}
	// "{stray}x" hashes to a slot owned by some master; put a copy on another one.
	slot := cli(0, "CLUSTER", "KEYSLOT", "{stray}x")
	owner, intruder := -1, -1
	for i := range c.Nodes {
		if cli(i, "CLUSTER", "COUNTKEYSINSLOT", slot) == "0" && strings.Contains(cli(i, "SET", "{stray}x", "1"), "MOVED") {
			if intruder < 0 {
				intruder = i
			}
		} else if owner < 0 {
			owner = i
		}
	}
	ownerID := cli(owner, "CLUSTER", "MYID")
	// IMPORTING + ASKING lets the intruder store the key; STABLE leaves it there.
	cli(intruder, "CLUSTER", "SETSLOT", slot, "IMPORTING", ownerID)
	s := c.Nodes[intruder]
	r := harness.Exec(t, redistest.CLIBinary(t), harness.Cmd{Args: []string{"-h", s.Host, "-p", fmt.Sprint(s.Port)},
		Stdin: "ASKING\nSET {stray}x 1\n"})
	if !strings.Contains(r.Stdout, "OK\nOK") {
		t.Fatalf("could not plant the stray key: %s", r.Output())
	}
	cli(intruder, "CLUSTER", "SETSLOT", slot, "STABLE")

	g := harness.Run(t, "check", c.Addr(), "--search-multiple-owners")
	rc := c.CLI(t, "--cluster", "check", c.Addr(), "--cluster-search-multiple-owners")
	want := fmt.Sprintf("[WARNING] Slot %s has 2 owners:", slot)
	if g.Code != 1 || !strings.Contains(g.Stdout, want) || !strings.Contains(rc.Stdout, want) {
		t.Fatalf("want %q from both (gocluster exit %d):\n--- gocluster\n%s\n--- redis-cli\n%s", want, g.Code, g.Output(), rc.Output())
	}
	if plain := harness.Run(t, "check", c.Addr()); plain.Code != 0 {
		t.Fatalf("without the search the cluster looks healthy, like redis-cli: %d\n%s", plain.Code, plain.Output())
	}
}
