// Package dropin runs gocluster with command lines written for redis-cli
// --cluster, as scripts and Redis's own cluster tests write them, against
// real redis-server nodes: the exit code, the effect and redis-cli's
// recognisable line must all be there.
package dropin

import (
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// run is gocluster with a redis-cli command line.
func run(t *testing.T, line ...string) harness.Result {
	t.Helper()
	return harness.Run(t, line...)
}

// expect fails unless r exited with code and printed every line.
func expect(t *testing.T, what string, r harness.Result, code int, lines ...string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("%s: exit %d, want %d\n%s", what, r.Code, code, r.Output())
	}
	for _, l := range lines {
		if !strings.Contains(r.Output(), l) {
			t.Fatalf("%s: no %q in\n%s", what, l, r.Output())
		}
	}
}

// TestOptionsBeforeAndAfterCluster: redis-cli takes its options anywhere
// around `--cluster SUB`; so does gocluster, for every subcommand.
func TestOptionsBeforeAndAfterCluster(t *testing.T) {
	const pass = "s3cret"
	nodes := redistest.StartNodes(t, 4, redistest.Options{Password: pass})
	auth := []string{"-a", pass, "--no-auth-warning"}
	with := func(before []string, sub string, after ...string) []string {
		return append(append(append([]string{}, before...), "--cluster", sub), after...)
	}

	r := run(t, with(append([]string{"--cluster-yes"}, auth...), "create", nodes[0].Addr(), nodes[1].Addr(), nodes[2].Addr(),
		"--cluster-replicas", "0")...)
	expect(t, "--cluster-yes -a ... --cluster create", r, 0, "[OK] All 16384 slots covered.")
	c := &harness.Cluster{Nodes: nodes[:3], Password: pass}
	c.WaitHealthy(t)
	seed := c.Addr()

	expect(t, "-a pass --cluster check", run(t, with(auth, "check", seed)...), 0, "[OK] All 16384 slots covered.")
	expect(t, "--cluster check -a pass", run(t, with(nil, "check", append([]string{seed}, auth...)...)...), 0, "[OK] All 16384 slots covered.")
	expect(t, "-a pass --cluster-search-multiple-owners --cluster check", run(t,
		with(append(auth, "--cluster-search-multiple-owners"), "check", seed)...), 0, "[OK] All 16384 slots covered.")
	expect(t, "-a pass --cluster info", run(t, with(auth, "info", seed)...), 0, "keys in 3 masters.")
	r = run(t, with(append(auth, "--cluster-only-masters"), "call", seed, "PING")...)
	expect(t, "-a pass --cluster-only-masters --cluster call", r, 0, ">>> Calling PING")
	if strings.Count(r.Stdout, ": PONG") != 3 {
		t.Fatalf("call PING on the masters only:\n%s", r.Output())
	}
	expect(t, "-a pass --cluster set-timeout", run(t, with(auth, "set-timeout", seed, "6000")...), 0, ">>> New node timeout set. 3 OK, 0 ERR.")

	topo := c.Topology(t)
	ms := topo.Masters()
	r = run(t, with(append([]string{"--cluster-yes"}, auth...), "reshard", seed, "--cluster-from", ms[0].ID,
		"--cluster-to", ms[1].ID, "--cluster-slots", "10")...)
	expect(t, "--cluster-yes -a pass --cluster reshard", r, 0)
	if got := c.Topology(t).ByID(ms[1].ID).Slots.Len(); got != ms[1].Slots.Len()+10 {
		t.Fatalf("reshard moved %d slots, want 10", got-ms[1].Slots.Len())
	}
	r = run(t, with(append(auth, "--cluster-yes", "--cluster-threshold", "1"), "rebalance", seed)...)
	expect(t, "-a pass --cluster-yes --cluster-threshold 1 --cluster rebalance", r, 0)
	c.WaitHealthy(t)

	r = run(t, with(auth, "add-node", nodes[3].Addr(), seed, "--cluster-slave", "--cluster-master-id", ms[2].ID)...)
	expect(t, "-a pass --cluster add-node --cluster-slave", r, 0, "[OK] New node added correctly.")
	c.Nodes = nodes
	c.WaitHealthy(t)
	var replicaID string
	for _, n := range c.Topology(t).Nodes {
		if n.Addr() == nodes[3].Addr() {
			replicaID = n.ID
		}
	}
	r = run(t, with(auth, "del-node", seed, replicaID)...)
	expect(t, "-a pass --cluster del-node", r, 0, ">>> Removing node "+replicaID)
	c.Nodes = nodes[:3]
	expect(t, "--cluster-yes -a pass --cluster fix", run(t, with(append([]string{"--cluster-yes"}, auth...), "fix", seed)...), 0,
		"[OK] All 16384 slots covered.")
	expect(t, "-a pass --cluster backup", run(t, with(auth, "backup", seed, t.TempDir())...), 0)

	src := redistest.Start(t, redistest.Options{Password: pass})
	sc := src.Client()
	defer sc.Close()
	if err := sc.Set(t.Context(), "imported:key", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r = run(t, with(append(auth, "--cluster-copy"), "import", seed, "--cluster-from", src.Addr(), "--cluster-from-pass", pass)...)
	expect(t, "-a pass --cluster-copy --cluster import", r, 0)
	cc := c.ClusterClient(t)
	if v, err := cc.Get(t.Context(), "imported:key").Result(); err != nil || v != "v" {
		t.Fatalf("imported key = %q, %v", v, err)
	}
	assertRedisCheckClean(t, c)
}

func assertRedisCheckClean(t *testing.T, c *harness.Cluster) {
	t.Helper()
	r := c.RedisCheck(t)
	if r.Code != 0 || strings.Contains(r.Stdout, "[ERR]") {
		t.Fatalf("redis-cli --cluster check:\n%s", r.Output())
	}
}

// TestRebalanceWeightOnReplica: a script's --cluster-weight names a node
// that is a replica (after a failover, the old master is). redis-cli
// ignores that weight and goes on (exit 0); so does gocluster, saying so.
func TestRebalanceWeightOnReplica(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	topo := c.Topology(t)
	replica := topo.ReplicasOf(topo.Masters()[0].ID)[0]
	cli := c.CLI(t, "--cluster", "rebalance", c.Addr(), "--cluster-weight", replica.ID+"=2", "--cluster-simulate")
	if cli.Code != 0 {
		t.Fatalf("redis-cli itself exits %d on this:\n%s", cli.Code, cli.Output())
	}
	r := run(t, "--cluster", "rebalance", c.Addr(), "--cluster-weight", replica.ID+"=2")
	expect(t, "rebalance --cluster-weight <replica>=2", r, 0,
		"[WARNING] --weight "+replica.ID+"=2 ignored: "+replica.Addr()+" is a replica, not a master",
		"*** No rebalancing needed! All nodes are within the 2.00% threshold.")
	// With the replica's weight ignored, the others still count.
	m := topo.Masters()[1]
	r = run(t, "--cluster", "rebalance", c.Addr(), "--cluster-weight", replica.ID[:12]+"=2", "--cluster-weight", m.ID+"=2", "--cluster-yes")
	expect(t, "rebalance with a replica's and a master's weight", r, 0, "[WARNING] --weight "+replica.ID[:12]+"=2 ignored", "[OK] Moved ")
	if got := c.Topology(t).ByID(m.ID).Slots.Len(); got != 8192 {
		t.Fatalf("the master weighted 2 of 4 has %d slots, want 8192", got)
	}
}

// TestAddNodeWithFunctions: a node that already holds functions is
// refused, with redis-cli's words, and nothing is changed.
func TestAddNodeWithFunctions(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	n := redistest.StartNodes(t, 1, redistest.Options{})[0]
	nc := n.Client()
	defer nc.Close()
	lib := "#!lua name=mylib\nredis.register_function('f', function() return 1 end)"
	if err := nc.FunctionLoad(t.Context(), lib).Err(); err != nil {
		t.Fatal(err)
	}
	cli := c.CLI(t, "--cluster", "add-node", n.Addr(), c.Addr())
	if cli.Code == 0 || !strings.Contains(cli.Output(), "node already contains functions") {
		t.Fatalf("redis-cli's own refusal changed (exit %d):\n%s", cli.Code, cli.Output())
	}
	r := run(t, "--cluster", "add-node", n.Addr(), c.Addr())
	expect(t, "add-node into a node with functions", r, 1, "New node already contains functions and can not be added to the cluster",
		"Use FUNCTION FLUSH and try again.")
	if known, err := nc.ClusterNodes(t.Context()).Result(); err != nil || strings.Count(known, "\n") != 1 {
		t.Fatalf("the refused node met the cluster anyway:\n%s %v", known, err)
	}
}

// TestSetTimeoutWithoutConfigFile: nodes started from options only
// (docker-style) take CONFIG SET but cannot CONFIG REWRITE. The timeout is
// in effect, so set-timeout exits 0, as redis-cli does, and says it is not
// persisted and why.
func TestSetTimeoutWithoutConfigFile(t *testing.T) {
	nodes := redistest.StartNodes(t, 3, redistest.Options{NoConfigFile: true})
	args := []string{"--cluster", "create"}
	for _, n := range nodes {
		args = append(args, n.Addr())
	}
	expect(t, "create", run(t, append(args, "--cluster-yes")...), 0, "[OK] All 16384 slots covered.")
	c := &harness.Cluster{Nodes: nodes}
	c.WaitHealthy(t)
	cli := c.CLI(t, "--cluster", "set-timeout", c.Addr(), "7000")
	if cli.Code != 0 {
		t.Fatalf("redis-cli itself exits %d:\n%s", cli.Code, cli.Output())
	}
	r := run(t, "--cluster", "set-timeout", c.Addr(), "8000")
	expect(t, "set-timeout on nodes without a config file", r, 0,
		">>> New node timeout set. 3 OK, 0 ERR.",
		"[WARNING] cluster-node-timeout is set but not persisted on 3 node(s) (CONFIG REWRITE: ERR The server is running without a config file)")
	for _, n := range nodes {
		cl := n.Client()
		v, err := cl.ConfigGet(t.Context(), "cluster-node-timeout").Result()
		cl.Close()
		if err != nil || v["cluster-node-timeout"] != "8000" {
			t.Fatalf("%s: cluster-node-timeout = %v, %v; want 8000", n.Addr(), v, err)
		}
	}
}

// TestAnswersOnStandardInput: scripts answer redis-cli's prompts through
// standard input (`fix ADDR <<< yes`, `echo yes | ...`); gocluster reads
// them there too. "no" changes nothing; an empty standard input is still
// refused at once (exit 2), never a hang.
func TestAnswersOnStandardInput(t *testing.T) {
	nodes := redistest.StartNodes(t, 3, redistest.Options{})
	create := []string{"--cluster", "create", nodes[0].Addr(), nodes[1].Addr(), nodes[2].Addr()}
	bin := harness.Binary(t)
	r := harness.Exec(t, bin, harness.Cmd{Args: create})
	expect(t, "create with an empty standard input", r, 2, "standard input is empty")
	r = harness.Exec(t, bin, harness.Cmd{Args: create, Stdin: "no\n"})
	expect(t, "create answered no", r, 1, "Can I set the above configuration? (type 'yes' to accept): no")
	if known := nodes[0].Client().ClusterNodes(t.Context()).Val(); strings.Count(known, "\n") != 1 {
		t.Fatalf("create answered no changed the nodes:\n%s", known)
	}
	r = harness.Exec(t, bin, harness.Cmd{Args: create, Stdin: "yes\n"})
	expect(t, "echo yes | create", r, 0, "Can I set the above configuration? (type 'yes' to accept): yes", "[OK] All 16384 slots covered.")
	c := &harness.Cluster{Nodes: nodes}
	c.WaitHealthy(t)

	ms := c.Topology(t).Masters()
	reshard := []string{"--cluster", "reshard", c.Addr(), "--cluster-from", ms[0].ID, "--cluster-to", ms[1].ID, "--cluster-slots", "5"}
	r = harness.Exec(t, bin, harness.Cmd{Args: reshard, Stdin: "no\n"})
	expect(t, "echo no | reshard", r, 1, "Do you want to proceed with the proposed reshard plan (yes/no)? no", "Nothing changed.")
	if got := c.Topology(t).ByID(ms[1].ID).Slots.Len(); got != ms[1].Slots.Len() {
		t.Fatalf("reshard answered no moved %d slots", got-ms[1].Slots.Len())
	}
	r = harness.Exec(t, bin, harness.Cmd{Args: reshard, Stdin: "yes\n"})
	expect(t, "echo yes | reshard", r, 0, "Do you want to proceed with the proposed reshard plan (yes/no)? yes")
	if got := c.Topology(t).ByID(ms[1].ID).Slots.Len(); got != ms[1].Slots.Len()+5 {
		t.Fatalf("reshard answered yes moved %d slots, want 5", got-ms[1].Slots.Len())
	}

	// An open slot for fix to repair, answered like `redis-cli --cluster fix ADDR <<< yes`.
	owner := c.Topology(t).Masters()[2]
	slot := owner.Slots.Slots()[0]
	var ownerServer *redistest.Server
	for _, n := range nodes {
		if n.Addr() == owner.Addr() {
			ownerServer = n
		}
	}
	oc := ownerServer.Client()
	defer oc.Close()
	if err := oc.Do(t.Context(), "CLUSTER", "SETSLOT", slot, "MIGRATING", ms[0].ID).Err(); err != nil {
		t.Fatal(err)
	}
	r = harness.Exec(t, bin, harness.Cmd{Args: []string{"--cluster", "fix", c.Addr()}, Stdin: "yes\n"})
	expect(t, "fix <<< yes", r, 0, "Fixing open slot", "(type 'yes' to accept): yes")
	assertRedisCheckClean(t, c)
	if got := c.RedisCheck(t); strings.Contains(got.Stdout, "[WARNING]") {
		t.Fatalf("the open slot is still there:\n%s", got.Output())
	}
}
