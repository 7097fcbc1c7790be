package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/spf13/cobra"
)

func init() { register(newFixCmd) }

func newFixCmd(g *globals) *cobra.Command {
	var opts admin.FixOptions
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "fix host:port",
		Short: "Repair open slots, uncovered slots and (optionally) slots with several owners",
		Long: `fix checks the cluster like check, then plans the repairs redis-cli --cluster fix
makes: open slots (migrating/importing, interrupted reshards), uncovered slots
(with no keys, keys on one node, or keys on several) and, with
--search-multiple-owners, slots claimed by or holding keys on several masters.
It prints every repair before doing anything and asks for confirmation (--yes
answers; --dry-run prints the plan and stops). One difference: an interrupted
migration (the owner migrating, the other node importing, keys on both) is
finished towards the importing node, so clients are served all along, where
redis-cli moves the keys back to the node with the most while they answer nil.

Keys are moved with MIGRATE and no copy is ever dropped: a key that exists on
both sides with the same value is merged; one with different values keeps both
copies on the owner, one under the key's name and the other renamed to
<key>:gocluster-conflict:<node>:<time> in the same slot, and fix names both.
In an open slot the copy kept under the key's name is the migration's (the
node being emptied got it by MIGRATE or by writes after ASK, so it is newer
than a promoted replica's), unless the owner is a source still migrating the
slot, whose copy is the newest; elsewhere it is the owner's. --replace overwrites
the owner's copy instead of saving it.
While a master is unreachable fix refuses to run unless
--fix-with-unreachable-masters (its slots would be reassigned). Ctrl-C
finishes the repair in flight, then stops and says how to go on (exit 130).
When repairs fail because the cluster changed under fix (a failover made a
node a replica), fix looks at the cluster again and runs a second plan.
Exit status 0 when the cluster is healthy afterwards, 1 otherwise.`,
		Example: `  gocluster fix 127.0.0.1:7000 --dry-run
  gocluster fix 127.0.0.1:7000 --yes
  gocluster fix 127.0.0.1:7000 --search-multiple-owners --replace`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seed, err := seedArg(args[0])
			if err != nil {
				return err
			}
			if opts.Pipeline < 1 {
				return usagef("invalid --pipeline %d: must be at least 1", opts.Pipeline)
			}
			pool, err := g.pool()
			if err != nil {
				return usageErr(err)
			}
			defer pool.Close()
			for pass := 1; ; pass++ {
				again, err := fixPass(cmd.Context(), g, pool, seed, opts, dryRun, pass)
				if !again {
					return err
				}
				g.printer().Info(">>> Some repairs failed, as when the cluster changes under fix (a failover): looking at it again for a new plan")
			}
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.SearchMultipleOwners, "search-multiple-owners", false, "also repair slots claimed by, or holding keys on, several masters")
	f.BoolVar(&opts.FixWithUnreachableMasters, "fix-with-unreachable-masters", false, "repair even while masters are unreachable (their slots are reassigned)")
	f.BoolVar(&opts.Replace, "replace", false, "let moved keys overwrite the owner's different copy instead of saving it under a new name")
	f.IntVar(&opts.Pipeline, "pipeline", admin.DefaultFixPipeline, "keys per MIGRATE")
	opts.Timeout = admin.DefaultFixTimeout
	f.Var((*msDuration)(&opts.Timeout), "timeout", "MIGRATE I/O timeout: milliseconds as redis-cli, or a duration like 90s")
	f.BoolVar(&dryRun, "dry-run", false, "print the repairs and stop")
	return cmd
}

// fixPass surveys, plans and repairs the cluster once. It reports again
// when the first pass is worth another (admin.FixResult.WorthAnotherPass).
func fixPass(ctx context.Context, g *globals, pool *conn.Pool, seed string, opts admin.FixOptions, dryRun bool, pass int) (again bool, err error) {
	p := g.printer()
	survey, err := admin.SurveyFix(ctx, pool, seed, opts)
	if err != nil {
		return false, err
	}
	if !g.json {
		printInfo(p, survey.Check.Info)
		printCheck(p, survey.Check)
	}
	unchanged := "nothing changed"
	if pass > 1 {
		unchanged = "nothing more changed (the earlier pass's repairs are above)"
	}
	plan, err := admin.PlanFix(survey, opts)
	if err != nil {
		if g.json {
			writeJSON(g.stdout, map[string]any{"ok": false, "error": err.Error()})
			return false, exitError{ExitProblem}
		}
		// Run prints redis-cli's line for scripts, then the error on stderr.
		return false, fmt.Errorf("%s: %w", unchanged, err)
	}
	if g.json && (dryRun || plan.Empty()) {
		writeJSON(g.stdout, map[string]any{"ok": survey.Check.OK(), "dry_run": dryRun, "plan": plan})
		return false, fixExit(survey.Check.OK() && len(plan.Unfixable) == 0)
	}
	if !g.json {
		printFixPlan(p, plan)
	}
	if plan.Empty() {
		if survey.Check.OK() {
			p.OK("[OK] Nothing to fix.")
			return false, nil
		}
		p.Warn("[WARNING] No automatic repair for the problems above.")
		return false, errors.New("no automatic repair for the cluster's problems (listed above): " + unchanged)
	}
	if dryRun {
		p.Plain("Dry run: nothing changed.")
		return false, nil
	}
	ok, err := confirm(g, fmt.Sprintf("Apply these %d repairs? (type 'yes' to accept): ", len(plan.Steps)))
	if err != nil {
		return false, err
	}
	if !ok {
		p.Plain("Nothing changed.")
		return false, exitError{ExitProblem}
	}
	var rep admin.Reporter = admin.Discard
	if !g.json {
		rep = newEventRenderer(g, 0)
	}
	res, err := admin.ApplyFix(ctx, pool, plan, opts, rep)
	if ctx.Err() != nil && res != nil && !g.json {
		p.Warn("[WARNING] Interrupted after %d of %d repairs (%d keys moved); the repair in flight was finished.",
			res.StepsDone, len(plan.Steps), res.KeysMoved)
		p.Plain("The slots not repaired yet are as fix found them: no key lost.")
		p.Plain("Run 'gocluster fix %s' again to repair the rest.", seed)
		return false, exitError{ExitSignal}
	}
	retry := err == nil && pass == 1 && res.WorthAnotherPass()
	if g.json && retry {
		return true, nil
	}
	if g.json {
		doc := map[string]any{"plan": plan, "result": res, "passes": pass}
		if res != nil && res.After != nil {
			doc["after"] = checkJSON(res.After)
			doc["ok"] = res.OK() && res.After.OK()
		}
		if err != nil {
			doc["error"] = err.Error()
		}
		writeJSON(g.stdout, doc)
		if err != nil {
			return false, exitError{exitCode(err)}
		}
		return false, fixExit(res.OK() && res.After.OK())
	}
	if err != nil {
		return false, err
	}
	printFixResult(p, res)
	if res.OK() && res.After.OK() && len(plan.Unfixable) == 0 {
		return false, nil
	}
	if retry {
		return true, nil
	}
	return false, fmt.Errorf("the cluster still has problems (details above): %d repair(s) failed, %d slot(s) with conflicting keys, %d with no automatic repair; run gocluster fix %s again once their cause is fixed",
		len(res.Failures), len(res.Conflicts), len(plan.Unfixable), seed)
}

func fixExit(ok bool) error {
	if ok {
		return nil
	}
	return exitError{ExitProblem}
}

func printFixPlan(p *printer, plan *admin.FixPlan) {
	for _, u := range plan.Unfixable {
		p.Err("[ERR] Cannot fix %s", u)
	}
	if plan.Empty() {
		return
	}
	p.Info(">>> Repairs to make (%d):", len(plan.Steps))
	for i, s := range plan.Steps {
		p.Plain("%d. %s", i+1, s.Message)
		for _, a := range s.Actions {
			p.Plain("     %s", a)
		}
	}
}

func printFixResult(p *printer, r *admin.FixResult) {
	for _, c := range r.Conflicts {
		keys := c.Keys
		extra := ""
		if len(keys) > 10 {
			keys, extra = keys[:10], fmt.Sprintf(" and %d more", len(c.Keys)-10)
		}
		p.Err("[ERR] Slot %d: %d key(s) exist on both %s and the owner %s with different values; left on %s: %s%s",
			c.Slot, len(c.Keys), c.Node, c.Owner, c.Node, strings.Join(keys, ", "), extra)
		p.Err("      Fix them by hand, or rerun with --replace to overwrite the owner's copy.")
	}
	if len(r.Saved) > 0 {
		p.Warn("[WARNING] %d key(s) had two different copies, both kept (listed above); compare each with its saved copy, merge if needed, then delete the saved one.", len(r.Saved))
	}
	for _, f := range r.Failures {
		p.Err("[ERR] Repair of slot(s) %s failed: %s", fmtSlots(f.Slots), f.Error)
	}
	if r.Converged != "" {
		p.Warn("[WARNING] %s", r.Converged)
	}
	p.Info(">>> %d repairs done, %d keys moved. Checking the cluster again...", r.StepsDone, r.KeysMoved)
	printCheck(p, r.After)
}

func fmtSlots(ss []int) string {
	if len(ss) > 10 {
		return fmt.Sprintf("%v... (%d slots)", ss[:10], len(ss))
	}
	return fmt.Sprint(ss)
}
