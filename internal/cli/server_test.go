package cli

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestServerCmdBadOptionsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--port", "abc"},
		{"--no-such-option", "1"},
		{"--cluster-enabled", "perhaps"},
		{filepath.Join(t.TempDir(), "missing.conf")},
	} {
		cmd := newServerCmd()
		cmd.SetArgs(args)
		err := cmd.Execute()
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Fatalf("%v: got %v, want a one-line error", args, err)
		}
		if args[0][0] == '-' && exitCode(err) != ExitUsage {
			t.Errorf("%v: exit code %d, want %d (%v)", args, exitCode(err), ExitUsage, err)
		}
	}
}

// The root command leaves the server's options alone, so redis-server's
// cluster option names keep their meaning.
func TestServerCmdRunsClusterNodeUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	port := redistest.FreePort(t, "127.0.0.1")
	conf := filepath.Join(dir, "node.conf")
	os.WriteFile(conf, []byte("bind 127.0.0.1\nloglevel nothing\ndir "+dir+"\n"), 0o644)
	args := normalizeArgs([]string{"server", conf, "--port", strconv.Itoa(port), "--cluster-enabled", "yes",
		"--cluster-config-file", "n.conf", "--cluster-node-timeout", "3000"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		cmd := newServerCmd()
		cmd.SetArgs(args[1:])
		done <- cmd.ExecuteContext(ctx)
	}()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not answer: %v", <-done)
		}
		time.Sleep(20 * time.Millisecond)
	}
	info := c.Info(context.Background(), "cluster").Val()
	timeout := c.ConfigGet(context.Background(), "cluster-node-timeout").Val()["cluster-node-timeout"]
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("server exited with %v", err)
	}
	if !strings.Contains(info, "cluster_enabled:1") || timeout != "3000" {
		t.Fatalf("cluster options lost: %q timeout=%q", info, timeout)
	}
	if _, err := os.Stat(filepath.Join(dir, "n.conf")); err != nil {
		t.Fatalf("nodes config file not written in dir: %v", err)
	}
}
