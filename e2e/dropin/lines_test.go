package dropin

import (
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// sameLine runs one command line through redis-cli and through gocluster
// and fails unless both print line on the same stream and both exit
// non-zero (or both zero, when ok), so a script grepping redis-cli's
// output sees the same thing. The one line redis-cli writes to stderr
// (before resharding) gocluster writes to stdout: its stderr holds only
// its own one-line error.
func sameLine(t *testing.T, c *harness.Cluster, ok bool, line string, args ...string) {
	t.Helper()
	cli := c.CLI(t, args...)
	got := run(t, args...)
	for _, r := range []struct {
		who string
		res harness.Result
	}{{"redis-cli", cli}, {"gocluster", got}} {
		if (r.res.Code == 0) != ok {
			t.Fatalf("%s %s: exit %d\n%s", r.who, strings.Join(args, " "), r.res.Code, r.res.Output())
		}
	}
	stream := func(r harness.Result) string {
		if strings.Contains(r.Stdout, line) {
			return "stdout"
		}
		if strings.Contains(r.Stderr, line) {
			return "stderr"
		}
		return "nowhere"
	}
	if want := stream(cli); want == "nowhere" {
		t.Fatalf("redis-cli no longer prints %q:\n%s", line, cli.Output())
	} else if have := stream(got); have != want && !(want == "stderr" && have == "stdout") {
		t.Fatalf("gocluster %s: %q on %s, redis-cli prints it on %s\n%s", strings.Join(args, " "), line, have, want, got.Output())
	}
}

// TestRefusalLinesAsRedisCLI: the refusals a script may grep for carry
// redis-cli's own line, on redis-cli's stream, beside gocluster's
// explanation; and nothing is changed.
func TestRefusalLinesAsRedisCLI(t *testing.T) {
	// redis-cli's lines: valkey-cli says "primary" where they say "master"
	// (docs/valkey.md), and gocluster keeps redis-cli's words for both.
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Flavor: "redis"})
	seed := c.Addr()
	spare := redistest.StartNodes(t, 2, redistest.Options{Cluster: true, Flavor: "redis"})
	sc := spare[0].Client()
	defer sc.Close()
	// A key left behind: written while the lone node served every slot,
	// which it then gave up.
	if err := sc.Do(t.Context(), "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for err := sc.Set(t.Context(), "left-over", "1", 0).Err(); err != nil; err = sc.Set(t.Context(), "left-over", "1", 0).Err() {
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := sc.Do(t.Context(), "CLUSTER", "DELSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	sameLine(t, c, false, "[ERR] Node "+spare[0].Addr()+" is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0.",
		"--cluster", "add-node", spare[0].Addr(), seed)

	const unknownID = "0123456789abcdef0123456789abcdef01234567"
	sameLine(t, c, false, "[ERR] No such master ID "+unknownID,
		"--cluster", "add-node", spare[1].Addr(), seed, "--cluster-slave", "--cluster-master-id", unknownID)
	if known := spare[1].Client().ClusterNodes(t.Context()).Val(); strings.Count(known, "\n") != 1 {
		t.Fatalf("the refused node met the cluster anyway:\n%s", known)
	}

	sameLine(t, c, false, "[ERR] No such node ID "+unknownID, "--cluster", "del-node", seed, unknownID)
	m := c.Topology(t).Masters()[1]
	sameLine(t, c, false, "[ERR] Node "+m.Addr()+" is not empty! Reshard data away and try again.",
		"--cluster", "del-node", seed, m.ID)
	if n := len(c.Topology(t).Nodes); n != 3 {
		t.Fatalf("the cluster has %d nodes after refused del-nodes, want 3", n)
	}

	plain := redistest.Start(t, redistest.Options{Flavor: "redis"})
	for _, sub := range []string{"check", "info", "fix"} {
		sameLine(t, c, false, "[ERR] Node "+plain.Addr()+" is not configured as a cluster node.", "--cluster", sub, plain.Addr())
	}

	sameLine(t, c, false, "*** No such master node nosuchnode", "--cluster", "rebalance", seed, "--cluster-weight", "nosuchnode=2")

	// An open slot: reshard and rebalance refuse with redis-cli's line.
	owner := c.Topology(t).Masters()[0]
	slot := owner.Slots.Slots()[0]
	var oc *redis.Client
	for _, n := range c.Nodes {
		if n.Addr() == owner.Addr() {
			oc = n.Client()
		}
	}
	defer oc.Close()
	if err := oc.Do(t.Context(), "CLUSTER", "SETSLOT", slot, "MIGRATING", m.ID).Err(); err != nil {
		t.Fatal(err)
	}
	sameLine(t, c, false, "*** Please fix your cluster problems before resharding",
		"--cluster", "reshard", seed, "--cluster-from", owner.ID, "--cluster-to", m.ID, "--cluster-slots", "10", "--cluster-yes")
	sameLine(t, c, false, "*** Please fix your cluster problems before rebalancing",
		"--cluster", "rebalance", seed, "--cluster-weight", m.ID+"=2")

	r := run(t, "--cluster", "fix", seed, "--cluster-yes")
	expect(t, "fix of an open slot", r, 0, ">>> Fixing open slot ", "[OK] All 16384 slots covered.")

	dir := t.TempDir()
	r = run(t, "--cluster", "backup", seed, dir)
	expect(t, "backup", r, 0, ">>> Node "+owner.Addr()+" -> Saving RDB...")
}

// TestCreateExtraReplicasLine: nodes left over after --replicas per master
// become extra replicas, listed after redis-cli's "Adding extra
// replicas..." line.
func TestCreateExtraReplicasLine(t *testing.T) {
	nodes := redistest.StartNodes(t, 7, redistest.Options{Cluster: true, Flavor: "redis"})
	args := []string{"--cluster", "create"}
	for _, n := range nodes {
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", "1")
	cli := harness.Exec(t, redistest.CLIBinary(t, "redis"), harness.Cmd{Args: args, Stdin: "no\n"})
	if !strings.Contains(cli.Stdout, "Adding extra replicas...") {
		t.Fatalf("redis-cli no longer prints the extra replicas line:\n%s", cli.Output())
	}
	r := run(t, append(args, "--cluster-yes")...)
	expect(t, "create of 7 nodes with 1 replica each", r, 0, "Adding extra replicas...", "[OK] All 16384 slots covered.")
	extra := r.Stdout[strings.Index(r.Stdout, "Adding extra replicas..."):]
	if !strings.Contains(extra, "Adding replica ") {
		t.Fatalf("no replica listed after the extra replicas line:\n%s", r.Stdout)
	}
}
