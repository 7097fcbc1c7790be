package badinput

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestServerBadInput: gocluster server refuses bad options, files and
// nodes.conf with one line naming them, and never starts half-configured.
// Every case names a free loopback port, so a case that wrongly starts a
// node binds nothing shared, and the harness's timeout reports it as a hang.
func TestServerBadInput(t *testing.T) {
	port := func() string { return strconv.Itoa(redistest.FreePort(t, "127.0.0.1")) }
	local := func(extra ...string) []string {
		return append([]string{"server", "--bind", "127.0.0.1", "--port", port()}, extra...)
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badConf := write("bad.conf", "bind 127.0.0.1\nfrobnicate yes\n")
	garbageDir := filepath.Dir(write("garbage/nodes.conf", "this is not a nodes.conf\n"))
	badSlotDir := filepath.Dir(write("badslot/nodes.conf",
		"0123456789012345678901234567890123456789 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-99999\nvars currentEpoch 1 lastVoteEpoch 0\n"))
	busyPort := strconv.Itoa(busyPort(t))
	const quick = 15 * time.Second
	runBad(t, []badCase{
		{name: "unknown option", args: local("--frobnicate", "1"), code: 2, want: []string{"frobnicate"}, timeout: quick},
		{name: "port not a number", args: []string{"server", "--port", "abc"}, code: 2, want: []string{"port"}, timeout: quick},
		{name: "port too big", args: []string{"server", "--port", "99999"}, code: 2, want: []string{"port"}, timeout: quick},
		{name: "port negative", args: []string{"server", "--port", "-1"}, code: 2, want: []string{"port"}, timeout: quick},
		{name: "option without value", args: []string{"server", "--port"}, code: 2, want: []string{"port"}, timeout: quick},
		{name: "cluster-enabled maybe", args: local("--cluster-enabled", "maybe"), code: 2, want: []string{"cluster-enabled"}, timeout: quick},
		{name: "missing config file", args: []string{"server", filepath.Join(dir, "nope.conf")}, code: 2, want: []string{"nope.conf"}, timeout: quick},
		{name: "bad directive in config file", args: []string{"server", badConf, "--port", port()}, code: 2,
			want: []string{"bad.conf", "line 2", "frobnicate"}, timeout: quick},
		{name: "garbage nodes.conf", args: local("--cluster-enabled", "yes", "--dir", garbageDir), code: 1,
			want: []string{filepath.Join(garbageDir, "nodes.conf"), "line 1"}, timeout: quick},
		{name: "slot out of range in nodes.conf", args: local("--cluster-enabled", "yes", "--dir", badSlotDir), code: 1,
			want: []string{"nodes.conf", "line 1", "99999"}, timeout: quick},
		{name: "missing --dir", args: local("--cluster-enabled", "yes", "--dir", filepath.Join(dir, "no", "such")), code: 1,
			want: []string{filepath.Join(dir, "no", "such")}, timeout: quick},
		{name: "port in use", args: []string{"server", "--bind", "127.0.0.1", "--port", busyPort}, code: 1,
			want: []string{busyPort, "in use"}, timeout: quick},
	})

	// More ways a nodes.conf can be broken; each names the file and line.
	const id = "0123456789012345678901234567890123456789"
	const other = "1123456789012345678901234567890123456789"
	const vars = "vars currentEpoch 2 lastVoteEpoch 0\n"
	me := id + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-100\n"
	var cases []badCase
	for _, nc := range []struct{ name, text, want string }{
		{"truncated line", id + " 127.0.0.1:7000@17000 myself,mas\n", "line 1"},
		{"binary", "\x00\x01\xfe\xff garbage\n", "line 1"},
		{"short node id", "0123 127.0.0.1:7000@17000 myself,master - 0 0 1 connected\n", "0123"},
		{"no myself", id + " 127.0.0.1:7000@17000 master - 0 0 1 connected\n" + vars, "myself"},
		{"two myself", me + other + " 127.0.0.1:7001@17001 myself,master - 0 0 2 connected\n" + vars, "line 2"},
		{"same id twice", me + id + " 127.0.0.1:7001@17001 master - 0 0 2 connected\n" + vars, "line 2"},
		{"slot claimed twice", me + other + " 127.0.0.1:7001@17001 master - 0 0 2 connected 50-200\n" + vars, "50"},
		{"bad epoch", me + "vars currentEpoch x lastVoteEpoch 0\n", "line 2"},
		{"unknown flag", id + " 127.0.0.1:7000@17000 myself,wizard - 0 0 1 connected\n", "wizard"},
		{"bad address", id + " nohost myself,master - 0 0 1 connected\n", "nohost"},
	} {
		d := filepath.Dir(write(strings.ReplaceAll(nc.name, " ", "-")+"/nodes.conf", nc.text))
		cases = append(cases, badCase{name: "nodes.conf " + nc.name, args: local("--cluster-enabled", "yes", "--dir", d), code: 1,
			want: []string{filepath.Join(d, "nodes.conf"), nc.want}, timeout: quick})
	}
	runBad(t, cases)
}

// TestLocalAndMiscBadInput: local up checks its options before starting
// anything; keyslot, version and the root command refuse bad arguments.
func TestLocalAndMiscBadInput(t *testing.T) {
	busyPort := busyPort(t)
	freePort := strconv.Itoa(redistest.FreePort(t, "127.0.0.1"))
	up := func(extra ...string) []string {
		return append([]string{"local", "up", "--port", freePort, "--dir", t.TempDir()}, extra...)
	}
	const quick = 20 * time.Second
	runBad(t, []badCase{
		{name: "local up --masters 2", args: up("--masters", "2"), code: 2, want: []string{"--masters", "2"}, timeout: quick},
		{name: "local up --replicas -1", args: up("--replicas", "-1"), code: 2, want: []string{"--replicas", "-1"}, timeout: quick},
		{name: "local up --replicas 6", args: up("--replicas", "6"), code: 2, want: []string{"--replicas", "6"}, timeout: quick},
		{name: "local up --port 99999", args: []string{"local", "up", "--port", "99999"}, code: 2, want: []string{"--port", "99999"}, timeout: quick},
		{name: "local up --port 0", args: []string{"local", "up", "--port", "0"}, code: 2, want: []string{"--port", "0"}, timeout: quick},
		{name: "local up --backend nope", args: up("--backend", "nope"), code: 2, want: []string{"--backend", "nope"}, timeout: quick},
		{name: "local up on a port in use", args: []string{"local", "up", "--port", strconv.Itoa(busyPort), "--replicas", "0"}, code: 1,
			want: []string{fmt.Sprint(busyPort), "in use"}, timeout: quick},
		{name: "local up extra argument", args: up("extra"), code: 2, want: []string{"extra"}, timeout: quick},
		{name: "local unknown subcommand", args: []string{"local", "down"}, code: 2, want: []string{"down"}, timeout: quick},
		{name: "keyslot without keys", args: []string{"keyslot"}, code: 2, want: []string{"keyslot"}},
		{name: "version with an argument", args: []string{"version", "extra"}, code: 2, want: []string{"extra"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, want: []string{"frobnicate"}},
		{name: "unknown flag", args: []string{"check", "127.0.0.1:7000", "--frob"}, code: 2, want: []string{"--frob"}},
		{name: "bool flag with a value", args: []string{"check", "127.0.0.1:7000", "--json=maybe"}, code: 2, want: []string{"--json", "maybe"}},
		{name: "flag without its value", args: []string{"reshard", "127.0.0.1:7000", "--slots"}, code: 2, want: []string{"--slots"}},
	})
}

// busyPort holds a loopback port (in the range local up accepts) open
// until the test ends.
func busyPort(t *testing.T) int {
	t.Helper()
	for range 5 {
		p := redistest.FreePort(t, "127.0.0.1")
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			t.Cleanup(func() { l.Close() })
			return p
		}
	}
	t.Fatal("no port to hold")
	return 0
}
