// Package watch tests the commands that observe a cluster (watch, info
// --map, bigkeys, memkeys) end to end: the built binary against real
// redis-server nodes and engine nodes.
package watch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/clustertest"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// rowRe matches a master's row in the view: address, role, slots, keys, ops/s.
func rowRe(addr string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(addr) + `\s*│\s*master\s*│\s*\d+\s*│\s*\d+\s*│\s*(\d+)\s*│`)
}

func TestWatchOnTerminalShowsEveryNodeUpdatesOpsUnderLoadAndQuitsOnQ(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	term := harness.StartOnTerminal(t, "watch", c.Addr(), "--interval", "500ms")
	term.WaitFor(t, 15*time.Second, "row for every node", 0, func(s string) bool {
		for _, n := range c.Nodes {
			if !strings.Contains(s, n.Addr()) {
				return false
			}
		}
		return strings.Contains(s, "cluster_state:ok") && strings.Contains(s, "replica of")
	})
	var masters []string
	for _, m := range c.Topology(t).Masters() {
		masters = append(masters, m.Addr())
	}
	cc := c.ClusterClient(t)
	harness.Preload(t, cc, 3000)
	_, offset := term.Screen(0)
	load := harness.StartLoad(t, cc, 3000, 4, 4)
	// Every master's ops/s rises above what the watcher's own polls cost.
	term.WaitFor(t, 20*time.Second, "ops/s of every master above 100 under load", offset, func(s string) bool {
		for _, m := range masters {
			ms := rowRe(m).FindAllStringSubmatch(s, -1)
			if len(ms) == 0 {
				return false
			}
			if ops, _ := strconv.Atoi(ms[len(ms)-1][1]); ops < 100 {
				return false
			}
		}
		return true
	})
	load.Finish(t)
	term.Press(t, "q")
	if err := term.Exit(t, 5*time.Second); err != nil {
		t.Fatalf("watch after q: %v", err)
	}
}

func TestWatchOnTerminalKeysFilterMastersAndSort(t *testing.T) {
	ec := clustertest.Start(t, 3, 1)
	addrs := ec.Addrs()
	term := harness.StartOnTerminal(t, "watch", addrs[0], "--interval", "300ms")
	term.WaitFor(t, 15*time.Second, "every engine node", 0, func(s string) bool {
		for _, a := range addrs {
			if !strings.Contains(s, a) {
				return false
			}
		}
		return true
	})
	_, offset := term.Screen(0)
	term.Press(t, "m")
	term.WaitFor(t, 5*time.Second, "masters-only footer", offset, func(s string) bool {
		return strings.Contains(s, "show: all, masters")
	})
	term.Press(t, "s")
	term.WaitFor(t, 5*time.Second, "sort by keys", offset, func(s string) bool { return strings.Contains(s, "sort: keys") })
	// Once m is in, frames redraw the master rows and no replica row.
	_, offset = term.Screen(0)
	term.WaitFor(t, 5*time.Second, "master rows redrawn", offset, func(s string) bool {
		return strings.Count(s, "│ master ") >= 6
	})
	if s, _ := term.Screen(offset); strings.Contains(s, "replica of") {
		t.Errorf("masters only, yet a replica row was drawn:\n%s", harness.Tail(s, 3000))
	}
	// Narrower window: the table is drawn again within the new width.
	if width := widestBorder(term); width <= 100 {
		t.Fatalf("at 170 columns the table is only %d wide: nothing to shrink", width)
	}
	_, offset = term.Screen(0)
	term.Resize(t, 50, 100)
	term.WaitFor(t, 5*time.Second, "table redrawn within 100 columns", offset, func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			l = strings.TrimSpace(l) // lines end in \r\n on a terminal
			if strings.HasPrefix(l, "└") && utf8.RuneCountInString(l) <= 100 && strings.Contains(l, "┴") {
				return true
			}
		}
		return false
	})
	term.Press(t, "q")
	if err := term.Exit(t, 5*time.Second); err != nil {
		t.Fatalf("watch after q: %v", err)
	}
}

// widestBorder is the width of the widest table bottom border drawn so far.
func widestBorder(term *harness.Terminal) int {
	s, _ := term.Screen(0)
	w := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "└") {
			w = max(w, utf8.RuneCountInString(strings.TrimSpace(l)))
		}
	}
	return w
}

func TestWatchOnceAndJSONOnEngineNodes(t *testing.T) {
	ec := clustertest.Start(t, 3, 1)
	addrs := ec.Addrs()
	once := harness.Run(t, "watch", addrs[0], "--once")
	if once.Code != 0 {
		t.Fatalf("watch --once: %d\n%s", once.Code, once.Output())
	}
	for _, a := range addrs {
		if !strings.Contains(once.Stdout, a) {
			t.Errorf("--once table lacks node %s:\n%s", a, once.Stdout)
		}
	}
	if !strings.Contains(once.Stdout, "nodes:6 (3 masters, 3 replicas)  slots:16384/16384") {
		t.Errorf("--once summary wrong:\n%s", once.Stdout)
	}
	// Not a terminal: one table even without --once.
	if r := harness.Run(t, "watch", addrs[0], "--masters"); r.Code != 0 || strings.Contains(r.Stdout, "replica of") ||
		strings.Count(r.Stdout, "│ master ") != 3 {
		t.Errorf("watch --masters off a terminal: %d\n%s", r.Code, r.Output())
	}

	cc := ec.Client(t)
	for i := range 300 {
		cc.Set(t.Context(), fmt.Sprintf("k%d", i), "v", 0)
	}
	js := harness.Run(t, "watch", addrs[0], "--json", "--count", "3", "--interval", "200ms")
	if js.Code != 0 {
		t.Fatalf("watch --json: %d\n%s", js.Code, js.Output())
	}
	sc := bufio.NewScanner(strings.NewReader(js.Stdout))
	docs := 0
	for sc.Scan() {
		var d struct {
			State string `json:"state"`
			Nodes []struct {
				Addr string `json:"addr"`
				Role string `json:"role"`
				Keys int64  `json:"keys"`
			} `json:"nodes"`
			Totals struct {
				Masters, Replicas, SlotsCovered int
				Keys                            int64
			} `json:"totals"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("line %d is not one JSON document: %v\n%s", docs+1, err, sc.Text())
		}
		docs++
		if d.State != "ok" || len(d.Nodes) != 6 || d.Totals.Masters != 3 || d.Totals.Replicas != 3 || d.Totals.Keys != 300 {
			t.Errorf("tick %d: %+v", docs, d)
		}
	}
	if docs != 3 {
		t.Errorf("--count 3 printed %d documents:\n%s", docs, js.Stdout)
	}
}

// info --map without colour: each band character is the letter of the
// master that claims most of its 64 slots, or '.' where a slot has no
// master; the legend says which letter is which master.
func TestInfoMapLettersEachSegmentByOwnerAndMarksAHole(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	topo := c.Topology(t)
	var first string
	for _, m := range topo.Masters() {
		if m.Slots.Has(1000) {
			first = m.Addr()
		}
	}
	host, port, _ := strings.Cut(first, ":")
	if r := c.CLI(t, "-h", host, "-p", port, "CLUSTER", "DELSLOTSRANGE", "1000", "1100"); r.Code != 0 || !strings.Contains(r.Stdout, "OK") {
		t.Fatalf("DELSLOTSRANGE: %s", r.Output())
	}
	r := harness.Run(t, "info", c.Addr(), "--map")
	if r.Code != 0 {
		t.Fatalf("info --map: %d\n%s", r.Code, r.Output())
	}
	letterOf := map[byte]string{}
	var band string
	for _, l := range strings.Split(r.Stdout, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && len(f[1]) == 64:
			band += f[1]
		case len(f) >= 4 && len(f[0]) == 1 && f[0] != "." && f[3] == "slots":
			letterOf[f[0][0]] = f[1]
		}
	}
	if len(band) != 256 || len(letterOf) != 3 {
		t.Fatalf("want a band of 256 segments and 3 legend letters, got %d and %v:\n%s", len(band), letterOf, r.Stdout)
	}
	topo = c.Topology(t)
	for i := range 256 {
		owned := map[string]int{}
		hole := false
		for s := i * 64; s < (i+1)*64; s++ {
			found := false
			for _, m := range topo.Masters() {
				if m.Slots.Has(s) {
					owned[m.Addr()]++
					found = true
				}
			}
			hole = hole || !found
		}
		got := band[i]
		if hole {
			if got != '.' {
				t.Errorf("segment %d (slots %d-%d) has a hole, drawn %q", i, i*64, i*64+63, got)
			}
			continue
		}
		if owned[letterOf[got]] < 32 {
			t.Errorf("segment %d drawn %q (%s) but its slots are owned %v", i, got, letterOf[got], owned)
		}
	}
	if !strings.Contains(r.Stdout, ". unassigned: 101 slots") {
		t.Errorf("legend does not count the hole:\n%s", r.Stdout)
	}
}

// A slot half migrated shows in --json with its source, target and the
// share of its keys already on the target.
func TestWatchJSONShowsOpenSlotProgress(t *testing.T) {
	ec := clustertest.Start(t, 3, 0)
	ctx := t.Context()
	slot := slots.Slot("a")
	var src, dst *redis.Client
	var srcAddr, dstAddr string
	for _, a := range ec.Addrs() {
		cl := redis.NewClient(&redis.Options{Addr: a})
		t.Cleanup(func() { cl.Close() })
		text, err := cl.ClusterNodes(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if myselfServes(text, slot) {
			src, srcAddr = cl, a
		} else if dst == nil {
			dst, dstAddr = cl, a
		}
	}
	if src == nil || dst == nil {
		t.Fatalf("no owner found for slot %d", slot)
	}
	var keys []string
	for i := range 10 {
		k := fmt.Sprintf("{a}k%d", i)
		keys = append(keys, k)
		if err := src.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	srcID, _ := src.ClusterMyID(ctx).Result()
	dstID, _ := dst.ClusterMyID(ctx).Result()
	for _, step := range []error{
		dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err(),
		src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err(),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	host, port, _ := strings.Cut(dstAddr, ":")
	args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
	for _, k := range keys[:4] {
		args = append(args, k)
	}
	if err := src.Do(ctx, args...).Err(); err != nil {
		t.Fatalf("MIGRATE: %v", err)
	}
	r := harness.Run(t, "watch", srcAddr, "--json", "--count", "2", "--interval", "200ms")
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if r.Code != 0 || len(lines) != 2 {
		t.Fatalf("watch --json --count 2: %d\n%s", r.Code, r.Output())
	}
	var d struct {
		Open []struct {
			Slot     int      `json:"slot"`
			Source   string   `json:"source"`
			Target   string   `json:"target"`
			Left     int64    `json:"keys_left"`
			Moved    int64    `json:"keys_moved"`
			Progress *float64 `json:"progress"`
		} `json:"open_slots"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Open) != 1 {
		t.Fatalf("open slots in the second tick: %+v", d.Open)
	}
	o := d.Open[0]
	if o.Slot != slot || o.Source != srcAddr || o.Target != dstAddr || o.Left != 6 || o.Moved != 4 || o.Progress == nil || *o.Progress != 0.4 {
		t.Errorf("open slot = %+v (progress %v), want slot %d %s -> %s, 6 left, 4 moved, 0.4", o, o.Progress, slot, srcAddr, dstAddr)
	}
}

// myselfServes reports whether the node whose CLUSTER NODES this is serves slot.
func myselfServes(nodes string, slot int) bool {
	for _, line := range strings.Split(nodes, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.Contains(f[2], "myself") {
			continue
		}
		for _, r := range f[8:] {
			if rg, err := slots.ParseRange(r); err == nil && slot >= rg.Start && slot <= rg.End {
				return true
			}
		}
	}
	return false
}

// A replica that stops answering: its row says why at once, and once the
// others flag it, the row carries their fail/pfail flag; the totals count
// it failing while every other node is still shown.
func TestWatchMarksAStoppedNode(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1,
		Args: []string{"--cluster-node-timeout", "1000"}})
	var replica string
	for _, n := range c.Topology(t).Nodes {
		if n.IsReplica() {
			replica = n.Addr()
		}
	}
	for _, s := range c.Nodes {
		if s.Addr() == replica {
			s.Stop()
		}
	}
	seed := c.Nodes[0].Addr()
	if seed == replica {
		seed = c.Nodes[1].Addr()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := harness.Run(t, "watch", seed, "--json", "--once")
		var d struct {
			Nodes []struct {
				Addr  string   `json:"addr"`
				Flags []string `json:"flags"`
				Error string   `json:"error"`
			} `json:"nodes"`
			Totals struct {
				Failing int `json:"failing"`
			} `json:"totals"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil || r.Code != 0 {
			t.Fatalf("watch --json --once: %d %v\n%s", r.Code, err, r.Output())
		}
		if len(d.Nodes) != 6 {
			t.Fatalf("want all 6 nodes listed, got %d", len(d.Nodes))
		}
		for _, n := range d.Nodes {
			switch {
			case n.Addr != replica && n.Error != "":
				t.Fatalf("node %s up, yet its row has an error: %s", n.Addr, n.Error)
			case n.Addr == replica && !strings.Contains(n.Error, "connection refused"):
				t.Fatalf("stopped node %s: error %q, want connection refused", n.Addr, n.Error)
			case n.Addr == replica && (slices.Contains(n.Flags, "fail") || slices.Contains(n.Flags, "pfail")):
				if d.Totals.Failing != 1 {
					t.Errorf("totals count %d failing nodes, want 1", d.Totals.Failing)
				}
				once := harness.Run(t, "watch", seed, "--once")
				if !strings.Contains(once.Stdout, "error: node "+replica) || !strings.Contains(once.Stdout, "failing:1") {
					t.Errorf("--once table does not show the stopped node:\n%s", once.Stdout)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no fail/pfail flag on %s after 20 s:\n%s", replica, r.Stdout)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
