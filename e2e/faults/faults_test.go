package faults

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"time"
)

// faultKinds are what goes wrong mid-command.
var faultKinds = []string{"kill-gocluster", "kill-source", "kill-target", "stop-node", "restart-node"}

// fault is one drawn fault: its moment and its victim.
type fault struct {
	kind   string
	delay  time.Duration // after the command starts
	victim node          // nil for kill-gocluster
	at     time.Time

	thawed       chan error   // SIGCONT's result, for stop-node
	victimMaster bool         // the victim served slots and had a replica
	victimSlots  map[int]bool // its slots and open slots just before the fault
}

// stopFor is how long stop-node freezes its victim: past
// cluster-node-timeout, so its replica takes over.
const stopFor = 3 * nodeTimeout

// maxDelay is about how long each command runs here, so that most
// faults land mid-way.
var maxDelay = map[string]time.Duration{
	"reshard": 1500 * time.Millisecond, "rebalance": 1800 * time.Millisecond, "add-node": 1200 * time.Millisecond,
	"del-node": 60 * time.Millisecond, "import": 1500 * time.Millisecond, "fix": 400 * time.Millisecond, "apply": 4 * time.Second,
}

// plan draws the fault's moment and victim from the trial's seed.
func (tr *trial) plan() *fault {
	f := &fault{kind: tr.fault, delay: time.Duration(tr.rng.Int64N(int64(maxDelay[tr.command])))}
	switch tr.fault {
	case "kill-source":
		f.victim = tr.src
	case "kill-target":
		f.victim = tr.dst
	case "stop-node", "restart-node":
		f.victim = tr.src
		if tr.rng.IntN(2) == 1 {
			f.victim = tr.dst
		}
	}
	return f
}

// inject applies the fault now, while p (the command) may still run.
func (f *fault) inject(tr *trial, p *process) {
	f.at = time.Now()
	if f.victim != nil {
		f.victimSlots, f.victimMaster = victimState(tr, f.victim)
	}
	switch f.kind {
	case "kill-gocluster":
		p.kill()
	case "kill-source", "kill-target":
		f.victim.kill()
	case "stop-node":
		// Thawed on time whether or not the command still runs, as a
		// stalled host or a healed partition would be.
		f.thawed = make(chan error, 1)
		if err := f.victim.pause(); err != nil || f.victim.exited() {
			if f.victim.exited() || errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) {
				tr.step("nothing to freeze: the victim had exited (del-node shuts the removed node down)")
			} else {
				tr.fail("SIGSTOP %s: %v", f.victim.Addr(), err)
			}
			f.thawed <- nil
			return
		}
		go func() {
			time.Sleep(stopFor)
			f.thawed <- f.victim.resume()
		}()
	case "restart-node":
		if err := f.victim.restart(); err != nil {
			if tr.command == "del-node" && f.victim == tr.src && strings.Contains(err.Error(), "User requested shutdown") {
				// del-node shut the node it removed down again right
				// after the restart (seed 131911): its own last step.
				tr.step("the restarted node was shut down by del-node, which had removed it")
				return
			}
			tr.restartFailed(f.victim, err)
		}
	}
}

// heal ends the fault once the command has exited: a killed node is
// started again after its replica had time to take over; a frozen one
// was thawed on time by inject, heal only collects the result.
func (f *fault) heal(tr *trial) {
	wait := func() {
		if d := time.Until(f.at.Add(3 * nodeTimeout)); d > 0 {
			time.Sleep(d)
		}
	}
	switch f.kind {
	case "kill-source", "kill-target":
		wait()
		if err := f.victim.restart(); err != nil {
			tr.restartFailed(f.victim, err)
		}
	case "stop-node":
		if err := <-f.thawed; err != nil {
			tr.fail("SIGCONT %s: %v", f.victim.Addr(), err)
		}
	}
}

// replacedSlots are the victim's slots if its replica took them over:
// there the last writes the victim acknowledged may not have reached the
// replica (Redis replicates asynchronously), a loss that is Redis's.
func (f *fault) replacedSlots(tr *trial) map[int]bool {
	if f.victim == nil || !f.victimMaster {
		return nil
	}
	tr.settle(tr.live(), 10*time.Second)
	if _, master := victimState(tr, f.victim); master {
		return nil // it kept its role: nothing it acknowledged may be missing
	}
	return f.victimSlots
}

// victimState reads a node's own view: the slots it serves or has open,
// and whether it is a master with slots and a replica.
func victimState(tr *trial, n node) (map[int]bool, bool) {
	view, err := clusterNodes(n)
	if err != nil {
		return nil, false // a standalone node, or one down
	}
	c := n.client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	id := c.ClusterMyID(ctx).Val()
	out := map[int]bool{}
	master, replicated := false, false
	for _, cn := range view {
		if cn.id == id {
			owners, _ := slotOwners([]clusterNode{cn})
			for s := range owners {
				out[s] = true
			}
			for _, s := range cn.open {
				out[s] = true
			}
			master = cn.master && len(owners) > 0
		}
		if cn.masterID == id && !cn.failed {
			replicated = true
		}
	}
	return out, master && replicated
}
