// Package faults is the fault campaign (`make faults`): gocluster
// commands on real clusters (redis-server, valkey-server, `gocluster
// server`) interrupted at a random moment by a fault, then recovered with
// fix and the command run again, while clients write and a checker
// verifies every acknowledged write afterwards. docs/reliability.md has
// the figures.
package faults

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Knobs, from the environment: FAULTS_TRIALS trials (default 3, what
// `make test` runs), the first with seed FAULTS_SEED, the next ones
// FAULTS_STEP apart (default seedStep), FAULTS_REPORT a file for the
// Markdown tables, FAULTS_KEEP a directory that keeps the nodes' logs and
// nodes.conf of every failed trial (the test's own directories are gone
// when it ends). The default seed is fixed so that `make test` runs the
// same three cells (redis rebalance kill-gocluster, valkey add-node
// kill-source, engine del-node kill-target); `make faults` draws one from
// the clock.
const (
	defaultTrials = 3
	defaultSeed   = 1
)

// seedStep walks the grid of server x fault x command: it is prime to
// its size (105), so 105 trials from any seed cover each cell once, and a
// few trials already vary all three.
const seedStep = 43

func envInt(t *testing.T, name string, def int64) int64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		t.Fatalf("%s=%q: want a number >= 0", name, s)
	}
	return v
}

// TestFaultCampaign runs the trials one after another and fails with the
// command that reproduces each failed one.
func TestFaultCampaign(t *testing.T) {
	trials := envInt(t, "FAULTS_TRIALS", defaultTrials)
	base := envInt(t, "FAULTS_SEED", defaultSeed)
	step := envInt(t, "FAULTS_STEP", seedStep)
	t.Logf("fault campaign: %d trials from FAULTS_SEED=%d, FAULTS_STEP=%d", trials, base, step)
	var mu sync.Mutex
	var outcomes []outcome
	for i := range trials {
		tr := newTrial(nil, base+i*step)
		name := fmt.Sprintf("seed=%d/%s/%s/%s", tr.seed, tr.backend, tr.command, tr.fault)
		t.Run(name, func(t *testing.T) {
			tr.t = t
			defer func() {
				mu.Lock()
				outcomes = append(outcomes, tr.outcome)
				mu.Unlock()
				writeReport(t, outcomes) // after every trial: a long run can be stopped at any time
			}()
			tr.run()
			o := tr.outcome
			t.Logf("fault after %v, command ran %v (landed mid-command %v); %d acknowledged writes checked, %d lost, %d lost at failover (Redis), %d retry duplicates, %d in copies fix saved; recovered in %v; node errors %v; client errors %v",
				o.delay.Round(time.Millisecond), o.ran.Round(time.Millisecond), o.landed, o.checked, o.lost, o.failover, o.retryDup, o.saved, o.recovery.Round(time.Millisecond), o.seen, o.appErrs)
			t.Logf("steps: %s", strings.Join(o.steps, " | "))
			if o.serverFault != "" {
				t.Logf("not gocluster's: %s\nreproduce: FAULTS_SEED=%d FAULTS_TRIALS=1 make faults", o.serverFault, tr.seed)
			}
			if o.failure != "" {
				tr.keepFiles()
				t.Errorf("%s\nreproduce: FAULTS_SEED=%d FAULTS_TRIALS=1 make faults", o.failure, tr.seed)
			}
		})
	}
	if trials > 0 && len(outcomes) == 0 {
		t.Fatal("no trial ran")
	}
	if firstOther != "" {
		t.Logf("first error of kind other: %s", firstOther)
	}
	t.Log("\n" + renderReport(outcomes))
}

// writeReport writes the tables to FAULTS_REPORT, if set.
func writeReport(t *testing.T, outcomes []outcome) {
	if path := os.Getenv("FAULTS_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(renderReport(outcomes)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// renderReport sums the outcomes into Markdown tables.
func renderReport(outs []outcome) string {
	type cell struct {
		trials, landed, recovered, checked, lost, failover, dup, saved int
		recovery                                                       []time.Duration
		seen, app                                                      map[string]int64
	}
	cells := map[string]*cell{}
	key := func(o outcome) string { return o.backend + "|" + o.command + "|" + o.fault }
	var failed, serverFaults []string
	total := &cell{seen: map[string]int64{}, app: map[string]int64{}}
	for _, o := range outs {
		c := cells[key(o)]
		if c == nil {
			c = &cell{seen: map[string]int64{}, app: map[string]int64{}}
			cells[key(o)] = c
		}
		for _, c := range []*cell{c, total} {
			c.trials++
			if o.landed {
				c.landed++
			}
			if o.failure == "" && o.serverFault == "" {
				c.recovered++
				c.recovery = append(c.recovery, o.recovery)
			}
			c.checked += o.checked
			c.lost += o.lost
			c.failover += o.failover
			c.dup += o.retryDup
			c.saved += o.saved
			for k, v := range o.seen {
				c.seen[k] += v
			}
			for k, v := range o.appErrs {
				c.app[k] += v
			}
		}
		if o.serverFault != "" {
			first, _, _ := strings.Cut(o.serverFault, "\n")
			serverFaults = append(serverFaults, fmt.Sprintf("- seed %d (%s %s %s): %s", o.seed, o.backend, o.command, o.fault, first))
		}
		if o.failure != "" {
			first, _, _ := strings.Cut(o.failure, "\n")
			failed = append(failed, fmt.Sprintf("- seed %d (%s %s %s): %s", o.seed, o.backend, o.command, o.fault, first))
		}
	}
	errs := func(m map[string]int64) string {
		var parts []string
		for _, k := range errorKinds {
			if m[k] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
			}
		}
		return strings.Join(parts, ", ")
	}
	median := func(ds []time.Duration) string {
		if len(ds) == 0 {
			return "-"
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return fmt.Sprintf("%.1f s / %.1f s", ds[len(ds)/2].Seconds(), ds[len(ds)-1].Seconds())
	}
	var b strings.Builder
	b.WriteString("| server | command | fault | trials | mid-command | recovered | writes checked | lost | lost at failover | retry dup | in saved copies | recovery median / max | errors nodes returned | errors clients saw |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	keys := make([]string, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	row := func(name string, c *cell) {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %s | %s | %s |\n", name, c.trials, c.landed, c.recovered,
			c.checked, c.lost, c.failover, c.dup, c.saved, median(c.recovery), errs(c.seen), errs(c.app))
	}
	for _, k := range keys {
		row(strings.ReplaceAll(k, "|", " | "), cells[k])
	}
	row("**all** | | ", total)
	if len(failed) > 0 {
		b.WriteString("\nFailed trials:\n" + strings.Join(failed, "\n") + "\n")
	}
	if len(serverFaults) > 0 {
		b.WriteString("\nTrials ended by a server that could not start again from its own files (not recovered, not gocluster's):\n" + strings.Join(serverFaults, "\n") + "\n")
	}
	return b.String()
}
