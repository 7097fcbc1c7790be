package enginetest

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine"
	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/redis/go-redis/v9"
)

// startEngine starts a non-cluster engine node on a free loopback port.
func startEngine(t *testing.T, args ...string) *engine.Node { return startEngineB(t, args...) }

func startEngineB(t testing.TB, args ...string) *engine.Node {
	t.Helper()
	base := []string{"--port", "0", "--bind", "127.0.0.1", "--dir", t.TempDir(), "--loglevel", "nothing"}
	cfg := config.Default()
	if err := cfg.ParseArgs(append(base, args...)); err != nil {
		t.Fatal(err)
	}
	n, err := engine.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// client returns a go-redis client for addr, closed at test end.
func client(t *testing.T, addr string, opts ...func(*redis.Options)) *redis.Client {
	t.Helper()
	o := &redis.Options{Addr: addr, DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second}
	for _, f := range opts {
		f(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// redisCLI runs the real redis-cli with args and returns its trimmed output.
func redisCLI(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, redistest.Binary(t, "redis-cli"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// redisCLIMayFail runs redis-cli and returns its output even when it exits
// non-zero (redis-cli --cluster check does while a cluster converges).
func redisCLIMayFail(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, redistest.Binary(t, "redis-cli"), args...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// freePortPair returns a free port (as text) whose bus port is free too.
func freePortPair(t *testing.T) string {
	return strconv.Itoa(redistest.FreePort(t, "127.0.0.1"))
}

func hostPort(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}
