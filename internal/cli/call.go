package cli

import (
	"fmt"
	"strings"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/spf13/cobra"
)

func init() { register(newCallCmd) }

func newCallCmd(g *globals) *cobra.Command {
	var opts admin.CallOptions
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "call host:port command [arg...]",
		Short: "Run a command on every node of the cluster, in parallel",
		Long: `call runs one command on every node (or only masters / only replicas) at once and
prints "host:port: reply" for each. Exit status 1 when any node failed.`,
		Example: `  gocluster call 127.0.0.1:7000 DBSIZE
  gocluster call 127.0.0.1:7000 CONFIG SET maxmemory-policy allkeys-lru --only-masters
  gocluster call 127.0.0.1:7000 --json INFO replication`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := extractKnownFlags(cmd, args)
			if err != nil {
				return usageErr(err)
			}
			if len(args) < 2 {
				return usagef("call needs host:port and a command")
			}
			seed, err := seedArg(args[0])
			if err != nil {
				return err
			}
			if opts.OnlyMasters && opts.OnlyReplicas {
				return usagef("--only-masters and --only-replicas exclude each other")
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
			plan, err := admin.PlanCall(c, args[1:], opts)
			if err != nil {
				return usageErr(err)
			}
			if dryRun {
				if g.json {
					return writeJSON(g.stdout, map[string]any{"dry_run": true, "plan": plan})
				}
				p := g.printer()
				p.Info(">>> Would call %s on %d nodes:", strings.Join(plan.Command, " "), len(plan.Targets))
				for _, t := range plan.Targets {
					p.Plain("    %s (%s)", t.Addr, t.Role)
				}
				return nil
			}
			results := admin.ApplyCall(cmd.Context(), pool, plan)
			failed := 0
			for _, r := range results {
				if r.Failed() {
					failed++
				}
			}
			if g.json {
				if err := writeJSON(g.stdout, map[string]any{"ok": failed == 0, "command": args[1:], "results": results}); err != nil {
					return err
				}
			} else {
				p := g.printer()
				p.Info(">>> Calling %s", strings.Join(args[1:], " "))
				for _, r := range results {
					if r.Failed() {
						p.Plain("%s: %s", r.Addr, r.Error)
					} else {
						p.Plain("%s: %s", r.Addr, admin.FormatRaw(r.Reply))
					}
				}
			}
			if failed > 0 {
				return fmt.Errorf("%s failed on %d of %d node(s)", strings.Join(args[1:], " "), failed, len(results))
			}
			return nil
		},
	}
	// Flags after the command belong to the command (call h:p SET k -1),
	// except gocluster's own, which redis-cli accepts anywhere.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().BoolVar(&opts.OnlyMasters, "only-masters", false, "run only on masters")
	cmd.Flags().BoolVar(&opts.OnlyReplicas, "only-replicas", false, "run only on replicas")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list the nodes the command would run on and stop")
	return cmd
}

// extractKnownFlags pulls this command's own flags out of positional args
// (flag parsing stops at the first positional argument so that the called
// command's arguments, such as "-1", stay untouched).
func extractKnownFlags(cmd *cobra.Command, args []string) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' || a == "--" {
			rest = append(rest, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := cmd.Flags().Lookup(name)
		if f == nil && !strings.HasPrefix(a, "--") && len(name) == 1 {
			f = cmd.Flags().ShorthandLookup(name)
		}
		if f == nil {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if f.NoOptDefVal != "" {
				value = f.NoOptDefVal
			} else if i+1 < len(args) {
				i++
				value = args[i]
			} else {
				return nil, fmt.Errorf("flag %s needs an argument", a)
			}
		}
		if err := cmd.Flags().Set(f.Name, value); err != nil {
			return nil, fmt.Errorf("invalid value %q for %s: %v", value, a, err)
		}
	}
	return rest, nil
}
