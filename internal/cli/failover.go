package cli

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/spf13/cobra"
)

func init() { register(newFailoverCmd) }

func newFailoverCmd(g *globals) *cobra.Command {
	var (
		force, takeover, dryRun bool
		host                    string
		timeout                 time.Duration
	)
	cmd := &cobra.Command{
		Use:   "failover host:port",
		Short: "Planned failover: promote a replica, or a master's best replica, and wait until every node agrees",
		Long: `failover promotes a replica with CLUSTER FAILOVER. Given a replica, it is
promoted; given a master, its best replica is: reachable, its link to the
master up, the furthest along in replication. It then waits until every
reachable node sees the new master, and reports the new roles.

By default the master takes part: it stops accepting writes until the
replica has caught up, so no acknowledged write is lost. --force promotes
without the master (use it when the master is down: writes it did not
replicate are lost); --takeover also skips the other masters' vote (use it
when most masters are unreachable: config epochs can collide). Both ask
for confirmation unless --yes.

With --host IP, every master on that host is failed over to a replica on
another host (maintenance, upgrades); host:port is then any node of the
cluster.`,
		Example: `  gocluster failover 127.0.0.1:7003              # promote this replica
  gocluster failover 127.0.0.1:7000 --dry-run    # which replica of this master would take over
  gocluster failover 127.0.0.1:7000 --host 10.0.0.5 --yes
  gocluster failover 127.0.0.1:7003 --force --yes --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if force && takeover {
				return usagef("--force and --takeover are exclusive: pick one")
			}
			if host != "" && net.ParseIP(host) == nil {
				return usagef("invalid --host %q: want an IP address as CLUSTER NODES shows it", host)
			}
			if timeout <= 0 {
				return usagef("invalid --timeout %s: want a positive duration", timeout)
			}
			mode := admin.FailoverDefault
			if force {
				mode = admin.FailoverForce
			} else if takeover {
				mode = admin.FailoverTakeover
			}
			seed, err := seedArg(args[0])
			if err != nil {
				return err
			}
			pool, err := g.pool()
			if err != nil {
				return usageErr(err)
			}
			defer pool.Close()
			c, err := topology.Load(ctx, pool, seed)
			if err != nil {
				return err
			}
			var plan *admin.FailoverPlan
			if host != "" {
				plan, err = admin.PlanHostFailover(ctx, pool, c, host, mode)
			} else {
				plan, err = admin.PlanFailover(ctx, pool, c, seed, mode)
			}
			if err != nil {
				return err
			}
			p := g.printer()
			if dryRun {
				if g.json {
					return writeJSON(g.stdout, map[string]any{"dry_run": true, "plan": plan})
				}
				printFailoverPlan(p, plan)
				p.Plain("Dry run: nothing changed.")
				return nil
			}
			if !g.json {
				printFailoverPlan(p, plan)
			}
			if mode != admin.FailoverDefault {
				risk := "writes the master took and did not replicate yet are lost"
				if mode == admin.FailoverTakeover {
					risk += ", and without the other masters' vote two nodes may claim the same config epoch"
				}
				ok, err := confirm(g, fmt.Sprintf("Fail over with %s: %s. Proceed? (type 'yes' to accept): ", mode, risk))
				if err != nil {
					return err
				}
				if !ok {
					p.Plain("Nothing changed.")
					return exitError{ExitProblem}
				}
			}
			var rep admin.Reporter = admin.Discard
			if !g.json {
				rep = newEventRenderer(g, 0)
			}
			results, err := admin.RunFailover(ctx, pool, seed, plan, timeout, rep)
			if g.json {
				if werr := writeJSON(g.stdout, map[string]any{"ok": err == nil, "mode": plan.Mode, "failovers": results}); werr != nil {
					return werr
				}
			}
			if err != nil {
				if errors.Is(err, ctx.Err()) && ctx.Err() != nil {
					return exitError{ExitSignal}
				}
				return err
			}
			if !g.json {
				p.OK("[OK] %d failover(s) done.", len(results))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "promote without the master's agreement (it is down): unreplicated writes are lost")
	cmd.Flags().BoolVar(&takeover, "takeover", false, "promote without the master or the other masters' vote")
	cmd.Flags().StringVar(&host, "host", "", "fail over every master on this IP to replicas on other hosts")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print which replica would be promoted and stop")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "how long to wait for every node to agree on a promotion")
	return cmd
}

func printFailoverPlan(p *printer, plan *admin.FailoverPlan) {
	p.Info(">>> Failover plan (%s):", plan.Mode)
	for _, st := range plan.Steps {
		p.Plain("    %s (%s) takes over from master %s (%s): %s, replication offset %d",
			st.Replica, st.ReplicaID[:min(8, len(st.ReplicaID))], st.Master, st.MasterID[:min(8, len(st.MasterID))], st.Why, st.Offset)
	}
}
