package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
)

// infoFields parses one INFO section into its field names, in order, and
// their values.
func infoFields(t *testing.T, c *rawConn, section string) ([]string, map[string]string) {
	t.Helper()
	var names []string
	values := map[string]string{}
	for _, line := range strings.Split(string(c.do(t, "INFO", section).Str), "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		names = append(names, k)
		values[k] = v
	}
	return names, values
}

// Monitoring tools read INFO by field name: the engine's server,
// persistence, stats and cpu sections list redis-server 7.0.15's fields
// in its order (the engine adds one line naming itself); so does memory.
func TestInfoFieldsMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	for _, section := range []string{"server", "memory", "persistence", "stats", "cpu"} {
		want, _ := infoFields(t, real, section)
		got, _ := infoFields(t, eng, section)
		got = slices.DeleteFunc(got, func(name string) bool { return name == "engine" })
		if strings.Join(want, " ") != strings.Join(got, " ") {
			t.Errorf("INFO %s fields differ:\n  redis:  %s\n  engine: %s", section, strings.Join(want, " "), strings.Join(got, " "))
		}
	}
}

// The traffic figures count real traffic: bytes in and out grow by what
// a command sent and received, read and write calls are counted, the
// instantaneous rates rise under load, and CPU time is the process's.
func TestInfoCountsTrafficAndRates(t *testing.T) {
	srv := startServer(t)
	c := dial(t, srv.Addr().String())
	_, before := infoFields(t, c, "stats")
	value := strings.Repeat("v", 100000)
	c.do(t, "SET", "big", value)
	c.do(t, "GET", "big")
	_, after := infoFields(t, c, "stats")
	num := func(m map[string]string, k string) float64 {
		v, err := strconv.ParseFloat(m[k], 64)
		if err != nil {
			t.Fatalf("%s: %q", k, m[k])
		}
		return v
	}
	if d := num(after, "total_net_input_bytes") - num(before, "total_net_input_bytes"); d < 100000 {
		t.Errorf("total_net_input_bytes grew by %.0f after a 100 kB SET", d)
	}
	if d := num(after, "total_net_output_bytes") - num(before, "total_net_output_bytes"); d < 100000 {
		t.Errorf("total_net_output_bytes grew by %.0f after a 100 kB GET", d)
	}
	if num(after, "total_reads_processed") <= num(before, "total_reads_processed") ||
		num(after, "total_writes_processed") <= num(before, "total_writes_processed") {
		t.Errorf("read/write calls not counted: %v -> %v", before, after)
	}

	load := dial(t, srv.Addr().String())
	deadline := time.Now().Add(10 * time.Second)
	for {
		for i := range 200 {
			load.do(t, "SET", fmt.Sprint("k", i), "v")
		}
		_, now := infoFields(t, c, "stats")
		if num(now, "instantaneous_ops_per_sec") > 0 && num(now, "instantaneous_input_kbps") > 0 && num(now, "instantaneous_output_kbps") > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instantaneous rates stay 0 under load: %v", now)
		}
	}
	_, cpu := infoFields(t, c, "cpu")
	if num(cpu, "used_cpu_user")+num(cpu, "used_cpu_sys") <= 0 {
		t.Errorf("CPU time not reported: %v", cpu)
	}
}

// MEMORY STATS names redis-server 7.0.15's fields in its order (db.0
// only while it holds keys); the arity errors are the same (HELP's text
// is checked in help_test.go).
func TestMemoryStatsMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	names := func(c *rawConn) string {
		r := c.do(t, "MEMORY", "STATS")
		var out []string
		for i := 0; i+1 < len(r.Elems); i += 2 {
			name := string(r.Elems[i].Str)
			if len(r.Elems[i+1].Elems) > 0 {
				for j := 0; j < len(r.Elems[i+1].Elems); j += 2 {
					name += " " + string(r.Elems[i+1].Elems[j].Str)
				}
			}
			out = append(out, name)
		}
		return strings.Join(out, "\n")
	}
	for _, withKeys := range []bool{false, true} {
		if withKeys {
			real.do(t, "SET", "k", "v")
			eng.do(t, "SET", "k", "v")
		}
		if want, got := names(real), names(eng); want != got {
			t.Errorf("MEMORY STATS (keys %v):\nredis:\n%s\nengine:\n%s", withKeys, want, got)
		}
	}
	compareArgs(t, real, eng, [][]string{{"MEMORY", "HELP", "x"}, {"MEMORY", "STATS", "x"}, {"MEMORY", "DOCTOR", "x"},
		{"MEMORY", "MALLOC-STATS", "x"}, {"MEMORY", "nope"}})
	if d := eng.do(t, "MEMORY", "DOCTOR"); len(d.Str) == 0 {
		t.Error("MEMORY DOCTOR is empty")
	}
}
