package cli

import (
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/spf13/cobra"
)

func init() { register(newCreateCmd) }

func newCreateCmd(g *globals) *cobra.Command {
	var opts admin.CreateOptions
	var dryRun, waitOK bool
	cmd := &cobra.Command{
		Use:   "create host:port... [--replicas N]",
		Short: "Create a cluster from empty nodes: slots, config epochs, MEET, replicas",
		Long: `create checks every node first (reachable, cluster-enabled, empty, given once, enough
for 3 masters) and changes none when one fails. It plans like redis-cli: masters
spread over hosts, an even split of the slots, replicas on another host than their
master. After confirmation it assigns slots and epochs, joins the nodes and sets up
replicas, in parallel on all nodes, and returns only when every node knows every
other one and all agree on slots and replicas. It ends with the cluster check.`,
		Example: `  gocluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 --replicas 0 --yes
  gocluster create 10.0.0.1:7000 10.0.0.2:7000 10.0.0.3:7000 10.0.0.1:7001 10.0.0.2:7001 10.0.0.3:7001 --replicas 1
  gocluster create 10.0.0.1:7000 10.0.0.2:7000 10.0.0.3:7000 --dry-run --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.SkipStateOK = !waitOK
			addrs, err := admin.ValidateCreateArgs(args, opts.Replicas)
			if err != nil {
				return usageErr(err)
			}
			pool, err := g.pool()
			if err != nil {
				return usageErr(err)
			}
			defer pool.Close()
			p := g.printer()
			if !g.json {
				p.Info(">>> Performing hash slots allocation on %d nodes...", len(addrs))
			}
			plan, err := admin.PrepareCreate(cmd.Context(), pool, addrs, opts)
			if err != nil {
				return err
			}
			if g.json && dryRun {
				return writeJSON(g.stdout, createDoc{OK: true, DryRun: true, Plan: createPlanJSON(plan)})
			}
			if !g.json {
				printCreatePlan(p, plan)
			}
			if dryRun {
				p.Plain("Dry run: no node was changed.")
				return nil
			}
			ok, err := confirm(g, "Can I set the above configuration? (type 'yes' to accept): ")
			if err != nil {
				return err
			}
			if !ok {
				p.Err("[ERR] Aborted: no node was changed.")
				return exitError{ExitProblem}
			}
			start := time.Now()
			if err := admin.ApplyCreate(cmd.Context(), pool, plan, opts, provisionReporter(g)); err != nil {
				return err
			}
			elapsed := time.Since(start)
			res, err := admin.Check(cmd.Context(), pool, addrs[0], admin.CheckOptions{})
			if err != nil {
				return err
			}
			if g.json {
				doc := createDoc{OK: res.OK(), Plan: createPlanJSON(plan), ElapsedMS: elapsed.Milliseconds()}
				c := checkJSON(res)
				doc.Check = &c
				if err := writeJSON(g.stdout, doc); err != nil {
					return err
				}
			} else {
				printCheck(p, res)
				p.OK("[OK] Cluster created in %s.", elapsed.Round(time.Millisecond))
			}
			if !res.OK() {
				return exitError{ExitProblem}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Replicas, "replicas", 0, "replicas per master")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	f.DurationVar(&opts.ConvergeTimeout, "converge-timeout", 60*time.Second, "how long to wait for all nodes to agree")
	f.BoolVar(&waitOK, "wait-ok", false, "also wait until every node reports cluster_state:ok (Redis delays it up to 5 s after slots are assigned)")
	return cmd
}

// printCreatePlan prints the plan with redis-cli's lines.
func printCreatePlan(p *printer, plan *admin.CreatePlan) {
	for i, m := range plan.Masters {
		r := plan.SlotRanges[m]
		p.Plain("Master[%d] -> Slots %d - %d", i, r.Start, r.End)
	}
	// Replicas beyond --replicas per master are the nodes left over, which
	// redis-cli lists after "Adding extra replicas...".
	extra := false
	for _, m := range plan.Masters {
		rs := plan.Replicas[m]
		for _, r := range rs[:min(len(rs), plan.ReplicasPerMaster)] {
			p.Plain("Adding replica %s to %s", r, m)
		}
		extra = extra || len(rs) > plan.ReplicasPerMaster
	}
	if extra {
		p.Plain("Adding extra replicas...")
		for _, m := range plan.Masters {
			for _, r := range plan.Replicas[m][min(len(plan.Replicas[m]), plan.ReplicasPerMaster):] {
				p.Plain("Adding replica %s to %s", r, m)
			}
		}
	}
	if plan.Optimized {
		p.Info(">>> Trying to optimize slaves allocation for anti-affinity")
		if plan.AffinityScore == 0 {
			p.OK("[OK] Perfect anti-affinity obtained!")
		}
	}
	for _, w := range plan.Warnings {
		p.Warn("[WARNING] %s", w)
	}
	for _, n := range plan.Nodes {
		if master := plan.MasterOf(n.Addr); master != "" {
			p.Plain("S: %s %s", n.ID, n.Addr)
			p.Plain("   replicates %s", plan.Node(master).ID)
			continue
		}
		r := plan.SlotRanges[n.Addr]
		p.Plain("M: %s %s", n.ID, n.Addr)
		p.Plain("   slots:[%s] (%d slots) master", r, r.Len())
		if k := len(plan.Replicas[n.Addr]); k > 0 {
			p.Plain("   %d additional replica(s)", k)
		}
	}
}

type createDoc struct {
	OK        bool          `json:"ok"`
	DryRun    bool          `json:"dry_run"`
	Plan      createPlanDoc `json:"plan"`
	ElapsedMS int64         `json:"elapsed_ms,omitempty"`
	Check     *checkDoc     `json:"check,omitempty"`
}

type createPlanDoc struct {
	ReplicasPerMaster int             `json:"replicas_per_master"`
	Nodes             []createNodeDoc `json:"nodes"`
	AffinityScore     int             `json:"anti_affinity_score"`
	Warnings          []string        `json:"warnings"`
}

type createNodeDoc struct {
	Addr      string `json:"addr"`
	ID        string `json:"id"`
	Role      string `json:"role"`
	Slots     string `json:"slots,omitempty"`
	SlotCount int    `json:"slot_count"`
	Master    string `json:"master,omitempty"`
	MasterID  string `json:"master_id,omitempty"`
	Epoch     int    `json:"config_epoch"`
}

func createPlanJSON(plan *admin.CreatePlan) createPlanDoc {
	d := createPlanDoc{ReplicasPerMaster: plan.ReplicasPerMaster, AffinityScore: plan.AffinityScore,
		Warnings: append([]string{}, plan.Warnings...)}
	for _, n := range plan.Nodes {
		nd := createNodeDoc{Addr: n.Addr, ID: n.ID, Role: "master", Epoch: plan.Epochs[n.Addr]}
		if m := plan.MasterOf(n.Addr); m != "" {
			nd.Role, nd.Master, nd.MasterID = "replica", m, plan.Node(m).ID
		} else if r, ok := plan.SlotRanges[n.Addr]; ok {
			nd.Slots, nd.SlotCount = r.String(), r.Len()
		}
		d.Nodes = append(d.Nodes, nd)
	}
	return d
}

// provisionReporter prints the steps of create, add-node and del-node as
// redis-cli does (">>> step"); with --json the final document says it all.
func provisionReporter(g *globals) admin.Reporter {
	if g.json {
		return admin.Discard
	}
	p := g.printer()
	var mu sync.Mutex
	return admin.ReporterFunc(func(e admin.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case admin.EventInfo:
			p.Info(">>> %s", e.Message)
		case admin.EventWarning:
			p.Warn("[WARNING] %s", e.Message)
		case admin.EventNodeFailed:
			p.Err("[ERR] %s", e.Message)
		case admin.EventNodeUpdated:
			if e.Message != "" {
				p.Plain("%s", e.Message)
			}
		}
	})
}
