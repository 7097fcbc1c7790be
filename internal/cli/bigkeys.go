package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func init() { register(newBigkeysCmd) }

func newBigkeysCmd(g *globals) *cobra.Command {
	var o admin.KeyScanOptions
	cmd := &cobra.Command{
		Use:   "bigkeys host:port",
		Short: "Find the biggest key of each type across every master (redis-cli --bigkeys for a whole cluster)",
		Long: `bigkeys scans every master of the cluster in parallel (SCAN, then TYPE and
STRLEN/LLEN/SCARD/HLEN/ZCARD/XLEN, pipelined) and prints, as redis-cli --bigkeys
does for one node, the biggest key of each type and the totals per type, then
how the keys spread over the masters. Replicas are not scanned: they hold
copies. A progress bar runs on a terminal; --json prints one document.`,
		Example: `  gocluster bigkeys 127.0.0.1:7000
  gocluster bigkeys 127.0.0.1:7000 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runKeyScan(cmd, g, args[0], o) },
	}
	cmd.Flags().Int64Var(&o.ScanCount, "scan-count", 1000, "SCAN COUNT hint: keys asked for per SCAN call")
	return cmd
}

// runKeyScan is bigkeys and memkeys: scan, then print like redis-cli.
func runKeyScan(cmd *cobra.Command, g *globals, addr string, o admin.KeyScanOptions) error {
	c, pool, err := g.load(cmd.Context(), addr)
	if err != nil {
		return err
	}
	defer pool.Close()
	if !g.json && isTerminal(g.stderr) {
		total, err := admin.CountKeys(cmd.Context(), pool, c)
		if err != nil {
			return err
		}
		bar := progressbar.NewOptions64(max(total, 1),
			progressbar.OptionSetWriter(g.stderr),
			progressbar.OptionSetDescription(fmt.Sprintf("scanning %d masters", len(c.Masters()))),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		o.Progress = func(n int) { bar.Add(n) }
		defer bar.Finish()
	}
	res, err := admin.ScanKeys(cmd.Context(), pool, c, o)
	if err != nil {
		return err
	}
	if o.Progress != nil {
		o.Progress(0)
	}
	if g.json {
		return writeJSON(g.stdout, res)
	}
	return printKeyScan(g, res)
}

// printKeyScan keeps redis-cli's summary lines ("Biggest string found
// '...' has N bytes", "N strings with M bytes (P% of keys, avg size A)"),
// naming the master of each biggest key, then a table per master.
func printKeyScan(g *globals, r *admin.KeyScanResult) error {
	p := g.printer()
	what := "biggest keys"
	if r.Memory {
		what = "biggest keys by memory"
	}
	p.Plain("\n# Scanned every master of the cluster (%d) to find %s as well as\n# average sizes per key type.\n", len(r.Nodes), what)
	p.Plain("-------- summary -------\n")
	p.Plain("Sampled %d keys in the keyspace!", r.Sampled)
	avg := 0.0
	if r.Sampled > 0 {
		avg = float64(r.KeyLen) / float64(r.Sampled)
	}
	p.Plain("Total key length in bytes is %d (avg len %.2f)\n", r.KeyLen, avg)
	for _, t := range r.Types {
		if t.Biggest != "" {
			p.Plain("Biggest %6s found %s has %d %s on %s", t.Type, quoteKey(t.Biggest), t.BiggestSize, t.Unit, t.BiggestNode)
		}
	}
	p.Plain("")
	for _, t := range r.Types {
		share, avgSize := 0.0, 0.0
		if r.Sampled > 0 {
			share = 100 * float64(t.Count) / float64(r.Sampled)
		}
		if t.Count > 0 {
			avgSize = float64(t.TotalSize) / float64(t.Count)
		}
		p.Plain("%d %ss with %d %s (%05.2f%% of keys, avg size %.2f)", t.Count, t.Type, t.TotalSize, t.Unit, share, avgSize)
	}
	p.Plain("\n-------- per master -------\n")
	header := []string{"MASTER", "KEYS"}
	for _, t := range r.Types {
		header = append(header, t.Type+"s")
	}
	tbl := tablewriter.NewTable(g.stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	tbl.Header(header)
	for _, n := range r.Nodes {
		row := []string{n.Addr, strconv.FormatInt(n.Sampled, 10)}
		for _, t := range r.Types {
			cell := "0"
			for _, nt := range n.Types {
				if nt.Type == t.Type && nt.Count > 0 {
					cell = fmt.Sprintf("%d (%d %s)", nt.Count, nt.TotalSize, nt.Unit)
				}
			}
			row = append(row, cell)
		}
		if err := tbl.Append(row); err != nil {
			return err
		}
	}
	return tbl.Render()
}

// quoteKey prints a key as redis-cli does: '"name"', escapes for the rest.
func quoteKey(k string) string { return "'" + strconv.Quote(k) + "'" }
