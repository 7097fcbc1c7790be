package server

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

var usecFields = regexp.MustCompile(`usec=\d+,usec_per_call=[\d.]+,`)

// statsLines is INFO errorstats and commandstats without timings and
// without the CONFIG and INFO calls the test itself makes, sorted.
func statsLines(t *testing.T, c *rawConn) []string {
	t.Helper()
	var out []string
	for _, section := range []string{"errorstats", "commandstats", "stats"} {
		for _, l := range strings.Split(string(c.do(t, "INFO", section).Str), "\r\n") {
			switch {
			case section == "stats" && !strings.HasPrefix(l, "total_error_replies:"),
				l == "", strings.HasPrefix(l, "#"),
				strings.HasPrefix(l, "cmdstat_config"), strings.HasPrefix(l, "cmdstat_info"):
				continue
			}
			out = append(out, usecFields.ReplaceAllString(l, ""))
		}
	}
	slices.Sort(out)
	return out
}

// TestCommandAndErrorStatsMatchRedisServer: after the same commands -
// refused ones, failing ones, transactions and scripts whose commands fail
// or are refused - INFO errorstats, commandstats (calls, rejected_calls,
// failed_calls) and total_error_replies read the same on both servers.
func TestCommandAndErrorStatsMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	cmds := [][]string{
		{"CONFIG", "RESETSTAT"},
		{"SET", "x", "1"},
		{"INCR", "x"},
		{"SET", "s", "str"},
		{"INCR", "s"},
		{"LPUSH", "s", "a"},
		{"GET"},
		{"NOSUCHCOMMAND"},
		{"MULTI"}, {"INCR", "s"}, {"SET", "y", "2"}, {"EXEC"},
		{"MULTI"}, {"GET"}, {"EXEC"},
		{"EVAL", "return redis.call('select',99)", "0"},
		{"EVAL", "local t = redis.pcall('incr','s') return 1", "0"},
		{"EVAL", "return redis.pcall('lpush','s','a')", "0"},
		{"EVAL", "return redis.error_reply('MY_CODE custom')", "0"},
		{"EVAL", "return redis.error_reply('')", "0"},
		{"EVAL_RO", "return redis.call('set','x','y')", "1", "x"},
		{"EVAL", "return redis.call('nosuch')", "0"},
		{"CONFIG", "SET", "maxmemory", "1"},
		{"EVAL", "return redis.call('set','x','y')", "1", "x"},
		{"SET", "x", "2"},
		{"CONFIG", "SET", "maxmemory", "0"},
	}
	for _, args := range cmds {
		real.do(t, args...)
		eng.do(t, args...)
	}
	want, got := statsLines(t, real), statsLines(t, eng)
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Fatalf("stats differ:\n%s", sideBySide(want, got))
	}
}
