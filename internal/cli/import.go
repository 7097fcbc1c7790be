package cli

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/AlecAivazis/survey/v2"
	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func init() { register(newImportCmd) }

// sourceFlags are the connection settings of import's source node; unset
// TLS files fall back to the global ones.
type sourceFlags struct {
	user, pass, cacert, cert, key, sni string
	askpass, tls, insecure             bool
}

func newImportCmd(g *globals) *cobra.Command {
	var opts admin.ImportOptions
	var sf sourceFlags
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "import host:port --from host:port",
		Short: "Copy or move every key of a standalone Redis into the cluster",
		Long: `import SCANs a standalone Redis (DB 0) and writes each key to the master that
owns its slot: DUMP with its TTL from the source, RESTORE on the owner, in
pipelined batches. Every type and TTL is kept. The source and the cluster
each have their own credentials (--from-user/--from-pass for the source, -a
and --user for the cluster) and the source may use TLS (--from-tls).

Without --copy each key is deleted from the source once the cluster holds it
(only if it was not written meanwhile). Keys that already exist in the cluster
are skipped and listed unless --replace, except those holding the source's
value (copied by an earlier run), which count as imported. Ctrl-C finishes
the batch in flight and stops (exit 130); running the same import again
imports the rest. The cluster must be healthy (all slots covered, none open).
Exit status 1 when any key failed.`,
		Example: `  gocluster import 127.0.0.1:7000 --from 10.0.0.5:6379 --copy
  gocluster import 127.0.0.1:7000 --from 10.0.0.5:6379 --from-pass srcpw -a clusterpw --replace
  gocluster import 127.0.0.1:7000 --from 10.0.0.5:6379 --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seed, err := seedArg(args[0])
			if err != nil {
				return err
			}
			if opts.From == "" {
				return usagef("option --from is required for import")
			}
			if opts.From, err = seedArg(opts.From); err != nil {
				return usagef("invalid --from: %v", err)
			}
			if opts.Pipeline < 1 {
				return usagef("invalid --pipeline %d: must be at least 1", opts.Pipeline)
			}
			if sf.askpass {
				if sf.pass, err = askSourcePassword(g); err != nil {
					return err
				}
			}
			pool, err := g.pool()
			if err != nil {
				return usageErr(err)
			}
			defer pool.Close()
			src, err := conn.NewPool(sf.options(g, cmd.Flags().Changed("from-tls")))
			if err != nil {
				return usageErr(err)
			}
			defer src.Close()
			ctx := cmd.Context()
			p := g.printer()
			plan, err := admin.PlanImport(ctx, pool, src, seed, opts)
			if err != nil {
				return err
			}
			if !g.json {
				p.Info(">>> Importing data from %s to cluster %s", plan.From, seed)
				mode := "moved (deleted from the source once imported)"
				if plan.Copy {
					mode = "copied (the source keeps them)"
				}
				p.Warn("*** Importing %d keys from DB 0, %s; existing keys are %s", plan.SourceKeys, mode,
					map[bool]string{true: "replaced", false: "skipped"}[plan.Replace])
			}
			if dryRun {
				if g.json {
					return writeJSON(g.stdout, map[string]any{"dry_run": true, "plan": plan})
				}
				p.Plain("Dry run: nothing imported. %d masters would receive keys, %d keys per batch.", len(plan.Masters), plan.Pipeline)
				return nil
			}
			kr := newKeyRenderer(g, plan.SourceKeys)
			res, err := admin.ApplyImport(ctx, pool, src, plan, kr)
			kr.finish()
			if g.json {
				doc := map[string]any{"plan": plan, "result": res}
				if err != nil {
					doc["error"] = err.Error()
				}
				if werr := writeJSON(g.stdout, doc); werr != nil {
					return werr
				}
				if err != nil || !res.OK() {
					return exitError{ExitProblem}
				}
				return nil
			}
			printImport(p, res)
			if ctx.Err() != nil {
				p.Warn("[WARNING] Interrupted after %d of about %d keys; the batch in flight was finished: no key lost.", res.Scanned, plan.SourceKeys)
				p.Plain("Run the same import again to import the rest: keys already copied are recognised.")
				return exitError{ExitSignal}
			}
			if err != nil {
				return err
			}
			if !res.OK() {
				kept := "they are still on the source"
				if opts.Copy {
					kept = "the source is unchanged (--copy)"
				}
				return fmt.Errorf("%d key(s) could not be imported (first errors above); %s: run the same import again once the cause is fixed",
					res.Failed, kept)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.From, "from", "", "source node host:port (required)")
	f.StringVar(&sf.user, "from-user", "", "ACL user on the source")
	f.StringVar(&sf.pass, "from-pass", "", "password of the source")
	f.BoolVar(&sf.askpass, "from-askpass", false, "prompt for the source password")
	f.BoolVar(&sf.tls, "from-tls", false, "connect to the source with TLS (default: as the cluster)")
	f.StringVar(&sf.cacert, "from-cacert", "", "CA certificate to verify the source (default --cacert)")
	f.StringVar(&sf.cert, "from-cert", "", "client certificate for the source (default --cert)")
	f.StringVar(&sf.key, "from-key", "", "client key for the source (default --key)")
	f.StringVar(&sf.sni, "from-sni", "", "TLS server name of the source")
	f.BoolVar(&sf.insecure, "from-insecure", false, "do not verify the source's certificate")
	f.BoolVar(&opts.Copy, "copy", false, "keep the keys on the source")
	f.BoolVar(&opts.Replace, "replace", false, "overwrite keys that already exist in the cluster")
	f.IntVar(&opts.Pipeline, "pipeline", admin.DefaultImportPipeline, "keys per SCAN/DUMP/RESTORE batch")
	f.BoolVar(&dryRun, "dry-run", false, "check both sides and print what would be done, import nothing")
	return cmd
}

func (sf sourceFlags) options(g *globals, tlsChanged bool) conn.Options {
	o := g.connOptions()
	o.Username, o.Password = sf.user, sf.pass
	switch {
	case tlsChanged:
		o.TLS = sf.tls
	case sf.cacert != "" || sf.cert != "":
		o.TLS = true
	}
	pick := func(own, global string) string {
		if own != "" {
			return own
		}
		return global
	}
	o.CACert, o.Cert, o.Key, o.SNI = pick(sf.cacert, o.CACert), pick(sf.cert, o.Cert), pick(sf.key, o.Key), pick(sf.sni, o.SNI)
	o.Insecure = o.Insecure || sf.insecure
	return o
}

func askSourcePassword(g *globals) (string, error) {
	if err := requireTTY(g, "--from-pass"); err != nil {
		return "", err
	}
	var pw string
	err := survey.AskOne(&survey.Password{Message: "Source password:"}, &pw, g.surveyIO())
	return pw, err
}

func printImport(p *printer, r *admin.ImportResult) {
	if r.Skipped > 0 {
		p.Warn("[WARNING] %d keys already exist in the cluster and were left untouched (use --replace to overwrite): %s%s",
			r.Skipped, strings.Join(r.Skips, ", "), more(r.Skipped, len(r.Skips)))
	}
	if r.Changed > 0 {
		p.Warn("[WARNING] %d keys were written on the source during the import and were kept there", r.Changed)
	}
	for _, e := range r.Errors {
		p.Err("[ERR] %s", e)
	}
	if r.Failed > int64(len(r.Errors)) {
		p.Err("[ERR] ... and %d more failures", r.Failed-int64(len(r.Errors)))
	}
	line := fmt.Sprintf("%d keys imported, %d skipped, %d failed, %d deleted from the source", r.Imported, r.Skipped, r.Failed, r.Deleted)
	if r.Vanished > 0 {
		line += fmt.Sprintf(", %d vanished before they could be read", r.Vanished)
	}
	if r.OK() {
		p.OK("[OK] %s.", line)
	} else {
		p.Err("[ERR] %s.", line)
	}
}

func more(total int64, shown int) string {
	if total > int64(shown) {
		return fmt.Sprintf(" and %d more", total-int64(shown))
	}
	return ""
}

// keyRenderer shows import progress in keys: a bar on a terminal, a line
// per second otherwise, nothing with --json.
type keyRenderer struct {
	g     *globals
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	total int64
	keys  int64
	last  time.Time
}

func newKeyRenderer(g *globals, total int64) *keyRenderer {
	r := &keyRenderer{g: g, total: total, last: time.Now()}
	if !g.json && isTerminal(g.stdout) && total > 0 {
		r.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(g.stderr),
			progressbar.OptionSetDescription("keys"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return r
}

func (r *keyRenderer) Report(e admin.Event) {
	if e.Kind != admin.EventKeysMoved || r.g.json {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys += int64(e.Keys)
	if r.bar != nil {
		r.bar.Add(e.Keys)
	} else if time.Since(r.last) >= time.Second {
		r.last = time.Now()
		r.g.printer().Plain("Processed %d/%d keys", r.keys, r.total)
	}
}

func (r *keyRenderer) finish() {
	if r.bar != nil {
		r.bar.Finish()
	}
}
