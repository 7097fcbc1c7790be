package badinput

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// seedCommand is a command whose node argument is replaced by a bad one.
type seedCommand struct {
	name string
	args func(node string) []string
}

// seedCommands lists every command that connects to a node, with the
// node argument in each position a user could get wrong.
func (w *world) seedCommands(t *testing.T) []seedCommand {
	dir := t.TempDir()
	return []seedCommand{
		{"check", func(n string) []string { return []string{"check", n} }},
		{"info", func(n string) []string { return []string{"info", n} }},
		{"call", func(n string) []string { return []string{"call", n, "PING"} }},
		{"set-timeout", func(n string) []string { return []string{"set-timeout", n, "5000"} }},
		{"fix", func(n string) []string { return []string{"fix", n, "--yes"} }},
		{"reshard", func(n string) []string {
			return []string{"reshard", n, "--from", "all", "--to", w.masterIDs[0], "--slots", "10", "--yes"}
		}},
		{"rebalance", func(n string) []string { return []string{"rebalance", n, "--use-empty-masters"} }},
		{"del-node", func(n string) []string { return []string{"del-node", n, w.replicaID, "--yes"} }},
		{"add-node existing", func(n string) []string { return []string{"add-node", w.spare.Addr(), n} }},
		{"add-node new", func(n string) []string { return []string{"add-node", n, w.seed} }},
		{"create", func(n string) []string {
			return []string{"create", n, w.spares[1].Addr(), w.spares[2].Addr(), "--yes"}
		}},
		{"import target", func(n string) []string { return []string{"import", n, "--from", w.plain.Addr()} }},
		{"import source", func(n string) []string { return []string{"import", w.seed, "--from", n} }},
		{"backup", func(n string) []string { return []string{"backup", n, filepath.Join(dir, "b")} }},
	}
}

// TestBadInput runs every command against one real cluster and the odd
// nodes around it.
func TestBadInput(t *testing.T) {
	w := newWorld(t)
	t.Run("addresses", func(t *testing.T) { w.addresses(t) })
	t.Run("auth", func(t *testing.T) { runBad(t, w.authCases()) })
	t.Run("malformed CLUSTER NODES", func(t *testing.T) { w.malformedNodes(t) })
	t.Run("node references", func(t *testing.T) { runBad(t, w.nodeRefCases()) })
	t.Run("numbers", func(t *testing.T) { runBad(t, w.numberCases()) })
	t.Run("create", func(t *testing.T) { runBad(t, w.createCases()) })
	t.Run("import", func(t *testing.T) { runBad(t, w.importCases()) })
	t.Run("backup", func(t *testing.T) { runBad(t, w.backupCases(t)) })
	t.Run("json", func(t *testing.T) {
		runBad(t, withJSON(slices.Concat(w.nodeRefCases(), w.createCases(), w.importCases())))
	})
	t.Run("call", func(t *testing.T) { w.call(t) })
	t.Run("no terminal", func(t *testing.T) { w.noTerminal(t) })
	// Nothing above may have left the cluster unhealthy.
	if r := w.cluster.RedisCheck(t); r.Code != 0 || strings.Contains(r.Stdout, "[ERR]") {
		t.Fatalf("cluster is not healthy after the bad input:\n%s", r.Output())
	}
}

// withJSON is the same cases asked for a JSON answer: the error is the
// same, and stdout stays empty or one JSON document.
func withJSON(cases []badCase) []badCase {
	out := make([]badCase, len(cases))
	for i, c := range cases {
		c.args = slices.Concat(c.args, []string{"--json"})
		out[i] = c
	}
	return out
}

// addresses gives every command each kind of bad node address.
func (w *world) addresses(t *testing.T) {
	type badAddr struct {
		name, addr string
		code       int
		want       []string
		extra      []string
	}
	bad := []badAddr{
		{"no port", "localhost", 2, []string{`"localhost"`, "host:port"}, nil},
		{"port 0", "1.2.3.4:0", 2, []string{`"1.2.3.4:0"`, "out of range"}, nil},
		{"unclosed bracket", "[::1", 2, []string{`"[::1"`}, nil},
		{"port too big", "host:99999", 2, []string{`"host:99999"`, "out of range"}, nil},
		{"closed port", w.closed, 1, []string{w.closed, "connection refused"}, nil},
		{"unresolvable host", "no-such-host.invalid:7000", 1, []string{"no-such-host.invalid", "cannot resolve"}, nil},
		{"garbage reply", w.garbage, 1, []string{w.garbage, "not valid RESP"}, nil},
		{"hangs up", w.closer, 1, []string{w.closer, "connection closed"}, nil},
		{"never answers", w.silent, 1, []string{w.silent, "timed out"}, []string{"--command-timeout", "1s"}},
		{"not a cluster node", w.plain.Addr(), 1, []string{w.plain.Addr(), "cluster"}, nil},
		{"needs a password", w.secured.Addr(), 1, []string{w.secured.Addr(), "authentication required"}, nil},
	}
	for _, sc := range w.seedCommands(t) {
		t.Run(sc.name, func(t *testing.T) {
			var cases []badCase
			for _, b := range bad {
				if sc.name == "import source" && b.addr == w.plain.Addr() {
					continue // a plain node is a fine import source
				}
				cases = append(cases, badCase{name: b.name, args: append(sc.args(b.addr), b.extra...),
					code: b.code, want: b.want, watch: w.all, timeout: 20 * time.Second})
			}
			runBad(t, cases)
		})
	}
}

func (w *world) authCases() []badCase {
	sec := w.secured.Addr()
	return []badCase{
		{name: "check wrong password", args: []string{"check", sec, "-a", "wrong"}, code: 1,
			want: []string{sec, "authentication failed"}},
		{name: "check password on a node without one", args: []string{"check", w.seed, "-a", "wrong"}, code: 1,
			want: []string{w.seed, "has no password"}},
		{name: "info wrong ACL user", args: []string{"info", sec, "--user", "nobody", "-a", "s3cret"}, code: 1,
			want: []string{sec, "authentication failed"}},
		{name: "REDISCLI_AUTH wrong", args: []string{"call", sec, "PING"}, env: []string{"REDISCLI_AUTH=wrong"}, code: 1,
			want: []string{sec, "authentication failed"}},
		{name: "add-node secured node without password", args: []string{"add-node", sec, w.seed}, code: 1,
			want: []string{sec, "authentication required"}, watch: w.all},
		{name: "create with a node that needs a password",
			args: []string{"create", w.spares[0].Addr(), w.spares[1].Addr(), sec, "--yes"}, code: 1,
			want: []string{sec, "authentication required"}, watch: w.all},
		{name: "set-timeout wrong user", args: []string{"set-timeout", w.seed, "6000", "--user", "nobody", "-a", "x"}, code: 1,
			want: []string{w.seed, "authentication failed"}, watch: w.all},
	}
}

// malformedNodes points commands at a fake node whose CLUSTER NODES reply
// is broken in one way or another.
func (w *world) malformedNodes(t *testing.T) {
	const id = "0123456789012345678901234567890123456789"
	line := func(addr, rest string) string {
		host, port, _ := strings.Cut(addr, ":")
		return fmt.Sprintf("%s %s:%s@1%s %s\n", id, host, port, port, rest)
	}
	replies := []struct {
		name  string
		nodes func(addr string) string
		want  string
	}{
		{"not node lines", func(string) string { return "garbage line\n" }, "line 1"},
		{"empty", func(string) string { return "" }, "empty"},
		{"slot out of range", func(a string) string { return line(a, "myself,master - 0 0 1 connected 0-99999") }, "99999"},
		{"slot not a number", func(a string) string { return line(a, "myself,master - 0 0 1 connected abc") }, `"abc"`},
		{"range backwards", func(a string) string { return line(a, "myself,master - 0 0 1 connected 16383-0") }, "16383-0"},
		{"no myself line", func(a string) string { return line(a, "master - 0 0 1 connected 0-16383") }, "myself"},
		{"duplicate node ID", func(a string) string {
			return line(a, "myself,master - 0 0 1 connected 0-100") + line(a, "master - 0 0 1 connected 101-16383")
		}, id},
		{"truncated node ID", func(a string) string {
			return strings.Replace(line(a, "myself,master - 0 0 1 connected 0-16383"), id, "0123", 1)
		}, "0123"},
	}
	for _, rp := range replies {
		t.Run(rp.name, func(t *testing.T) {
			fake := fakeNode(t, rp.nodes)
			var cases []badCase
			for _, sc := range w.seedCommands(t) {
				switch sc.name {
				case "add-node new", "create", "import source": // they do not read CLUSTER NODES of it
					continue
				}
				cases = append(cases, badCase{name: sc.name, args: sc.args(fake), code: 1,
					want: []string{fake, rp.want}, watch: w.all, timeout: 20 * time.Second})
			}
			runBad(t, cases)
		})
	}
}

func (w *world) nodeRefCases() []badCase {
	const unknown = "ffffffffffffffffffffffffffffffffffffffff"
	m0, m1 := w.masterIDs[0], w.masterIDs[1]
	reshard := func(from, to string) []string {
		return []string{"reshard", w.seed, "--from", from, "--to", to, "--slots", "10", "--yes"}
	}
	return []badCase{
		{name: "reshard --to unknown", args: reshard("all", unknown), code: 2, want: []string{unknown}, watch: w.all},
		{name: "reshard --to ambiguous", args: reshard("all", w.ambiguous), code: 2, want: []string{w.ambiguous, "ambiguous"}, watch: w.all},
		{name: "reshard --to replica", args: reshard("all", w.replicaID), code: 2, want: []string{"not a master"}, watch: w.all},
		{name: "reshard --to a node outside the cluster", args: reshard("all", w.spare.Addr()), code: 2, want: []string{w.spare.Addr()}, watch: w.all},
		{name: "reshard --from unknown", args: reshard(unknown, m0), code: 2, want: []string{unknown}, watch: w.all},
		{name: "reshard --from ambiguous", args: reshard(w.ambiguous, m0), code: 2, want: []string{w.ambiguous, "ambiguous"}, watch: w.all},
		{name: "reshard --from one unknown of two", args: reshard(m1+","+unknown, m0), code: 2, want: []string{unknown}, watch: w.all},
		{name: "reshard --from equals --to", args: reshard(m0, m0), code: 2, want: []string{"target"}, watch: w.all},
		{name: "reshard --from replica", args: reshard(w.replicaID, m0), code: 2, want: []string{"not a master"}, watch: w.all},
		{name: "del-node unknown", args: []string{"del-node", w.seed, unknown, "--yes"}, code: 1, want: []string{unknown}, watch: w.all},
		{name: "del-node ambiguous", args: []string{"del-node", w.seed, w.ambiguous, "--yes"}, code: 1, want: []string{w.ambiguous, "ambiguous"}, watch: w.all},
		{name: "del-node master with slots", args: []string{"del-node", w.seed, m0, "--yes"}, code: 1, want: []string{m0, "not empty"}, watch: w.all},
		{name: "del-node a node outside the cluster", args: []string{"del-node", w.seed, w.spare.Addr(), "--yes"}, code: 1, want: []string{w.spare.Addr()}, watch: w.all},
		{name: "add-node --master-id unknown", args: []string{"add-node", w.spare.Addr(), w.seed, "--master-id", unknown}, code: 1,
			want: []string{unknown}, watch: w.all},
		{name: "add-node --master-id ambiguous", args: []string{"add-node", w.spare.Addr(), w.seed, "--master-id", w.ambiguous}, code: 1,
			want: []string{w.ambiguous, "ambiguous"}, watch: w.all},
		{name: "add-node --master-id replica", args: []string{"add-node", w.spare.Addr(), w.seed, "--master-id", w.replicaID}, code: 1,
			want: []string{"not a master"}, watch: w.all},
		{name: "add-node a member", args: []string{"add-node", w.masters[1].Addr(), w.seed}, code: 1,
			want: []string{w.masters[1].Addr(), "already"}, watch: w.all},
		{name: "add-node itself", args: []string{"add-node", w.spare.Addr(), w.spare.Addr()}, code: 2,
			want: []string{w.spare.Addr()}, watch: w.all},
		{name: "rebalance --weight unknown", args: []string{"rebalance", w.seed, "--weight", unknown + "=2"}, code: 2,
			want: []string{unknown}, watch: w.all},
		{name: "rebalance --weight ambiguous", args: []string{"rebalance", w.seed, "--weight", w.ambiguous + "=2"}, code: 2,
			want: []string{w.ambiguous, "ambiguous"}, watch: w.all},
		{name: "rebalance positional weight unknown", args: []string{"rebalance", w.seed, unknown + "=2"}, code: 2,
			want: []string{unknown}, watch: w.all},
	}
}

func (w *world) numberCases() []badCase {
	m0 := w.masterIDs[0]
	reshard := func(extra ...string) []string {
		return append([]string{"reshard", w.seed, "--from", "all", "--to", m0, "--slots", "10", "--yes"}, extra...)
	}
	rebalance := func(extra ...string) []string { return append([]string{"rebalance", w.seed}, extra...) }
	var cases []badCase
	add := func(name string, args []string, want ...string) {
		cases = append(cases, badCase{name: name, args: args, code: 2, want: want, watch: w.all})
	}
	for _, n := range []string{"0", "-1", "16385", "abc", "1.5", ""} {
		add("reshard --slots "+n, reshard("--slots", n), "--slots", n)
	}
	for _, v := range []string{"abc", "-1", "0", "1.5s.", ""} {
		add("reshard --timeout "+v, reshard("--timeout", v), "--timeout")
	}
	for _, v := range []string{"0", "-1", "abc"} {
		add("reshard --pipeline "+v, reshard("--pipeline", v), "--pipeline", v)
	}
	for _, v := range []string{"foo", "=1", m0 + "=abc", m0 + "=-1", m0 + "=NaN", m0 + "=Inf", m0 + "=", m0 + "=1e400"} {
		add("rebalance --weight "+v, rebalance("--weight", v), v)
	}
	add("rebalance every weight zero", rebalance("--weight", w.masterIDs[0]+"=0", "--weight", w.masterIDs[1]+"=0",
		"--weight", w.masterIDs[2]+"=0"), "weight")
	for _, v := range []string{"abc", "-5", "NaN"} {
		add("rebalance --threshold "+v, rebalance("--threshold", v), "--threshold", v)
	}
	for _, v := range []string{"0", "abc"} {
		add("rebalance --timeout "+v, rebalance("--timeout", v), "--timeout", v)
		add("rebalance --pipeline "+v, rebalance("--pipeline", v), "--pipeline", v)
	}
	for _, v := range []string{"abc", "0", "99", "-5", "12.5", "99999999999999999999", `""`} {
		add("set-timeout "+v, []string{"set-timeout", w.seed, strings.Trim(v, `"`)}, v)
	}
	for _, v := range []string{"x", "0", "-1"} {
		add("fix --timeout "+v, []string{"fix", w.seed, "--timeout", v, "--yes"}, "--timeout", v)
	}
	for _, v := range []string{"0", "-1"} {
		add("fix --pipeline "+v, []string{"fix", w.seed, "--pipeline", v, "--yes"}, "--pipeline", v)
		add("import --pipeline "+v, []string{"import", w.seed, "--from", w.plain.Addr(), "--pipeline", v}, "--pipeline", v)
	}
	add("--connect-timeout abc", []string{"check", w.seed, "--connect-timeout", "abc"}, "--connect-timeout", "abc")
	for _, v := range []string{"-1s", "0"} {
		add("--command-timeout "+v, []string{"fix", w.seed, "--command-timeout", v, "--yes"}, "--command-timeout", v)
		add("--connect-timeout "+v, []string{"check", w.seed, "--connect-timeout", v}, "--connect-timeout", v)
	}
	for _, args := range [][]string{
		{"create", w.spares[0].Addr(), w.spares[1].Addr(), w.spares[2].Addr(), "--yes"},
		{"add-node", w.spare.Addr(), w.seed},
		{"del-node", w.seed, w.replicaID, "--yes"},
	} {
		add(args[0]+" --converge-timeout 0", slices.Concat(args, []string{"--converge-timeout", "0"}), "--converge-timeout", "0")
		add(args[0]+" --converge-timeout -1s", slices.Concat(args, []string{"--converge-timeout", "-1s"}), "--converge-timeout", "-1s")
	}
	add("--cacert missing file", []string{"check", w.seed, "--tls", "--cacert", "/nonexistent/ca.pem"}, "/nonexistent/ca.pem")
	add("--cert missing file", []string{"check", w.seed, "--cert", "/nonexistent/c.pem", "--key", "/nonexistent/k.pem"}, "/nonexistent/")
	cases = append(cases, badCase{name: "--tls to a plain node", args: []string{"check", w.seed, "--tls", "--insecure", "--connect-timeout", "1s"},
		code: 1, want: []string{w.seed, "is TLS enabled on that port?"}, timeout: 15 * time.Second})
	return cases
}

func (w *world) createCases() []badCase {
	s0, s1, s2 := w.spares[0].Addr(), w.spares[1].Addr(), w.spares[2].Addr()
	create := func(extra ...string) []string { return append([]string{"create"}, extra...) }
	return []badCase{
		{name: "nodes of a cluster", args: create(w.seed, w.masters[1].Addr(), s0, "--yes"), code: 1,
			want: []string{w.seed, w.masters[1].Addr(), "not empty"}, watch: w.all},
		{name: "a non-cluster node", args: create(s0, s1, w.plain.Addr(), "--yes"), code: 1,
			want: []string{w.plain.Addr(), "cluster"}, watch: w.all},
		{name: "a closed port", args: create(s0, s1, w.closed, "--yes"), code: 1,
			want: []string{w.closed, "connection refused"}, watch: w.all},
		{name: "duplicate node", args: create(s0, s1, s0, "--yes"), code: 2, want: []string{s0, "more than once"}, watch: w.all},
		// Only connecting shows that two spellings are one node: exit 1.
		{name: "duplicate spelled differently", args: create(s0, s1, strings.Replace(s0, "127.0.0.1", "localhost", 1), "--yes"),
			code: 1, want: []string{"localhost", "same node"}, watch: w.all},
		{name: "too few masters", args: create(s0, s1, "--yes"), code: 2, want: []string{"3 master"}, watch: w.all},
		{name: "too few for replicas", args: create(s0, s1, s2, "--replicas", "1", "--yes"), code: 2, want: []string{"6"}, watch: w.all},
		{name: "--replicas -1", args: create(s0, s1, s2, "--replicas", "-1", "--yes"), code: 2, want: []string{"--replicas", "-1"}, watch: w.all},
		{name: "--replicas abc", args: create(s0, s1, s2, "--replicas", "abc", "--yes"), code: 2, want: []string{"--replicas", "abc"}, watch: w.all},
		{name: "--replicas huge", args: create(s0, s1, s2, "--replicas", "100000000000", "--yes"), code: 2, want: []string{"100000000000"}, watch: w.all},
		{name: "no nodes", args: create("--yes"), code: 2, want: []string{"create"}},
	}
}

func (w *world) importCases() []badCase {
	sec := w.secured.Addr()
	imp := func(extra ...string) []string { return append([]string{"import", w.seed}, extra...) }
	return []badCase{
		{name: "no --from", args: imp(), code: 2, want: []string{"--from"}, watch: w.all},
		{name: "--from without port", args: imp("--from", "localhost"), code: 2, want: []string{"--from", `"localhost"`}, watch: w.all},
		{name: "--from closed port", args: imp("--from", w.closed), code: 1, want: []string{w.closed, "connection refused"}, watch: w.all},
		{name: "--from needs a password", args: imp("--from", sec), code: 1, want: []string{sec, "--from-pass"}, watch: w.all},
		{name: "--from-pass wrong", args: imp("--from", sec, "--from-pass", "wrong"), code: 1,
			want: []string{sec, "authentication failed"}, watch: w.all},
		{name: "--from-user unknown", args: imp("--from", sec, "--from-pass", "s3cret", "--from-user", "nobody"), code: 1,
			want: []string{sec, "authentication failed"}, watch: w.all},
		{name: "--from a node of the cluster", args: imp("--from", w.masters[1].Addr()), code: 1,
			want: []string{w.masters[1].Addr(), "this cluster"}, watch: w.all},
		{name: "--from a cluster node", args: imp("--from", w.spare.Addr()), code: 1,
			want: []string{w.spare.Addr(), "cluster node"}, watch: w.all},
		{name: "--from garbage", args: imp("--from", w.garbage), code: 1, want: []string{w.garbage, "not valid RESP"}, watch: w.all},
		{name: "--copy and --replace with a source that refuses auth", args: imp("--from", sec, "--copy", "--replace", "--from-pass", "bad"),
			code: 1, want: []string{sec, "authentication failed"}, watch: w.all},
		{name: "into a non-cluster node", args: []string{"import", w.plain.Addr(), "--from", sec, "--from-pass", "s3cret"}, code: 1,
			want: []string{w.plain.Addr(), "cluster"}, watch: w.all},
	}
}

func (w *world) backupCases(t *testing.T) []badCase {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []badCase{
		{name: "a file where the directory should be", args: []string{"backup", w.seed, file}, code: 2, want: []string{file}},
		{name: "under a file", args: []string{"backup", w.seed, filepath.Join(file, "sub")}, code: 2, want: []string{file}},
		{name: "empty directory name", args: []string{"backup", w.seed, ""}, code: 2, want: []string{"directory"}},
		{name: "missing directory argument", args: []string{"backup", w.seed}, code: 2, want: []string{"backup"}},
	}
}

// call: a command every node rejects fails with a summary line; bad
// flag combinations are usage errors.
func (w *world) call(t *testing.T) {
	r := harness.Run(t, "call", w.seed, "NOSUCHCMD", "x")
	checkOutcome(t, []string{"call", w.seed, "NOSUCHCMD"}, r, 1, "NOSUCHCMD", "6")
	if n := strings.Count(r.Stdout, "unknown command"); n != 6 {
		t.Errorf("want the error of each of the 6 nodes on stdout, got %d:\n%s", n, r.Stdout)
	}
	runBad(t, []badCase{
		{name: "wrong arity", args: []string{"call", w.seed, "GET"}, code: 1, want: []string{"GET"}},
		{name: "only-masters and only-replicas", args: []string{"call", w.seed, "PING", "--only-masters", "--only-replicas"},
			code: 2, want: []string{"--only-masters", "--only-replicas"}},
		{name: "no command", args: []string{"call", w.seed}, code: 2, want: []string{"call"}},
	})
}

// noTerminal: commands that would ask must fail fast as usage errors when
// there is no terminal and no --yes, and change nothing.
func (w *world) noTerminal(t *testing.T) {
	m0 := w.masterIDs[0]
	runBad(t, []badCase{
		{name: "reshard without --yes", args: []string{"reshard", w.seed, "--from", "all", "--to", m0, "--slots", "10"},
			code: 2, want: []string{"--yes"}, watch: w.all},
		{name: "reshard with REDISCLI_CLUSTER_YES=0", args: []string{"reshard", w.seed, "--from", "all", "--to", m0, "--slots", "10"},
			env: []string{"REDISCLI_CLUSTER_YES=0"}, code: 2, want: []string{"--yes"}, watch: w.all},
		{name: "reshard wizard", args: []string{"reshard", w.seed}, code: 2, want: []string{"--from", "--to", "--slots"}, watch: w.all},
		{name: "create without --yes", args: []string{"create", w.spares[0].Addr(), w.spares[1].Addr(), w.spares[2].Addr()},
			code: 2, want: []string{"--yes"}, watch: w.all},
	})
	// fix only asks when there is something to repair: open a slot (which
	// the other operations must refuse to work around).
	owner := w.masters[0]
	slot := firstSlot(t, owner)
	ctx := context.Background()
	oc := owner.Client()
	defer oc.Close()
	if err := oc.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", w.masterIDs[1]).Err(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		oc.Do(ctx, "CLUSTER", "SETSLOT", slot, "STABLE")
		w.cluster.WaitHealthy(t)
	}()
	runBad(t, []badCase{
		{name: "fix without --yes", args: []string{"fix", w.seed}, code: 2, want: []string{"--yes"}, watch: w.all},
		{name: "fix --json without --yes", args: []string{"fix", w.seed, "--json"}, code: 2, want: []string{"--yes"}, watch: w.all},
		// An open slot is a problem the operations must not walk into.
		{name: "reshard with an open slot", args: []string{"reshard", w.seed, "--from", "all", "--to", w.masterIDs[2], "--slots", "10", "--yes"},
			code: 1, want: []string{fmt.Sprint(slot), "fix"}, watch: w.all},
		{name: "rebalance with an open slot", args: []string{"rebalance", w.seed, "--weight", w.masterIDs[2] + "=2"},
			code: 1, want: []string{fmt.Sprint(slot), "fix"}, watch: w.all},
		{name: "add-node with an open slot", args: []string{"add-node", w.spare.Addr(), w.seed},
			code: 1, want: []string{fmt.Sprint(slot)}, watch: w.all},
		{name: "import with an open slot", args: []string{"import", w.seed, "--from", w.plain.Addr()},
			code: 1, want: []string{fmt.Sprint(slot)}, watch: w.all},
	})
}

// firstSlot is the first slot a master serves.
func firstSlot(t *testing.T, s *redistest.Server) int {
	t.Helper()
	c := s.Client()
	defer c.Close()
	slots, err := c.ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range slots {
		if len(r.Nodes) > 0 && r.Nodes[0].Addr == s.Addr() {
			return int(r.Start)
		}
	}
	t.Fatalf("%s serves no slot", s.Addr())
	return 0
}
