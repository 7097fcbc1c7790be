package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/watch"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
)

func init() { register(newWatchCmd) }

// watchSorts are the columns the view sorts by (s cycles through them).
var watchSorts = []string{"addr", "keys", "ops", "memory", "clients", "slots", "lag"}

type watchOptions struct {
	interval    time.Duration
	once        bool
	count       int
	sortBy      string
	mastersOnly bool
	host        string
	showMap     bool
}

func newWatchCmd(g *globals) *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch host:port",
		Short: "Live view of every node: role, slots, keys, ops/s, memory, clients, lag, flags, open slots",
		Long: `watch polls every node of the cluster once per --interval (one pipelined
INFO + CLUSTER NODES + CLUSTER INFO per node, all nodes in parallel) and shows
one row per node: address, role (and master for replicas), slots, keys,
ops/s, used memory, clients, replication lag, cluster link and flags (fail,
pfail, handshake); the slots being migrated or imported with their progress;
the cluster state and totals; and the slot map.

Keys: s cycles the sort column, m shows masters only, h cycles through the
hosts, p hides or shows the slot map, q quits.

Without a terminal, or with --once, it prints one table and exits. --json
prints one JSON document per tick (one line each) until --count ticks or
Ctrl-C.`,
		Example: `  gocluster watch 127.0.0.1:7000
  gocluster watch 127.0.0.1:7000 --interval 2s --sort ops --masters
  gocluster watch 127.0.0.1:7000 --once --host 127.0.0.2
  gocluster watch 127.0.0.1:7000 --json --count 10`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.interval < 100*time.Millisecond {
				return usagef("invalid --interval %s: must be at least 100ms", o.interval)
			}
			if !slices.Contains(watchSorts, o.sortBy) {
				return usagef("invalid --sort %q: want one of %s", o.sortBy, strings.Join(watchSorts, ", "))
			}
			if o.count < 0 {
				return usagef("invalid --count %d: must be >= 0", o.count)
			}
			seed, pool, err := g.connect(args[0])
			if err != nil {
				return err
			}
			defer pool.Close()
			w := watch.New(pool, seed)
			switch {
			case g.json:
				return streamWatchJSON(cmd.Context(), g.stdout, w, o)
			case o.once || !isTerminal(g.stdout):
				snap, err := pollOnce(cmd.Context(), w, o)
				if err != nil {
					return err
				}
				return printWatchTable(g.stdout, snap, newSlotMapStyle(g.stdout, false), o.showMap)
			}
			return runWatchTUI(cmd.Context(), g, w, o)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.interval, "interval", time.Second, "time between two polls of the cluster")
	f.BoolVar(&o.once, "once", false, "print one table and exit")
	f.IntVar(&o.count, "count", 0, "stop after this many ticks (0: run until q or Ctrl-C)")
	f.StringVar(&o.sortBy, "sort", "addr", "sort rows by "+strings.Join(watchSorts, ", "))
	f.BoolVar(&o.mastersOnly, "masters", false, "show masters only")
	f.StringVar(&o.host, "host", "", "show only the nodes on this host")
	f.BoolVar(&o.showMap, "map", true, "show the slot map")
	return cmd
}

// pollOnce polls with a deadline of one interval (at least 2 s) so that a
// hung node shows as an error on its row instead of freezing the view.
func pollOnce(ctx context.Context, w *watch.Watcher, o watchOptions) (*watch.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, max(o.interval, 2*time.Second))
	defer cancel()
	snap, err := w.Poll(ctx)
	if err != nil {
		return nil, err
	}
	snap.Sort(o.sortBy)
	snap.Filter(o.mastersOnly, o.host)
	return snap, nil
}

// streamWatchJSON prints one compact document per tick; a tick where no
// node answers prints {"time":..., "error":...} and the stream goes on.
func streamWatchJSON(ctx context.Context, out io.Writer, w *watch.Watcher, o watchOptions) error {
	enc := json.NewEncoder(out)
	ticker := time.NewTicker(o.interval)
	defer ticker.Stop()
	for tick := 1; ; tick++ {
		snap, err := pollOnce(ctx, w, o)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if o.once {
				return err
			}
			enc.Encode(map[string]any{"time": time.Now(), "error": err.Error()})
		} else if err := enc.Encode(watchDoc(snap)); err != nil {
			return err
		}
		if o.once || o.count > 0 && tick >= o.count {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

type watchJSON struct {
	*watch.Snapshot
	Open []openSlotJSON `json:"open_slots"`
}

type openSlotJSON struct {
	watch.OpenSlot
	Progress *float64 `json:"progress"` // null until counted
}

func watchDoc(s *watch.Snapshot) watchJSON {
	d := watchJSON{Snapshot: s, Open: []openSlotJSON{}}
	if s.Nodes == nil {
		s.Nodes = []watch.NodeRow{}
	}
	for _, o := range s.Open {
		j := openSlotJSON{OpenSlot: o}
		if p := o.Progress(); p >= 0 {
			j.Progress = &p
		}
		d.Open = append(d.Open, j)
	}
	return d
}

var watchHeader = []string{"ADDR", "ROLE", "SLOTS", "KEYS", "OPS/S", "MEMORY", "CLIENTS", "LAG", "LINK", "FLAGS"}

// watchCells formats one row for the table and the live view.
func watchCells(r watch.NodeRow) []string {
	role := r.Role
	if r.Role == "replica" {
		role = "replica of " + r.MasterAddr
	}
	if r.Error != "" {
		return []string{r.Addr, role, fmt.Sprint(r.Slots), "-", "-", "-", "-", "-", r.Link, joinFlags(append(r.Flags, "error: "+r.Error))}
	}
	lag := "-"
	if r.Role == "replica" {
		lag = humanBytes(r.ReplLag)
		if r.ReplLink != "" && r.ReplLink != "up" {
			lag += " (link " + r.ReplLink + ")"
		}
	}
	return []string{r.Addr, role, fmt.Sprint(r.Slots), fmt.Sprint(r.Keys), fmt.Sprintf("%.0f", r.OpsPerSec),
		humanBytes(r.UsedMemory), fmt.Sprint(r.Clients), lag, r.Link, joinFlags(r.Flags)}
}

func joinFlags(fs []string) string {
	if len(fs) == 0 {
		return "-"
	}
	return strings.Join(fs, ",")
}

// humanBytes is 1.5K, 12.3M, 2.0G, as redis-cli --stat prints memory.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	v, suffix := float64(n), "KMGTP"
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f%c", v, suffix[i])
}

// watchSummary is the cluster state and totals line.
func watchSummary(s *watch.Snapshot) string {
	t := s.Total
	return fmt.Sprintf("cluster_state:%s  nodes:%d (%d masters, %d replicas)  slots:%d/16384  keys:%d  ops/s:%.0f  memory:%s  clients:%d  failing:%d",
		s.State, t.Masters+t.Replicas, t.Masters, t.Replicas, t.SlotsCovered, t.Keys, t.OpsPerSec, humanBytes(t.UsedMemory), t.Clients, t.Failing)
}

// openSlotLines describes the open slots, at most limit of them.
func openSlotLines(s *watch.Snapshot, limit int) []string {
	if len(s.Open) == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("open slots: %d", len(s.Open))}
	for i, o := range s.Open {
		if i == limit {
			out = append(out, fmt.Sprintf("  ... and %d more", len(s.Open)-limit))
			break
		}
		progress := "counting"
		switch p := o.Progress(); {
		case p >= 0:
			progress = fmt.Sprintf("%3.0f%% (%d keys left)", 100*p, o.KeysLeft)
		case o.KeysLeft >= 0: // the target is not importing (yet)
			progress = fmt.Sprintf("%d keys left", o.KeysLeft)
		}
		out = append(out, fmt.Sprintf("  slot %5d  %s -> %s  %s", o.Slot, orDash(o.Source), orDash(o.Target), progress))
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// watchMap draws the slot map of a snapshot for the rows it shows.
func watchMap(st slotMapStyle, s *watch.Snapshot, width, rows int) (band, legend []string) {
	open := make([]int, len(s.Open))
	for i, o := range s.Open {
		open[i] = o.Slot
	}
	// Letter the masters A, B, C... in row order, whatever rows lie between.
	ord := make([]int16, len(s.Nodes))
	var addrs []string
	var counts []int
	for i, r := range s.Nodes {
		ord[i] = watch.OwnerHidden
		if r.Role == "master" {
			ord[i] = int16(len(addrs))
			addrs, counts = append(addrs, r.Addr), append(counts, r.Slots)
		}
	}
	owner := s.Owner
	for i, o := range owner {
		if o >= 0 {
			owner[i] = ord[o]
		}
	}
	return st.band(&owner, open, width, rows), st.legend(addrs, counts, slotsHole(s), len(open))
}

func slotsHole(s *watch.Snapshot) int {
	n := 0
	for _, o := range s.Owner {
		if o == watch.OwnerNone {
			n++
		}
	}
	return n
}

// printWatchTable prints one snapshot as a table (tablewriter), then the
// open slots and the slot map.
func printWatchTable(w io.Writer, s *watch.Snapshot, st slotMapStyle, showMap bool) error {
	fmt.Fprintln(w, watchSummary(s))
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header(watchHeader)
	for _, r := range s.Nodes {
		if err := t.Append(watchCells(r)); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, l := range openSlotLines(s, 20) {
		fmt.Fprintln(w, l)
	}
	if showMap {
		band, legend := watchMap(st, s, infoMapWidth, infoMapRows)
		for _, l := range append(band, legend...) {
			fmt.Fprintln(w, l)
		}
	}
	return nil
}
