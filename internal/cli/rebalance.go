package cli

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/spf13/cobra"
)

func init() { register(newRebalanceCmd) }

func newRebalanceCmd(g *globals) *cobra.Command {
	var weights []string
	var opts admin.RebalanceOptions
	var simulate bool
	var by string
	var mf migrateFlags
	cmd := &cobra.Command{
		Use:   "rebalance host:port [node=weight ...]",
		Short: "Even out the slots across masters, by weight, moving keys in parallel",
		Long: `rebalance gives every master the number of slots its weight asks for, with
redis-cli's algorithm: the same weights (--weight node=w, default 1; node is an
ID, ID prefix or host:port), threshold (--threshold, percent, default 2), and
--use-empty-masters to include masters without slots, e.g. right after
add-node. Every master ends with the same number of slots redis-cli would give
it, but all the moves run in parallel. --simulate or --dry-run prints the moves
and stops.

--by keys or --by memory balances what the slots hold instead of how many
there are, and chooses which slots move: each master's keys (CLUSTER
SLOT-STATS where the server has it, Valkey 8+ and gocluster's engine; else
CLUSTER COUNTKEYSINSLOT) or bytes (SLOT-STATS memory-bytes where reported,
else MEMORY USAGE sampled on a few keys per slot) end within --threshold
percent of their weighted share. Ctrl-C finishes the slots in flight and leaves no slot open; run
the same command again to resume.`,
		Example: `  gocluster rebalance 127.0.0.1:7000 --use-empty-masters
  gocluster rebalance 127.0.0.1:7000 --weight 127.0.0.1:7000=2 --weight 9ab2=0 --simulate
  gocluster rebalance 127.0.0.1:7000 --cluster-weight 3f1c=2 77e0=1 --cluster-threshold 5
  gocluster rebalance 127.0.0.1:7000 --by keys --dry-run`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seed, err := seedArg(args[0])
			if err != nil {
				return err
			}
			// redis-cli takes several weights after one --cluster-weight.
			for _, a := range args[1:] {
				if !strings.Contains(a, "=") {
					return usagef("unexpected argument %q: want node=weight after --weight", a)
				}
				weights = append(weights, a)
			}
			if opts.Weights, err = admin.ParseWeights(weights); err != nil {
				return usageErr(err)
			}
			if opts.Threshold < 0 || math.IsNaN(opts.Threshold) || math.IsInf(opts.Threshold, 0) {
				return usagef("invalid --threshold %v: must be a percentage >= 0", opts.Threshold)
			}
			if by != admin.BySlots && by != admin.ByKeys && by != admin.ByMemory {
				return usagef("invalid --by %q: want slots, keys or memory", by)
			}
			if err := mf.validate(); err != nil {
				return err
			}
			dry := mf.dryRun || simulate
			pool, err := g.pool()
			if err != nil {
				return usageErr(err)
			}
			defer pool.Close()
			p := g.printer()
			c, err := admin.PrepareMigration(cmd.Context(), pool, seed, "rebalancing", 30*time.Second)
			if err != nil {
				return err
			}
			var plan *admin.RebalancePlan
			if by == admin.BySlots {
				if plan, err = admin.PlanRebalance(c, opts); err != nil {
					return usageErr(err)
				}
			} else {
				loads, err := admin.MeasureSlots(cmd.Context(), pool, c, by)
				if err != nil {
					return err
				}
				if plan, err = admin.PlanRebalanceByLoad(c, loads, opts); err != nil {
					return err
				}
			}
			if !g.json {
				for _, w := range plan.Warnings {
					p.Warn("[WARNING] %s", w)
				}
			}
			if !plan.Needed {
				if g.json {
					return writeJSON(g.stdout, rebalanceJSON(plan, dry))
				}
				p.Warn("*** No rebalancing needed! All nodes are within the %.2f%% threshold.", opts.Threshold)
				return nil
			}
			job := admin.MigrationJob(c, plan.Moves)
			mover, err := mf.chooseMover(cmd, g, pool, job)
			if err != nil {
				return err
			}
			if g.json && dry {
				doc := rebalanceJSON(plan, dry)
				doc.Mover = mover
				return writeJSON(g.stdout, doc)
			}
			if !g.json {
				if by == admin.BySlots {
					p.Info(">>> Rebalancing across %d nodes. Total weight = %.2f", len(plan.Nodes), plan.TotalWeight)
				} else {
					p.Info(">>> Rebalancing %s across %d nodes. Total weight = %.2f", by, len(plan.Nodes), plan.TotalWeight)
				}
				for _, n := range plan.Nodes {
					switch {
					case by != admin.BySlots:
						p.Plain("%s holds %d %s, target %d, after the moves %d (measured with %s)", n.Node.Addr(), n.Load, by,
							n.TargetLoad, n.LoadAfter, n.MeasuredWith)
					case g.verbose:
						p.Plain("%s balance is %d slots", n.Node.Addr(), n.Balance)
					}
				}
				for _, s := range plan.Steps {
					p.Plain("Moving %d slots from %s to %s", len(s.Slots), s.Source.Addr(), s.Target.Addr())
					if dry {
						p.Plain("    slots %s", slots.SetOf(s.Slots...).String())
					}
				}
			}
			if dry {
				p.Plain("Dry run: nothing changed.")
				return nil
			}
			resume := func([]migrate.Move) string {
				return "gocluster rebalance " + strings.Join(rebalanceArgs(seed, opts, weights, by), " ") + mf.resumeFlags()
			}
			return runMoves(cmd, g, pool, c, job, mf.options(), resume)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&weights, "weight", nil, "node=weight (repeatable; node is an ID, ID prefix or host:port)")
	f.BoolVar(&opts.UseEmptyMasters, "use-empty-masters", false, "give slots to masters that have none")
	f.Float64Var(&opts.Threshold, "threshold", admin.DefaultRebalanceThreshold, "rebalance only when a node is more than this percentage off its expected slots (0: any difference)")
	f.BoolVar(&simulate, "simulate", false, "print the moves and stop (same as --dry-run)")
	f.StringVar(&by, "by", admin.BySlots, "what to balance: slots (as redis-cli), keys or memory")
	mf.register(f)
	return cmd
}

// rebalanceArgs rebuilds the options of a rebalance for a resume command.
func rebalanceArgs(seed string, o admin.RebalanceOptions, weights []string, by string) []string {
	args := []string{seed}
	if by != admin.BySlots {
		args = append(args, "--by", by)
	}
	for _, w := range weights {
		args = append(args, "--weight", w)
	}
	if o.UseEmptyMasters {
		args = append(args, "--use-empty-masters")
	}
	if o.Threshold != admin.DefaultRebalanceThreshold {
		args = append(args, "--threshold", fmt.Sprint(o.Threshold))
	}
	return args
}

type rebalanceNodeJSON struct {
	Addr     string  `json:"addr"`
	ID       string  `json:"id"`
	Weight   float64 `json:"weight"`
	Slots    int     `json:"slots"`
	Expected int     `json:"expected"`
	Balance  int     `json:"balance"`
	// With --by keys or memory.
	Load       *int64 `json:"load,omitempty"`
	TargetLoad *int64 `json:"target_load,omitempty"`
	LoadAfter  *int64 `json:"load_after,omitempty"`
	Measured   string `json:"measured_with,omitempty"`
}

type rebalanceDoc struct {
	By          string              `json:"by"`
	DryRun      bool                `json:"dry_run"`
	Mover       string              `json:"mover,omitempty"`
	Needed      bool                `json:"needed"`
	Threshold   float64             `json:"threshold"`
	TotalWeight float64             `json:"total_weight"`
	Nodes       []rebalanceNodeJSON `json:"nodes"`
	Moves       []moveGroupJSON     `json:"moves"`
}

func rebalanceJSON(plan *admin.RebalancePlan, dry bool) rebalanceDoc {
	d := rebalanceDoc{By: plan.By, DryRun: dry, Needed: plan.Needed, Threshold: plan.Threshold, TotalWeight: plan.TotalWeight,
		Nodes: []rebalanceNodeJSON{}, Moves: []moveGroupJSON{}}
	for _, n := range plan.Nodes {
		nj := rebalanceNodeJSON{Addr: n.Node.Addr(), ID: n.Node.ID, Weight: n.Weight,
			Slots: n.Slots, Expected: n.Expected, Balance: n.Balance}
		if plan.By != admin.BySlots {
			nj.Load, nj.TargetLoad, nj.LoadAfter, nj.Measured = &n.Load, &n.TargetLoad, &n.LoadAfter, n.MeasuredWith
		}
		d.Nodes = append(d.Nodes, nj)
	}
	for _, s := range plan.Steps {
		d.Moves = append(d.Moves, moveGroupJSON{Source: s.Source.Addr(), Target: s.Target.Addr(), ID: s.Source.ID,
			Count: len(s.Slots), Slots: slots.SetOf(s.Slots...).String()})
	}
	return d
}
