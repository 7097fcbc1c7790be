package engine

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConfigFileRewriteShutdownAndSignals runs the engine the way a
// service manager does: from a redis.conf-style file, changed at runtime
// with CONFIG SET + CONFIG REWRITE, stopped with SHUTDOWN, SIGINT and
// SIGTERM (exit 0 each time), and restarted with the rewritten settings.
func TestConfigFileRewriteShutdownAndSignals(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "node.conf")
	text := "# managed by a test\ncluster-enabled yes\ncluster-node-timeout 4000\nmaxmemory 100mb\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	n := Start(t, Options{ConfigFile: conf})
	if got := infoField(t, n, "server", "config_file"); got != conf {
		t.Fatalf("INFO config_file = %q, want %q", got, conf)
	}
	if got := cliOK(t, n, "CONFIG", "GET", "cluster-node-timeout"); got != "cluster-node-timeout\n4000" {
		t.Fatalf("cluster-node-timeout from the file: %q", got)
	}
	id := nodeID(t, n)
	cliOK(t, n, "CLUSTER", "ADDSLOTSRANGE", "0", "16383")
	for _, kv := range [][2]string{{"cluster-node-timeout", "7000"}, {"maxmemory", "200mb"}} {
		if got := cliOK(t, n, "CONFIG", "SET", kv[0], kv[1]); got != "OK" {
			t.Fatalf("CONFIG SET %s %s: %q", kv[0], kv[1], got)
		}
	}
	if got := cliOK(t, n, "CONFIG", "REWRITE"); got != "OK" {
		t.Fatalf("CONFIG REWRITE: %q", got)
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cluster-node-timeout 7000", "# managed by a test", "cluster-enabled yes"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("rewritten config lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "cluster-node-timeout 4000") {
		t.Errorf("rewritten config keeps the old timeout:\n%s", b)
	}

	stops := []struct {
		name string
		stop func()
	}{
		{"SHUTDOWN", func() { cli(t, n, "SHUTDOWN") }},
		{"SIGINT", func() { n.Signal(syscall.SIGINT) }},
		{"SIGTERM", func() { n.Signal(syscall.SIGTERM) }},
	}
	for _, s := range stops {
		s.stop()
		deadline := time.Now().Add(10 * time.Second)
		for !n.Exited() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !n.Exited() {
			t.Fatalf("still running 10s after %s", s.name)
		}
		if code := n.ExitCode(); code != 0 {
			t.Fatalf("exit code %d after %s; log:\n%s", code, s.name, n.LogTail(10))
		}
		n.Restart()
		if got := cliOK(t, n, "CONFIG", "GET", "cluster-node-timeout"); got != "cluster-node-timeout\n7000" {
			t.Fatalf("after %s and restart cluster-node-timeout = %q, want the rewritten 7000", s.name, got)
		}
		if got := cliOK(t, n, "CONFIG", "GET", "maxmemory"); got != "maxmemory\n209715200" {
			t.Fatalf("after %s and restart maxmemory = %q", s.name, got)
		}
		if got := nodeID(t, n); got != id {
			t.Fatalf("after %s the node id changed: %s, was %s", s.name, got, id)
		}
		if info := cliOK(t, n, "CLUSTER", "INFO"); !strings.Contains(info, "cluster_state:ok") {
			t.Fatalf("after %s the single-node cluster is not ok:\n%s", s.name, info)
		}
	}
}
