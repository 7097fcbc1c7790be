package cli

import (
	"errors"
	"os"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/spf13/cobra"
)

func init() { register(newApplyCmd) }

func newApplyCmd(g *globals) *cobra.Command {
	var (
		file           string
		weights        []string
		spec           admin.ClusterSpec
		opts           admin.ApplyOptions
		dryRun         bool
		nodeTimeoutSet bool
		atomic         string
	)
	cmd := &cobra.Command{
		Use:   "apply host:port... | -f cluster.yaml",
		Short: "Make a cluster match a spec: create, join, place replicas, rebalance, prune; idempotent",
		Long: `apply makes the cluster formed by the given nodes match a spec, from any
start: empty nodes are made into a cluster (as create); nodes outside the
cluster join it as masters until there are enough, then as replicas of the
masters with the fewest; empty masters past the wanted count become
replicas; replicas that share a host with their master swap with replicas
of another master when both then have hosts of their own; slots are
rebalanced to the weights; cluster-node-timeout is set. Members missing
from the spec are left alone unless --prune, which drains and removes them.

The spec comes from the arguments and flags, or from a YAML file (-f):

  nodes: [10.0.0.1:7000, 10.0.0.2:7000, 10.0.0.3:7000,
          10.0.0.1:7001, 10.0.0.2:7001, 10.0.0.3:7001]
  replicas: 1
  masters: 3                  # optional: nodes / (replicas + 1)
  weights: {10.0.0.1:7000: 2} # optional: masters not listed weigh 1
  cluster-node-timeout: 5000  # optional, milliseconds

It plans first (--dry-run prints the plan and stops), then runs each step
with the machinery of the other commands, and observes again until nothing
is left to do. A second run prints "Nothing to do" and exits 0; an
interrupted run converges when run again. A cluster with open slots is
refused (run fix, or pass --fix). The rebalance moves slots with atomic slot
migration where every node supports it (--atomic, as reshard).`,
		Example: `  gocluster apply 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 127.0.0.1:7003 127.0.0.1:7004 127.0.0.1:7005 --replicas 1
  gocluster apply -f cluster.yaml --dry-run
  gocluster apply -f cluster.yaml --wait-ok       # clients can use it at once
  gocluster apply -f cluster.yaml --prune --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := applySpec(file, args, spec, weights, cmd.Flags().Changed("replicas"), nodeTimeoutSet)
			if err != nil {
				return usageErr(err)
			}
			if opts.Atomic, err = migrate.ParseAtomicMode(atomic); err != nil {
				return usageErr(err)
			}
			pool, err := g.pool()
			if err != nil {
				return usageErr(err)
			}
			defer pool.Close()
			ctx := cmd.Context()
			p := g.printer()
			st, err := admin.ObserveApply(ctx, pool, s)
			if err != nil {
				return err
			}
			plan, err := admin.PlanApply(st, s, opts)
			if err != nil {
				return err
			}
			if dryRun || len(plan.Steps) == 0 {
				if g.json {
					return writeJSON(g.stdout, map[string]any{"dry_run": dryRun, "plan": plan})
				}
				if len(plan.Steps) > 0 {
					p.Info(">>> Apply plan:")
				}
				p.Plain("%s", plan.String())
				if dryRun && len(plan.Steps) > 0 {
					p.Plain("Dry run: nothing changed.")
				}
				return nil
			}
			var rep admin.Reporter = admin.Discard
			if !g.json {
				p.Info(">>> Apply plan:")
				p.Plain("%s", plan.String())
				rep = newEventRenderer(g, 0)
			}
			res, err := admin.RunApply(ctx, pool, s, st, opts, rep)
			if g.json {
				doc := map[string]any{"ok": err == nil, "steps": res.Steps, "seed": res.Seed}
				if err != nil {
					doc["error"] = err.Error()
				}
				if werr := writeJSON(g.stdout, doc); werr != nil {
					return werr
				}
			}
			if err != nil {
				if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
					return exitError{ExitSignal}
				}
				return err
			}
			if !g.json {
				p.OK("[OK] The cluster matches the spec (%d step(s) run).", len(res.Steps))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "read the spec from this YAML file")
	f.IntVar(&spec.Replicas, "replicas", 0, "replicas per master")
	f.IntVar(&spec.Masters, "masters", 0, "masters serving slots (default: nodes / (replicas + 1))")
	f.StringArrayVar(&weights, "weight", nil, "host:port=weight of a master (repeatable; others weigh 1)")
	f.Int64Var(&spec.NodeTimeout, "cluster-node-timeout", 0, "set cluster-node-timeout (milliseconds) on every node")
	f.BoolVar(&opts.Prune, "prune", false, "drain and remove members missing from the spec")
	f.BoolVar(&opts.Fix, "fix", false, "repair open slots first instead of refusing")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and stop")
	f.StringVar(&atomic, "atomic", string(migrate.AtomicAuto),
		"how the rebalance step moves slots, as reshard's --atomic: auto (atomic slot migration when every source and target supports it), always, never (MIGRATE)")
	f.BoolVar(&opts.WaitOK, "wait-ok", false, "once something changed, wait until every node reports cluster_state:ok (Redis delays it up to 5 s after slots are assigned)")
	cmd.PreRun = func(cmd *cobra.Command, _ []string) { nodeTimeoutSet = cmd.Flags().Changed("cluster-node-timeout") }
	return cmd
}

// applySpec builds the spec from a YAML file or from the arguments and
// flags (not both), and validates it.
func applySpec(file string, args []string, flags admin.ClusterSpec, weights []string, replicasSet, timeoutSet bool) (*admin.ClusterSpec, error) {
	if file != "" {
		if len(args) > 0 || len(weights) > 0 || replicasSet || flags.Masters != 0 || timeoutSet {
			return nil, errors.New("give the spec either as -f file or as nodes and flags, not both")
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return admin.ParseClusterSpec(data)
	}
	if len(args) == 0 {
		return nil, errors.New("no nodes: give host:port... or -f cluster.yaml")
	}
	s := flags
	s.Nodes = args
	if len(weights) > 0 {
		w, err := admin.ParseWeights(weights)
		if err != nil {
			return nil, err
		}
		s.Weights = w
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}
