package server

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// LATENCY's errors and empty answers, and the shape of its histograms,
// compared with redis-server 7.0.15.
func TestLatencyMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--enable-debug-command", "yes"}}).Addr())
	eng := dial(t, startServerArgs(t, "--enable-debug-command", "yes").Addr().String())
	compareArgs(t, real, eng, [][]string{
		{"LATENCY"}, {"LATENCY", "bogus"}, {"LATENCY", "HELP", "xxx"}, {"LATENCY", "LATEST", "x"},
		{"LATENCY", "HISTORY"}, {"LATENCY", "HISTORY", "nope"}, {"LATENCY", "GRAPH", "nope"},
		{"LATENCY", "RESET"}, {"LATENCY", "RESET", "nope"}, {"LATENCY", "LATEST"},
		{"CONFIG", "SET", "latency-tracking-info-percentiles", "1 2 abc"},
		{"CONFIG", "SET", "latency-tracking-info-percentiles", "nan"},
		{"CONFIG", "SET", "latency-tracking-info-percentiles", "101"},
		{"CONFIG", "SET", "latency-monitor-threshold", "50"},
	})
	for _, c := range []*rawConn{real, eng} {
		c.do(t, "CONFIG", "RESETSTAT")
		c.do(t, "SET", "a", "b")
		c.do(t, "SET", "c", "d")
		c.do(t, "CLIENT", "ID")
		c.do(t, "CLIENT", "GETNAME")
		c.do(t, "CLIENT", "NOSUCH")
	}
	for _, args := range [][]string{{"LATENCY", "HISTOGRAM", "blabla"}, {"LATENCY", "HISTOGRAM", "set", "nope"},
		{"LATENCY", "HISTOGRAM", "client"}, {"LATENCY", "HISTOGRAM", "client|id"}} {
		// Each entry's name and calls (the buckets depend on the machine;
		// redis-server lists the entries in its hash table's order).
		calls := func(r resp.Reply) string {
			var out []string
			for i := 0; i+1 < len(r.Elems); i += 2 {
				out = append(out, show(r.Elems[i])+" "+show(r.Elems[i+1].Elems[1]))
			}
			slices.Sort(out)
			return strings.Join(out, ", ")
		}
		if want, got := calls(real.do(t, args...)), calls(eng.do(t, args...)); want != got {
			t.Errorf("%v:\n  redis:  %s\n  engine: %s", args, want, got)
		}
	}
	if h := show(eng.do(t, "LATENCY", "HISTOGRAM", "set")); !regexp.MustCompile(`histogram_usec" \*\[:\d+ :[12]`).MatchString(h) {
		t.Errorf("LATENCY HISTOGRAM set: %s", h)
	}
	// A slow command is a "command" event in LATEST and HISTORY.
	for _, c := range []*rawConn{real, eng} {
		c.do(t, "DEBUG", "SLEEP", "0.1")
		latest := c.do(t, "LATENCY", "LATEST")
		if len(latest.Elems) != 1 || show(latest.Elems[0].Elems[0]) != `$"command"` || latest.Elems[0].Elems[2].Int < 100 {
			t.Errorf("LATENCY LATEST after a 100 ms command: %s", show(latest))
		}
		if h := c.do(t, "LATENCY", "HISTORY", "command"); len(h.Elems) != 1 || h.Elems[0].Elems[1].Int < 100 {
			t.Errorf("LATENCY HISTORY command: %s", show(h))
		}
		if g := c.do(t, "LATENCY", "GRAPH", "command"); !strings.Contains(string(g.Str), "command - high") {
			t.Errorf("LATENCY GRAPH command: %s", show(g))
		}
		if d := c.do(t, "LATENCY", "DOCTOR"); len(d.Str) == 0 {
			t.Errorf("LATENCY DOCTOR is empty")
		}
	}
	compareArgs(t, real, eng, [][]string{{"LATENCY", "RESET", "command", "nope"}, {"LATENCY", "LATEST"}})
	// INFO latencystats names the same commands, with the same percentiles.
	names := func(c *rawConn) string {
		var out []string
		for _, l := range strings.Split(string(c.do(t, "INFO", "latencystats").Str), "\r\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				out = append(out, k+" "+regexp.MustCompile(`[\d.]+`).ReplaceAllString(v, "N"))
			}
		}
		slices.Sort(out) // redis-server lists them in its hash table's order
		return strings.Join(out, "\n")
	}
	if want, got := names(real), names(eng); want != got {
		t.Errorf("INFO latencystats:\nredis:\n%s\nengine:\n%s", want, got)
	}
}

// LATENCY GRAPH draws the same picture as redis-server 7.0.15 for the same
// samples: a low one and, a second later, a high one (the milliseconds and
// ages, which depend on timing, are left out).
func TestLatencyGraphMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--enable-debug-command", "yes"}}).Addr())
	eng := dial(t, startServerArgs(t, "--enable-debug-command", "yes").Addr().String())
	both := []*rawConn{real, eng}
	for _, c := range both {
		c.do(t, "CONFIG", "SET", "latency-monitor-threshold", "10")
		c.do(t, "DEBUG", "SLEEP", "0.02")
	}
	time.Sleep(1100 * time.Millisecond)
	for _, c := range both {
		c.do(t, "DEBUG", "SLEEP", "0.08")
	}
	digits := regexp.MustCompile(`\d+`)
	graph := func(c *rawConn) string {
		return digits.ReplaceAllString(string(c.do(t, "LATENCY", "GRAPH", "command").Str), "N")
	}
	if want, got := graph(real), graph(eng); want != got {
		t.Errorf("LATENCY GRAPH command:\nredis:\n%s\nengine:\n%s", want, got)
	}
}

// A blocking command's wait is no run time, as on redis-server 7.0.15: no
// latency event, no slowlog entry, commandstats without it, and only a
// served one in LATENCY HISTOGRAM.
func TestBlockedWaitIsNotLatency(t *testing.T) {
	for name, addr := range map[string]string{
		"redis":  redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr(),
		"engine": startServer(t).Addr().String(),
	} {
		c, pusher := dial(t, addr), dial(t, addr)
		c.do(t, "CONFIG", "SET", "latency-monitor-threshold", "100")
		c.do(t, "CONFIG", "SET", "slowlog-log-slower-than", "100000")
		c.do(t, "BLPOP", "nokey", "0.3")
		go func() {
			time.Sleep(300 * time.Millisecond)
			pusher.conn.Write([]byte("RPUSH k v\r\n"))
		}()
		c.do(t, "BLPOP", "k", "2")
		c.do(t, "WAIT", "1", "200")
		if r := show(c.do(t, "LATENCY", "LATEST")); r != "*[]" {
			t.Errorf("%s: LATENCY LATEST after blocking: %s", name, r)
		}
		if r := show(c.do(t, "SLOWLOG", "GET")); r != "*[]" {
			t.Errorf("%s: SLOWLOG GET after blocking: %s", name, r)
		}
		h := c.do(t, "LATENCY", "HISTOGRAM", "blpop", "wait")
		if len(h.Elems) != 2 || show(h.Elems[0]) != `$"blpop"` || h.Elems[1].Elems[1].Int != 1 {
			t.Errorf("%s: LATENCY HISTOGRAM blpop wait: %s", name, show(h))
		}
		stats := string(c.do(t, "INFO", "commandstats").Str)
		for _, line := range strings.Split(stats, "\r\n") {
			if m := regexp.MustCompile(`^cmdstat_(blpop|wait):.*,usec=(\d+),`).FindStringSubmatch(line); m != nil {
				if us, _ := strconv.Atoi(m[2]); us >= 100000 {
					t.Errorf("%s: %s", name, line)
				}
			}
		}
	}
}
