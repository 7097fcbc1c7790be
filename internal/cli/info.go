package cli

import (
	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/spf13/cobra"
)

func init() { register(newInfoCmd) }

func newInfoCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "info host:port",
		Short: "Show keys, slots and replicas of every master",
		Example: `  gocluster info 127.0.0.1:7000
  gocluster info 127.0.0.1:7000 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seed, pool, err := g.connect(args[0])
			if err != nil {
				return err
			}
			defer pool.Close()
			info, err := admin.Info(cmd.Context(), pool, seed)
			if err != nil {
				return err
			}
			if g.json {
				return writeJSON(g.stdout, map[string]any{"masters": info.Masters, "keys": info.Keys,
					"keys_per_slot": info.KeysPerSlot()})
			}
			printInfo(g.printer(), info)
			return nil
		},
	}
}
