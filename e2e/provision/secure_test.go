package provision

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// TestPasswordCluster creates a replicated cluster with -a, after a wrong
// password was refused without touching any node, then adds and removes a
// replica with the password.
func TestPasswordCluster(t *testing.T) {
	opts := fastNodes
	opts.Password = "s3cret"
	nodes := redistest.StartNodes(t, 7, opts, threeHosts...)
	six, extra := nodes[:6], nodes[6]
	before := states(t, six)
	r := harness.Run(t, append(append([]string{"create", "-a", "wrong"}, addrs(six)...), "--replicas", "1", "--yes")...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "authentication failed") || !strings.Contains(r.Stderr, six[0].Addr()) {
		t.Fatalf("wrong password: want exit 1 naming the node, got %d:\n%s", r.Code, r.Output())
	}
	expectUntouched(t, six, before)

	mustRun(t, append(append([]string{"create", "-a", "s3cret"}, addrs(six)...), "--replicas", "1", "--yes")...)
	auth := []string{"-a", "s3cret", "--no-auth-warning"}
	redisCheck(t, six[0].Addr(), auth...)
	noReplicaOnMasterHost(t, six[0])

	// REDISCLI_AUTH is honoured as by redis-cli.
	start := time.Now()
	ar := harness.Exec(t, harness.Binary(t), harness.Cmd{Args: []string{"add-node", extra.Addr(), six[0].Addr(), "--replica"},
		Env: []string{"REDISCLI_AUTH=s3cret"}})
	if ar.Code != 0 {
		t.Fatalf("add-node with REDISCLI_AUTH: exit %d\n%s", ar.Code, ar.Output())
	}
	t.Logf("gocluster add-node: %s", time.Since(start).Round(time.Millisecond))
	redisCheck(t, six[0].Addr(), auth...)
	mustRun(t, "del-node", "-a", "s3cret", six[0].Addr(), myself(t, extra).ID)
	waitExited(t, extra)
	redisCheck(t, six[0].Addr(), auth...)
}

// TestACLUserCluster creates a cluster as an ACL user whose password is
// not the default user's, so only --user can succeed.
func TestACLUserCluster(t *testing.T) {
	opts := fastNodes
	opts.Password = "default-pass" // the default user, for the test's own inspection
	opts.Args = append(append([]string{}, opts.Args...), "--user", "admin", "on", ">admin-pass", "~*", "&*", "+@all")
	nodes := redistest.StartNodes(t, 4, opts, threeHosts...)
	three, extra := nodes[:3], nodes[3]
	before := states(t, nodes)
	r := harness.Run(t, append(append([]string{"create", "-a", "admin-pass"}, addrs(three)...), "--yes")...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "authentication failed") {
		t.Fatalf("admin's password for the default user must fail, got %d:\n%s", r.Code, r.Output())
	}
	expectUntouched(t, nodes, before)

	user := []string{"--user", "admin", "-a", "admin-pass"}
	r = mustRun(t, append(append(append([]string{"create", "--json"}, user...), addrs(three)...), "--yes")...)
	var doc struct {
		OK    bool `json:"ok"`
		Check struct {
			CoveredSlots int `json:"covered_slots"`
			Nodes        []struct {
				Role string `json:"role"`
			} `json:"nodes"`
		} `json:"check"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || !doc.OK || doc.Check.CoveredSlots != 16384 || len(doc.Check.Nodes) != 3 {
		t.Fatalf("create --json: %v %+v\n%s", err, doc, r.Output())
	}
	cliAuth := []string{"--user", "admin", "--pass", "admin-pass", "--no-auth-warning"}
	redisCheck(t, three[0].Addr(), cliAuth...)
	mustRun(t, append(append([]string{"add-node"}, user...), extra.Addr(), three[0].Addr())...)
	redisCheck(t, three[0].Addr(), cliAuth...)
	mustRun(t, append(append([]string{"del-node"}, user...), three[0].Addr(), extra.Addr(), "--no-shutdown")...)
	redisCheck(t, three[0].Addr(), cliAuth...)
}

// TestTLSCluster creates a replicated cluster whose nodes speak TLS only
// (clients, cluster bus and replication) with certificates made here.
func TestTLSCluster(t *testing.T) {
	files := redistest.MakeTLS(t)
	opts := fastNodes
	opts.TLS = files
	nodes := redistest.StartNodes(t, 7, opts, threeHosts...)
	six, extra := nodes[:6], nodes[6]
	tlsArgs := files.CLIArgs()

	// Without TLS the nodes cannot be talked to: refused, nothing changed.
	before := states(t, six)
	r := harness.Run(t, append(append([]string{"create"}, addrs(six)...), "--replicas", "1", "--yes")...)
	if r.Code != 1 || !strings.Contains(r.Stderr, six[0].Addr()) {
		t.Fatalf("plain-text create against TLS nodes: want exit 1 naming a node, got %d:\n%s", r.Code, r.Output())
	}
	expectUntouched(t, six, before)

	mustRun(t, append(append(append([]string{"create"}, tlsArgs...), addrs(six)...), "--replicas", "1", "--yes")...)
	redisCheck(t, six[0].Addr(), tlsArgs...)
	noReplicaOnMasterHost(t, six[0])
	mustRun(t, append(append([]string{"add-node"}, tlsArgs...), extra.Addr(), six[1].Addr(), "--replica")...)
	redisCheck(t, six[0].Addr(), tlsArgs...)
	mustRun(t, append(append([]string{"del-node"}, tlsArgs...), six[0].Addr(), myself(t, extra).ID)...)
	redisCheck(t, six[0].Addr(), tlsArgs...)
}
