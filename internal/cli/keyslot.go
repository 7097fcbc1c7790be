package cli

import (
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/spf13/cobra"
)

func init() { register(newKeyslotCmd) }

func newKeyslotCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "keyslot key [key...]",
		Short: "Print the hash slot of each key (as CLUSTER KEYSLOT), offline",
		Example: `  gocluster keyslot user:1000 {user1000}.followers
  gocluster keyslot --json foo bar`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			type keySlot struct {
				Key  string `json:"key"`
				Slot int    `json:"slot"`
			}
			out := make([]keySlot, len(args))
			for i, k := range args {
				out[i] = keySlot{k, slots.Slot(k)}
			}
			if g.json {
				return writeJSON(g.stdout, out)
			}
			p := g.printer()
			for _, ks := range out {
				p.Plain("%s: %d", ks.Key, ks.Slot)
			}
			return nil
		},
	}
}
