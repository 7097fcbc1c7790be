package admin

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
)

// Planned failover: promote a replica with CLUSTER FAILOVER, the way an
// operator does it for maintenance, with the choice of replica, the
// catch-up wait and the check that every node agrees done for them.

// Failover modes: CLUSTER FAILOVER's options.
const (
	FailoverDefault  = "default"  // the master agrees and stops writes until the replica caught up: no write is lost
	FailoverForce    = "force"    // without the master (it is down): writes it took and did not replicate are lost
	FailoverTakeover = "takeover" // without the master or a vote of the others: epochs can collide
)

// FailoverStep is one promotion.
type FailoverStep struct {
	Master    string `json:"master"`
	MasterID  string `json:"master_id"`
	Replica   string `json:"replica"`
	ReplicaID string `json:"replica_id"`
	Offset    int64  `json:"replica_offset"`
	Why       string `json:"why"`
}

// FailoverPlan is the promotions a failover makes, in order.
type FailoverPlan struct {
	Mode  string         `json:"mode"`
	Steps []FailoverStep `json:"steps"`
}

// PlanFailover plans the failover of target (address or node ID): a
// replica is promoted; for a master, its best replica is.
func PlanFailover(ctx context.Context, pool *conn.Pool, c *topology.Cluster, target, mode string) (*FailoverPlan, error) {
	n, err := c.Find(target)
	if err != nil {
		return nil, err
	}
	plan := &FailoverPlan{Mode: mode}
	if n.IsReplica() {
		m := c.ByID(n.MasterID)
		if m == nil {
			return nil, fmt.Errorf("replica %s follows %s, which the cluster does not know", n.Addr(), n.MasterID)
		}
		off, err := replicaOffset(ctx, pool, n.Addr())
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, FailoverStep{Master: m.Addr(), MasterID: m.ID, Replica: n.Addr(), ReplicaID: n.ID, Offset: off, Why: "the replica named"})
		return plan, nil
	}
	step, err := bestReplica(ctx, pool, c, n, "")
	if err != nil {
		return nil, err
	}
	plan.Steps = append(plan.Steps, step)
	return plan, nil
}

// PlanHostFailover plans moving every master off host: each master there
// is replaced by its best replica on another host.
func PlanHostFailover(ctx context.Context, pool *conn.Pool, c *topology.Cluster, host, mode string) (*FailoverPlan, error) {
	plan := &FailoverPlan{Mode: mode}
	for _, m := range c.Masters() {
		if m.Host != host || m.Slots.Len() == 0 {
			continue
		}
		step, err := bestReplica(ctx, pool, c, m, host)
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, step)
	}
	if len(plan.Steps) == 0 {
		return nil, fmt.Errorf("no master with slots runs on host %s: nothing to move", host)
	}
	return plan, nil
}

// bestReplica picks m's replica to promote: reachable, not failing, with
// its link to the master up, not on avoidHost, and the furthest along in
// replication (ties: the lowest ID, so plans are stable).
func bestReplica(ctx context.Context, pool *conn.Pool, c *topology.Cluster, m *topology.Node, avoidHost string) (FailoverStep, error) {
	type candidate struct {
		n   *topology.Node
		off int64
	}
	var cands []candidate
	var refused []string
	for _, r := range c.ReplicasOf(m.ID) {
		switch {
		case r.Failing():
			refused = append(refused, r.Addr()+" is failing")
		case avoidHost != "" && r.Host == avoidHost:
			refused = append(refused, r.Addr()+" is on the same host")
		default:
			off, err := replicaOffset(ctx, pool, r.Addr())
			if err != nil {
				refused = append(refused, r.Addr()+": "+err.Error())
				continue
			}
			cands = append(cands, candidate{r, off})
		}
	}
	if len(cands) == 0 {
		why := "it has no replica"
		if len(refused) > 0 {
			why = "no replica can take over (" + strings.Join(refused, "; ") + ")"
		}
		return FailoverStep{}, fmt.Errorf("cannot fail over master %s: %s", m.Addr(), why)
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].off != cands[j].off {
			return cands[i].off > cands[j].off
		}
		return cands[i].n.ID < cands[j].n.ID
	})
	best := cands[0]
	why := "its only eligible replica"
	if len(cands) > 1 {
		why = fmt.Sprintf("the most up to date of %d eligible replicas", len(cands))
	}
	return FailoverStep{Master: m.Addr(), MasterID: m.ID, Replica: best.n.Addr(), ReplicaID: best.n.ID, Offset: best.off, Why: why}, nil
}

// replicaOffset is a replica's replication offset, or an error when its
// link to the master is down.
func replicaOffset(ctx context.Context, pool *conn.Pool, addr string) (int64, error) {
	info, err := pool.Get(addr).Info(ctx, "replication").Result()
	if err != nil {
		return 0, conn.NodeError(addr, "INFO replication", err)
	}
	fields := conn.InfoFields(info)
	if fields["master_link_status"] != "up" {
		return 0, fmt.Errorf("its link to the master is %s", orUnknown(fields["master_link_status"]))
	}
	return strconv.ParseInt(fields["slave_repl_offset"], 10, 64)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// FailoverResult is how one promotion went.
type FailoverResult struct {
	FailoverStep
	Took  time.Duration `json:"took_ns"`
	Error string        `json:"error,omitempty"`
}

// RunFailover makes the planned promotions one after another: CLUSTER
// FAILOVER on the replica, then a wait (up to timeout) until every
// reachable node agrees that it is the master of the old master's slots.
// It stops at the first promotion that does not complete.
func RunFailover(ctx context.Context, pool *conn.Pool, seed string, plan *FailoverPlan, timeout time.Duration, rep Reporter) ([]FailoverResult, error) {
	var out []FailoverResult
	for _, st := range plan.Steps {
		start := time.Now()
		rep.Report(Event{Kind: EventInfo, Node: st.Replica, Message: fmt.Sprintf("Failing over %s to its replica %s (%s)", st.Master, st.Replica, st.Why)})
		err := failoverOne(ctx, pool, seed, st, plan.Mode, timeout)
		res := FailoverResult{FailoverStep: st, Took: time.Since(start)}
		if err != nil {
			res.Error = err.Error()
			out = append(out, res)
			return out, err
		}
		rep.Report(Event{Kind: EventNodeUpdated, Node: st.Replica, Message: fmt.Sprintf("%s is the master now, agreed by every node (%s)", st.Replica, res.Took.Round(time.Millisecond))})
		out = append(out, res)
	}
	return out, nil
}

// manualFailoverRetry is how long a CLUSTER FAILOVER is given before it
// is sent again: a little more than Redis's manual-failover timeout.
const manualFailoverRetry = 6 * time.Second

func failoverOne(ctx context.Context, pool *conn.Pool, seed string, st FailoverStep, mode string, timeout time.Duration) error {
	args := []any{"CLUSTER", "FAILOVER"}
	if mode == FailoverForce || mode == FailoverTakeover {
		args = append(args, strings.ToUpper(mode))
	}
	send := func() error {
		if err := pool.Get(st.Replica).Do(ctx, args...).Err(); err != nil {
			return conn.NodeError(st.Replica, "CLUSTER FAILOVER", err)
		}
		return nil
	}
	// One slot map across the nodes is awaited only if they had one before:
	// a node stale for another reason must not fail a good failover.
	before, err := topology.Load(ctx, pool, seed)
	wantAgreement := err == nil && topology.Consistent(before)
	if err := send(); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	sent := time.Now()
	waitingFor := "the replica to become master"
	poll := 50 * time.Millisecond
	for {
		done, what := failoverAgreed(ctx, pool, seed, st, wantAgreement)
		if done {
			return nil
		}
		// A manual failover that gets no votes ends quietly after 5 s
		// (masters refuse to vote for a replica of the same master twice
		// within twice the node timeout): ask again until the deadline.
		if what == "" || what == st.Replica+" to become master" || strings.Contains(what, "to see "+st.Replica) {
			if time.Since(sent) > manualFailoverRetry && !time.Now().After(deadline) {
				if err := send(); err != nil {
					return err
				}
				sent = time.Now()
			}
		}
		if what != "" {
			waitingFor = what
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("failover of %s to %s not complete after %s: still waiting for %s; run 'gocluster check' and try again, or with --force if the master is down", st.Master, st.Replica, timeout, waitingFor)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
		poll = min(poll*2, 400*time.Millisecond) // quick when it is quick, light when it is slow
	}
}

// failoverAgreed reports whether every reachable node sees the replica as
// a master holding slots, with one slot map across the nodes when
// wantAgreement, or what is still missing.
func failoverAgreed(ctx context.Context, pool *conn.Pool, seed string, st FailoverStep, wantAgreement bool) (bool, string) {
	// One ROLE to the replica until it has taken over; only then ask every
	// node for its view.
	if role, err := pool.Get(st.Replica).Do(ctx, "ROLE").Slice(); err == nil && len(role) > 0 && role[0] != "master" {
		return false, st.Replica + " to become master"
	}
	c, err := topology.Load(ctx, pool, st.Replica)
	if err != nil {
		if c, err = topology.Load(ctx, pool, seed); err != nil {
			return false, "the cluster to answer (" + err.Error() + ")"
		}
	}
	for _, n := range c.Nodes {
		view := c.Views[n.ID]
		var me *topology.Node
		for _, v := range view {
			if v.ID == st.ReplicaID {
				me = v
			}
		}
		if me == nil || !me.IsMaster() || me.Slots.Len() == 0 {
			return false, n.Addr() + " to see " + st.Replica + " as the master of the slots"
		}
	}
	// Every node must also have the same slot map (what check and
	// redis-cli compare): a node may see the new master and still give
	// some of the old master's slots to it for a moment.
	if wantAgreement && !topology.Consistent(c) {
		return false, "every node to agree about the slots configuration"
	}
	return true, ""
}
