package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/topology"
)

// applyRounds bounds observe-plan-run rounds: one is the rule, a second
// catches what a step changed that the plan could not foresee (a rebalance
// after replicas moved), a third means something fights back.
const applyRounds = 3

// epochSettleTimeout bounds apply's last wait, for config epochs to spread
// (Redis gossips them at least every cluster-node-timeout/2).
const epochSettleTimeout = 20 * time.Second

// ApplyResult is what RunApply did.
type ApplyResult struct {
	Steps []ApplyStep `json:"steps"` // every step run, in order
	Seed  string      `json:"seed"`
}

// RunApply runs the plan of each round until the cluster matches the
// spec. observed, when not nil, is the state the caller has just read (to
// print the plan): the first round starts from it instead of reading every
// node again. A step that fails stops it with an error naming the step;
// running apply again continues from the state the cluster is in.
func RunApply(ctx context.Context, pool *conn.Pool, spec *ClusterSpec, observed *ApplyState, o ApplyOptions, rep Reporter) (*ApplyResult, error) {
	if rep == nil {
		rep = Discard
	}
	res := &ApplyResult{Steps: []ApplyStep{}}
	for round := 0; round < applyRounds; round++ {
		st := observed
		if round > 0 || st == nil {
			var err error
			if st, err = ObserveApply(ctx, pool, spec); err != nil {
				return res, err
			}
		}
		plan, err := PlanApply(st, spec, o)
		if err != nil {
			return res, err
		}
		if len(plan.Steps) == 0 {
			if res.Seed == "" {
				res.Seed = plan.Seed
			}
			if len(res.Steps) == 0 || st.Cluster == nil {
				return res, nil
			}
			addrs := nodeAddrs(st.Cluster.Nodes)
			if o.WaitOK {
				rep.Report(Event{Kind: EventInfo, Message: "Waiting until every node reports cluster_state:ok"})
				wait := ConvergeOptions{Timeout: 60 * time.Second, Interval: pollInterval, SameSlots: true, SameReplicas: true}
				if err := waitSettled(ctx, pool, addrs, wait, true); err != nil {
					return res, err
				}
			}
			// A slot's new owner bumps its epoch; the nodes that were not
			// part of the move learn it by gossip. Return once all agree,
			// so that what apply leaves behind is stable.
			wait := ConvergeOptions{Timeout: epochSettleTimeout, Interval: 50 * time.Millisecond, SameSlots: true, SameReplicas: true, SameEpochs: true, SkipStateOK: true}
			if err := WaitConverged(ctx, pool, addrs, wait); err != nil {
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				rep.Report(Event{Kind: EventWarning, Message: "the spec is applied, but " + err.Error()})
			}
			return res, nil
		}
		seed := plan.Seed
		for _, step := range plan.Steps {
			rep.Report(Event{Kind: EventInfo, Message: ">>> " + step.Detail})
			if err := runApplyStep(ctx, pool, spec, o, &seed, step, rep); err != nil {
				return res, fmt.Errorf("apply step %q failed: %w (run apply again to continue from where the cluster is)", step.Detail, err)
			}
			res.Steps = append(res.Steps, step)
		}
		res.Seed = seed
	}
	return res, fmt.Errorf("the cluster still differs from the spec after %d rounds: see 'gocluster apply --dry-run' and 'gocluster check %s'", applyRounds, res.Seed)
}

func runApplyStep(ctx context.Context, pool *conn.Pool, spec *ClusterSpec, o ApplyOptions, seed *string, step ApplyStep, rep Reporter) error {
	switch step.Action {
	case StepCreate:
		// As create does by default: no wait for cluster_state:ok, which Redis
		// holds back up to 5 s on new masters; steps that need it wait for it.
		co := CreateOptions{Replicas: spec.Replicas, SkipStateOK: true}
		p, err := PrepareCreate(ctx, pool, step.Nodes, co)
		if err != nil {
			return err
		}
		if err := ApplyCreate(ctx, pool, p, co, rep); err != nil {
			return err
		}
		*seed = p.Masters[0]
	case StepAddMaster, StepAddReplica:
		ao := AddNodeOptions{Replica: step.Action == StepAddReplica, MasterID: step.Master}
		p, err := PrepareAddNode(ctx, pool, step.Node, *seed, ao)
		if err != nil {
			return err
		}
		return ApplyAddNode(ctx, pool, p, ao, rep)
	case StepReplicate:
		return replicateTo(ctx, pool, *seed, step.Node, step.Master)
	case StepRebalance:
		return applyRebalance(ctx, pool, spec, o, *seed, rep)
	case StepSetTimeout:
		c, err := topology.Load(ctx, pool, *seed)
		if err != nil {
			return err
		}
		p, err := PlanSetTimeout(c, spec.NodeTimeout)
		if err != nil {
			return err
		}
		for _, r := range ApplySetTimeout(ctx, pool, p, rep) {
			if r.Error != "" {
				return fmt.Errorf("%s: %s", r.Addr, r.Error)
			}
		}
	case StepFix:
		fo := FixOptions{}
		var p *FixPlan
		var r *FixResult
		for pass := 1; pass <= 2; pass++ { // a second plan when the cluster changed under the first
			s, err := SurveyFix(ctx, pool, *seed, fo)
			if err != nil {
				return err
			}
			if p, err = PlanFix(s, fo); err != nil {
				return err
			}
			if r, err = ApplyFix(ctx, pool, p, fo, rep); err != nil {
				return err
			}
			if !r.WorthAnotherPass() {
				break
			}
		}
		if !r.OK() {
			return fmt.Errorf("fix left %d conflict(s) and %d failed step(s): see 'gocluster fix %s'", len(r.Conflicts), len(r.Failures), *seed)
		}
		if len(p.Unfixable) > 0 {
			// Rebalancing on top of them would only time out waiting for
			// the nodes to agree.
			return fmt.Errorf("fix cannot repair everything yet: %s", strings.Join(p.Unfixable, "; "))
		}
	case StepRemove:
		p, err := PrepareDelNode(ctx, pool, *seed, step.Node, DelNodeOptions{})
		if err != nil {
			return err
		}
		return ApplyDelNode(ctx, pool, p, DelNodeOptions{}, rep)
	default:
		return fmt.Errorf("unknown apply step %q", step.Action)
	}
	return nil
}

// replicateTo makes node follow master (both host:port) and waits until
// every node agrees.
func replicateTo(ctx context.Context, pool *conn.Pool, seed, node, master string) error {
	c, err := topology.Load(ctx, pool, seed)
	if err != nil {
		return err
	}
	m, err := c.Find(master)
	if err != nil {
		return err
	}
	if err := pool.Get(node).Do(ctx, "CLUSTER", "REPLICATE", m.ID).Err(); err != nil {
		return conn.NodeError(node, "CLUSTER REPLICATE", err)
	}
	return WaitConverged(ctx, pool, nodeAddrs(c.Nodes), ConvergeOptions{Timeout: 60 * time.Second, Interval: pollInterval, SameSlots: true, SameReplicas: true})
}

// applyRebalance moves slots to the spec's weights: masters weigh as the
// spec says (1 by default), and those missing from it 0 when pruning.
func applyRebalance(ctx context.Context, pool *conn.Pool, spec *ClusterSpec, o ApplyOptions, seed string, rep Reporter) error {
	c, err := PrepareMigration(ctx, pool, seed, "rebalancing", 30*time.Second)
	if err != nil {
		return err
	}
	weights := map[string]float64{}
	for _, m := range c.Masters() {
		a := m.Addr()
		if w, ok := spec.Weights[a]; ok {
			weights[a] = w
		} else if o.Prune && !spec.inSpec(a) {
			weights[a] = 0
		}
	}
	plan, err := PlanRebalance(c, RebalanceOptions{Weights: weights, UseEmptyMasters: true, Threshold: DefaultRebalanceThreshold})
	if err != nil || !plan.Needed {
		return err
	}
	mode := o.Atomic
	if mode == "" {
		mode = migrate.AtomicAuto
	}
	res, err := ApplyMoves(ctx, pool, c, MigrationJob(c, plan.Moves), migrate.Options{Atomic: mode}, rep)
	if err != nil {
		return err
	}
	if len(res.Remaining) > 0 || len(res.Failed) > 0 {
		return fmt.Errorf("rebalance moved %d of %d slot(s)", len(res.Moved), len(plan.Moves))
	}
	return nil
}
