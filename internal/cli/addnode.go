package cli

import (
	"time"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/spf13/cobra"
)

func init() { register(newAddNodeCmd) }

func newAddNodeCmd(g *globals) *cobra.Command {
	var opts admin.AddNodeOptions
	var dryRun, slave bool
	cmd := &cobra.Command{
		Use:   "add-node new_host:new_port existing_host:existing_port",
		Short: "Add an empty node to a cluster, as a master or a replica, and wait until every node knows it",
		Long: `add-node checks the new node (reachable, cluster-enabled, empty, not already a
member) and the cluster (healthy) before changing anything. The new node meets every
member at once, and add-node returns only when every node knows it and agrees on the
slots, so reshard, rebalance or del-node can run right after it.
With --replica it becomes a replica of --master-id, or of the master with the
fewest replicas.`,
		Example: `  gocluster add-node 127.0.0.1:7006 127.0.0.1:7000
  gocluster add-node 127.0.0.1:7007 127.0.0.1:7000 --replica
  gocluster add-node 127.0.0.1:7007 127.0.0.1:7000 --replica --master-id 3c3a0c74aae0b56170ccb03a76b60cfe7dc1912e`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			newAddr, err := seedArg(args[0])
			if err != nil {
				return err
			}
			seed, err := seedArg(args[1])
			if err != nil {
				return err
			}
			if newAddr == seed {
				return usagef("the new node %s is also the existing node: give a node of the cluster as the second address", newAddr)
			}
			opts.Replica = opts.Replica || slave || opts.MasterID != ""
			pool, err := g.pool()
			if err != nil {
				return usageErr(err)
			}
			defer pool.Close()
			p := g.printer()
			if !g.json {
				p.Info(">>> Adding node %s to cluster %s", newAddr, seed)
			}
			plan, err := admin.PrepareAddNode(cmd.Context(), pool, newAddr, seed, opts)
			if err != nil {
				return err
			}
			doc := addNodeDoc{OK: true, DryRun: dryRun, Node: plan.New.Addr, ID: plan.New.ID, Role: "master", Seed: plan.Seed}
			if plan.Master != nil {
				doc.Role, doc.Master, doc.MasterID = "replica", plan.Master.Addr(), plan.Master.ID
				if plan.AutoMaster && !g.json {
					p.Plain("Automatically selected master %s", plan.Master.Addr())
				}
			}
			if dryRun {
				if g.json {
					return writeJSON(g.stdout, doc)
				}
				p.Plain("Would add %s (%s) as a %s, meeting %d node(s).", plan.New.Addr, plan.New.ID, doc.Role, len(plan.Members))
				p.Plain("Dry run: no node was changed.")
				return nil
			}
			if err := admin.ApplyAddNode(cmd.Context(), pool, plan, opts, provisionReporter(g)); err != nil {
				return err
			}
			if g.json {
				return writeJSON(g.stdout, doc)
			}
			p.OK("[OK] New node added correctly.")
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Replica, "replica", false, "add the node as a replica")
	f.BoolVar(&slave, "slave", false, "same as --replica")
	f.StringVar(&opts.MasterID, "master-id", "", "master to replicate (ID, prefix or host:port); implies --replica")
	f.BoolVar(&dryRun, "dry-run", false, "check and print what would be done, change nothing")
	f.DurationVar(&opts.ConvergeTimeout, "converge-timeout", 60*time.Second, "how long to wait for all nodes to know the new one")
	return cmd
}

type addNodeDoc struct {
	OK       bool   `json:"ok"`
	DryRun   bool   `json:"dry_run"`
	Node     string `json:"node"`
	ID       string `json:"id"`
	Role     string `json:"role"`
	Master   string `json:"master,omitempty"`
	MasterID string `json:"master_id,omitempty"`
	Seed     string `json:"seed"`
}
