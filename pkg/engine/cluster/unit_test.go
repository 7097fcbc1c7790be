package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newOffline is a Cluster that never starts its bus.
func newOffline(t *testing.T, ks *fakeKeyspace) *Cluster {
	t.Helper()
	c, err := New(Config{Dir: t.TempDir(), Host: "127.0.0.1", Port: 7000, RequireFullCoverage: true}, ks)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGarbageNodesConfIsAClearError(t *testing.T) {
	good := "0123456789abcdef0123456789abcdef01234567 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-10\n"
	cases := map[string]string{
		"hello world\n": "line 1: expected at least 8 fields",
		good + "vars currentEpoch x lastVoteEpoch 0\n":                                 "line 2: invalid currentEpoch value",
		strings.Replace(good, "0-10", "0-99999", 1):                                    "line 1: invalid slot",
		strings.Replace(good, "myself,master", "boss", 1):                              "line 1: unknown node flag",
		strings.Replace(good, "127.0.0.1:7000", "xx", 1):                               "line 1: invalid address",
		strings.Replace(good, "myself,", "", 1):                                        "no node is flagged myself",
		strings.Replace(good, "0123456789abcdef", "zz", 1):                             "invalid node id",
		good + "\x00\x01\x02 binary junk that is long enough to have fields a b c d\n": "line 2",
		strings.Replace(good, "0-10", "[5->-nothex]", 1):                               "invalid node id",
		strings.Replace(good, " 1 connected", " -1 connected", 1):                      "invalid config epoch",
	}
	for content, want := range cases {
		dir := t.TempDir()
		path := filepath.Join(dir, "nodes.conf")
		os.WriteFile(path, []byte(content), 0o644)
		_, err := New(Config{Dir: dir, Port: 7000}, newFakeKeyspace())
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Errorf("content %q: error %v, want one naming %s and %q", content, err, path, want)
		}
	}
}

func TestNodesConfRoundTripsRedisFormat(t *testing.T) {
	// A nodes.conf as real Redis 7.0 writes it, with a replica, open slots
	// and a failed node.
	conf := `a643f674183f5fe22dfc71699f7c77107966df37 127.0.0.1:31001@41001 myself,master - 0 0 3 connected 0-100 200 [5->-6511828c5f06a489b2372cf01748fb04e5e16259] [300-<-6511828c5f06a489b2372cf01748fb04e5e16259]
6511828c5f06a489b2372cf01748fb04e5e16259 127.0.0.1:31002@41002 master - 0 1795663186507 1 connected 101-199
7711828c5f06a489b2372cf01748fb04e5e16259 127.0.0.1:31003@41003,host3 slave a643f674183f5fe22dfc71699f7c77107966df37 0 1795663186507 3 disconnected
8811828c5f06a489b2372cf01748fb04e5e16259 127.0.0.1:31004@41004 master,fail - 1795663186000 1795663186507 2 disconnected
vars currentEpoch 3 lastVoteEpoch 2
`
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nodes.conf"), []byte(conf), 0o644)
	c, err := New(Config{Dir: dir, Host: "127.0.0.1", Port: 31001, RequireFullCoverage: true}, newFakeKeyspace())
	if err != nil {
		t.Fatal(err)
	}
	if c.MyID() != "a643f674183f5fe22dfc71699f7c77107966df37" {
		t.Fatalf("id %s", c.MyID())
	}
	text := string(runCommand(t, c, 2, "NODES").Str)
	for _, want := range []string{
		"a643f674183f5fe22dfc71699f7c77107966df37 127.0.0.1:31001@41001 myself,master - 0 0 3 connected 0-100 200 [5->-6511828c5f06a489b2372cf01748fb04e5e16259] [300-<-6511828c5f06a489b2372cf01748fb04e5e16259]",
		" 127.0.0.1:31003@41003,host3 slave a643f674183f5fe22dfc71699f7c77107966df37 ",
		" master,fail - ",
		" 1 disconnected 101-199",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("CLUSTER NODES lacks %q:\n%s", want, text)
		}
	}
	saved, _ := os.ReadFile(filepath.Join(dir, "nodes.conf"))
	if !strings.HasSuffix(string(saved), "vars currentEpoch 3 lastVoteEpoch 2\n") {
		t.Errorf("saved vars line: %q", saved)
	}
	if isReplica, _ := c.Role(); isReplica {
		t.Errorf("myself is a master")
	}
	if got := c.Route([]int{150}, false, false, nil); got != "CLUSTERDOWN The cluster is down" {
		t.Errorf("not full coverage: %q", got)
	}
}

func TestRouteFollowsRedisRules(t *testing.T) {
	ks := newFakeKeyspace()
	c := newOffline(t, ks)
	c.cfg.RequireFullCoverage = false
	me := c.MyID()
	// Add a peer by hand, as if learned from the bus.
	c.mu.Lock()
	peer := newNode("6511828c5f06a489b2372cf01748fb04e5e16259", flagMaster)
	peer.ip, peer.port, peer.cport = "127.0.0.2", 7001, 17001
	c.nodes[peer.id] = peer
	for j := range 8192 {
		c.addSlot(c.myself, j)
	}
	for j := 8192; j < 16000; j++ {
		c.addSlot(peer, j)
	}
	c.updateState()
	c.mu.Unlock()
	_ = me

	present := func(all, none bool) func() (bool, bool) {
		return func() (bool, bool) { return all, none }
	}
	cases := []struct {
		name          string
		slots         []int
		asking, ro    bool
		all, none     bool
		want          string
		setup, undone func()
	}{
		{name: "no keys", slots: nil, want: ""},
		{name: "keyless -1", slots: []int{-1}, want: ""},
		{name: "mine", slots: []int{5, 5}, want: ""},
		{name: "cross slot", slots: []int{5, 6}, want: "CROSSSLOT Keys in request don't hash to the same slot"},
		{name: "unbound first", slots: []int{16100, 5}, want: "CLUSTERDOWN Hash slot not served"},
		{name: "moved", slots: []int{9000}, want: "MOVED 9000 127.0.0.2:7001"},
		{name: "migrating, key here", slots: []int{7}, all: true, want: ""},
		{name: "migrating, key gone", slots: []int{7}, none: true, want: "ASK 7 127.0.0.2:7001"},
		{name: "migrating, some gone", slots: []int{7, 7}, want: "TRYAGAIN Multiple keys request during rehashing of slot"},
		{name: "importing without ASKING", slots: []int{9001}, none: true, want: "MOVED 9001 127.0.0.2:7001"},
		{name: "importing with ASKING", slots: []int{9001}, asking: true, none: true, want: ""},
		{name: "importing, multi-key partial", slots: []int{9001, 9001}, asking: true, want: "TRYAGAIN Multiple keys request during rehashing of slot"},
		{name: "importing, multi-key all here", slots: []int{9001, 9001}, asking: true, all: true, want: ""},
		{name: "readonly on a master", slots: []int{9000}, ro: true, want: "MOVED 9000 127.0.0.2:7001"},
	}
	c.mu.Lock()
	c.migrating[7] = peer
	c.importing[9001] = peer
	c.mu.Unlock()
	for _, tc := range cases {
		if got := c.Route(tc.slots, tc.asking, tc.ro, present(tc.all, tc.none)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := c.RouteMigrate([]int{7}); got != "" {
		t.Errorf("MIGRATE of a migrating slot: %q", got)
	}
	if got := c.RouteMigrate([]int{9000}); got != "MOVED 9000 127.0.0.2:7001" {
		t.Errorf("MIGRATE of someone else's slot: %q", got)
	}

	// As a replica of peer, READONLY reads of peer's slots run here.
	c.mu.Lock()
	c.delNodeSlots(c.myself)
	c.setMyMaster(peer)
	c.updateState()
	c.mu.Unlock()
	if got := c.Route([]int{9000}, false, true, nil); got != "" {
		t.Errorf("READONLY replica read: %q", got)
	}
	if got := c.Route([]int{9000}, false, false, nil); got != "MOVED 9000 127.0.0.2:7001" {
		t.Errorf("replica write: %q", got)
	}
}

func TestKeySlotMatchesRedis(t *testing.T) {
	for key, want := range map[string]int{"foo": 12182, "bar": 5061, "{user1000}.following": 3443,
		"{user1000}.followers": 3443, "{}x": 10595, "a{}": 6082, "": 0, "{a": 10276} {
		if got := KeySlot([]byte(key)); got != want {
			t.Errorf("KeySlot(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestBusSurvivesGarbage(t *testing.T) {
	n := startNode(t, nodeOpts{})
	addr := fmt.Sprintf("127.0.0.1:%d", n.cfg.Port+10000)
	good := (&message{typ: msgPing, sender: randomID()}).encode()
	inputs := [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		append([]byte("GCb1\xff\xff\xff\xff"), make([]byte, 64)...), // huge length
		append([]byte("GCb1\x00\x00\x00\x10"), make([]byte, 8)...),  // truncated body
		good[:len(good)-3],
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 30 { // random corruption of a valid frame
		b := append([]byte(nil), good...)
		for range 5 {
			b[8+rng.IntN(len(b)-8)] = byte(rng.Uint32())
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(in)
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		buf := make([]byte, 4096)
		conn.Read(buf)
		conn.Close()
	}
	// Still alive and sane: a real node can meet it.
	other := startNode(t, nodeOpts{})
	other.ok(t, "MEET", "127.0.0.1", n.addr())
	eventually(t, 3*time.Second, "meet after garbage", func() bool { return allKnowEachOther(t, []*testNode{n, other}) })
}

func TestPublishMessageRoundTrip(t *testing.T) {
	for _, typ := range []uint16{msgPublish, msgPublishShard} {
		m := &message{typ: typ, sender: randomID(), channel: []byte("news"), payload: []byte("hello\x00world")}
		frame := m.encode()
		got, err := decodeMessage(frame[frameHeaderSize:])
		if err != nil {
			t.Fatalf("type %d: %v", typ, err)
		}
		if got.typ != typ || string(got.channel) != "news" || string(got.payload) != "hello\x00world" {
			t.Fatalf("type %d decoded as %d %q %q", typ, got.typ, got.channel, got.payload)
		}
		// Lengths that disagree with the frame are refused.
		bad := append([]byte(nil), frame[frameHeaderSize:]...)
		bad[len(bad)-len("newshello\x00world")-5]++ // channel length's low byte
		if _, err := decodeMessage(bad); err == nil {
			t.Fatalf("type %d: a publish frame with a wrong channel length was accepted", typ)
		}
	}
}
