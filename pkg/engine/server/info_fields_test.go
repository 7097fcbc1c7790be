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
