package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { register(newReshardCmd) }

func newReshardCmd(g *globals) *cobra.Command {
	var from []string
	var to string
	var count int
	var mf migrateFlags
	cmd := &cobra.Command{
		Use:   "reshard host:port",
		Short: "Move a number of slots, with their keys, from some masters to another",
		Long: `reshard moves --slots slots and their keys from the --from masters (node IDs,
ID prefixes or host:port, comma separated, or "all") to the --to master while
clients keep working. Slots are taken from each source in proportion to the
slots it holds, lowest-numbered first, like redis-cli, but always exactly
--slots of them.

Sources run in parallel; each opens a batch of slots (IMPORTING on the target,
then MIGRATING on the source), drains it with pipelined GETKEYSINSLOT and
MIGRATE, then assigns it (target, source, every other master). When the
target has replicas, keys are copied (MIGRATE COPY under WATCH) and leave the
source only once those replicas have them, so a failover of the target
mid-move loses nothing. On a terminal,
missing --from/--to/--slots are asked for; without one they are required.
Ctrl-C finishes the slots in flight, leaves no slot open and prints the
command that resumes.

With --atomic auto (the default), when every source and target supports
atomic slot migration (Valkey 9.0+, Redis 8.4+, gocluster engine nodes), whole
slots move with CLUSTER MIGRATESLOTS (Valkey) or CLUSTER MIGRATION IMPORT
(Redis 8.4) instead: the nodes stream the slots and flip their
ownership in one step, with no ASK redirection. Ctrl-C then cancels the
migrations in flight; their slots stay with their sources.`,
		Example: `  gocluster reshard 127.0.0.1:7000 --from all --to 127.0.0.1:7003 --slots 1000 --yes
  gocluster reshard 127.0.0.1:7000 --from all --to 127.0.0.1:7003 --slots 1000 --atomic always --yes
  gocluster reshard 127.0.0.1:7000 --cluster-from 3f1c,9ab2 --cluster-to 77e0 --cluster-slots 500 --dry-run
  gocluster reshard 127.0.0.1:7000            # asks what to move (terminal only)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seed, err := seedArg(args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("slots") && (count < 1 || count > slots.Count) {
				return usagef("invalid --slots %d: must be from 1 to %d", count, slots.Count)
			}
			if err := mf.validate(); err != nil {
				return err
			}
			opts := admin.ReshardOptions{From: splitList(from), To: to, Slots: count}
			var missing []string
			for _, m := range []struct {
				name  string
				unset bool
			}{{"--from", len(opts.From) == 0}, {"--to", opts.To == ""}, {"--slots", opts.Slots == 0}} {
				if m.unset {
					missing = append(missing, m.name)
				}
			}
			if len(missing) > 0 && (g.json || !g.interactive()) {
				return usagef("missing %s (no terminal to ask on; with --json every option is required)", strings.Join(missing, ", "))
			}
			pool, err := g.pool()
			if err != nil {
				return usageErr(err)
			}
			defer pool.Close()
			ctx := cmd.Context()
			p := g.printer()
			c, err := admin.PrepareMigration(ctx, pool, seed, "resharding", 30*time.Second)
			if err != nil {
				return err
			}
			if !g.json {
				res, err := admin.CheckLoaded(ctx, pool, c, admin.CheckOptions{})
				if err != nil {
					return err
				}
				printCheck(p, res)
				if len(missing) > 0 {
					if err := reshardWizard(g, res.Info, c, &opts); err != nil {
						return err
					}
				}
			}
			plan, err := admin.PlanReshard(c, opts)
			if err != nil {
				return usageErr(err)
			}
			job := admin.MigrationJob(c, plan.Moves)
			if !g.json {
				printReshardPlan(p, plan, g.verbose)
			}
			mover, err := mf.chooseMover(cmd, g, pool, job)
			if err != nil {
				return err
			}
			if g.json && mf.dryRun {
				doc := reshardPlanJSON(plan, true)
				doc.Mover = mover
				return writeJSON(g.stdout, doc)
			}
			if mf.dryRun {
				p.Plain("Dry run: nothing changed.")
				return nil
			}
			if !g.json {
				ok, err := confirm(g, "Do you want to proceed with the proposed reshard plan (yes/no)? ")
				if err != nil {
					return err
				}
				if !ok {
					p.Plain("Nothing changed.")
					return exitError{ExitProblem}
				}
			} else if !g.yes {
				return usagef("reshard with --json needs --yes (or --dry-run)")
			}
			resume := func(rest []migrate.Move) string {
				var srcs []string
				for _, m := range rest {
					if !containsString(srcs, m.Source.ID) {
						srcs = append(srcs, m.Source.ID)
					}
				}
				return fmt.Sprintf("gocluster reshard %s --from %s --to %s --slots %d --yes%s",
					seed, strings.Join(srcs, ","), plan.Target.ID, len(rest), mf.resumeFlags())
			}
			return runMoves(cmd, g, pool, c, job, mf.options(), resume)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&from, "from", nil, `source masters: node IDs, ID prefixes or host:port, comma separated, or "all"`)
	f.StringVar(&to, "to", "", "receiving master: node ID, ID prefix or host:port")
	f.IntVar(&count, "slots", 0, "number of slots to move (1-16384)")
	mf.register(f)
	return cmd
}

func splitList(items []string) []string {
	var out []string
	for _, it := range items {
		for _, s := range strings.Split(it, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// printReshardPlan prints redis-cli's summary; the per-slot lines are
// grouped into ranges unless --verbose.
func printReshardPlan(p *printer, plan *admin.ReshardPlan, verbose bool) {
	p.Plain("\nReady to move %d slots.", len(plan.Moves))
	p.Plain("  Source nodes:")
	for _, s := range plan.Sources {
		printNodeBrief(p, s.Node)
	}
	p.Plain("  Destination node:")
	printNodeBrief(p, plan.Target)
	p.Plain("  Resharding plan:")
	for _, s := range plan.Sources {
		if verbose {
			for _, slot := range s.Slots {
				p.Plain("    Moving slot %d from %s", slot, s.Node.ID)
			}
			continue
		}
		p.Plain("    Moving %d slots %s from %s (%s)", len(s.Slots), slots.SetOf(s.Slots...).String(), s.Node.ID, s.Node.Addr())
	}
}

func printNodeBrief(p *printer, n *topology.Node) {
	p.Plain("    M: %s %s", n.ID, n.Addr())
	p.Plain("       slots:%s (%d slots) master", slotsBrackets(n), n.Slots.Len())
}

type reshardPlanDoc struct {
	DryRun  bool            `json:"dry_run"`
	Mover   string          `json:"mover,omitempty"`
	Target  string          `json:"target"`
	Slots   int             `json:"slots"`
	Sources []moveGroupJSON `json:"sources"`
}

type moveGroupJSON struct {
	Source string `json:"source"`
	Target string `json:"target,omitempty"`
	ID     string `json:"id"`
	Count  int    `json:"count"`
	Slots  string `json:"slots"`
}

func reshardPlanJSON(plan *admin.ReshardPlan, dry bool) reshardPlanDoc {
	d := reshardPlanDoc{DryRun: dry, Target: plan.Target.Addr(), Slots: len(plan.Moves), Sources: []moveGroupJSON{}}
	for _, s := range plan.Sources {
		d.Sources = append(d.Sources, moveGroupJSON{Source: s.Node.Addr(), ID: s.Node.ID, Count: len(s.Slots),
			Slots: slots.SetOf(s.Slots...).String()})
	}
	return d
}

// migrateFlags are the options reshard and rebalance share with redis-cli.
type migrateFlags struct {
	timeout  msDuration
	pipeline int
	replace  bool
	dryRun   bool
	atomic   string
	mode     migrate.AtomicMode // atomic, parsed by validate
}

func (m *migrateFlags) register(f *pflag.FlagSet) {
	m.timeout = msDuration(migrate.DefaultTimeout)
	f.Var(&m.timeout, "timeout", "MIGRATE I/O timeout: milliseconds as redis-cli, or a duration like 90s")
	f.IntVar(&m.pipeline, "pipeline", migrate.DefaultPipeline, "keys per GETKEYSINSLOT / MIGRATE")
	f.BoolVar(&m.replace, "replace", false, "overwrite keys that already exist on the target with different values")
	f.BoolVar(&m.dryRun, "dry-run", false, "print the plan and stop")
	f.StringVar(&m.atomic, "atomic", string(migrate.AtomicAuto),
		"atomic slot migration (Valkey's CLUSTER MIGRATESLOTS or Redis 8.4's CLUSTER MIGRATION IMPORT): auto (when every source and target supports one), always, never (MIGRATE)")
}

func (m *migrateFlags) validate() error {
	if m.pipeline < 1 {
		return usagef("invalid --pipeline %d: must be at least 1", m.pipeline)
	}
	mode, err := migrate.ParseAtomicMode(m.atomic)
	if err != nil {
		return usageErr(err)
	}
	m.mode = mode
	return nil
}

func (m *migrateFlags) options() migrate.Options {
	return migrate.Options{Timeout: time.Duration(m.timeout), Pipeline: m.pipeline, Replace: m.replace, Atomic: m.mode}
}

// chooseMover decides up front how the job's slots will move, and says so;
// --atomic always against a node without atomic migration stops here,
// before anything changed.
func (m *migrateFlags) chooseMover(cmd *cobra.Command, g *globals, pool *conn.Pool, job migrate.Job) (string, error) {
	mover, err := migrate.ChooseMover(cmd.Context(), pool, job, m.mode)
	if err != nil {
		return "", err
	}
	if !g.json {
		switch mover {
		case migrate.MoverAtomic:
			g.printer().Info(">>> Moving slots with atomic slot migration (CLUSTER MIGRATESLOTS)")
		case migrate.MoverAtomic84:
			g.printer().Info(">>> Moving slots with atomic slot migration (CLUSTER MIGRATION IMPORT)")
		default:
			g.printer().Info(">>> Moving slots with MIGRATE (SETSLOT, GETKEYSINSLOT, MIGRATE)")
		}
	}
	return mover, nil
}

// resumeFlags repeats the non-default migration options for a resume command.
func (m *migrateFlags) resumeFlags() string {
	var b strings.Builder
	if time.Duration(m.timeout) != migrate.DefaultTimeout {
		fmt.Fprintf(&b, " --timeout %d", time.Duration(m.timeout).Milliseconds())
	}
	if m.pipeline != migrate.DefaultPipeline {
		fmt.Fprintf(&b, " --pipeline %d", m.pipeline)
	}
	if m.replace {
		b.WriteString(" --replace")
	}
	if m.mode != migrate.AtomicAuto {
		fmt.Fprintf(&b, " --atomic %s", m.mode)
	}
	return b.String()
}

// moveSummary is the final JSON line of a reshard or rebalance.
type moveSummary struct {
	Event       string          `json:"event"`
	OK          bool            `json:"ok"`
	Mover       string          `json:"mover"`
	MovedSlots  int             `json:"moved_slots"`
	Keys        int             `json:"keys"`
	Seconds     float64         `json:"seconds"`
	Interrupted bool            `json:"interrupted"`
	Remaining   int             `json:"remaining_slots"`
	Open        []int           `json:"open_slots"`
	Failed      []slotErrorJSON `json:"failed"`
	Resume      string          `json:"resume,omitempty"`
	Error       string          `json:"error,omitempty"`
}

type slotErrorJSON struct {
	Slot   int    `json:"slot"`
	Source string `json:"source"`
	Target string `json:"target"`
	Error  string `json:"error"`
}

// runMoves applies a job, rendering progress, and reports the outcome.
// resume builds the command that finishes the remaining moves.
func runMoves(cmd *cobra.Command, g *globals, pool *conn.Pool, c *topology.Cluster, job migrate.Job, opts migrate.Options, resume func([]migrate.Move) string) error {
	ctx := cmd.Context()
	p := g.printer()
	rend := newEventRenderer(g, len(job.Moves))
	start := time.Now()
	res, err := admin.ApplyMoves(ctx, pool, c, job, opts, rend)
	rend.Finish()
	elapsed := time.Since(start)
	if res == nil {
		return err
	}
	sum := moveSummary{Event: "done", OK: err == nil, Mover: res.Mover, MovedSlots: len(res.Moved), Keys: res.Keys,
		Seconds: elapsed.Seconds(), Interrupted: res.Interrupted, Remaining: len(res.Remaining),
		Open: res.Open, Failed: []slotErrorJSON{}}
	if sum.Open == nil {
		sum.Open = []int{}
	}
	for _, f := range res.Failed {
		sum.Failed = append(sum.Failed, slotErrorJSON{Slot: f.Slot, Source: f.Source, Target: f.Target, Error: f.Err.Error()})
	}
	if rest := res.Resumable(job); len(rest) > 0 {
		sum.Resume = resume(rest)
		if g.password != "" || g.user != "" || g.connOptions().TLS {
			// Secrets are not echoed: the operator adds them back.
			sum.Resume += " (with your -a/--user/--tls options)"
		}
	}
	if err != nil {
		sum.Error = err.Error()
	}
	if g.json {
		b, _ := json.Marshal(sum)
		fmt.Fprintln(g.stdout, string(b))
	} else {
		printMoveOutcome(p, g, c.Seed, sum, res)
	}
	switch {
	case res.Interrupted:
		return exitError{ExitSignal}
	case err != nil:
		return moveFailure(c.Seed, sum, res)
	}
	return nil
}

// moveFailure is the one line on stderr after a move that stopped part-way:
// how many slots failed and why, and how to recover.
func moveFailure(seed string, sum moveSummary, res *migrate.Result) error {
	msg := fmt.Sprintf("%d slot(s) failed to move", len(res.Failed))
	if len(res.Failed) > 0 {
		msg += " (first: " + res.Failed[0].Err.Error() + ")"
	}
	switch {
	case len(res.Open) > 0:
		msg += fmt.Sprintf("; slots left open: %s; no key was lost: run gocluster fix %s", joinSlots(res.Open), seed)
	case sum.Resume != "":
		msg += "; no key was lost: after fixing the cause, resume with: " + sum.Resume
	}
	return errors.New(msg)
}

func printMoveOutcome(p *printer, g *globals, seed string, sum moveSummary, res *migrate.Result) {
	rate := 0.0
	if sum.Seconds > 0 {
		rate = float64(sum.Keys) / sum.Seconds
	}
	moved := fmt.Sprintf("%d slots, %d keys in %.2fs (%.0f keys/s)", sum.MovedSlots, sum.Keys, sum.Seconds, rate)
	for _, f := range res.Failed {
		p.Err("[ERR] %s", f.Err.Error())
	}
	if len(res.Open) > 0 {
		p.Err("[ERR] Slots left open: %s. Run: gocluster fix %s", joinSlots(res.Open), seed)
	}
	switch {
	case sum.Interrupted:
		p.Warn("[WARNING] Interrupted after moving %s; %d slots not moved.", moved, sum.Remaining)
		if len(res.Open) == 0 {
			p.Plain("Every slot in flight was finished and closed: no key lost.")
		}
		p.Plain("Resume with: %s", sum.Resume)
	case len(res.Failed) > 0:
		p.Err("[ERR] Moved %s, then stopped: %d slots failed, %d not moved.", moved, len(res.Failed), sum.Remaining)
		if sum.Resume != "" {
			p.Plain("After fixing the cause, resume with: %s", sum.Resume)
		}
	default:
		p.OK("[OK] Moved %s.", moved)
	}
}

func joinSlots(ss []int) string {
	return slots.SetOf(ss...).String()
}
