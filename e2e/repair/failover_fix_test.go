package repair

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/conn"
)

// TestFixAfterSourceFailedOver: slots are open from a master with keys on
// both sides when that master is killed; its replica takes over and the
// old master comes back as a replica. The target still imports the slots
// from the old master, and Redis never lets gossip change an importing
// slot: the target drops them when the old master turns replica and stays
// cluster-down, answering CLUSTERDOWN to every command, MIGRATE included.
// gocluster fix must still repair the cluster with every key (found by
// the fault campaign, e2e/faults seed 12).
func TestFixAfterSourceFailedOver(t *testing.T) {
	ctx := context.Background()
	e, src, dst := openSlotsWithReplicas(t, 4, 40)
	c := e.c
	// Let the replica of src receive every write before src dies.
	replicaCaughtUp(t, e, src)
	c.Nodes[src].Kill()
	harness.WaitFor(t, 20*time.Second, "a replica of the killed master to serve slot 0", func() bool {
		for i := range c.Nodes {
			if i != src && c.Nodes[i].Alive() && e.servesItself(i, 0) {
				return true
			}
		}
		return false
	})
	if err := c.Nodes[src].Restart(); err != nil {
		t.Fatal(err)
	}
	srv, err := conn.ParseServer(e.node(dst).Info(ctx, "server").Val())
	if err != nil {
		t.Fatal(err)
	}
	if redistest.Flavor() == "valkey" || srv.AtLeast(8, 0) {
		// Valkey 8 does not leave the target cluster-down here, nor does a
		// redis-server built from Redis's unstable branch of 2026-06; fix
		// must still close the open slots with every key (mustFix checks).
		e.mustFix()
		return
	}
	harness.WaitFor(t, 10*time.Second, "the target to be cluster-down (the state fix must repair)", func() bool {
		return strings.Contains(e.node(dst).ClusterInfo(ctx).Val(), "cluster_state:fail")
	})
	r := e.mustFix()
	want(t, r.Stdout, "no longer owns them")
}

// servesItself says whether node i claims slot in its own CLUSTER SLOTS.
func (e *fixEnv) servesItself(i, slot int) bool { return e.servesAt(i, i, slot) }

// servesAt says whether node viewer's CLUSTER SLOTS gives slot to node owner.
func (e *fixEnv) servesAt(viewer, owner, slot int) bool {
	for _, r := range e.node(viewer).ClusterSlots(context.Background()).Val() {
		if slot >= int(r.Start) && slot <= int(r.End) && r.Nodes[0].Addr == e.c.Nodes[owner].Addr() {
			return true
		}
	}
	return false
}

// TestFixSecondPassAfterFailoverDuringFix: the source of open slots
// freezes while fix repairs them, for longer than the node timeout, so its
// replica takes over in the middle of the repairs and the steps planned
// for the old master fail ("Please use SETSLOT only with masters", MOVED).
// One fix run must still end with a healthy cluster and every key: it
// looks at the cluster again and runs a new plan (fault campaign seed
// 4086, where fix exited 1 and the cluster stayed down until fix ran
// again).
func TestFixSecondPassAfterFailoverDuringFix(t *testing.T) {
	e, src, _ := openSlotsWithReplicas(t, 8, 60)
	c := e.c
	replicaCaughtUp(t, e, src)

	cmd := exec.Command(harness.Binary(t), append(append([]string{"fix", c.Nodes[(src+1)%len(c.Nodes)].Addr()}, authArgs(c)...), "--yes", "--pipeline", "1")...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	frozen := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if !frozen && strings.HasPrefix(sc.Text(), ">>> Fixing open slot") {
			frozen = true
			if err := c.Nodes[src].Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			time.AfterFunc(3500*time.Millisecond, func() { c.Nodes[src].Signal(syscall.SIGCONT) })
		}
	}
	err = cmd.Wait()
	t.Logf("fix output:\n%s%s", out.String(), stderr.String())
	if !frozen {
		t.Fatal("fix never started a repair")
	}
	if err != nil {
		t.Fatalf("fix with a failover in the middle: %v", err)
	}
	if !strings.Contains(out.String(), "looking at it again") {
		t.Log("no repair failed this time (the failover came between two steps' commands)")
	}
	e.healthyAndComplete()
}

// openSlotsWithReplicas starts 3 masters with a replica each
// (cluster-node-timeout 1000) and leaves slots 0 to count-1 open from the
// owner of slot 0 (src) towards the owner of slot 16383 (dst), each with
// keys written and half of them moved by MIGRATE.
func openSlotsWithReplicas(t *testing.T, count, keysPerSlot int) (e *fixEnv, src, dst int) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1, Args: []string{"--cluster-node-timeout", "1000"}})
	e = &fixEnv{t: t, c: c, cc: c.ClusterClient(t), written: map[string]string{}}
	src, dst = e.ownerOf(0), e.ownerOf(16383)
	srcID, dstID := e.id(src), e.id(dst)
	for slot := range count {
		keys := e.write(slot, keysPerSlot)
		e.do(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID)
		e.do(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID)
		e.migrateRaw(src, dst, keys[:keysPerSlot/2]...)
	}
	return e, src, dst
}
