package cluster

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// realConn is a raw RESP connection to a real redis-server, so reply types
// (verbatim, map, ...) are seen exactly as sent.
type realConn struct {
	conn net.Conn
	br   *bufio.Reader
}

func dialReal(t *testing.T, addr string, proto int) *realConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rc := &realConn{conn: conn, br: bufio.NewReader(conn)}
	if proto == 3 {
		if r := rc.do(t, "HELLO", "3"); r.Type == '-' {
			t.Fatalf("HELLO 3: %s", r.Str)
		}
	}
	return rc
}

func (rc *realConn) do(t *testing.T, args ...string) resp.Reply {
	t.Helper()
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	rc.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.conn.Write(resp.AppendCommand(nil, bargs...)); err != nil {
		t.Fatal(err)
	}
	r, err := resp.ReadReply(rc.br)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return r
}

// shape renders a reply's structure: types and lengths, not values.
func shape(r resp.Reply) string {
	switch r.Type {
	case '*', '%', '~':
		parts := make([]string, len(r.Elems))
		for i, e := range r.Elems {
			parts[i] = shape(e)
		}
		return fmt.Sprintf("%c%d[%s]", r.Type, len(r.Elems), strings.Join(parts, ","))
	default:
		return string(r.Type)
	}
}

// mapKeys lists the keys of a map reply (flattened key, value, ...).
func mapKeys(r resp.Reply) []string {
	var keys []string
	for i := 0; i+1 < len(r.Elems); i += 2 {
		keys = append(keys, string(r.Elems[i].Str))
	}
	return keys
}

// pair is two met nodes with the same slot layout, on real Redis or the engine.
type pair struct {
	run          func(args ...string) resp.Reply
	runProto3    func(args ...string) resp.Reply
	meID, peerID string
}

func setupPairs(t *testing.T) (real, engine pair) {
	real = setupRealPair(t)
	engine = setupEnginePair(t)
	return real, engine
}

func setupRealPair(t *testing.T) pair {
	servers := redistest.StartNodes(t, 2, redistest.Options{})
	a := dialReal(t, servers[0].Addr(), 2)
	a3 := dialReal(t, servers[0].Addr(), 3)
	b := dialReal(t, servers[1].Addr(), 2)
	p := pair{run: func(args ...string) resp.Reply { return a.do(t, append([]string{"CLUSTER"}, args...)...) },
		runProto3: func(args ...string) resp.Reply { return a3.do(t, append([]string{"CLUSTER"}, args...)...) }}
	p.meID = string(a.do(t, "CLUSTER", "MYID").Str)
	p.peerID = string(b.do(t, "CLUSTER", "MYID").Str)
	a.do(t, "CLUSTER", "MEET", servers[1].Host, fmt.Sprint(servers[1].Port))
	eventually(t, 10*time.Second, "real nodes meet", func() bool {
		text := string(a.do(t, "CLUSTER", "NODES").Str)
		return strings.Contains(text, p.peerID) && !strings.Contains(text, "handshake") &&
			!strings.Contains(text, "disconnected")
	})
	buildLayout(t, p.run, p.peerID)
	return p
}

func setupEnginePair(t *testing.T) pair {
	nodes := startCluster(t, 2, nodeOpts{})
	a := nodes[0]
	p := pair{run: func(args ...string) resp.Reply { return runCommand(t, a.Cluster, 2, args...) },
		runProto3: func(args ...string) resp.Reply { return runCommand(t, a.Cluster, 3, args...) },
		meID:      a.MyID(), peerID: nodes[1].MyID()}
	eventually(t, 3*time.Second, "links up", func() bool { return !strings.Contains(a.text(t, "NODES"), "disconnected") })
	buildLayout(t, p.run, p.peerID)
	return p
}

// buildLayout gives the first node slots 0-100 and 200, and opens slot 5.
func buildLayout(t *testing.T, run func(args ...string) resp.Reply, peer string) {
	t.Helper()
	for _, cmd := range [][]string{{"ADDSLOTSRANGE", "0", "100"}, {"ADDSLOTS", "200"}, {"SETSLOT", "5", "MIGRATING", peer}} {
		if r := run(cmd...); r.Type == '-' {
			t.Fatalf("%v: %s", cmd, r.Str)
		}
	}
}

func TestErrorTextsMatchRealRedis(t *testing.T) {
	real, engine := setupPairs(t)
	cases := [][]string{
		{"ADDSLOTS", "0"}, {"ADDSLOTS", "16384"}, {"ADDSLOTS", "300", "300"}, {"ADDSLOTS", "-1"},
		{"DELSLOTS", "500"}, {"ADDSLOTSRANGE", "10", "5"}, {"ADDSLOTSRANGE", "1"}, {"ADDSLOTSRANGE", "1", "2", "3"},
		{"DELSLOTSRANGE", "5000", "5001"}, {"ADDSLOTS"}, {"DELSLOTS"},
		{"SETSLOT", "1"}, {"SETSLOT", "1", "NODE", "abc"}, {"SETSLOT", "1", "foo"}, {"SETSLOT", "300", "MIGRATING", "x"},
		{"SETSLOT", "1", "IMPORTING", "{me}"}, {"SETSLOT", "1", "MIGRATING", "abc"}, {"SETSLOT", "99999", "STABLE"},
		{"SETSLOT", "x", "STABLE"}, {"SETSLOT", "1", "STABLE", "x"}, {"SETSLOT", "1", "NODE"},
		{"REPLICATE", "abc"}, {"REPLICATE", "{me}"}, {"REPLICATE", "{peer}"},
		{"FORGET", "{me}"}, {"FORGET", "abc"}, {"FORGET"}, {"COUNT-FAILURE-REPORTS", "abc"},
		{"SET-CONFIG-EPOCH", "5"}, {"SET-CONFIG-EPOCH", "-1"}, {"SET-CONFIG-EPOCH", "x"},
		{"GETKEYSINSLOT", "1", "x"}, {"GETKEYSINSLOT", "99999", "1"}, {"GETKEYSINSLOT", "1", "-1"}, {"GETKEYSINSLOT", "1"},
		{"COUNTKEYSINSLOT", "99999"}, {"COUNTKEYSINSLOT", "x"}, {"COUNTKEYSINSLOT", "1", "2"},
		{"FOO"}, {}, {"FAILOVER"}, {"FAILOVER", "x"}, {"RESET", "x"}, {"RESET", "soft", "x"},
		{"MEET", "1.2.3", "5"}, {"MEET", "127.0.0.1", "x"}, {"MEET", "127.0.0.1", "99999"}, {"MEET", "127.0.0.1", "1", "x"},
		{"MEET", "127.0.0.1"}, {"INFO", "x"}, {"KEYSLOT"}, {"BUMPEPOCH", "1"}, {"REPLICAS", "abc"}, {"MYID", "x"},
		{"KEYSLOT", "foo"}, {"KEYSLOT", "{user1000}.following"}, {"KEYSLOT", "{}x"}, {"COUNTKEYSINSLOT", "7"},
		{"GETKEYSINSLOT", "7", "10"},
	}
	for _, c := range cases {
		sub := func(p pair) []string {
			out := make([]string, len(c))
			for i, a := range c {
				out[i] = strings.NewReplacer("{me}", p.meID, "{peer}", p.peerID).Replace(a)
			}
			return out
		}
		want, got := real.run(sub(real)...), engine.run(sub(engine)...)
		if want.Type != got.Type || string(want.Str) != string(got.Str) || want.Int != got.Int || shape(want) != shape(got) {
			t.Errorf("CLUSTER %v:\n real   %c %q %d %s\n engine %c %q %d %s", c,
				want.Type, want.Str, want.Int, shape(want), got.Type, got.Str, got.Int, shape(got))
		}
	}
}

var idRe = regexp.MustCompile(`[0-9a-f]{40}`)

func TestReplyFormatsMatchRealRedis(t *testing.T) {
	real, engine := setupPairs(t)

	// CLUSTER INFO: same field names in the same order (message counters
	// aside), and the same values for the state fields.
	infoFields := func(p pair) ([]string, map[string]string) {
		var names []string
		vals := map[string]string{}
		for _, line := range strings.Split(string(p.run("INFO").Str), "\r\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || strings.HasPrefix(k, "cluster_stats_messages_") && strings.Count(k, "_") > 3 {
				continue
			}
			names = append(names, k)
			vals[k] = v
		}
		return names, vals
	}
	rn, rv := infoFields(real)
	en, ev := infoFields(engine)
	if strings.Join(rn, ",") != strings.Join(en, ",") {
		t.Errorf("CLUSTER INFO fields:\n real   %v\n engine %v", rn, en)
	}
	for _, k := range []string{"cluster_state", "cluster_slots_assigned", "cluster_slots_ok", "cluster_known_nodes", "cluster_size"} {
		if rv[k] != ev[k] {
			t.Errorf("CLUSTER INFO %s: real %s, engine %s", k, rv[k], ev[k])
		}
	}

	// CLUSTER NODES: myself line identical once ids, address and epoch are normalised.
	myLine := func(p pair) string {
		for _, line := range strings.Split(string(p.run("NODES").Str), "\n") {
			if strings.Contains(line, "myself") {
				f := strings.Fields(line)
				f[1], f[6] = "ADDR", "EPOCH"
				return strings.NewReplacer(p.meID, "ME", p.peerID, "PEER").Replace(strings.Join(f, " "))
			}
		}
		return ""
	}
	if r, e := myLine(real), myLine(engine); r != e {
		t.Errorf("CLUSTER NODES myself line:\n real   %s\n engine %s", r, e)
	}
	peerLine := func(p pair) string {
		for _, line := range strings.Split(string(p.run("NODES").Str), "\n") {
			if strings.HasPrefix(line, p.peerID) {
				f := strings.Fields(line)
				return fmt.Sprintf("%d fields, flags %s, master %s, link %s", len(f), f[2], f[3], f[7])
			}
		}
		return ""
	}
	if r, e := peerLine(real), peerLine(engine); r != e {
		t.Errorf("CLUSTER NODES peer line:\n real   %s\n engine %s", r, e)
	}

	// Structured replies: same shape in RESP2 and RESP3.
	for _, sub := range []string{"SLOTS", "INFO", "NODES", "MYID", "KEYSLOT", "LINKS"} {
		args := []string{sub}
		if sub == "KEYSLOT" {
			args = append(args, "x")
		}
		for _, proto := range []int{2, 3} {
			run := real.run
			erun := engine.run
			if proto == 3 {
				run, erun = real.runProto3, engine.runProto3
			}
			if r, e := shape(run(args...)), shape(erun(args...)); r != e {
				t.Errorf("CLUSTER %s RESP%d shape:\n real   %s\n engine %s", sub, proto, r, e)
			}
		}
	}

	// CLUSTER SHARDS: same set of shard shapes and the same map keys.
	shardShapes := func(r resp.Reply) (shapes []string, keys []string) {
		for _, s := range r.Elems {
			shapes = append(shapes, shape(s))
			keys = append(keys, strings.Join(mapKeys(s), ","))
			for i := 0; i+1 < len(s.Elems); i += 2 {
				if string(s.Elems[i].Str) == "nodes" {
					for _, n := range s.Elems[i+1].Elems {
						keys = append(keys, strings.Join(mapKeys(n), ","))
					}
				}
			}
		}
		sort.Strings(shapes)
		sort.Strings(keys)
		return shapes, keys
	}
	for _, proto := range []int{2, 3} {
		run, erun := real.run, engine.run
		if proto == 3 {
			run, erun = real.runProto3, engine.runProto3
		}
		rs, rk := shardShapes(run("SHARDS"))
		es, ek := shardShapes(erun("SHARDS"))
		if strings.Join(rs, " ") != strings.Join(es, " ") || strings.Join(rk, " ") != strings.Join(ek, " ") {
			t.Errorf("CLUSTER SHARDS RESP%d:\n real   %v %v\n engine %v %v", proto, rs, rk, es, ek)
		}
	}
	_ = idRe
}
