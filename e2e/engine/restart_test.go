package engine

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRestartKeepsIdentitySlotsAndPeers stops an engine process (SIGTERM,
// then SIGKILL for longer than the node timeout, then SIGKILL right after
// a slot changed hands) and starts it again on the same port and dir:
// it must come back with the same id, slots and config epoch from
// nodes.conf and rejoin its peers.
func TestRestartKeepsIdentitySlotsAndPeers(t *testing.T) {
	nodes := StartN(t, 3, Options{Cluster: true, NodeTimeout: 2 * time.Second})
	createCluster(t, nodes, 0)
	victim := nodes[2]
	id := nodeID(t, victim)

	identity := func() string { return identityOf(t, cliOK(t, victim, "CLUSTER", "NODES")) }

	t.Run("SIGTERM", func(t *testing.T) {
		before := identity()
		victim.Signal(syscall.SIGTERM)
		if code := victim.ExitCode(); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0; log:\n%s", code, victim.LogTail(10))
		}
		if tmp, _ := filepath.Glob(filepath.Join(victim.Dir, "nodes.conf?*")); len(tmp) > 0 {
			t.Errorf("temporary files left next to nodes.conf: %v", tmp)
		}
		victim.Restart()
		if got := identity(); got != before {
			t.Fatalf("after restart:\n  %s\nwant\n  %s", got, before)
		}
		if info := cliOK(t, victim, "CLUSTER", "INFO"); !strings.Contains(info, "cluster_known_nodes:3") {
			t.Fatalf("restarted node forgot its peers:\n%s", info)
		}
		waitHealthy(t, nodes, 20*time.Second)
	})

	t.Run("SIGKILL longer than the node timeout", func(t *testing.T) {
		before := identity()
		victim.Signal(syscall.SIGKILL)
		// the survivors agree it failed, and with a master gone the cluster is down
		deadline := time.Now().Add(20 * time.Second)
		for {
			failed := 0
			for _, n := range nodes[:2] {
				flags := nodesLine(t, n, id)[2]
				if strings.Contains(flags, "fail") && !strings.Contains(flags, "fail?") &&
					strings.Contains(cliOK(t, n, "CLUSTER", "INFO"), "cluster_state:fail") {
					failed++
				}
			}
			if failed == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("survivors did not mark the killed node failed in 20s:\n%s", cliOK(t, nodes[0], "CLUSTER", "NODES"))
			}
			time.Sleep(200 * time.Millisecond)
		}
		victim.Restart()
		if got := identity(); got != before {
			t.Fatalf("after restart:\n  %s\nwant\n  %s", got, before)
		}
		waitHealthy(t, nodes, 30*time.Second)
		for _, n := range nodes[:2] {
			if f := nodesLine(t, n, id); strings.Contains(f[2], "fail") || f[7] != "connected" {
				t.Fatalf("%s still sees the restarted node as %v", n.Addr(), f)
			}
		}
	})

	t.Run("SIGKILL right after SETSLOT NODE", func(t *testing.T) {
		// Hand slot 0 from its owner to the victim the way redis-cli does,
		// then kill the victim the moment it acknowledged the change.
		owner := nodes[0]
		for _, m := range nodes {
			if strings.HasPrefix(mySlots(t, m), "0-") {
				owner = m
			}
		}
		if owner == victim {
			t.Fatal("the victim already owns slot 0")
		}
		if before := identity(); !strings.HasSuffix(before, " 10923-16383") {
			t.Fatalf("the victim's slots are not 10923-16383: %s", before)
		}
		ownerID := nodeID(t, owner)
		for _, step := range []struct {
			n    *Node
			args []string
		}{
			{victim, []string{"CLUSTER", "SETSLOT", "0", "IMPORTING", ownerID}},
			{owner, []string{"CLUSTER", "SETSLOT", "0", "MIGRATING", id}},
		} {
			if got := cliOK(t, step.n, step.args...); got != "OK" {
				t.Fatalf("%v on %s: %q", step.args, step.n.Addr(), got)
			}
		}
		// an open connection, so that the kill follows the reply at once
		vc := client(t, victim)
		if err := vc.Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		if err := vc.Do(context.Background(), "CLUSTER", "SETSLOT", "0", "NODE", id).Err(); err != nil {
			t.Fatalf("SETSLOT 0 NODE on the victim: %v", err)
		}
		acknowledged := identityOf(t, vc.ClusterNodes(context.Background()).Val())
		victim.Signal(syscall.SIGKILL)
		if !strings.HasSuffix(acknowledged, " 0 10923-16383") {
			t.Fatalf("after SETSLOT NODE the victim says %s", acknowledged)
		}
		if got := cliOK(t, owner, "CLUSTER", "SETSLOT", "0", "NODE", id); got != "OK" {
			t.Fatalf("SETSLOT NODE on the old owner: %q", got)
		}
		victim.Restart()
		if got := identity(); got != acknowledged {
			t.Fatalf("a SIGKILL lost an acknowledged cluster change; after restart:\n  %s\nacknowledged before the kill:\n  %s", got, acknowledged)
		}
		if !strings.HasPrefix(mySlots(t, victim), "0 ") {
			t.Fatalf("restarted node does not own slot 0: %s", mySlots(t, victim))
		}
		waitHealthy(t, nodes, 20*time.Second)
	})
}

// identityOf picks the myself line of a CLUSTER NODES reply and keeps the
// fields that must survive a restart: id, address, flags, master, config
// epoch and slots (not ping/pong times or link state).
func identityOf(t *testing.T, clusterNodes string) string {
	t.Helper()
	for _, l := range strings.Split(clusterNodes, "\n") {
		if f := strings.Fields(l); len(f) >= 8 && strings.Contains(f[2], "myself") {
			return strings.Join(append(f[:4:4], append([]string{f[6]}, f[8:]...)...), " ")
		}
	}
	t.Fatalf("no myself line in CLUSTER NODES:\n%s", clusterNodes)
	return ""
}

// nodesLine is the CLUSTER NODES line about node id as n sees it.
func nodesLine(t *testing.T, n *Node, id string) []string {
	t.Helper()
	for _, l := range strings.Split(cliOK(t, n, "CLUSTER", "NODES"), "\n") {
		if f := strings.Fields(l); len(f) >= 8 && f[0] == id {
			return f
		}
	}
	t.Fatalf("%s does not know node %s", n.Addr(), id)
	return nil
}
