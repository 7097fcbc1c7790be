package repair

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/conn"
)

// TestReshardKeepsKeysUntilTargetReplicaHasThem: the target's replica
// loses its replication link (a wrong masterauth keeps it from coming
// back), so it misses every key the reshard brings; then the target dies and the replica takes over. MIGRATE
// alone deletes each key from the source as soon as the target has it, and
// all of them would be lost (the fault campaign's seed 82795 lost 71 keys
// this way). gocluster must keep the keys on the source until the target's
// replica confirms them, so that fix finishes the slots with every key.
func TestReshardKeepsKeysUntilTargetReplicaHasThem(t *testing.T) {
	ctx := context.Background()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	e := &fixEnv{t: t, c: c, cc: c.ClusterClient(t), written: map[string]string{}}
	src, dst := e.ownerOf(0), e.ownerOf(16383)
	const slotCount, perSlot = 4, 50
	for slot := range slotCount {
		e.write(slot, perSlot)
	}
	replica := replicaOf(t, e, dst)
	replicaCaughtUp(t, e, dst)
	e.do(replica, "CONFIG", "SET", "masterauth", "not-the-password")
	e.do(dst, "CLIENT", "KILL", "TYPE", "replica")
	harness.WaitFor(t, 10*time.Second, "the replica's link to be down", func() bool {
		return strings.Contains(e.node(replica).Info(ctx, "replication").Val(), "master_link_status:down")
	})

	cmd, out, exited := startMigrateReshard(t, e, src, dst, slotCount)
	copied := func() bool {
		for slot := range slotCount {
			if e.node(dst).ClusterCountKeysInSlot(ctx, slot).Val() != perSlot {
				return false
			}
		}
		return true
	}
	// reshard first waits up to 15 s for the target's replicas to be in
	// sync, then goes on with a warning.
	deadline := time.Now().Add(40 * time.Second)
	for !copied() {
		if time.Now().After(deadline) {
			cmd.Process.Signal(syscall.SIGQUIT)
			time.Sleep(time.Second)
			t.Fatalf("the target never held every key of the moving slots; reshard said:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // what MIGRATE would delete is deleted by now
	for slot := range slotCount {
		if n := e.node(src).ClusterCountKeysInSlot(ctx, slot).Val(); n != perSlot {
			t.Fatalf("slot %d: the source holds %d of its %d keys while the target's replica has none of them:\n%s", slot, n, perSlot, out.String())
		}
	}

	// The target dies; its replica, which never got the keys, takes over.
	c.Nodes[dst].Kill()
	harness.WaitFor(t, 10*time.Second, "the replica to take over", func() bool {
		if roleIsMaster(e, replica) {
			return true
		}
		e.node(replica).Do(ctx, "CLUSTER", "FAILOVER", "TAKEOVER")
		return false
	})
	harness.WaitFor(t, 20*time.Second, "the replica to serve the target's slots", func() bool { return e.servesItself(replica, 16383) })
	select {
	case err := <-exited:
		if err == nil {
			t.Fatalf("reshard succeeded although its target died mid-way:\n%s", out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("reshard still running 30 s after its target died:\n%s", out.String())
	}
	t.Logf("reshard output:\n%s", out.String())
	if err := c.Nodes[dst].Restart(); err != nil {
		t.Fatal(err)
	}
	e.mustFix()
}

func roleIsMaster(e *fixEnv, i int) bool {
	role, err := e.node(i).Do(context.Background(), "ROLE").Slice()
	return err == nil && len(role) > 0 && role[0] == "master"
}

// TestReshardRecopiesAKeyWrittenWhileItsCopyWaits: a key is copied to the
// target, and while the copy waits for the target's replica (its link is
// down) a client writes the key on the source, where it still lives. When
// the replica is back, the source must not delete the key under the stale
// copy: the delete is refused (the key was WATCHed), the key is copied
// again, and the target and its replica end with the client's value.
func TestReshardRecopiesAKeyWrittenWhileItsCopyWaits(t *testing.T) {
	ctx := context.Background()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	e := &fixEnv{t: t, c: c, cc: c.ClusterClient(t), written: map[string]string{}}
	src, dst := e.ownerOf(0), e.ownerOf(16383)
	const perSlot = 20
	keys := e.write(0, perSlot)
	replica := replicaOf(t, e, dst)
	replicaCaughtUp(t, e, dst)
	e.do(replica, "CONFIG", "SET", "masterauth", "not-the-password")
	e.do(dst, "CLIENT", "KILL", "TYPE", "replica")

	_, out, exited := startMigrateReshard(t, e, src, dst, 1)
	// reshard waits up to 15 s for the replica first, then copies.
	harness.WaitFor(t, 40*time.Second, "the target to hold copies of the slot's keys", func() bool {
		return e.node(dst).ClusterCountKeysInSlot(ctx, 0).Val() == perSlot
	})
	if n := e.node(src).ClusterCountKeysInSlot(ctx, 0).Val(); n != perSlot {
		t.Fatalf("the source holds %d of %d keys before the target's replica confirmed them:\n%s", n, perSlot, out.String())
	}
	if err := e.cc.Set(ctx, keys[0], "written-during-the-copy", 0).Err(); err != nil {
		t.Fatal(err)
	}
	e.written[keys[0]] = "written-during-the-copy"
	e.do(replica, "CONFIG", "SET", "masterauth", "")
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("reshard: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("reshard still running 30 s after the replica came back:\n%s", out.String())
	}
	e.healthyAndComplete()
	rc := e.node(replica)
	harness.WaitFor(t, 10*time.Second, "the target's replica to hold the written value", func() bool {
		pipe := rc.Pipeline()
		pipe.ReadOnly(ctx)
		get := pipe.Get(ctx, keys[0])
		pipe.Exec(ctx)
		return get.Val() == "written-during-the-copy"
	})
}

// replicaCaughtUp waits until master's replica has applied everything
// the master wrote so far, so that a failover after it loses no write (a
// fixed sleep is not enough on a loaded machine, nor right after create,
// while the replica may still be in its first sync).
func replicaCaughtUp(t *testing.T, e *fixEnv, master int) {
	t.Helper()
	ctx := context.Background()
	replica := replicaOf(t, e, master)
	harness.WaitFor(t, 20*time.Second, "the replica to have every write of its master", func() bool {
		m := conn.InfoFields(e.node(master).Info(ctx, "replication").Val())
		r := conn.InfoFields(e.node(replica).Info(ctx, "replication").Val())
		want, err1 := strconv.ParseInt(m["master_repl_offset"], 10, 64)
		got, err2 := strconv.ParseInt(r["slave_repl_offset"], 10, 64)
		return err1 == nil && err2 == nil && got >= want &&
			r["master_link_status"] == "up" && r["master_replid"] == m["master_replid"]
	})
}

// replicaOf returns the index of master's replica.
func replicaOf(t *testing.T, e *fixEnv, master int) int {
	t.Helper()
	for _, n := range e.c.Topology(t).ReplicasOf(e.id(master)) {
		for i, node := range e.c.Nodes {
			if node.Addr() == n.Addr() {
				return i
			}
		}
	}
	t.Fatalf("node %d has no replica", master)
	return -1
}

// startMigrateReshard starts `gocluster reshard --atomic never` of slots
// slots from master src to dst in the background; exited receives its
// end. The test's end kills it if it still runs.
func startMigrateReshard(t *testing.T, e *fixEnv, src, dst, slots int) (*exec.Cmd, *syncBuffer, chan error) {
	t.Helper()
	cmd := exec.Command(harness.Binary(t), append(append([]string{"reshard", e.c.Addr()}, authArgs(e.c)...),
		"--from", e.id(src), "--to", e.id(dst), "--slots", fmt.Sprint(slots), "--yes", "--atomic", "never")...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	})
	return cmd, out, exited
}

// TestReshardWithoutWatchPermission: an ACL user that may not run WATCH
// still reshards; its keys move with plain MIGRATE, and gocluster says
// what that costs. (MULTI it needs anyway: the target takes a batch of
// slots in one transaction.)
func TestReshardWithoutWatchPermission(t *testing.T) {
	ctx := context.Background()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	e := &fixEnv{t: t, c: c, cc: c.ClusterClient(t), written: map[string]string{}}
	for i := range c.Nodes {
		e.do(i, "ACL", "SETUSER", "mover", "on", ">mover-pw", "~*", "&*", "+@all", "-watch")
	}
	src, dst := e.ownerOf(0), e.ownerOf(16383)
	for slot := range 3 {
		e.write(slot, 30)
	}
	r := harness.Run(t, "reshard", c.Addr(), "--user", "mover", "-a", "mover-pw", "--from", e.id(src), "--to", e.id(dst),
		"--slots", "3", "--yes", "--atomic", "never")
	if r.Code != 0 {
		t.Fatalf("reshard exit %d:\n%s", r.Code, r.Output())
	}
	want(t, r.Output(), "may not run WATCH or MULTI")
	for slot := range 3 {
		if n := e.node(dst).ClusterCountKeysInSlot(ctx, slot).Val(); n != 30 {
			t.Fatalf("slot %d: target holds %d of 30 keys:\n%s", slot, n, r.Output())
		}
	}
	e.healthyAndComplete()
}
