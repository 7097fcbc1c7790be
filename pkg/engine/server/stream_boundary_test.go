package server

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
)

// Boundary values for the stream commands, compared with redis-server 7.0
// word for word (as TestBoundaryValuesMatchRedisServer does for the other
// types): X stands for each of streamBoundaryIDs, I and J for integers.
// (Idle times are 0 or an hour, so that the clock cannot tell the two
// servers apart.) The engine must answer each as Redis does and never
// fail internally.

var streamBoundaryIDs = []string{"0", "0-0", "0-1", "-", "+", "1-1", "2", "1-18446744073709551615",
	"18446744073709551615-18446744073709551615", "18446744073709551615", "18446744073709551616",
	"1-18446744073709551616", "-1", "1--1", "1-", "-1-1", "(0-0", "((1", "(18446744073709551615-18446744073709551615",
	"(", "(-", "(+", "1-*", "$", ">", "abc", "1.5", "+1", "1-+1", "00001-01", "9223372036854775808-0",
	"1-0x1", strings.Repeat("9", 130)}

var streamBoundaryTemplates = []struct {
	cmd   string
	shape bool
}{
	{cmd: "XADD s X f v"}, {cmd: "XADD s MAXLEN J 9-9 f v"}, {cmd: "XADD s MAXLEN ~ J LIMIT J 9-9 f v"},
	{cmd: "XADD s MINID X 9-9 f v"}, {cmd: "XADD s MINID ~ X LIMIT J 9-9 f v"}, {cmd: "XADD s NOMKSTREAM X f v"},
	{cmd: "XRANGE s X X"}, {cmd: "XREVRANGE s X X COUNT J"}, {cmd: "XRANGE s - + COUNT I"},
	{cmd: "XDEL s X"}, {cmd: "XTRIM s MAXLEN I"}, {cmd: "XTRIM s MAXLEN ~ I LIMIT I"}, {cmd: "XTRIM s MINID X"},
	{cmd: "XSETID s X"}, {cmd: "XSETID s 5-0 ENTRIESADDED I MAXDELETEDID X"},
	{cmd: "XREAD COUNT I STREAMS s X"}, {cmd: "XREAD BLOCK I STREAMS s 0"},
	{cmd: "XREADGROUP GROUP g c COUNT I STREAMS s X"}, {cmd: "XREADGROUP GROUP g c BLOCK I STREAMS s 0"},
	{cmd: "XGROUP CREATE s g2 X ENTRIESREAD I"}, {cmd: "XGROUP SETID s g X ENTRIESREAD I"},
	{cmd: "XPENDING s g X X I", shape: true}, {cmd: "XPENDING s g IDLE 0 - + I c", shape: true},
	{cmd: "XPENDING s g IDLE 3600000 - + I c", shape: true}, // not I: a small idle time races the clock
	{cmd: "XACK s g X"}, {cmd: "XCLAIM s g d 3600000 1-1 2-2 JUSTID"}, {cmd: "XCLAIM s g d 9223372036854775807 1-1 JUSTID"},
	{cmd: "XCLAIM s g d -9223372036854775808 1-1 JUSTID"}, {cmd: "XCLAIM s g d x 1-1 JUSTID"}, {cmd: "XCLAIM s g d 0 X JUSTID"},
	{cmd: "XCLAIM s g d 0 1-1 IDLE I JUSTID"}, {cmd: "XCLAIM s g d 0 1-1 TIME I JUSTID"},
	{cmd: "XCLAIM s g d 0 1-1 RETRYCOUNT I JUSTID"}, {cmd: "XCLAIM s g d 0 1-1 LASTID X JUSTID"},
	{cmd: "XAUTOCLAIM s g d 0 X COUNT J JUSTID"}, {cmd: "XAUTOCLAIM s g d 3600000 X COUNT J"},
	{cmd: "XAUTOCLAIM s g d -1 0 COUNT I JUSTID"}, {cmd: "XAUTOCLAIM s g d x 0"}, {cmd: "XINFO STREAM s FULL COUNT I", shape: true},
}

func TestStreamBoundaryValuesMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	setup := [][]string{{"FLUSHALL"}, {"XADD", "s", "1-1", "f", "v"}, {"XADD", "s", "2-2", "a", "b", "c", "d"},
		{"XADD", "s", "3-0", "x", "y"}, {"XGROUP", "CREATE", "s", "g", "0"}, {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}}
	n := 0
	for _, proto := range []string{"2", "3"} {
		s := append([][]string{{"HELLO", proto}}, setup...)
		for _, tmpl := range streamBoundaryTemplates {
			ids := []string{""}
			if strings.Contains(tmpl.cmd, " X") {
				ids = streamBoundaryIDs
			}
			for _, id := range ids {
				cmd := tmpl.cmd
				if id != "" {
					cmd = strings.ReplaceAll(cmd, " X", " "+id)
				}
				n += compareBoundary(t, real, eng, s, cmd, tmpl.shape)
			}
		}
	}
	t.Logf("%d stream boundary-value commands compared", n)
	if _, err := net.DialTimeout("tcp", eng.conn.RemoteAddr().String(), time.Second); err != nil {
		t.Fatalf("engine gone: %v", err)
	}
}
