package engine

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// clusterProc is a cluster node process of either backend.
type clusterProc struct {
	addr string
	kill func()
}

// startProcs starts n cluster nodes of backend ("engine" or "redis") with
// a 2 s node timeout, so that failure detection is quick.
func startProcs(t *testing.T, backend string, n int) []clusterProc {
	t.Helper()
	out := make([]clusterProc, n)
	if backend == "engine" {
		for i, node := range StartN(t, n, Options{Cluster: true, NodeTimeout: 2 * time.Second}) {
			out[i] = clusterProc{node.Addr(), func() { node.Signal(syscall.SIGKILL) }}
		}
		return out
	}
	for i, s := range redistest.StartNodes(t, n, redistest.Options{Flavor: "redis", Cluster: true,
		Args: []string{"--cluster-node-timeout", "2000"}}) {
		out[i] = clusterProc{s.Addr(), s.Kill}
	}
	return out
}

// at runs redis-cli against one node and returns its output.
func at(t *testing.T, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	r := redisCLI(t, append([]string{"-h", host, "-p", port}, args...)...)
	if r.Code != 0 {
		t.Fatalf("redis-cli %s %v: exit %d\n%s", addr, args, r.Code, r.Output())
	}
	return strings.TrimSpace(r.Stdout)
}

// viewOf is one node's CLUSTER NODES: id -> fields.
func viewOf(t *testing.T, addr string) map[string][]string {
	t.Helper()
	view := map[string][]string{}
	for _, line := range strings.Split(at(t, addr, "CLUSTER", "NODES"), "\n") {
		if f := strings.Fields(line); len(f) >= 8 {
			view[f[0]] = f
		}
	}
	return view
}

// selfOf is a node's own CLUSTER NODES line.
func selfOf(t *testing.T, addr string) []string {
	t.Helper()
	for _, f := range viewOf(t, addr) {
		if strings.Contains(f[2], "myself") {
			return f
		}
	}
	t.Fatalf("%s: no myself line in CLUSTER NODES", addr)
	return nil
}

// waitAgreed waits until every node says cluster_state:ok and redis-cli
// --cluster check finds nothing to warn about.
func waitAgreed(t *testing.T, addrs []string) {
	t.Helper()
	harness.WaitFor(t, 30*time.Second, "the cluster to agree", func() bool {
		for _, a := range addrs {
			if !strings.Contains(at(t, a, "CLUSTER", "INFO"), "cluster_state:ok") {
				return false
			}
		}
		r := redisCLI(t, "--cluster", "check", addrs[0])
		return r.Code == 0 && !strings.Contains(r.Stdout, "[WARNING]")
	})
}

// waitReplicaCount waits until every node lists n replicas (redis-cli
// --cluster check passes while a node still sees a new replica as a
// master without slots).
func waitReplicaCount(t *testing.T, addrs []string, n int) {
	t.Helper()
	harness.WaitFor(t, 30*time.Second, fmt.Sprintf("every node to list %d replicas", n), func() bool {
		for _, a := range addrs {
			got := 0
			for _, f := range viewOf(t, a) {
				if strings.Contains(f[2], "slave") {
					got++
				}
			}
			if got != n {
				return false
			}
		}
		return true
	})
}

// slotCount counts the slots of a CLUSTER NODES line.
func slotCount(f []string) int {
	n := 0
	for _, r := range f[8:] {
		if strings.HasPrefix(r, "[") {
			continue
		}
		lo, hi, found := strings.Cut(r, "-")
		a, _ := strconv.Atoi(lo)
		b := a
		if found {
			b, _ = strconv.Atoi(hi)
		}
		n += b - a + 1
	}
	return n
}

// TestEmptiedMasterFollowsItsSlots: a master whose last slot is moved to
// another master becomes that master's replica, unless
// cluster-allow-replica-migration is no; the same on redis-server 7.0 and
// on the engine, by SETSLOT (MIGRATE pipeline) and on the engine also by
// atomic slot migration (as Valkey 9.0 does).
func TestEmptiedMasterFollowsItsSlots(t *testing.T) {
	gc := harness.Binary(t)
	cases := []struct{ backend, atomic string }{{"redis", "never"}, {"engine", "never"}, {"engine", "always"}}
	for _, tc := range cases {
		for _, allow := range []string{"yes", "no"} {
			t.Run(fmt.Sprintf("%s/atomic-%s/allow-%s", tc.backend, tc.atomic, allow), func(t *testing.T) {
				t.Parallel()
				procs := startProcs(t, tc.backend, 4)
				addrs := []string{procs[0].addr, procs[1].addr, procs[2].addr}
				if r := redisCLI(t, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...); r.Code != 0 {
					t.Fatalf("create: %s", r.Output())
				}
				leaving, taker := selfOf(t, addrs[2]), selfOf(t, addrs[0])
				replica := procs[3].addr // of the master that is emptied
				if r := redisCLI(t, "--cluster", "add-node", replica, addrs[0], "--cluster-slave", "--cluster-master-id", leaving[0]); r.Code != 0 {
					t.Fatalf("add-node: %s", r.Output())
				}
				for _, a := range append(addrs, replica) {
					at(t, a, "CONFIG", "SET", "cluster-allow-replica-migration", allow)
				}
				waitAgreed(t, append(addrs, replica))
				for i := range 50 {
					if r := at(t, addrs[0], "-c", "SET", fmt.Sprintf("k%d", i), "v"); r != "OK" {
						t.Fatalf("SET k%d: %s", i, r)
					}
				}
				r := harness.Exec(t, gc, harness.Cmd{Args: []string{"reshard", addrs[0], "--from", leaving[0], "--to", taker[0],
					"--slots", strconv.Itoa(slotCount(leaving)), "--atomic", tc.atomic, "--yes"}})
				if r.Code != 0 {
					t.Fatalf("reshard: exit %d\n%s", r.Code, r.Output())
				}
				if allow == "yes" {
					harness.WaitFor(t, 15*time.Second, "the emptied master to replicate the one that took its slots", func() bool {
						f := selfOf(t, addrs[2])
						return strings.Contains(f[2], "slave") && f[3] == taker[0]
					})
					harness.WaitFor(t, 15*time.Second, "its replica to replicate that master too", func() bool {
						return selfOf(t, replica)[3] == taker[0]
					})
					for _, a := range []string{addrs[2], replica} {
						harness.WaitFor(t, 15*time.Second, a+"'s replication link", func() bool {
							return strings.Contains(at(t, a, "INFO", "replication"), "master_link_status:up")
						})
					}
				} else {
					time.Sleep(2 * time.Second) // as long as a change takes to show above
					if f := selfOf(t, addrs[2]); !strings.Contains(f[2], "master") || len(f) > 8 {
						t.Fatalf("with cluster-allow-replica-migration no the emptied node is %v, want a master without slots", f)
					}
					if f := selfOf(t, replica); f[3] != leaving[0] {
						t.Fatalf("with cluster-allow-replica-migration no the emptied master's replica is %v, want it kept", f)
					}
				}
				kept := 0
				for _, a := range addrs[:2] {
					n, _ := strconv.Atoi(at(t, a, "DBSIZE"))
					kept += n
				}
				if kept != 50 {
					t.Fatalf("the two masters left hold %d keys, want all 50", kept)
				}
			})
		}
	}
}

// TestReplicaMigratesToOrphanedMaster: three masters, one with two
// replicas; when another master's only replica dies, one replica of the
// master with two moves to the orphaned one after Redis's 5 s delay, on
// redis-server 7.0 and on the engine alike; with
// cluster-allow-replica-migration no, or a cluster-migration-barrier of 2,
// none moves.
func TestReplicaMigratesToOrphanedMaster(t *testing.T) {
	redistest.SkipIfShort(t, "waits out the 5 s replica migration delay")
	for _, backend := range []string{"redis", "engine"} {
		for _, setting := range []string{"default", "allow-no", "barrier-2"} {
			t.Run(backend+"/"+setting, func(t *testing.T) {
				t.Parallel()
				procs := startProcs(t, backend, 7)
				var addrs []string
				for _, p := range procs[:6] {
					addrs = append(addrs, p.addr)
				}
				if r := redisCLI(t, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "1", "--cluster-yes")...); r.Code != 0 {
					t.Fatalf("create: %s", r.Output())
				}
				waitAgreed(t, addrs)
				waitReplicaCount(t, addrs, 3)
				view := viewOf(t, addrs[0])
				var masterIDs []string
				replicaOf := map[string][]string{} // master id -> replica ids
				addrOf := map[string]string{}
				for id, f := range view {
					addrOf[id] = strings.Split(f[1], "@")[0]
					if strings.Contains(f[2], "master") {
						masterIDs = append(masterIDs, id)
					} else {
						replicaOf[f[3]] = append(replicaOf[f[3]], id)
					}
				}
				slices.Sort(masterIDs)
				rich, poor := masterIDs[0], masterIDs[1]
				if r := redisCLI(t, "--cluster", "add-node", procs[6].addr, addrs[0], "--cluster-slave", "--cluster-master-id", rich); r.Code != 0 {
					t.Fatalf("add-node: %s", r.Output())
				}
				addrs = append(addrs, procs[6].addr)
				addrOf[selfOf(t, procs[6].addr)[0]] = procs[6].addr
				harness.WaitFor(t, 30*time.Second, "every node to see the second replica", func() bool {
					for _, a := range addrs {
						n := 0
						for _, f := range viewOf(t, a) {
							if f[3] == rich {
								n++
							}
						}
						if n != 2 {
							return false
						}
					}
					return true
				})
				for _, a := range addrs {
					switch setting {
					case "allow-no":
						at(t, a, "CONFIG", "SET", "cluster-allow-replica-migration", "no")
					case "barrier-2":
						at(t, a, "CONFIG", "SET", "cluster-migration-barrier", "2")
					}
				}
				if len(replicaOf[poor]) == 0 {
					t.Fatalf("no replica of %s in %v", poor, view)
				}
				victim := replicaOf[poor][0]
				var alive []string
				for _, p := range procs {
					if p.addr == addrOf[victim] {
						p.kill()
					} else {
						alive = append(alive, p.addr)
					}
				}
				// who replicates poor, by the nodes still up
				poorReplicas := func() []string {
					var ids []string
					for id, f := range viewOf(t, alive[0]) {
						if f[3] == poor && id != victim && !strings.Contains(f[2], "fail") {
							ids = append(ids, id)
						}
					}
					return ids
				}
				if setting == "default" {
					harness.WaitFor(t, 30*time.Second, "a replica to migrate to the orphaned master", func() bool {
						moved := poorReplicas()
						return len(moved) == 1 && strings.Contains(at(t, addrOf[moved[0]], "INFO", "replication"), "master_link_status:up")
					})
					moved := poorReplicas()[0]
					was := viewOf(t, addrOf[moved])
					if !strings.Contains(was[moved][2], "myself") || was[moved][3] != poor {
						t.Fatalf("the migrated replica's own view: %v", was[moved])
					}
					n := 0
					for _, f := range viewOf(t, alive[0]) {
						if f[3] == rich {
							n++
						}
					}
					if n != 1 {
						t.Fatalf("the master that had two replicas has %d after the migration, want 1", n)
					}
					return
				}
				harness.WaitFor(t, 20*time.Second, "the dead replica to be marked failed", func() bool {
					return strings.Contains(viewOf(t, alive[0])[victim][2], "fail")
				})
				time.Sleep(8 * time.Second) // past the 5 s delay
				if moved := poorReplicas(); len(moved) != 0 {
					t.Fatalf("with %s a replica moved to the orphaned master: %v", setting, moved)
				}
			})
		}
	}
}
