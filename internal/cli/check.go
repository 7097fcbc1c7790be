package cli

import (
	"context"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/spf13/cobra"
)

func init() { register(newCheckCmd) }

func newCheckCmd(g *globals) *cobra.Command {
	var opts admin.CheckOptions
	cmd := &cobra.Command{
		Use:   "check host:port",
		Short: "Check that the cluster is healthy: slots agree, none open, all covered, all nodes reachable",
		Long: `check loads the cluster from one node and runs every check redis-cli runs (nodes
agree about slots, open slots, coverage, and with --search-multiple-owners slots
claimed or holding keys on several masters) plus unreachable nodes, failure flags
and replicas on their master's host. Exit status 0 when healthy, 1 when not.`,
		Example: `  gocluster check 127.0.0.1:7000
  gocluster check 127.0.0.1:7000 --search-multiple-owners --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seed, pool, err := g.connect(args[0])
			if err != nil {
				return err
			}
			defer pool.Close()
			res, err := admin.Check(cmd.Context(), pool, seed, opts)
			if err != nil {
				return err
			}
			if g.json {
				if err := writeJSON(g.stdout, checkJSON(res)); err != nil {
					return err
				}
			} else {
				p := g.printer()
				printInfo(p, res.Info)
				printCheck(p, res)
			}
			if !res.OK() {
				return exitError{ExitProblem}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.SearchMultipleOwners, "search-multiple-owners", false, "also find slots that several masters claim or hold keys for")
	return cmd
}

// connect validates a host:port argument and builds the connection pool:
// how every command that works on a cluster starts.
func (g *globals) connect(addr string) (string, *conn.Pool, error) {
	seed, err := seedArg(addr)
	if err != nil {
		return "", nil, err
	}
	pool, err := g.pool()
	if err != nil {
		return "", nil, usageErr(err)
	}
	return seed, pool, nil
}

// load connects and loads the cluster that addr belongs to; the caller
// closes the pool.
func (g *globals) load(ctx context.Context, addr string) (*topology.Cluster, *conn.Pool, error) {
	seed, pool, err := g.connect(addr)
	if err != nil {
		return nil, nil, err
	}
	c, err := topology.Load(ctx, pool, seed)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return c, pool, nil
}

// seedArg validates a host:port argument (usage error when malformed).
func seedArg(s string) (string, error) {
	addr, err := conn.NormalizeAddr(s)
	if err != nil {
		return "", usageErr(err)
	}
	return addr, nil
}

type checkDoc struct {
	OK           bool               `json:"ok"`
	Seed         string             `json:"seed"`
	Consistent   bool               `json:"consistent"`
	OpenSlots    []int              `json:"open_slots"`
	CoveredSlots int                `json:"covered_slots"`
	Keys         int64              `json:"keys"`
	Nodes        []nodeJSON         `json:"nodes"`
	Problems     []topology.Problem `json:"problems"`
}

func checkJSON(res *admin.CheckResult) checkDoc {
	d := checkDoc{OK: res.OK(), Seed: res.Cluster.Seed, Consistent: res.Report.Consistent,
		OpenSlots: res.Report.OpenSlots, CoveredSlots: res.Report.CoveredSlots, Keys: res.Info.Keys,
		Nodes: nodesJSON(res.Cluster, res.Info), Problems: res.Report.Problems}
	if d.OpenSlots == nil {
		d.OpenSlots = []int{}
	}
	if d.Problems == nil {
		d.Problems = []topology.Problem{}
	}
	return d
}

// printCheck renders the report in redis-cli's order and wording.
func printCheck(p *printer, res *admin.CheckResult) {
	c, r := res.Cluster, res.Report
	byKind := map[string][]topology.Problem{}
	for _, pr := range r.Problems {
		byKind[pr.Kind] = append(byKind[pr.Kind], pr)
	}
	show := func(kind string) {
		for _, pr := range byKind[kind] {
			switch {
			case pr.Severity == topology.SevError:
				p.Err("[ERR] %s", pr.Message)
			case pr.Kind == topology.KindUnknownMaster: // redis-cli's own prefix for this one
				p.Warn("*** WARNING: %s", pr.Message)
			default:
				p.Warn("[WARNING] %s", pr.Message)
			}
		}
	}
	p.Info(">>> Performing Cluster Check (using node %s)", c.Seed)
	printNodes(p, c)
	if r.Consistent {
		p.OK("[OK] All nodes agree about slots configuration.")
	} else {
		show(topology.KindInconsistent)
	}
	p.Info(">>> Check for open slots...")
	show(topology.KindOpenSlot)
	show(topology.KindAtomicMigration)
	show(topology.KindAtomicImport)
	p.Info(">>> Check slots coverage...")
	if r.CoveredSlots == slots.Count {
		p.OK("[OK] All %d slots covered.", slots.Count)
	} else {
		show(topology.KindUncovered)
	}
	if res.MultipleOwnersSearched {
		p.Info(">>> Check for multiple slot owners...")
		if len(byKind[topology.KindMultipleOwners]) == 0 {
			p.OK("[OK] No multiple owners found.")
		}
		show(topology.KindMultipleOwners)
	}
	p.Info(">>> Check nodes and replicas...")
	for _, k := range []string{topology.KindUnreachable, topology.KindFailFlag, topology.KindUnknownMaster, topology.KindReplicaHost} {
		show(k)
	}
	if len(byKind[topology.KindUnreachable])+len(byKind[topology.KindFailFlag]) == 0 {
		p.OK("[OK] All %d nodes reachable and healthy.", len(c.Nodes))
	}
}
