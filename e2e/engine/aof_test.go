package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// writeLoad runs writers against cl until stop closes; each records the
// writes that were acknowledged: SET aof:<w>:<i> i, and INCR/RPUSH
// counted per writer.
type writeLoad struct {
	mu    sync.Mutex
	acked map[string]string // key -> value of acknowledged SETs
	incrs int64             // acknowledged INCR aof:counter
	tried int64             // INCRs sent
	wg    sync.WaitGroup
}

func startWriteLoad(cl redis.UniversalClient, writers int, stop <-chan struct{}) *writeLoad {
	ld := &writeLoad{acked: map[string]string{}}
	ctx := context.Background()
	for w := range writers {
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key, val := fmt.Sprintf("aof:{%d}:%d", w, i), strconv.Itoa(i)
				if cl.Set(ctx, key, val, 0).Err() != nil {
					return // the node died: what was acknowledged is recorded
				}
				ld.mu.Lock()
				ld.acked[key] = val
				ld.tried++
				ld.mu.Unlock()
				if cl.Incr(ctx, "aof:counter").Err() != nil {
					return
				}
				ld.mu.Lock()
				ld.incrs++
				ld.mu.Unlock()
			}
		}()
	}
	return ld
}

// lost counts acknowledged keys that are missing or wrong now.
func (ld *writeLoad) lost(t *testing.T, cl redis.UniversalClient) (lost int, counter int64) {
	t.Helper()
	ctx := context.Background()
	for k, v := range ld.acked {
		got, err := cl.Get(ctx, k).Result()
		if err != nil || got != v {
			lost++
		}
	}
	counter, _ = cl.Get(ctx, "aof:counter").Int64()
	return lost, counter
}

// TestAOFKillNineKeepsAcknowledgedWrites: under a write load, kill -9 the
// node; after the restart every acknowledged write is there. With
// appendfsync always that holds even for an OS crash; with everysec and
// no, the write reaches the file before the reply leaves (as redis-server
// does), so a process crash loses nothing either — only an OS crash could
// lose up to a second of writes under everysec.
func TestAOFKillNineKeepsAcknowledgedWrites(t *testing.T) {
	for _, fsync := range []string{"always", "everysec", "no"} {
		t.Run(fsync, func(t *testing.T) {
			eng := Start(t, Options{Args: []string{"--appendonly", "yes", "--appendfsync", fsync}})
			cl := eng.Client()
			defer cl.Close()
			stop := make(chan struct{})
			ld := startWriteLoad(cl, 8, stop)
			time.Sleep(1500 * time.Millisecond)
			eng.Signal(syscall.SIGKILL) // mid-load: writes are in flight
			close(stop)
			ld.wg.Wait()
			eng.Restart()
			cl2 := eng.Client()
			defer cl2.Close()
			lost, counter := ld.lost(t, cl2)
			t.Logf("appendfsync %s: %d SETs and %d INCRs acknowledged before kill -9; %d lost; counter %d",
				fsync, len(ld.acked), ld.incrs, lost, counter)
			if len(ld.acked) < 100 {
				t.Fatalf("only %d writes acknowledged before the kill: the load did not run", len(ld.acked))
			}
			if lost != 0 || counter < ld.incrs || counter > ld.tried {
				t.Fatalf("after kill -9 and restart: %d of %d acknowledged SETs lost, counter %d (acknowledged %d, sent %d)",
					lost, len(ld.acked), counter, ld.incrs, ld.tried)
			}
		})
	}
}

// infoOf reads one INFO field through a client (redis-server or engine).
func infoOf(t *testing.T, cl *redis.Client, section, field string) string {
	t.Helper()
	info, err := cl.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s:\n%s", section, field, info)
	return ""
}

func waitRewriteDone(t *testing.T, cl *redis.Client) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for infoOf(t, cl, "persistence", "aof_rewrite_in_progress") != "0" {
		if time.Now().After(deadline) {
			t.Fatal("the AOF rewrite did not finish in 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkAOF(t *testing.T, dir string) {
	t.Helper()
	manifest := filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest")
	r := harness.Exec(t, redistest.Binary(t, "redis-check-aof"), harness.Cmd{Args: []string{manifest}})
	if r.Code != 0 || !strings.Contains(r.Output(), "All AOF files and manifest are valid") {
		t.Fatalf("redis-check-aof %s: exit %d\n%s", manifest, r.Code, r.Output())
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	os.RemoveAll(to)
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// TestAOFBothWaysWithRedisServer: the engine's AOF directory (RDB
// preamble base, and a commands base with aof-use-rdb-preamble no, plus
// incremental files) passes redis-check-aof and loads into redis-server
// 7.0; redis-server's AOF directory, after its own rewrite, loads into
// the engine.
func TestAOFBothWaysWithRedisServer(t *testing.T) {
	ctx := context.Background()
	eng := Start(t, Options{Args: []string{"--appendonly", "yes"}})
	cl := eng.Client()
	defer cl.Close()
	fillEveryType(t, cl)
	for _, preamble := range []string{"yes", "no"} {
		if err := cl.ConfigSet(ctx, "aof-use-rdb-preamble", preamble).Err(); err != nil {
			t.Fatal(err)
		}
		if s, err := cl.Do(ctx, "BGREWRITEAOF").Text(); err != nil || s != "Background append only file rewriting started" {
			t.Fatalf("BGREWRITEAOF = %q, %v", s, err)
		}
		waitRewriteDone(t, cl)
		cl.Set(ctx, "after-rewrite-"+preamble, preamble, 0)
	}
	if n := infoOf(t, cl, "persistence", "aof_rewrites"); n != "3" { // the first made the AOF at start
		t.Fatalf("aof_rewrites = %s, want 3", n)
	}
	files, _ := filepath.Glob(filepath.Join(eng.Dir, "appendonlydir", "*"))
	if len(files) != 3 || !strings.HasSuffix(files[0], "appendonly.aof.3.base.aof") {
		t.Fatalf("after three rewrites the AOF directory holds %v; want the seq 3 base and incr and the manifest", files)
	}
	eng.Signal(syscall.SIGKILL)
	checkAOF(t, eng.Dir)

	rs := redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--appendonly", "yes"}})
	rs.Stop()
	copyDir(t, filepath.Join(eng.Dir, "appendonlydir"), filepath.Join(rs.Dir, "appendonlydir"))
	if err := rs.Restart(); err != nil {
		t.Fatal(err)
	}
	rc := rs.Client()
	defer rc.Close()
	assertEveryType(t, "redis-server loading the engine's AOF", rc)
	for _, k := range []string{"after-rewrite-yes", "after-rewrite-no"} {
		if n, _ := rc.Exists(ctx, k).Result(); n != 1 {
			t.Fatalf("redis-server: %s missing from the engine's AOF", k)
		}
	}

	rc.Set(ctx, "from-redis-1", "1", 0)
	if err := rc.BgRewriteAOF(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	waitRewriteDone(t, rc)
	rc.Set(ctx, "from-redis-2", "2", 0)
	rc.Del(ctx, "str")
	rc.Do(ctx, "SHUTDOWN") // fsyncs the AOF
	rs.Stop()
	copyDir(t, filepath.Join(rs.Dir, "appendonlydir"), filepath.Join(eng.Dir, "appendonlydir"))
	eng.Restart()
	cl2 := eng.Client()
	defer cl2.Close()
	for k, want := range map[string]string{"from-redis-1": "1", "from-redis-2": "2", "int": "12345", "str": ""} {
		if got, _ := cl2.Get(ctx, k).Result(); got != want {
			t.Fatalf("engine loading redis-server's AOF: GET %s = %q, want %q", k, got, want)
		}
	}
	if l, _ := cl2.LRange(ctx, "list", 0, -1).Result(); strings.Join(l, " ") != "a b c" {
		t.Fatalf("engine loading redis-server's AOF: list = %v", l)
	}
	assertStreams(t, "engine loading redis-server's AOF", cl2)
}

// runServerOnce runs `gocluster server` with args expecting it to refuse
// to start; it returns the exit code and output (the process is killed
// if it is still running after 10 s, which fails the test).
func runServerOnce(t *testing.T, args []string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), args...)
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("gocluster %s kept running; want a refusal to start\n%s", strings.Join(args, " "), out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestAOFTruncatedAndCorrupt: a crash that cut the last command short is
// repaired on load with aof-load-truncated yes (the default) and refused
// with it off; garbage in the file is refused with a one-line error
// naming the file.
func TestAOFTruncatedAndCorrupt(t *testing.T) {
	ctx := context.Background()
	eng := Start(t, Options{Args: []string{"--appendonly", "yes", "--appendfsync", "always"}})
	cl := eng.Client()
	for i := range 10 {
		cl.Set(ctx, "k"+strconv.Itoa(i), i, 0)
	}
	cl.Close()
	eng.Signal(syscall.SIGKILL)
	incr := filepath.Join(eng.Dir, "appendonlydir", "appendonly.aof.1.incr.aof")
	data, err := os.ReadFile(incr)
	if err != nil {
		t.Fatal(err)
	}
	cut := data[:len(data)-4] // inside the last SET
	os.WriteFile(incr, cut, 0o644)

	code, out := runServerOnce(t, append(eng.Args(), "--aof-load-truncated", "no"))
	if code == 0 || !strings.Contains(out, "appendonly.aof.1.incr.aof is truncated") || !strings.Contains(out, "redis-check-aof --fix") {
		t.Fatalf("with aof-load-truncated no: exit %d\n%s", code, out)
	}

	eng.Restart()
	cl = eng.Client()
	if n, _ := cl.DBSize(ctx).Result(); n != 9 {
		t.Fatalf("after loading a truncated AOF: %d keys, want the 9 complete SETs", n)
	}
	if !strings.Contains(eng.LogTail(20), "short read while loading the AOF file") {
		t.Fatalf("no warning about the truncated AOF in the log:\n%s", eng.LogTail(20))
	}
	cl.Set(ctx, "k9", "again", 0)
	cl.Close()
	eng.Signal(syscall.SIGKILL)
	checkAOF(t, eng.Dir) // the cut tail was removed, the new write follows whole commands

	data, _ = os.ReadFile(incr)
	os.WriteFile(incr, append([]byte("*2\r\n$3\r\nGET\r\nGARBAGE"), data...), 0o644)
	code, out = runServerOnce(t, eng.Args())
	if code == 0 || !strings.Contains(out, "Bad file format reading the append only file") || strings.Contains(out, "panic") {
		t.Fatalf("with garbage in the AOF: exit %d\n%s", code, out)
	}
}

// TestAOFTurnedOnAtRuntimeAndAutoRewrite: CONFIG SET appendonly yes makes
// an AOF of what is in memory; the automatic rewrite starts past
// auto-aof-rewrite-min-size and retires the old files; after kill -9 the
// node, restarted with appendonly yes, has everything.
func TestAOFTurnedOnAtRuntimeAndAutoRewrite(t *testing.T) {
	ctx := context.Background()
	eng := Start(t, Options{})
	cl := eng.Client()
	defer cl.Close()
	fillEveryType(t, cl)
	if err := cl.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		t.Fatalf("CONFIG SET appendonly yes: %v", err)
	}
	if v := infoOf(t, cl, "persistence", "aof_enabled"); v != "1" {
		t.Fatalf("aof_enabled = %s after CONFIG SET appendonly yes", v)
	}
	for _, kv := range [][2]string{{"auto-aof-rewrite-min-size", "65536"}, {"auto-aof-rewrite-percentage", "50"}} {
		if err := cl.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	value := strings.Repeat("v", 1000)
	for i := range 300 { // 300 KB of writes over the same 10 keys: rewrites shrink it
		cl.Set(ctx, "grow:"+strconv.Itoa(i%10), value, 0)
	}
	deadline := time.Now().Add(15 * time.Second)
	for infoOf(t, cl, "persistence", "aof_rewrites") == "1" {
		if time.Now().After(deadline) {
			t.Fatalf("no automatic rewrite:\n%s", cl.Info(ctx, "persistence").Val())
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitRewriteDone(t, cl)
	manifest, _ := os.ReadFile(filepath.Join(eng.Dir, "appendonlydir", "appendonly.aof.manifest"))
	if strings.Contains(string(manifest), "seq 1 ") {
		t.Fatalf("the automatic rewrite left the first files in the manifest:\n%s", manifest)
	}
	cl.Set(ctx, "last", "1", 0)
	eng.Signal(syscall.SIGKILL)
	eng.opts.Args = []string{"--appendonly", "yes"}
	eng.Restart()
	cl2 := eng.Client()
	defer cl2.Close()
	assertEveryType(t, "engine after CONFIG SET appendonly yes, auto rewrite, kill -9", cl2)
	if n, _ := cl2.Exists(ctx, "last", "grow:0", "grow:9").Result(); n != 3 {
		t.Fatalf("keys written after the rewrite lost: %d of 3", n)
	}
	if err := cl2.ConfigSet(ctx, "appendonly", "no").Err(); err != nil {
		t.Fatal(err)
	}
	if v := infoOf(t, cl2, "persistence", "aof_enabled"); v != "0" {
		t.Fatalf("aof_enabled = %s after CONFIG SET appendonly no", v)
	}
}

// TestAOFClusterMasterAndReplicaKilled: in a 3+3 engine cluster with
// appendonly, a master and its replica are killed together under load
// and restarted: no acknowledged key is lost.
func TestAOFClusterMasterAndReplicaKilled(t *testing.T) {
	nodes := StartN(t, 6, Options{Cluster: true, Args: []string{"--appendonly", "yes"}})
	createCluster(t, nodes, 1)
	cc := clusterClient(t, nodes)
	defer cc.Close()
	stop := make(chan struct{})
	ld := startWriteLoad(cc, 6, stop)
	time.Sleep(time.Second)
	victim := masters(t, nodes)[0]
	vid := nodeID(t, victim)
	var replica *Node
	for _, n := range nodes {
		if f := myself(t, n); len(f) > 3 && f[3] == vid {
			replica = n
		}
	}
	if replica == nil {
		t.Fatalf("no replica of %s", victim.Addr())
	}
	victim.Signal(syscall.SIGKILL)
	replica.Signal(syscall.SIGKILL)
	close(stop)
	ld.wg.Wait()
	victim.Restart()
	replica.Restart()
	waitHealthy(t, nodes, 30*time.Second)
	lost, _ := ld.lost(t, cc)
	t.Logf("%d keys acknowledged, %d lost after a master and its replica were killed and restarted", len(ld.acked), lost)
	if len(ld.acked) < 100 || lost != 0 {
		t.Fatalf("%d of %d acknowledged keys lost", lost, len(ld.acked))
	}
}
