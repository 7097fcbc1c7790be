package cli

import (
	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/spf13/cobra"
)

func init() { register(newMemkeysCmd) }

func newMemkeysCmd(g *globals) *cobra.Command {
	o := admin.KeyScanOptions{Memory: true}
	cmd := &cobra.Command{
		Use:   "memkeys host:port",
		Short: "Find the keys using the most memory, per type, across every master (redis-cli --memkeys for a whole cluster)",
		Long: `memkeys is bigkeys sized by MEMORY USAGE in bytes, as redis-cli --memkeys:
every master scanned in parallel, the biggest key of each type, the totals per
type and the spread over the masters. --memkeys-samples sets MEMORY USAGE's
SAMPLES for aggregate values (0: the server's default).`,
		Example: `  gocluster memkeys 127.0.0.1:7000
  gocluster memkeys 127.0.0.1:7000 --memkeys-samples 0 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Samples < 0 {
				return usagef("invalid --memkeys-samples %d: must be >= 0", o.Samples)
			}
			return runKeyScan(cmd, g, args[0], o)
		},
	}
	cmd.Flags().IntVar(&o.Samples, "memkeys-samples", 0, "MEMORY USAGE SAMPLES for lists, sets, hashes... (0: server default)")
	cmd.Flags().Int64Var(&o.ScanCount, "scan-count", 1000, "SCAN COUNT hint: keys asked for per SCAN call")
	return cmd
}
