package cli

import (
	"time"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/spf13/cobra"
)

func init() { register(newDelNodeCmd) }

func newDelNodeCmd(g *globals) *cobra.Command {
	var opts admin.DelNodeOptions
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "del-node host:port node_id",
		Short: "Remove an empty node (master without slots, or replica) from the cluster, even when it is down",
		Long: `del-node removes a node: a master that still serves slots is refused (move them away
first with reshard or rebalance). The replicas of a removed master move to the masters
with the fewest replicas. Every other node forgets the node at once, so gossip cannot
bring it back; then the node is reset (CLUSTER RESET SOFT) and shut down, unless
--no-shutdown. A node that is down is simply forgotten everywhere. del-node returns
when no remaining node knows it. node_id may be a full ID, a unique prefix or host:port.`,
		Example: `  gocluster del-node 127.0.0.1:7000 3c3a0c74aae0b56170ccb03a76b60cfe7dc1912e
  gocluster del-node 127.0.0.1:7000 127.0.0.1:7006 --no-shutdown`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			seed, pool, err := g.connect(args[0])
			if err != nil {
				return err
			}
			defer pool.Close()
			p := g.printer()
			if !g.json {
				p.Info(">>> Removing node %s from cluster %s", args[1], seed)
			}
			plan, err := admin.PrepareDelNode(cmd.Context(), pool, seed, args[1], opts)
			if err != nil {
				return err
			}
			doc := delNodeDoc{OK: true, DryRun: dryRun, Node: plan.Node.Addr(), ID: plan.Node.ID,
				WasReachable: plan.Reachable, Shutdown: plan.Shutdown, Warnings: append([]string{}, plan.Warnings...)}
			for _, r := range plan.Reassign {
				doc.MovedReplicas = append(doc.MovedReplicas, movedReplica{Replica: r.Replica.Addr(), Master: r.Master.Addr(), MasterID: r.Master.ID})
			}
			if dryRun {
				if g.json {
					return writeJSON(g.stdout, doc)
				}
				for _, r := range plan.Reassign {
					p.Plain("Would move replica %s to master %s", r.Replica.Addr(), r.Master.Addr())
				}
				for _, w := range plan.Warnings {
					p.Warn("[WARNING] %s", w)
				}
				then := ""
				switch {
				case plan.Shutdown:
					then = ", then reset and shut it down"
				case plan.Reachable:
					then = ", then reset it"
				}
				p.Plain("Would make %d node(s) forget %s (%s)%s.", len(plan.Others), plan.Node.Addr(), plan.Node.ID, then)
				p.Plain("Dry run: no node was changed.")
				return nil
			}
			if err := admin.ApplyDelNode(cmd.Context(), pool, plan, opts, provisionReporter(g)); err != nil {
				return err
			}
			if g.json {
				return writeJSON(g.stdout, doc)
			}
			p.OK("[OK] Node %s removed: no remaining node knows it.", plan.Node.Addr())
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.NoShutdown, "no-shutdown", false, "leave the removed node running (reset) instead of shutting it down")
	f.BoolVar(&dryRun, "dry-run", false, "check and print what would be done, change nothing")
	f.DurationVar(&opts.ConvergeTimeout, "converge-timeout", 60*time.Second, "how long to wait for every node to forget it")
	return cmd
}

type delNodeDoc struct {
	OK            bool           `json:"ok"`
	DryRun        bool           `json:"dry_run"`
	Node          string         `json:"node"`
	ID            string         `json:"id"`
	WasReachable  bool           `json:"was_reachable"`
	Shutdown      bool           `json:"shutdown"`
	MovedReplicas []movedReplica `json:"moved_replicas,omitempty"`
	Warnings      []string       `json:"warnings"`
}

type movedReplica struct {
	Replica  string `json:"replica"`
	Master   string `json:"master"`
	MasterID string `json:"master_id"`
}
