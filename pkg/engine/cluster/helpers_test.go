package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// fakeKeyspace is an in-memory set of key names, enough for the cluster layer.
type fakeKeyspace struct {
	mu   sync.Mutex
	keys map[string]bool
}

func newFakeKeyspace(keys ...string) *fakeKeyspace {
	ks := &fakeKeyspace{keys: map[string]bool{}}
	for _, k := range keys {
		ks.keys[k] = true
	}
	return ks
}

func (f *fakeKeyspace) add(key string) {
	f.mu.Lock()
	f.keys[key] = true
	f.mu.Unlock()
}

func (f *fakeKeyspace) has(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[key]
}

func (f *fakeKeyspace) CountKeysInSlot(slot int) int { return len(f.KeysInSlot(slot, 1<<30)) }

func (f *fakeKeyspace) KeysInSlot(slot, count int) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]byte
	for k := range f.keys {
		if len(out) < count && KeySlot([]byte(k)) == slot {
			out = append(out, []byte(k))
		}
	}
	return out
}

func (f *fakeKeyspace) DBSize() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.keys)
}

func (f *fakeKeyspace) FlushAll() {
	f.mu.Lock()
	f.keys = map[string]bool{}
	f.mu.Unlock()
}

func (f *fakeKeyspace) DeleteKeysInSlot(slot int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k := range f.keys {
		if KeySlot([]byte(k)) == slot {
			delete(f.keys, k)
			n++
		}
	}
	return n
}

// testNode is one engine cluster node in this process.
type testNode struct {
	*Cluster
	ks  *fakeKeyspace
	cfg Config
}

type nodeOpts struct {
	timeout time.Duration
	host    string
	dir     string
	port    int
	logf    func(format string, args ...any) // also gets the node's log lines
}

// startNode creates and starts a Cluster on a free port pair; it is closed
// when the test ends.
func startNode(t *testing.T, o nodeOpts) *testNode {
	t.Helper()
	if o.host == "" {
		o.host = "127.0.0.1"
	}
	if o.timeout == 0 {
		o.timeout = 2 * time.Second
	}
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	if o.port == 0 {
		o.port = redistest.FreePort(t, o.host)
	}
	logf := t.Logf
	if o.logf != nil {
		logf = func(format string, args ...any) {
			t.Logf(format, args...)
			o.logf(format, args...)
		}
	}
	cfg := Config{Dir: o.dir, Host: o.host, Port: o.port, NodeTimeout: o.timeout,
		RequireFullCoverage: true, Logf: logf}
	ks := newFakeKeyspace()
	c, err := New(cfg, ks)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &testNode{Cluster: c, ks: ks, cfg: cfg}
}

// do runs one CLUSTER command and returns the parsed reply.
func (n *testNode) do(t *testing.T, args ...string) resp.Reply {
	t.Helper()
	return runCommand(t, n.Cluster, 2, args...)
}

func runCommand(t *testing.T, c *Cluster, proto int, args ...string) resp.Reply {
	t.Helper()
	var buf bytes.Buffer
	w := resp.NewWriter(&buf)
	w.SetProto(proto)
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	c.Command(w, bargs)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := resp.ReadReply(bufio.NewReader(&buf))
	if err != nil {
		t.Fatalf("CLUSTER %v: unreadable reply %q: %v", args, buf.String(), err)
	}
	return r
}

// ok runs a command that must answer +OK (or another status).
func (n *testNode) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := n.do(t, args...)
	if r.Type != '+' {
		t.Fatalf("CLUSTER %v: got %c %q, want a status reply", args, r.Type, r.Str)
	}
	return string(r.Str)
}

func (n *testNode) text(t *testing.T, args ...string) string {
	t.Helper()
	r := n.do(t, args...)
	if r.Type != '$' && r.Type != '=' {
		t.Fatalf("CLUSTER %v: got %c %q, want text", args, r.Type, r.Str)
	}
	return string(r.Str)
}

// infoField reads one field of CLUSTER INFO.
func (n *testNode) infoField(t *testing.T, name string) string {
	t.Helper()
	for _, line := range strings.Split(n.text(t, "INFO"), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			return v
		}
	}
	t.Fatalf("CLUSTER INFO has no %s", name)
	return ""
}

// nodesLine returns the CLUSTER NODES line about id as seen by n ("" if none).
func (n *testNode) nodesLine(t *testing.T, id string) []string {
	t.Helper()
	for _, line := range strings.Split(n.text(t, "NODES"), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == id {
			return f
		}
	}
	return nil
}

func (n *testNode) addr() string { return fmt.Sprintf("%d", n.cfg.Port) }

// meet makes every node meet the first one, as redis-cli --cluster create does.
func meetAll(t *testing.T, nodes []*testNode) {
	t.Helper()
	for _, n := range nodes[1:] {
		n.ok(t, "MEET", nodes[0].cfg.Host, nodes[0].addr())
	}
}

// eventually retries cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// allKnowEachOther: every node lists every node, none in handshake.
func allKnowEachOther(t *testing.T, nodes []*testNode) bool {
	for _, n := range nodes {
		text := n.text(t, "NODES")
		if strings.Contains(text, "handshake") || strings.Count(text, "\n") != len(nodes) {
			return false
		}
		for _, m := range nodes {
			if !strings.Contains(text, m.MyID()) {
				return false
			}
		}
	}
	return true
}

func startCluster(t *testing.T, n int, o nodeOpts) []*testNode {
	t.Helper()
	nodes := make([]*testNode, n)
	for i := range nodes {
		nodes[i] = startNode(t, o)
	}
	joinAll(t, nodes)
	return nodes
}

// joinAll makes started nodes one cluster and waits until all know each other.
func joinAll(t *testing.T, nodes []*testNode) {
	t.Helper()
	meetAll(t, nodes)
	eventually(t, 5*time.Second, "all nodes know each other", func() bool { return allKnowEachOther(t, nodes) })
}

// assignEven gives the masters contiguous equal shares of the 16384 slots.
func assignEven(t *testing.T, masters []*testNode) {
	t.Helper()
	per := NumSlots / len(masters)
	for i, m := range masters {
		start, end := i*per, (i+1)*per-1
		if i == len(masters)-1 {
			end = NumSlots - 1
		}
		m.ok(t, "ADDSLOTSRANGE", fmt.Sprint(start), fmt.Sprint(end))
	}
}

func waitStateOK(t *testing.T, nodes []*testNode) {
	t.Helper()
	eventually(t, 5*time.Second, "cluster_state:ok everywhere", func() bool {
		for _, n := range nodes {
			if n.infoField(t, "cluster_state") != "ok" {
				return false
			}
		}
		return true
	})
}
