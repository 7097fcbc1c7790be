package engine

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// fillEveryType writes one key of each data type, one with a TTL, and
// streams with consumer groups.
func fillEveryType(t *testing.T, cl *redis.Client) {
	t.Helper()
	ctx := context.Background()
	for _, cmd := range [][]any{
		{"SET", "str", "hello"}, {"SET", "int", "12345"}, {"SET", "ttl", "soon", "EX", "3600"},
		{"RPUSH", "list", "a", "b", "c"}, {"SADD", "set", "x", "y"}, {"SADD", "intset", "1", "2", "3"},
		{"HSET", "hash", "f1", "v1", "f2", "v2"}, {"ZADD", "zset", "1", "one", "2.5", "two"},
	} {
		if err := cl.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	fillStreams(t, cl)
}

// assertEveryType checks what fillEveryType wrote.
func assertEveryType(t *testing.T, who string, cl *redis.Client) {
	t.Helper()
	ctx := context.Background()
	check := func(what, got string, err error, want string) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s: %s = %q, %v; want %q", who, what, got, err, want)
		}
	}
	v, err := cl.Get(ctx, "str").Result()
	check("GET str", v, err, "hello")
	v, err = cl.Get(ctx, "int").Result()
	check("GET int", v, err, "12345")
	l, err := cl.LRange(ctx, "list", 0, -1).Result()
	check("LRANGE list", strings.Join(l, " "), err, "a b c")
	n, err := cl.SCard(ctx, "set").Result()
	check("SCARD set", strconv.FormatInt(n, 10), err, "2")
	n, err = cl.SCard(ctx, "intset").Result()
	check("SCARD intset", strconv.FormatInt(n, 10), err, "3")
	h, err := cl.HGet(ctx, "hash", "f2").Result()
	check("HGET hash f2", h, err, "v2")
	z, err := cl.ZScore(ctx, "zset", "two").Result()
	check("ZSCORE zset two", strconv.FormatFloat(z, 'g', -1, 64), err, "2.5")
	ttl, err := cl.TTL(ctx, "ttl").Result()
	if err != nil || ttl < 3000*time.Second || ttl > 3600*time.Second {
		t.Fatalf("%s: TTL ttl = %v, %v", who, ttl, err)
	}
	assertStreams(t, who, cl)
}

// TestSnapshotsAcrossRestartsAndRedisServer: SAVE, BGSAVE, SHUTDOWN with
// and without saving, save points, and the snapshot file both ways with
// redis-server 7.0 (redis-check-rdb accepts the engine's file).
func TestSnapshotsAcrossRestartsAndRedisServer(t *testing.T) {
	ctx := context.Background()
	eng := Start(t, Options{})
	cl := eng.Client()
	fillEveryType(t, cl)
	if err := cl.Do(ctx, "SAVE").Err(); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	file := filepath.Join(eng.Dir, "dump.rdb")
	if r := harness.Exec(t, redistest.Binary(t, "redis-check-rdb"), harness.Cmd{Args: []string{file}}); r.Code != 0 || !strings.Contains(r.Output(), "RDB looks OK!") {
		t.Fatalf("redis-check-rdb on the engine's dump.rdb: exit %d\n%s", r.Code, r.Output())
	}
	if s, err := cl.Do(ctx, "BGSAVE").Text(); err != nil || s != "Background saving started" {
		t.Fatalf("BGSAVE = %q, %v", s, err)
	}
	cl.Set(ctx, "after-save", "gone with nosave", 0)
	cl.Do(ctx, "SHUTDOWN", "NOSAVE")
	cl.Close()
	waitExit(t, eng)
	eng.Restart()
	cl = eng.Client()
	defer cl.Close()
	assertEveryType(t, "engine after SHUTDOWN NOSAVE and restart", cl)
	if n, _ := cl.Exists(ctx, "after-save").Result(); n != 0 {
		t.Fatal("a key written after the last save survived SHUTDOWN NOSAVE")
	}

	// The engine's file loads into redis-server...
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	rc := rs.Client()
	defer rc.Close()
	rc.Do(ctx, "SHUTDOWN", "NOSAVE")
	rs.Stop()
	copyFile(t, file, filepath.Join(rs.Dir, "dump.rdb"))
	if err := rs.Restart(); err != nil {
		t.Fatal(err)
	}
	rc2 := rs.Client()
	defer rc2.Close()
	assertEveryType(t, "redis-server loading the engine's dump.rdb", rc2)

	// ...and redis-server's file loads into the engine.
	rc2.Set(ctx, "from-redis", "yes", 0)
	if err := rc2.Do(ctx, "SAVE").Err(); err != nil {
		t.Fatal(err)
	}
	cl.Do(ctx, "SHUTDOWN", "NOSAVE")
	waitExit(t, eng)
	copyFile(t, filepath.Join(rs.Dir, "dump.rdb"), file)
	eng.Restart()
	cl3 := eng.Client()
	defer cl3.Close()
	assertEveryType(t, "engine loading redis-server's dump.rdb", cl3)
	if v, _ := cl3.Get(ctx, "from-redis").Result(); v != "yes" {
		t.Fatalf("from-redis = %q", v)
	}

	// Save points: a write, then SIGTERM saves it (as redis-server does
	// with save points set), and a save point fires on its own.
	if err := cl3.ConfigSet(ctx, "save", "1 1").Err(); err != nil {
		t.Fatal(err)
	}
	cl3.Set(ctx, "by-save-point", "1", 0)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ch, _ := cl3.Info(ctx, "persistence").Result(); strings.Contains(ch, "rdb_changes_since_last_save:0") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ch, _ := cl3.Info(ctx, "persistence").Result(); !strings.Contains(ch, "rdb_changes_since_last_save:0") {
		t.Fatalf("the save point 1 1 did not save:\n%s", ch)
	}
	cl3.Set(ctx, "by-sigterm", "1", 0)
	eng.Signal(syscall.SIGTERM)
	waitExit(t, eng)
	eng.Restart()
	cl4 := eng.Client()
	defer cl4.Close()
	for _, k := range []string{"by-save-point", "by-sigterm"} {
		if n, _ := cl4.Exists(ctx, k).Result(); n != 1 {
			t.Fatalf("%s lost across restart", k)
		}
	}
}

// TestSigtermSavesWithSavePoints: a node started with save points writes
// its snapshot when it is stopped with SIGTERM, and loads it again.
func TestSigtermSavesWithSavePoints(t *testing.T) {
	eng := Start(t, Options{Args: []string{"--save", "3600 1"}})
	cl := eng.Client()
	fillEveryType(t, cl)
	cl.Close()
	eng.Signal(syscall.SIGTERM)
	waitExit(t, eng)
	eng.Restart()
	cl = eng.Client()
	defer cl.Close()
	assertEveryType(t, "engine after SIGTERM with save points", cl)
}

func waitExit(t *testing.T, n *Node) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !n.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not exit", n.Addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
