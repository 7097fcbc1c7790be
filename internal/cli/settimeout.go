package cli

import (
	"fmt"
	"strconv"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/spf13/cobra"
)

func init() { register(newSetTimeoutCmd) }

func newSetTimeoutCmd(g *globals) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "set-timeout host:port milliseconds",
		Short: "Set cluster-node-timeout on every node and persist it (CONFIG REWRITE)",
		Example: `  gocluster set-timeout 127.0.0.1:7000 15000
  gocluster set-timeout 127.0.0.1:7000 15000 --dry-run`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			seed, err := seedArg(args[0])
			if err != nil {
				return err
			}
			ms, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return usagef("invalid timeout %q: want milliseconds as a whole number", args[1])
			}
			if ms < admin.MinNodeTimeout {
				return usagef("timeout %d ms is too small: setting a node timeout of less than %d milliseconds is a bad idea", ms, admin.MinNodeTimeout)
			}
			pool, err := g.pool()
			if err != nil {
				return usageErr(err)
			}
			defer pool.Close()
			c, err := topology.Load(cmd.Context(), pool, seed)
			if err != nil {
				return err
			}
			plan, err := admin.PlanSetTimeout(c, ms)
			if err != nil {
				return err
			}
			p := g.printer()
			if dryRun {
				if g.json {
					return writeJSON(g.stdout, map[string]any{"dry_run": true, "plan": plan})
				}
				p.Info(">>> Would set cluster-node-timeout to %d ms on %d nodes:", ms, len(plan.Nodes))
				for _, n := range plan.Nodes {
					p.Plain("    %s", n)
				}
				return nil
			}
			if !g.json {
				p.Info(">>> Reconfiguring node timeout in every cluster node...")
			}
			rep := admin.ReporterFunc(func(e admin.Event) {
				if g.json {
					return
				}
				switch e.Kind {
				case admin.EventNodeFailed:
					p.Err("ERR setting node-timeout for %s: %s", e.Node, e.Message)
				case admin.EventWarning:
					p.Warn("*** %s", e.Message)
				default:
					p.Warn("*** New timeout set for %s", e.Node)
				}
			})
			results := admin.ApplySetTimeout(cmd.Context(), pool, plan, rep)
			okCount, unsaved, why := 0, 0, ""
			for _, r := range results {
				if r.Error == "" {
					okCount++
				}
				if r.NotPersisted != "" {
					unsaved, why = unsaved+1, r.NotPersisted
				}
			}
			if g.json {
				if err := writeJSON(g.stdout, map[string]any{"ok": okCount == len(results), "timeout_ms": ms, "nodes": results}); err != nil {
					return err
				}
			} else {
				p.Info(">>> New node timeout set. %d OK, %d ERR.", okCount, len(results)-okCount)
				if unsaved > 0 {
					p.Warn("[WARNING] cluster-node-timeout is set but not persisted on %d node(s) (%s): it is lost when they restart unless their configuration carries it.", unsaved, why)
				}
			}
			if okCount != len(results) {
				return fmt.Errorf("cluster-node-timeout not set on %d of %d node(s); run set-timeout again once they are fixed", len(results)-okCount, len(results))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list the nodes that would change and stop")
	return cmd
}
