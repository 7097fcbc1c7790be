package engine

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond every 200ms until it returns "" or fails the test
// with its last answer after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		last := cond()
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// infoField reads one field of INFO from a node, "" if absent.
func infoField(t *testing.T, n *Node, section, field string) string {
	t.Helper()
	for _, l := range strings.Split(cliOK(t, n, "INFO", section), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), field+":"); ok {
			return v
		}
	}
	return ""
}

// TestFailoverAfterMasterKilled: in a cluster of engine processes made by
// redis-cli with one replica per master, replicas copy their master's data;
// when a master process is SIGKILLed its replica is elected, takes the
// slots, and serves every key written before; the old master, restarted,
// rejoins as a replica of the new one and redis-cli --cluster check is clean.
func TestFailoverAfterMasterKilled(t *testing.T) {
	nodes := StartN(t, 6, Options{Cluster: true, NodeTimeout: 2 * time.Second})
	createCluster(t, nodes, 1)
	cc := clusterClient(t, nodes)
	ctx := context.Background()
	want := writeEveryType(t, cc, "fo", 200)

	// every replica is linked and has its master's keys
	byID := map[string]*Node{}
	for _, n := range nodes {
		byID[nodeID(t, n)] = n
	}
	var victim, heir *Node
	for _, n := range nodes {
		f := myself(t, n)
		if !strings.Contains(f[2], "slave") {
			continue
		}
		master := byID[f[3]]
		waitFor(t, 15*time.Second, "replica "+n.Addr()+" in sync", func() string {
			if s := infoField(t, n, "replication", "master_link_status"); s != "up" {
				return "master_link_status:" + s
			}
			if r, m := cliOK(t, n, "DBSIZE"), cliOK(t, master, "DBSIZE"); r != m {
				return fmt.Sprintf("replica has %s keys, master %s", r, m)
			}
			return ""
		})
		if victim == nil {
			victim, heir = master, n
		}
	}
	if victim == nil {
		t.Fatal("no replica in a cluster made with --cluster-replicas 1")
	}
	// a replica redirects reads to its master, and serves them after READONLY
	conn := client(t, heir).Conn()
	defer conn.Close()
	served := false
	for k, w := range want {
		if !strings.HasPrefix(w, "string:") {
			continue
		}
		if err := conn.Get(ctx, k).Err(); err == nil || !strings.HasSuffix(err.Error(), " "+victim.Addr()) {
			continue // not a key of the heir's master
		}
		if err := conn.ReadOnly(ctx).Err(); err != nil {
			t.Fatalf("READONLY on a replica: %v", err)
		}
		if got, err := conn.Get(ctx, k).Result(); err != nil || "string:"+got != w {
			t.Fatalf("GET %s on a READONLY replica = %q, %v; want %s", k, got, err, w)
		}
		served = true
		break
	}
	if !served {
		t.Fatal("found no key that the replica redirects to its master")
	}

	victimID, heirID := nodeID(t, victim), nodeID(t, heir)
	victimSlots := mySlots(t, victim)
	victim.Signal(syscall.SIGKILL)
	survivors := []*Node{}
	for _, n := range nodes {
		if n != victim {
			survivors = append(survivors, n)
		}
	}
	waitFor(t, 30*time.Second, "replica takes over", func() string {
		f := myself(t, heir)
		if !strings.Contains(f[2], "master") || strings.Join(f[8:], " ") != victimSlots {
			return "heir says " + strings.Join(f, " ")
		}
		for _, n := range survivors {
			if info := cliOK(t, n, "CLUSTER", "INFO"); !strings.Contains(info, "cluster_state:ok") {
				return n.Addr() + " is not ok yet"
			}
			// every survivor routes the slots to the heir, so clients do too
			if f := nodesLine(t, n, heirID); !strings.Contains(f[2], "master") || strings.Join(f[8:], " ") != victimSlots {
				return n.Addr() + " still sees the heir as " + strings.Join(f, " ")
			}
		}
		return ""
	})

	// every key written before the failover is still there; a fresh client,
	// since go-redis refreshes a stale slot map only every 10 s
	cc = clusterClient(t, survivors)
	checkEveryType(t, cc, want)
	if err := cc.Set(ctx, "after-failover", "yes", 0).Err(); err != nil {
		t.Fatalf("write after failover: %v", err)
	}

	// the old master comes back as a replica of its heir
	victim.Restart()
	waitFor(t, 30*time.Second, "old master rejoins as replica", func() string {
		f := myself(t, victim)
		if !strings.Contains(f[2], "slave") || f[3] != heirID {
			return "old master says " + strings.Join(f, " ")
		}
		return ""
	})
	out := waitHealthy(t, nodes, 30*time.Second)
	if m, s := strings.Count(out, "\nM: "), strings.Count(out, "\nS: "); m != 3 || s != 3 {
		t.Fatalf("after failover and rejoin want 3 masters and 3 replicas, got %d and %d:\n%s", m, s, out)
	}
	if got := cc.Get(ctx, "after-failover").Val(); got != "yes" {
		t.Fatalf("after-failover = %q", got)
	}
	t.Logf("%s failed over to %s", victimID[:8], heirID[:8])
}
