package engine

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// TestBadServerOptionsFailWithOneClearLine: `gocluster server` refuses bad
// options and files at once, exiting non-zero with one error line that
// names the option or file (plus, for usage errors, the usual --help hint),
// and never a Go panic or a silent start.
func TestBadServerOptionsFailWithOneClearLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	port := strconv.Itoa(redistest.FreePort(t, "127.0.0.1"))
	base := []string{"--port", port, "--bind", "127.0.0.1"}
	badConf := write("bad.conf", "port "+port+"\n# a comment\nmaxclients 10\nfoo-bar yes\n")
	garbageDir := filepath.Join(dir, "garbage")
	os.Mkdir(garbageDir, 0o755)
	os.WriteFile(filepath.Join(garbageDir, "nodes.conf"), []byte("this is not a nodes.conf\n"), 0o644)
	badSlotDir := filepath.Join(dir, "badslot")
	os.Mkdir(badSlotDir, 0o755)
	os.WriteFile(filepath.Join(badSlotDir, "nodes.conf"), []byte(
		"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-99999\nvars currentEpoch 1 lastVoteEpoch 0\n"), 0o644)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	cases := []struct {
		name  string
		args  []string
		names []string // each must appear in the error line
	}{
		{"unknown directive", append(base, "--no-such-option", "1"), []string{"no-such-option"}},
		{"port out of range", []string{"--port", "70000"}, []string{"port", "65535"}},
		{"port not a number", []string{"--port", "seven"}, []string{"port", "integer"}},
		{"option without value", []string{"--port"}, []string{"port"}},
		{"bad yes/no", append(base, "--cluster-enabled", "maybe"), []string{"cluster-enabled", "yes", "no"}},
		{"bad node timeout", append(base, "--cluster-node-timeout", "soon"), []string{"cluster-node-timeout"}},
		{"missing config file", append([]string{filepath.Join(dir, "missing.conf")}, base...), []string{"missing.conf"}},
		{"config file is a directory", append([]string{dir}, base...), []string{dir}},
		{"bad line in config file", []string{badConf}, []string{"bad.conf", "line 4", "foo-bar"}},
		{"garbage nodes.conf", append(base, "--cluster-enabled", "yes", "--dir", garbageDir), []string{filepath.Join(garbageDir, "nodes.conf")}},
		{"slot out of range in nodes.conf", append(base, "--cluster-enabled", "yes", "--dir", badSlotDir), []string{"nodes.conf", "99999"}},
		{"port in use", []string{"--port", busyPort, "--bind", "127.0.0.1"}, []string{busyPort}},
		{"unwritable logfile", append(base, "--logfile", filepath.Join(dir, "no", "such", "log")), []string{filepath.Join(dir, "no", "such", "log")}},
		// redis-server: "Can't chdir to '...': No such file or directory"
		{"dir does not exist", append(base, "--dir", filepath.Join(dir, "nodir")), []string{filepath.Join(dir, "nodir")}},
		{"dir does not exist, cluster-enabled", append(base, "--dir", filepath.Join(dir, "nodir"), "--cluster-enabled", "yes"), []string{filepath.Join(dir, "nodir")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := harness.Exec(t, harness.Binary(t), harness.Cmd{Args: append([]string{"server"}, c.args...), Timeout: 5 * time.Second})
			if r.Code == 0 {
				t.Fatalf("exit 0; output:\n%s", r.Output())
			}
			if strings.Contains(r.Output(), "panic:") || strings.Contains(r.Output(), "goroutine ") {
				t.Fatalf("Go panic:\n%s", r.Output())
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
				if l != "" && !strings.HasPrefix(l, "Run 'gocluster --help'") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || r.Stdout != "" {
				t.Fatalf("want one error line, got stdout %q and stderr lines:\n%s", r.Stdout, strings.Join(lines, "\n"))
			}
			for _, n := range c.names {
				if !strings.Contains(lines[0], n) {
					t.Errorf("error line does not name %q: %s", n, lines[0])
				}
			}
		})
	}
}
