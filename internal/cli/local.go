package cli

import (
	"context"
	"os"
	"slices"
	"time"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/local"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/spf13/cobra"
)

func init() { register(newLocalCmd) }

func newLocalCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run a throw-away cluster on this machine",
		Example: `  gocluster local up
  gocluster local up --masters 3 --replicas 1 --port 7000`,
		// Without this, an unknown subcommand would print the help and exit 0.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q (try: up)", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newLocalUpCmd(g))
	return cmd
}

func newLocalUpCmd(g *globals) *cobra.Command {
	var (
		masters, replicas, port int
		host, backend, dir      string
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start local nodes, create the cluster, and run until Ctrl-C",
		Long: `up starts masters*(1+replicas) nodes on consecutive ports (the embedded engine by
default, or redis-server processes with --backend redis-server), makes them a cluster
with gocluster create, prints the addresses and the check, and runs until Ctrl-C,
then stops every node it started. -a sets the nodes' password too.

Without --dir the nodes live in a temporary directory, removed on exit. With --dir D
the data persists: every node runs with appendonly yes (appendfsync everysec) in
D/<port>, and the next "local up --dir D" with the same sizes brings the same
cluster back (node IDs, slots, replicas and keys) instead of creating a new one.`,
		Example: `  gocluster local up
  gocluster local up --masters 3 --replicas 1 --port 7000
  gocluster local up --dir ./cluster-data      # keeps the data: run it again to resume
  gocluster local up --backend redis-server --port 30001 -a secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if masters < 3 {
				return usagef("--masters %d: a cluster needs at least 3 masters", masters)
			}
			if replicas < 0 || replicas > 5 {
				return usagef("--replicas %d out of range 0-5", replicas)
			}
			nodes := masters * (1 + replicas)
			if port < 1 || port+nodes-1+10000 > 65535 {
				return usagef("--port %d out of range: %d nodes need ports %d-%d and their bus ports (+10000) below 65536",
					port, nodes, port, port+nodes-1)
			}
			if backend != local.BackendEngine && backend != local.BackendRedisServer {
				return usagef("--backend %q: use %s or %s", backend, local.BackendEngine, local.BackendRedisServer)
			}
			persist := dir != "" // a directory of the user's keeps the data across restarts
			if dir == "" {
				tmp, err := os.MkdirTemp("", "gocluster-local-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			return runLocalUp(cmd.Context(), g, local.Options{
				Nodes: nodes, Host: host, BasePort: port, Dir: dir,
				Backend: backend, Password: g.password, Persist: persist,
			}, replicas)
		},
	}
	f := cmd.Flags()
	f.IntVar(&masters, "masters", 3, "number of masters")
	f.IntVar(&replicas, "replicas", 1, "replicas per master")
	f.IntVar(&port, "port", 7000, "first port; nodes use consecutive ports")
	f.StringVar(&host, "host", "127.0.0.1", "address to bind")
	f.StringVar(&backend, "backend", local.BackendEngine, "node implementation: engine or redis-server")
	f.StringVar(&dir, "dir", "", "data directory, kept with appendonly yes so a later run resumes the cluster (default: a temporary one, removed on exit)")
	return cmd
}

func runLocalUp(ctx context.Context, g *globals, o local.Options, replicas int) error {
	p := g.printer()
	set, err := local.Start(ctx, o)
	if err != nil {
		return err
	}
	defer set.Stop()
	pool, err := g.pool()
	if err != nil {
		return usageErr(err)
	}
	defer pool.Close()
	start := time.Now()
	resumed, err := local.Resumed(ctx, pool, set.Addrs())
	if err != nil {
		return err
	}
	if resumed {
		if err := local.WaitClusterOK(ctx, pool, set.Addrs(), 60*time.Second); err != nil {
			return err
		}
	} else {
		plan, err := admin.PrepareCreate(ctx, pool, set.Addrs(), admin.CreateOptions{Replicas: replicas})
		if err != nil {
			return err
		}
		if err := admin.ApplyCreate(ctx, pool, plan, admin.CreateOptions{Replicas: replicas}, admin.Discard); err != nil {
			return err
		}
	}
	res, err := admin.Check(ctx, pool, set.Addrs()[0], admin.CheckOptions{})
	if err != nil {
		return err
	}
	if g.json {
		if err := writeJSON(g.stdout, map[string]any{"ok": res.OK(), "backend": o.Backend, "resumed": resumed,
			"nodes": nodesJSON(res.Cluster, res.Info)}); err != nil {
			return err
		}
	} else {
		if resumed {
			p.Info(">>> Restarted %d %s nodes from %s: the cluster and its data are back (%s)", len(set.Nodes), o.Backend, o.Dir, time.Since(start).Round(time.Millisecond))
		} else {
			p.Info(">>> Started %d %s nodes and created the cluster in %s", len(set.Nodes), o.Backend, time.Since(start).Round(time.Millisecond))
		}
		// One machine is the point of local up: one note instead of a
		// "same host" warning per replica.
		sameHost := len(res.Report.Problems)
		res.Report.Problems = slices.DeleteFunc(res.Report.Problems, func(pr topology.Problem) bool { return pr.Kind == topology.KindReplicaHost })
		printCheck(p, res)
		if sameHost > len(res.Report.Problems) {
			p.Plain("Note: every node runs on this machine, so replicas share their master's host; spread them over hosts in production.")
		}
		p.Plain("")
		p.Plain("Cluster ready. Try:")
		p.Plain("  redis-cli -c -p %d", o.BasePort)
		p.Plain("  gocluster check %s", set.Addrs()[0])
		p.Plain("Press Ctrl-C to stop.")
	}
	<-ctx.Done()
	if !g.json {
		p.Info(">>> Stopping %d nodes...", len(set.Nodes))
	}
	return nil
}
