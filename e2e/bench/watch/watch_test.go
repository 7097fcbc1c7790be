// Package watch benchmarks `gocluster watch` on a 60-node redis-server
// cluster: the CPU the watcher process uses per second of watching (its
// own getrusage, user + system), with the live view on a pseudo-terminal
// and with --json, against watching the same nodes with redis-cli --stat,
// one process per node, for the same time.
package watch

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

const (
	benchMasters = 30 // and one replica each: 60 nodes
	benchTicks   = 30 // one per second
)

func cpuSeconds(st interface {
	UserTime() time.Duration
	SystemTime() time.Duration
}) float64 {
	return (st.UserTime() + st.SystemTime()).Seconds()
}

func BenchmarkWatch60Nodes(b *testing.B) {
	c := harness.NewCluster(b, harness.ClusterOptions{Masters: benchMasters, Replicas: 1})
	load := harness.StartLoad(b, c.ClusterClient(b), 0, 2, 0) // ops/s to show
	defer load.Finish(b)
	interval := time.Second
	count := fmt.Sprint(benchTicks)
	for range b.N {
		// Live view on a terminal: polling and drawing.
		term := harness.StartOnTerminal(b, "watch", c.Addr(), "--interval", interval.String(), "--count", count)
		start := time.Now()
		if err := term.Exit(b, benchTicks*interval+30*time.Second); err != nil {
			b.Fatalf("watch on a terminal: %v", err)
		}
		tuiWall := time.Since(start)
		tuiCPU := cpuSeconds(term.State())
		if s, _ := term.Screen(0); !strings.Contains(s, c.Nodes[len(c.Nodes)-1].Addr()) {
			b.Fatalf("the view never showed node %s", c.Nodes[len(c.Nodes)-1].Addr())
		}

		// --json: polling alone; ticks are timestamped, so the refresh
		// rate is measured too.
		cmd := exec.Command(harness.Binary(b), "watch", c.Addr(), "--json", "--interval", interval.String(), "--count", count)
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		var stamps []time.Time
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var d struct {
				Time  time.Time  `json:"time"`
				Nodes []struct{} `json:"nodes"`
			}
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil || len(d.Nodes) != 2*benchMasters {
				b.Fatalf("tick %d: %v, %d nodes", len(stamps)+1, err, len(d.Nodes))
			}
			stamps = append(stamps, d.Time)
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("watch --json: %v", err)
		}
		jsonWall := time.Since(start)
		jsonCPU := cpuSeconds(cmd.ProcessState)
		if len(stamps) != benchTicks {
			b.Fatalf("--json printed %d ticks, want %d", len(stamps), benchTicks)
		}
		worst := time.Duration(0)
		for i := 1; i < len(stamps); i++ {
			worst = max(worst, stamps[i].Sub(stamps[i-1]))
		}
		meanTick := stamps[len(stamps)-1].Sub(stamps[0]) / time.Duration(len(stamps)-1)

		// redis-cli --stat on every node, for as long.
		cliCPU := redisCLIStat(b, c, interval, jsonWall)

		tuiPct := 100 * tuiCPU / tuiWall.Seconds()
		jsonPct := 100 * jsonCPU / jsonWall.Seconds()
		cliPct := 100 * cliCPU / jsonWall.Seconds()
		b.Logf("watch 60 nodes, %d ticks of %s: terminal view %.2f%% of one core (%.2fs CPU in %.1fs) | --json %.2f%% (mean tick %s, worst %s) | 60x redis-cli --stat %.2f%% (%.1fx)",
			benchTicks, interval, tuiPct, tuiCPU, tuiWall.Seconds(), jsonPct, meanTick.Round(time.Millisecond), worst.Round(time.Millisecond), cliPct, cliPct/tuiPct)
		b.ReportMetric(tuiPct, "tui-cpu-%")
		b.ReportMetric(jsonPct, "json-cpu-%")
		b.ReportMetric(meanTick.Seconds(), "tick-s")
		b.ReportMetric(cliPct/tuiPct, "x-vs-redis-cli-stat")
	}
}

// redisCLIStat runs redis-cli --stat against every node for d and returns
// their summed CPU seconds.
func redisCLIStat(b *testing.B, c *harness.Cluster, interval, d time.Duration) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var cmds []*exec.Cmd
	for _, n := range c.Nodes {
		cmd := exec.CommandContext(ctx, redistest.CLIBinary(b), "-h", n.Host, "-p", fmt.Sprint(n.Port),
			"--stat", "-i", fmt.Sprintf("%g", interval.Seconds()))
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	total := 0.0
	for _, cmd := range cmds {
		cmd.Wait() // killed by the context at the end: that is the point
		total += cpuSeconds(cmd.ProcessState)
	}
	return total
}
