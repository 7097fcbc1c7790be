package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMeetSixNodesConvergeFast(t *testing.T) {
	nodes := make([]*testNode, 6)
	for i := range nodes {
		nodes[i] = startNode(t, nodeOpts{})
	}
	began := time.Now()
	meetAll(t, nodes)
	eventually(t, 3*time.Second, "6 nodes know each other", func() bool { return allKnowEachOther(t, nodes) })
	t.Logf("6 nodes converged in %v", time.Since(began))
	// Every node has learned its own address and sees the others connected.
	for _, n := range nodes {
		eventually(t, 2*time.Second, "all links connected", func() bool {
			return !strings.Contains(n.text(t, "NODES"), "disconnected")
		})
		me := n.nodesLine(t, n.MyID())
		if want := fmt.Sprintf("127.0.0.1:%d@%d", n.cfg.Port, n.cfg.Port+10000); me[1] != want {
			t.Errorf("myself address %q, want %q", me[1], want)
		}
	}
	// Config epochs were all 0: collisions must leave every master unique.
	eventually(t, 5*time.Second, "unique config epochs", func() bool {
		seen := map[string]bool{}
		for _, n := range nodes {
			e := n.nodesLine(t, n.MyID())[6]
			if seen[e] {
				return false
			}
			seen[e] = true
		}
		return true
	})
}

func TestAddSlotsPropagateAndStateOK(t *testing.T) {
	nodes := startCluster(t, 3, nodeOpts{})
	if got := nodes[0].infoField(t, "cluster_state"); got != "fail" {
		t.Fatalf("no slots assigned yet, cluster_state %s", got)
	}
	assignEven(t, nodes)
	waitStateOK(t, nodes)
	for _, n := range nodes {
		if got := n.infoField(t, "cluster_slots_assigned"); got != "16384" {
			t.Errorf("node sees %s slots assigned", got)
		}
		if got := n.infoField(t, "cluster_size"); got != "3" {
			t.Errorf("cluster_size %s", got)
		}
	}
	line := nodes[2].nodesLine(t, nodes[1].MyID())
	if strings.Join(line[8:], " ") != "5461-10921" {
		t.Errorf("node 2 sees node 1 slots %v", line[8:])
	}
}

// moveSlot does what redis-cli reshard does for one empty slot.
func moveSlot(t *testing.T, slot int, src, dst *testNode, others ...*testNode) {
	t.Helper()
	s := fmt.Sprint(slot)
	dst.ok(t, "SETSLOT", s, "IMPORTING", src.MyID())
	src.ok(t, "SETSLOT", s, "MIGRATING", dst.MyID())
	if !strings.Contains(src.text(t, "NODES"), fmt.Sprintf("[%d->-%s]", slot, dst.MyID())) ||
		!strings.Contains(dst.text(t, "NODES"), fmt.Sprintf("[%d-<-%s]", slot, src.MyID())) {
		t.Fatalf("open slot not shown in CLUSTER NODES")
	}
	dst.ok(t, "SETSLOT", s, "NODE", dst.MyID())
	// A source that gave away its last slot may already have turned into a
	// replica through gossip; redis-cli tolerates this refusal too.
	if r := src.do(t, "SETSLOT", s, "NODE", dst.MyID()); r.Type == '-' && string(r.Str) != "ERR Please use SETSLOT only with masters." {
		t.Fatalf("SETSLOT NODE on the source: %s", r.Str)
	}
}

func TestSetSlotNodePropagatesWithEpochBump(t *testing.T) {
	nodes := startCluster(t, 3, nodeOpts{})
	assignEven(t, nodes)
	waitStateOK(t, nodes)
	a, b, c := nodes[0], nodes[1], nodes[2]
	epochOf := func(n *testNode) int {
		e, _ := strconv.Atoi(b.nodesLine(t, n.MyID())[6])
		return e
	}
	waitDistinctEpochs(t, nodes)
	moveSlot(t, 100, a, b) // c is not told: gossip must carry it
	// The importing node now holds the single greatest config epoch, so its
	// claim wins everywhere.
	if epochOf(b) <= epochOf(a) || epochOf(b) <= epochOf(c) {
		t.Errorf("importing node epoch %d, others %d %d", epochOf(b), epochOf(a), epochOf(c))
	}
	eventually(t, 3*time.Second, "third node learns the new owner of slot 100", func() bool {
		line := c.nodesLine(t, b.MyID())
		return strings.Contains(strings.Join(line[8:], " "), "100 ")
	})
	// MOVED now points at b from a and c.
	for _, n := range []*testNode{a, c} {
		if got, want := n.Route([]int{100}, false, false, nil), fmt.Sprintf("MOVED 100 127.0.0.1:%d", b.cfg.Port); got != want {
			t.Errorf("Route: %q, want %q", got, want)
		}
	}
	// A slot with keys cannot be handed away.
	a.ks.add("foo") // slot 12182 belongs to c; find a key of a's
	key := "{k}0"
	for i := 0; KeySlot([]byte(key)) > 5460; i++ {
		key = fmt.Sprintf("{k%d}", i)
	}
	a.ks.add(key)
	r := a.do(t, "SETSLOT", fmt.Sprint(KeySlot([]byte(key))), "NODE", b.MyID())
	want := fmt.Sprintf("ERR Can't assign hashslot %d to a different node while I still hold keys for this hash slot.", KeySlot([]byte(key)))
	if r.Type != '-' || string(r.Str) != want {
		t.Errorf("SETSLOT NODE with keys: %q", r.Str)
	}
}

func TestMasterLosingLastSlotBecomesReplica(t *testing.T) {
	nodes := startCluster(t, 2, nodeOpts{})
	a, b := nodes[0], nodes[1]
	a.ok(t, "ADDSLOTSRANGE", "0", "16381")
	b.ok(t, "ADDSLOTSRANGE", "16382", "16383")
	waitStateOK(t, nodes)
	moveSlot(t, 16382, b, a)
	moveSlot(t, 16383, b, a)
	if isReplica, master := b.Role(); !isReplica || master != fmt.Sprintf("127.0.0.1:%d", a.cfg.Port) {
		t.Fatalf("b after giving away its slots: replica=%v master=%q", isReplica, master)
	}
	eventually(t, 3*time.Second, "a sees b as its replica", func() bool {
		line := a.nodesLine(t, b.MyID())
		return line[2] == "slave" && line[3] == a.MyID()
	})
}

func TestFailureDetectionAndRecovery(t *testing.T) {
	o := nodeOpts{timeout: 400 * time.Millisecond}
	nodes := startCluster(t, 3, o)
	assignEven(t, nodes)
	waitStateOK(t, nodes)
	victim := nodes[2]
	id, dir, port := victim.MyID(), victim.cfg.Dir, victim.cfg.Port
	victim.Close()
	for _, n := range nodes[:2] {
		eventually(t, 5*time.Second, "victim flagged fail", func() bool {
			line := n.nodesLine(t, id)
			return strings.Contains(line[2], "fail") && !strings.Contains(line[2], "fail?")
		})
		if got := n.infoField(t, "cluster_state"); got != "fail" {
			t.Errorf("cluster_state with a failed master: %s", got)
		}
		if got := n.Route([]int{0}, false, false, nil); got != "CLUSTERDOWN The cluster is down" {
			t.Errorf("Route while down: %q", got)
		}
		if got := n.do(t, "COUNT-FAILURE-REPORTS", id); got.Type != ':' {
			t.Errorf("COUNT-FAILURE-REPORTS: %c %q", got.Type, got.Str)
		}
	}
	// Bring it back from its nodes.conf: FAIL clears (after 2*timeout for a
	// master with slots) and the cluster is ok again.
	back := startNode(t, nodeOpts{timeout: o.timeout, dir: dir, port: port})
	if back.MyID() != id {
		t.Fatalf("restarted node has id %s, want %s", back.MyID(), id)
	}
	waitStateOK(t, []*testNode{nodes[0], nodes[1], back})
}

func TestRestartKeepsIdentitySlotsAndPeers(t *testing.T) {
	nodes := startCluster(t, 2, nodeOpts{})
	a, b := nodes[0], nodes[1]
	a.ok(t, "ADDSLOTSRANGE", "0", "99")
	a.ok(t, "ADDSLOTS", "500")
	a.ok(t, "SETSLOT", "7", "MIGRATING", b.MyID())
	a.ok(t, "BUMPEPOCH")
	beforeNodes := a.nodesLine(t, a.MyID())
	id, dir, port := a.MyID(), a.cfg.Dir, a.cfg.Port
	epoch := a.infoField(t, "cluster_current_epoch")
	a.Close()

	again := startNode(t, nodeOpts{dir: dir, port: port})
	if again.MyID() != id {
		t.Fatalf("id %s after restart, want %s", again.MyID(), id)
	}
	line := again.nodesLine(t, id)
	if strings.Join(line[6:], " ") != strings.Join(beforeNodes[6:], " ") {
		t.Errorf("after restart %v, before %v", line, beforeNodes)
	}
	if got := again.infoField(t, "cluster_current_epoch"); got != epoch {
		t.Errorf("current epoch %s, want %s", got, epoch)
	}
	if again.nodesLine(t, b.MyID()) == nil {
		t.Fatalf("restarted node forgot its peer")
	}
	eventually(t, 3*time.Second, "link to the peer comes back", func() bool {
		return again.nodesLine(t, b.MyID())[7] == "connected"
	})
}

func TestForgetBlacklistsNode(t *testing.T) {
	nodes := startCluster(t, 3, nodeOpts{})
	a, b, c := nodes[0], nodes[1], nodes[2]
	a.ok(t, "FORGET", c.MyID())
	// b still gossips about c; the blacklist must keep it out.
	time.Sleep(800 * time.Millisecond)
	if a.nodesLine(t, c.MyID()) != nil {
		t.Fatalf("forgotten node came back through gossip")
	}
	if b.nodesLine(t, c.MyID()) == nil {
		t.Fatalf("FORGET on one node must not affect the others")
	}
}

func TestReplicaAndFailover(t *testing.T) {
	o := nodeOpts{timeout: 500 * time.Millisecond}
	nodes := startCluster(t, 4, o)
	masters, replica := nodes[:3], nodes[3]
	assignEven(t, masters)
	replica.ok(t, "REPLICATE", masters[0].MyID())
	waitStateOK(t, nodes)
	// both the replica's master (whose CLUSTER SLOTS lists it) and another
	// master must have learnt the new role from gossip
	eventually(t, 3*time.Second, "masters see the replica", func() bool {
		for _, m := range masters[:2] {
			line := m.nodesLine(t, replica.MyID())
			if line[2] != "slave" || line[3] != masters[0].MyID() {
				return false
			}
		}
		return true
	})
	slots := masters[0].do(t, "SLOTS")
	if len(slots.Elems) != 3 || len(slots.Elems[0].Elems) != 4 {
		t.Fatalf("CLUSTER SLOTS should list the replica with the first range: %+v", slots.Elems[0])
	}
	if got := replica.Route([]int{0}, false, true, nil); got != "" {
		t.Errorf("READONLY read on the replica: %q", got)
	}
	if got := replica.Route([]int{0}, false, false, nil); !strings.HasPrefix(got, "MOVED 0 ") {
		t.Errorf("write on the replica: %q", got)
	}

	// Manual failover: the replica takes the slots, the old master follows.
	replica.ok(t, "FAILOVER")
	eventually(t, 5*time.Second, "manual failover", func() bool {
		isReplica, _ := masters[0].Role()
		return isReplica && replica.nodesLine(t, replica.MyID())[2] == "myself,master"
	})
	waitStateOK(t, nodes)

	// Automatic failover: kill the new master, the old one (now its replica) is elected.
	oldMaster := masters[0]
	replica.Close()
	eventually(t, 10*time.Second, "automatic failover", func() bool {
		isReplica, _ := oldMaster.Role()
		return !isReplica && oldMaster.nodesLine(t, oldMaster.MyID())[8] == "0-5460"
	})
	waitStateOK(t, nodes[:3])
}

func TestNodesOnSeveralLoopbackHosts(t *testing.T) {
	hosts := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	nodes := make([]*testNode, len(hosts))
	for i, h := range hosts {
		nodes[i] = startNode(t, nodeOpts{host: h})
	}
	meetAll(t, nodes)
	eventually(t, 3*time.Second, "nodes on 3 hosts know each other", func() bool { return allKnowEachOther(t, nodes) })
	for _, viewer := range nodes {
		for _, n := range nodes {
			want := fmt.Sprintf("%s:%d@%d", n.cfg.Host, n.cfg.Port, n.cfg.Port+10000)
			if got := viewer.nodesLine(t, n.MyID())[1]; got != want {
				t.Errorf("%s sees %s at %s, want %s", viewer.cfg.Host, n.MyID(), got, want)
			}
		}
	}
}

func TestStaleNodeLearnsNewerOwnerThroughUpdate(t *testing.T) {
	nodes := startCluster(t, 3, nodeOpts{})
	assignEven(t, nodes)
	waitStateOK(t, nodes)
	waitDistinctEpochs(t, nodes)
	a, b, c := nodes[0], nodes[1], nodes[2]
	cID, cDir, cPort := c.MyID(), c.cfg.Dir, c.cfg.Port
	c.Close()
	// While c is away, its slot 16000 is given to a, with a new epoch.
	a.ok(t, "SETSLOT", "16000", "NODE", a.MyID())
	b.ok(t, "SETSLOT", "16000", "NODE", a.MyID())
	if got := a.ok(t, "BUMPEPOCH"); !strings.HasPrefix(got, "BUMPED") {
		t.Fatalf("BUMPEPOCH: %s", got)
	}
	// c comes back still claiming 16000 with its old epoch: the others answer
	// with UPDATE and c gives the slot up.
	back := startNode(t, nodeOpts{dir: cDir, port: cPort})
	if back.MyID() != cID {
		t.Fatal("restarted node changed id")
	}
	eventually(t, 5*time.Second, "stale node accepts the newer owner", func() bool {
		line := back.nodesLine(t, a.MyID())
		return strings.Contains(strings.Join(line[8:], " "), "16000")
	})
	if line := back.nodesLine(t, cID); strings.Join(line[8:], " ") != "10922-15999 16001-16383" {
		t.Errorf("restarted node keeps slots %v", line[8:])
	}
}

func TestResetSoftAndHard(t *testing.T) {
	nodes := startCluster(t, 2, nodeOpts{})
	a, b := nodes[0], nodes[1]
	a.ok(t, "ADDSLOTS", "1")
	a.ks.add("x")
	if r := a.do(t, "RESET"); string(r.Str) != "ERR CLUSTER RESET can't be called with master nodes containing keys" {
		t.Fatalf("RESET with keys: %q", r.Str)
	}
	a.ks.FlushAll()
	oldID := a.MyID()
	a.ok(t, "RESET", "SOFT")
	if a.MyID() != oldID || a.infoField(t, "cluster_known_nodes") != "1" || a.infoField(t, "cluster_slots_assigned") != "0" {
		t.Fatalf("after soft reset: id %s, %s nodes, %s slots", a.MyID(), a.infoField(t, "cluster_known_nodes"), a.infoField(t, "cluster_slots_assigned"))
	}
	a.ok(t, "BUMPEPOCH")
	a.ok(t, "RESET", "HARD")
	if a.MyID() == oldID || a.infoField(t, "cluster_current_epoch") != "0" || a.infoField(t, "cluster_my_epoch") != "0" {
		t.Fatalf("hard reset must give a new id and zero epochs")
	}
	// b still pings the old id at a's address: it notices the new identity.
	eventually(t, 3*time.Second, "peer flags the reset node noaddr", func() bool {
		line := b.nodesLine(t, oldID)
		return line != nil && strings.Contains(line[2], "noaddr")
	})
}

// waitDistinctEpochs waits until every node sees the same, pairwise distinct
// config epochs. Nodes given slots all start at epoch 0 and collision
// resolution separates them over a few gossip rounds, as in Redis; tests
// that bump an epoch must start after that, or their bump races it.
func waitDistinctEpochs(t *testing.T, nodes []*testNode) {
	t.Helper()
	eventually(t, 10*time.Second, "config epochs become distinct and agreed", func() bool {
		var first string
		for i, viewer := range nodes {
			seen := map[string]bool{}
			var epochs []string
			for _, n := range nodes {
				e := viewer.nodesLine(t, n.MyID())[6]
				if seen[e] {
					return false
				}
				seen[e] = true
				epochs = append(epochs, e)
			}
			if got := strings.Join(epochs, ","); i == 0 {
				first = got
			} else if got != first {
				return false
			}
		}
		return true
	})
}

// TestJoiningNodesBumpNoEpoch: nodes that join a cluster whose masters
// have distinct config epochs (as create leaves them, through SET-CONFIG-
// EPOCH) change nobody's epoch. A node met or handshaken just now used to
// be compared at config epoch 0 before its header was read, a collision
// that is not there: the needless bumps that followed reached epochs other
// masters had and went on while the next reshard moved slots. A replica's
// line shows its master's epoch, as in Redis.
func TestJoiningNodesBumpNoEpoch(t *testing.T) {
	nodes := make([]*testNode, 6)
	for i := range nodes {
		nodes[i] = startNode(t, nodeOpts{})
		nodes[i].ok(t, "SET-CONFIG-EPOCH", strconv.Itoa(i+1))
	}
	joinAll(t, nodes)
	masters := nodes[:3]
	assignEven(t, masters)
	for i, r := range nodes[3:] {
		r.ok(t, "REPLICATE", masters[i].MyID())
	}
	waitStateOK(t, nodes)
	epochsOf := func(viewer *testNode) string {
		var out []string
		for _, n := range nodes {
			out = append(out, viewer.nodesLine(t, n.MyID())[6])
		}
		return strings.Join(out, ",")
	}
	const want = "1,2,3,1,2,3" // the replicas show their masters' epochs
	eventually(t, 5*time.Second, "every node shows epochs "+want, func() bool {
		for _, v := range nodes {
			if epochsOf(v) != want {
				return false
			}
		}
		return true
	})
	var mu sync.Mutex
	var collisions []string
	logCollisions := func(format string, args ...any) {
		if line := fmt.Sprintf(format, args...); strings.Contains(line, "collision") {
			mu.Lock()
			collisions = append(collisions, line)
			mu.Unlock()
		}
	}
	for range 3 { // one at a time, as add-node joins them
		joined := startNode(t, nodeOpts{logf: logCollisions})
		joined.ok(t, "MEET", nodes[0].cfg.Host, nodes[0].addr())
		nodes = append(nodes, joined)
		eventually(t, 5*time.Second, "all nodes know the new one", func() bool { return allKnowEachOther(t, nodes) })
	}
	time.Sleep(time.Second) // gossip rounds in which a needless bump would show
	// A copy: a joined node logs with its own lock held, which NODES below needs.
	mu.Lock()
	seen := append([]string(nil), collisions...)
	mu.Unlock()
	for _, line := range seen { // the joined ones (epoch 0) may collide among themselves
		for _, n := range nodes[:6] {
			if strings.Contains(line, n.MyID()) {
				t.Errorf("a joined node saw a collision with a member of epoch %s: %s", n.nodesLine(t, n.MyID())[6], line)
			}
		}
	}
	for _, v := range nodes {
		if got := epochsOf(v); !strings.HasPrefix(got, want+",") {
			t.Errorf("%s sees epochs %s, want %s for the first six", v.MyID(), got, want)
		}
		if got := v.infoField(t, "cluster_current_epoch"); got != "6" && got != "7" && got != "8" {
			t.Errorf("%s: cluster_current_epoch %s; only the new empty masters may bump, once each at most", v.MyID(), got)
		}
	}
}

// TestRestartedReplicaTakesOverWithANewEpoch: a replica's nodes.conf line
// shows its master's config epoch; loading it back must not make that the
// replica's own (Redis 7.0.3 fixed the same, redis/redis#10798), or a
// TAKEOVER after a restart finds its epoch already the greatest, bumps
// nothing, and the master wins its slots back on the collision.
func TestRestartedReplicaTakesOverWithANewEpoch(t *testing.T) {
	nodes := []*testNode{startNode(t, nodeOpts{}), startNode(t, nodeOpts{}), startNode(t, nodeOpts{})}
	// On a collision the node with the smaller id bumps: with the master's
	// id the smaller, a takeover that kept its epoch would be undone.
	if nodes[1].MyID() > nodes[2].MyID() {
		nodes[1], nodes[2] = nodes[2], nodes[1]
	}
	low, high, replica := nodes[0], nodes[1], nodes[2]
	low.ok(t, "SET-CONFIG-EPOCH", "1")
	high.ok(t, "SET-CONFIG-EPOCH", "2") // the replica-to-be stays at 0
	joinAll(t, nodes)
	low.ok(t, "ADDSLOTSRANGE", "0", "8191")
	high.ok(t, "ADDSLOTSRANGE", "8192", "16383")
	replica.ok(t, "REPLICATE", high.MyID()) // of the master with the greatest epoch
	waitStateOK(t, nodes)
	eventually(t, 3*time.Second, "the replica's line shows its master's epoch", func() bool {
		return replica.nodesLine(t, replica.MyID())[6] == "2" && low.nodesLine(t, replica.MyID())[6] == "2"
	})
	replica.ok(t, "SAVECONFIG")
	id, dir, port := replica.MyID(), replica.cfg.Dir, replica.cfg.Port
	replica.Close()
	again := startNode(t, nodeOpts{dir: dir, port: port})
	if again.MyID() != id {
		t.Fatalf("id %s after restart, want %s", again.MyID(), id)
	}
	nodes[2] = again
	eventually(t, 5*time.Second, "the restarted replica is linked again", func() bool {
		line := again.nodesLine(t, high.MyID())
		return line != nil && line[7] == "connected"
	})
	again.ok(t, "FAILOVER", "TAKEOVER")
	eventually(t, 5*time.Second, "the takeover holds: the old master follows the replica", func() bool {
		isReplica, _ := high.Role()
		line := again.nodesLine(t, again.MyID())
		return isReplica && line[2] == "myself,master" && strings.Join(line[8:], " ") == "8192-16383"
	})
	time.Sleep(500 * time.Millisecond) // a collision would hand the slots back within a few pings
	line := again.nodesLine(t, again.MyID())
	if line[2] != "myself,master" || strings.Join(line[8:], " ") != "8192-16383" {
		t.Fatalf("after the takeover the replica's line is %v", line)
	}
	if e, _ := strconv.Atoi(line[6]); e <= 2 {
		t.Errorf("the takeover took config epoch %d, want one above the 2 the cluster had", e)
	}
}
