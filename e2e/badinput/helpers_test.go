// Package badinput throws bad input at every gocluster command - wrong
// addresses, closed ports, wrong passwords, unknown or ambiguous node IDs,
// out-of-range numbers, nodes that are not empty or not cluster nodes,
// servers that answer garbage or never answer, missing terminals - and
// checks that each gets one clear line naming the problem, the documented
// exit code, no panic, no hang, and no change to the cluster.
package badinput

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// usageHint is the line gocluster adds after a usage error.
const usageHint = "Run 'gocluster --help' or 'gocluster COMMAND --help' for usage."

// badCase is one bad invocation and what it must produce.
type badCase struct {
	name string
	args []string
	code int      // 1 cluster/operation error, 2 usage error
	want []string // each must appear in the first stderr line
	// watch are the nodes that must be exactly as before (slots, roles,
	// epochs, keys, node timeout); nil for commands that change nothing.
	watch   []*redistest.Server
	timeout time.Duration // default 30 s
	env     []string
	stdin   string
}

// runBad runs every case as a subtest.
func runBad(t *testing.T, cases []badCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

func (c badCase) run(t *testing.T) {
	t.Helper()
	var before map[string]string
	if c.watch != nil {
		before = snapshot(t, c.watch)
	}
	timeout := c.timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	start := time.Now()
	r := harness.Exec(t, harness.Binary(t), harness.Cmd{Args: c.args, Env: c.env, Stdin: c.stdin, Timeout: timeout})
	took := time.Since(start).Round(time.Millisecond)
	checkOutcome(t, c.args, r, c.code, c.want...)
	if slices.Contains(c.args, "--json") && strings.TrimSpace(r.Stdout) != "" && !json.Valid([]byte(r.Stdout)) {
		t.Errorf("gocluster %s: with --json, stdout is neither empty nor one JSON document:\n%s", strings.Join(c.args, " "), r.Stdout)
	}
	if c.watch != nil {
		after := snapshot(t, c.watch)
		for _, addr := range slices.Sorted(maps.Keys(before)) {
			if before[addr] != after[addr] {
				t.Errorf("gocluster %s changed %s (in %s):\n--- before\n%s\n--- after\n%s\n--- output\n%s",
					strings.Join(c.args, " "), addr, took, before[addr], after[addr], r.Output())
			}
		}
	}
}

// checkOutcome asserts the exit code, a first stderr line "gocluster: ..."
// holding every wanted piece, nothing else on stderr but the usage hint,
// and no sign of a panic.
func checkOutcome(t *testing.T, args []string, r harness.Result, code int, want ...string) {
	t.Helper()
	cmdline := "gocluster " + strings.Join(args, " ")
	if strings.Contains(r.Output(), "panic") || strings.Contains(r.Output(), "goroutine ") {
		t.Fatalf("%s panicked:\n%s", cmdline, r.Output())
	}
	if r.Code != code {
		t.Errorf("%s: exit %d, want %d\n%s", cmdline, r.Code, code, r.Output())
	}
	lines := strings.Split(strings.TrimRight(r.Stderr, "\n"), "\n")
	first := lines[0]
	if !strings.HasPrefix(first, "gocluster: ") {
		t.Errorf("%s: first stderr line %q does not start with \"gocluster: \"\nstdout:\n%s", cmdline, first, r.Stdout)
	}
	for _, w := range want {
		if !strings.Contains(first, w) {
			t.Errorf("%s: first stderr line does not name %q:\n%s", cmdline, w, first)
		}
	}
	for _, l := range lines[1:] {
		if l != usageHint || code != 2 {
			t.Errorf("%s: error is not one line; extra stderr line %q\nfull stderr:\n%s", cmdline, l, r.Stderr)
		}
	}
}

// snapshot describes what a mutating command could change on each node:
// its view of the cluster (IDs, roles, masters, config epochs, slots and
// open slots, without ping times and link state), its key count and its
// cluster-node-timeout.
func snapshot(t *testing.T, nodes []*redistest.Server) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make(map[string]string, len(nodes))
	for _, s := range nodes {
		c := s.Client()
		text, err := c.ClusterNodes(ctx).Result()
		if err != nil && strings.Contains(err.Error(), "cluster support disabled") {
			text, err = "(not a cluster node)", nil
		}
		if err != nil {
			c.Close()
			t.Fatalf("CLUSTER NODES on %s: %v", s.Addr(), err)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
			f := strings.Fields(l)
			if len(f) >= 8 { // id addr flags master ping pong epoch link slots...
				l = strings.Join(slices.Concat(f[:4], f[6:7], f[8:]), " ")
			}
			lines = append(lines, l)
		}
		slices.Sort(lines)
		waitReplicaSynced(t, ctx, c, s.Addr())
		keys, err := c.DBSize(ctx).Result()
		if err != nil {
			c.Close()
			t.Fatalf("DBSIZE on %s: %v", s.Addr(), err)
		}
		timeout, err := c.ConfigGet(ctx, "cluster-node-timeout").Result()
		c.Close()
		if err != nil {
			t.Fatalf("CONFIG GET on %s: %v", s.Addr(), err)
		}
		out[s.Addr()] = fmt.Sprintf("%s\nkeys=%d node-timeout=%s", strings.Join(lines, "\n"), keys, timeout["cluster-node-timeout"])
	}
	return out
}

// waitReplicaSynced returns once a replica's link to its master is up
// and no full sync is loading (at once for a master): a replica that
// resyncs, say after its link timed out on a busy machine, empties its
// dataset while loading, and its key count would look like a change the
// command under test made.
func waitReplicaSynced(t *testing.T, ctx context.Context, c *redis.Client, addr string) {
	t.Helper()
	var info string
	for {
		var err error
		info, err = c.Info(ctx, "replication", "persistence").Result()
		if err != nil {
			t.Fatalf("INFO on %s: %v", addr, err)
		}
		if !strings.Contains(info, "role:slave") {
			return
		}
		if strings.Contains(info, "master_link_status:up") && strings.Contains(info, "master_sync_in_progress:0") &&
			strings.Contains(info, "\nloading:0") && caughtUp(ctx, c, info) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("replica %s is not in sync with its master:\n%s", addr, info)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// caughtUp reports whether a replica (its INFO replication) has applied
// everything its master had written when asked: a replica whose link is
// up can still be taking writes made before the command under test.
func caughtUp(ctx context.Context, replica *redis.Client, info string) bool {
	field := func(text, name string) string {
		for _, l := range strings.Split(text, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
				return v
			}
		}
		return ""
	}
	o := replica.Options()
	m := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(field(info, "master_host"), field(info, "master_port")),
		Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig})
	defer m.Close()
	mi, err := m.Info(ctx, "replication").Result()
	if err != nil {
		return false
	}
	want, _ := strconv.ParseInt(field(mi, "master_repl_offset"), 10, 64)
	got, _ := strconv.ParseInt(field(info, "slave_repl_offset"), 10, 64)
	return got >= want
}

// settle waits until every node has the same view of the cluster, with
// every replica known as one, so that snapshots only change when a
// command changes something.
func settle(t *testing.T, nodes []*redistest.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var views map[string]string
	for time.Now().Before(deadline) {
		views = snapshot(t, nodes)
		same := map[string]bool{}
		for _, v := range views {
			v = strings.Replace(v, "myself,", "", 1)
			same[v[:strings.LastIndex(v, "\n")]] = true
		}
		if len(same) == 1 && strings.Count(views[nodes[0].Addr()], " slave ") == len(nodes)/2 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nodes do not agree on the cluster after 30s: %v", views)
}

// presetIDs returns redis-server arguments that make a cluster node start
// with the given node ID: a nodes.conf written before the first start
// (Redis corrects the address from its own port when it loads it).
func presetIDs(t *testing.T, id string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nodes-"+id[:8]+".conf")
	conf := id + " 127.0.0.1:1@2 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--cluster-config-file", path}
}

// world is everything the bad-input cases run against.
type world struct {
	cluster   *harness.Cluster
	seed      string
	masters   []*redistest.Server // in the order of masterIDs
	masterIDs []string
	replica   *redistest.Server
	replicaID string
	ambiguous string              // a 4-character prefix of two node IDs
	spares    []*redistest.Server // empty cluster nodes, not in the cluster
	spare     *redistest.Server   // spares[0]
	secured   *redistest.Server   // an empty cluster node with requirepass
	plain     *redistest.Server   // cluster-enabled no
	closed    string              // host:port nobody listens on
	garbage   string              // answers HTTP to anything
	silent    string              // accepts and never answers
	closer    string              // accepts and hangs up at once
	all       []*redistest.Server
}

// Node IDs are preset so that two of them share a prefix ("abcd"): that
// makes "ambiguous prefix" a reproducible case.
var presetNodeIDs = []string{
	"abcd000000000000000000000000000000000001",
	"abcd000000000000000000000000000000000002",
	"1111000000000000000000000000000000000003",
	"2222000000000000000000000000000000000004",
	"3333000000000000000000000000000000000005",
	"4444000000000000000000000000000000000006",
}

// newWorld makes a healthy 3-master, 3-replica cluster with real
// redis-cli --cluster create, some keys in it, and the odd nodes and fake
// servers around it.
func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{}
	nodes := make([]*redistest.Server, len(presetNodeIDs))
	args := []string{"--cluster", "create"}
	for i, id := range presetNodeIDs {
		nodes[i] = redistest.Start(t, redistest.Options{Cluster: true, Args: presetIDs(t, id)})
		args = append(args, nodes[i].Addr())
	}
	w.cluster = &harness.Cluster{Nodes: nodes}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if r := harness.RedisCLI(t, args...); r.Code != 0 {
		t.Fatalf("redis-cli --cluster create: %d\n%s", r.Code, r.Output())
	}
	w.cluster.WaitHealthy(t)
	settle(t, nodes)
	w.seed = w.cluster.Addr()
	w.ambiguous = "abcd"
	ctx := context.Background()
	for i, s := range nodes {
		c := s.Client()
		role, err := c.Do(ctx, "ROLE").Slice()
		c.Close()
		if err != nil {
			t.Fatalf("ROLE on %s: %v", s.Addr(), err)
		}
		if role[0] == "master" {
			w.masters = append(w.masters, s)
			w.masterIDs = append(w.masterIDs, presetNodeIDs[i])
		} else if w.replica == nil {
			w.replica, w.replicaID = s, presetNodeIDs[i]
		}
	}
	if len(w.masters) != 3 || w.replica == nil {
		t.Fatalf("want 3 masters and replicas, got %d masters", len(w.masters))
	}
	// Keys on every master, so that DBSIZE shows any key that moves.
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{w.seed}})
	defer cc.Close()
	for i := range 200 {
		if err := cc.Set(ctx, fmt.Sprintf("key:%d", i), "v", 0).Err(); err != nil {
			t.Fatalf("SET key:%d: %v", i, err)
		}
	}
	// Every replica must hold its master's keys before any case runs: a
	// replica still in its first sync gains keys during a case and looks
	// like a change the command made.
	for _, m := range w.masters {
		c := m.Client()
		acked, err := c.Do(ctx, "WAIT", 1, 20000).Int()
		c.Close()
		if err != nil || acked < 1 {
			t.Fatalf("WAIT on master %s: %d replicas acknowledged (%v)", m.Addr(), acked, err)
		}
	}
	w.spares = redistest.StartNodes(t, 3, redistest.Options{})
	w.spare = w.spares[0]
	w.secured = redistest.Start(t, redistest.Options{Cluster: true, Password: "s3cret"})
	w.plain = redistest.Start(t, redistest.Options{})
	w.closed = fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t, "127.0.0.1"))
	w.garbage = fakeServer(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		time.Sleep(5 * time.Second)
	})
	w.silent = fakeServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	w.closer = fakeServer(t, func(net.Conn) {})
	w.all = append(append(append([]*redistest.Server{}, nodes...), w.spares...), w.secured, w.plain)
	return w
}

// fakeServer listens on a free loopback port and runs handle for each
// connection (closing it afterwards) until the test ends.
func fakeServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				go func() { <-done; c.Close() }()
				handle(c)
			}()
		}
	}()
	return l.Addr().String()
}

// fakeNode is a RESP server that passes for a cluster node whose CLUSTER
// NODES reply is the given text: it answers PING, INFO, CLUSTER INFO,
// CLUSTER MYID, DBSIZE, key counts and FUNCTION plausibly, and rejects
// HELLO like Redis 5 and every command that would change it.
func fakeNode(t *testing.T, nodes func(addr string) string) string {
	t.Helper()
	return fakeServer(t, func(c net.Conn) {
		addr := c.LocalAddr().String()
		rd := bufio.NewReader(c)
		for {
			cmd, err := readCommand(rd)
			if err != nil {
				return
			}
			var reply string
			switch strings.ToUpper(strings.Join(cmd[:min(2, len(cmd))], " ")) {
			case "CLUSTER NODES":
				reply = bulk(nodes(addr))
			case "CLUSTER MYID":
				reply = bulk(strings.Repeat("f", 40))
			case "CLUSTER COUNTKEYSINSLOT":
				reply = ":0\r\n"
			case "CLUSTER GETKEYSINSLOT":
				reply = "*0\r\n"
			case "CLUSTER INFO":
				reply = bulk("cluster_enabled:1\r\ncluster_state:ok\r\ncluster_known_nodes:1\r\n")
			default:
				switch strings.ToUpper(cmd[0]) {
				case "PING":
					reply = "+PONG\r\n"
				case "INFO":
					reply = bulk("# Server\r\nredis_version:7.0.15\r\n# Cluster\r\ncluster_enabled:1\r\n# Keyspace\r\n")
				case "DBSIZE":
					reply = ":0\r\n"
				case "CLIENT", "SELECT", "READONLY", "FUNCTION":
					reply = "+OK\r\n"
				default:
					reply = fmt.Sprintf("-ERR unknown command '%s'\r\n", cmd[0])
				}
			}
			if _, err := io.WriteString(c, reply); err != nil {
				return
			}
		}
	})
}

func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

// readCommand reads one RESP array of bulk strings.
func readCommand(rd *bufio.Reader) ([]string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil || n < 1 || n > 1024 {
		return nil, fmt.Errorf("bad array header %q", line)
	}
	out := make([]string, n)
	for i := range out {
		hdr, err := rd.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(hdr, "$")))
		if err != nil || size < 0 || size > 1<<20 {
			return nil, fmt.Errorf("bad bulk header %q", hdr)
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, err
		}
		out[i] = string(buf[:size])
	}
	return out, nil
}
