package cli

import (
	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/gocluster/gocluster/pkg/watch"
	"github.com/spf13/cobra"
)

func init() { register(newInfoCmd) }

// Slot map size for info --map: 4 rows of 64 segments, 64 slots each.
const (
	infoMapWidth = 64
	infoMapRows  = 4
)

func newInfoCmd(g *globals) *cobra.Command {
	var showMap bool
	cmd := &cobra.Command{
		Use:   "info host:port",
		Short: "Show keys, slots and replicas of every master",
		Long: `info prints each master's keys, slots and replicas, as redis-cli --cluster info.
--map adds the slot map: the 16384 slots as a band of segments (64 slots
each), one letter per master (coloured on a terminal), so holes ('.'),
open slots ('~') and imbalance show at a glance; the legend names each
letter's master and how far its slot count is off an even split.`,
		Example: `  gocluster info 127.0.0.1:7000
  gocluster info 127.0.0.1:7000 --map
  gocluster info 127.0.0.1:7000 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, pool, err := g.load(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer pool.Close()
			info, err := admin.InfoLoaded(cmd.Context(), pool, c)
			if err != nil {
				return err
			}
			var lines, legend []string
			if showMap {
				st := newSlotMapStyle(g.stdout, g.printer().color)
				lines, legend = clusterSlotMap(st, c)
			}
			if g.json {
				doc := map[string]any{"masters": info.Masters, "keys": info.Keys, "keys_per_slot": info.KeysPerSlot()}
				if showMap {
					doc["slot_map"], doc["slot_map_legend"] = lines, legend
				}
				return writeJSON(g.stdout, doc)
			}
			p := g.printer()
			printInfo(p, info)
			if showMap {
				p.Info(">>> Slot map (%d slots per character)", slots.Count/(infoMapWidth*infoMapRows))
				for _, l := range append(lines, legend...) {
					p.Plain("%s", l)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&showMap, "map", false, "draw the slot map: which master serves each slot, holes and open slots")
	return cmd
}

// clusterSlotMap draws the masters' own claims of slots and the open slots.
func clusterSlotMap(st slotMapStyle, c *topology.Cluster) (band, legend []string) {
	masters := c.Masters()
	owner := watch.Owners(masters)
	open := c.OpenSlots()
	band = st.band(owner, open, infoMapWidth, infoMapRows)
	addrs := make([]string, len(masters))
	counts := make([]int, len(masters))
	for i, m := range masters {
		addrs[i], counts[i] = m.Addr(), m.Slots.Len()
	}
	return band, st.legend(addrs, counts, slots.Count-c.Covered().Len(), len(open))
}
