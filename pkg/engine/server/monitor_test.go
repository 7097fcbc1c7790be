package server

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// monitorPrefix is a MONITOR line's time and client address, which differ
// between the two servers; the rest must be the same byte for byte.
var monitorPrefix = regexp.MustCompile(`^\d+\.\d{6} \[0 (lua|127\.0\.0\.1:\d+)\] `)

// monitorSession runs commands from two clients while a third monitors, and
// returns what the monitor saw (addresses named after the client).
func monitorSession(t *testing.T, addr string) []string {
	mon, a, b := dial(t, addr), dial(t, addr), dial(t, addr)
	if got := mon.do(t, "MONITOR"); string(got.Str) != "OK" {
		t.Fatalf("MONITOR: %s", show(got))
	}
	names := map[string]string{a.conn.LocalAddr().String(): "A", b.conn.LocalAddr().String(): "B"}
	steps := []struct {
		c    *rawConn
		args []string
	}{
		{a, []string{"SET", "foo", "bar"}},
		{b, []string{"GET", "foo"}},
		{a, []string{"SET", "bin", "a\"b\\c\r\n\t\x00\xff é"}},
		{a, []string{"MULTI"}},
		{a, []string{"SET", "foo", "1"}},
		{a, []string{"INCR", "foo"}},
		{a, []string{"EXEC"}},
		{b, []string{"MULTI"}},
		{b, []string{"NOSUCHCOMMAND"}},
		{b, []string{"EXEC"}},
		{a, []string{"EVAL", "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])", "1", "k", "v"}},
		{b, []string{"CONFIG", "GET", "maxmemory"}}, // admin: hidden
		{b, []string{"CLIENT", "ID"}},
		{b, []string{"CLIENT", "LIST"}}, // admin: hidden
		{a, []string{"AUTH", "nobody", "secret"}},
		{a, []string{"AUTH", "secret"}},
		{a, []string{"HELLO", "2", "AUTH", "nobody", "secret"}},
		{b, []string{"GET"}}, // refused before it runs: not shown
		{b, []string{"PING"}},
	}
	for _, s := range steps {
		s.c.do(t, s.args...)
	}
	var lines []string
	for range 17 {
		rep, err := resp.ReadReply(mon.br)
		if err != nil {
			t.Fatalf("reading the monitor after %d lines %q: %v", len(lines), lines, err)
		}
		m := monitorPrefix.FindStringSubmatch(string(rep.Str))
		if m == nil {
			t.Fatalf("monitor line %q", rep.Str)
		}
		who := m[1]
		if n, ok := names[who]; ok {
			who = n
		}
		lines = append(lines, who+" "+string(rep.Str[len(m[0]):]))
	}
	// RESET ends monitoring: the next reply is RESET's, with no line before it.
	if got := mon.do(t, "RESET"); string(got.Str) != "RESET" {
		t.Fatalf("RESET after MONITOR: %s", show(got))
	}
	a.do(t, "SET", "after", "reset")
	if got := mon.do(t, "PING"); string(got.Str) != "PONG" {
		t.Fatalf("PING after RESET: %s", show(got))
	}
	if list := string(a.do(t, "CLIENT", "LIST").Str); strings.Contains(list, "flags=O") {
		t.Errorf("a monitor is still listed after RESET:\n%s", list)
	}
	return lines
}

// TestMonitorMatchesRedisServer: the lines a monitor receives (order,
// quoting, transactions, scripts as [0 lua], hidden admin commands, redacted
// passwords) are redis-server's.
func TestMonitorMatchesRedisServer(t *testing.T) {
	want := monitorSession(t, redistest.Start(t, redistest.Options{}).Addr())
	got := monitorSession(t, startServer(t).Addr().String())
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf("monitor lines differ:\nredis-server:\n%s\nengine:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// TestMonitorInsideMultiIsRefused: a transaction cannot turn its client
// into a monitor.
func TestMonitorInsideMultiIsRefused(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareArgs(t, real, eng, scriptLines(`
MULTI
MONITOR
EXEC
PING
`))
}
