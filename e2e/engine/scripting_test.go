package engine

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

const counterLib = "#!lua name=counters\n" +
	"redis.register_function('bump', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)\n" +
	"redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}"

// TestScriptingThroughGoRedisCluster: a go-redis ClusterClient runs EVAL,
// EVALSHA (Script.Run with its NOSCRIPT fallback), EVAL_RO and FCALL /
// FCALL_RO on an engine cluster, each routed by its keys to the owning
// master; cross-slot keys and undeclared keys of other nodes fail as on
// redis-server; then `gocluster add-node` gives a new master the functions.
func TestScriptingThroughGoRedisCluster(t *testing.T) {
	nodes := StartN(t, 3, Options{Cluster: true})
	createCluster(t, nodes, 0)
	cc := clusterClient(t, nodes)
	ctx := context.Background()

	incr := redis.NewScript("return redis.call('incrby', KEYS[1], ARGV[1])")
	for i := range 200 { // keys all over the slot space: every master runs some
		key := fmt.Sprint("counter:", i)
		if n, err := incr.Run(ctx, cc, []string{key}, i).Int(); err != nil || n != i {
			t.Fatalf("Script.Run on %s: %d, %v", key, n, err)
		}
		if n, err := cc.Eval(ctx, "return redis.call('incr', KEYS[1])", []string{key}).Int(); err != nil || n != i+1 {
			t.Fatalf("EVAL on %s: %d, %v", key, n, err)
		}
		if n, err := cc.EvalRO(ctx, "return tonumber(redis.call('get', KEYS[1]))", []string{key}).Int(); err != nil || n != i+1 {
			t.Fatalf("EVAL_RO on %s: %d, %v", key, n, err)
		}
	}
	sha, err := cc.ScriptLoad(ctx, "return {KEYS[1], ARGV[1], redis.call('exists', KEYS[1])}").Result()
	if err != nil {
		t.Fatal(err)
	}
	if v, err := cc.EvalSha(ctx, sha, []string{"counter:7"}, "x").Slice(); err != nil || fmt.Sprint(v) != "[counter:7 x 1]" {
		t.Fatalf("EVALSHA: %v, %v", v, err)
	}
	if err := cc.Eval(ctx, "return 1", []string{"a", "b"}).Err(); err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Fatalf("EVAL on keys of two slots: %v", err)
	}
	if err := cc.EvalRO(ctx, "return redis.call('set', KEYS[1], 1)", []string{"k"}).Err(); err == nil || !strings.Contains(err.Error(), "Write commands are not allowed from read-only scripts") {
		t.Fatalf("write from EVAL_RO: %v", err)
	}
	// counter:0 and counter:2 live on different masters.
	err = cc.Eval(ctx, "return redis.call('get', ARGV[1])", []string{"counter:0"}, "counter:2").Err()
	if err == nil || !strings.Contains(err.Error(), "Script attempted to access a non local key in a cluster node") {
		t.Fatalf("undeclared key of another node: %v", err)
	}

	// Functions are loaded on every master, as clients do.
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.FunctionLoad(ctx, counterLib).Err()
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		key := fmt.Sprint("fn:", i)
		if n, err := cc.FCall(ctx, "bump", []string{key}, 5).Int(); err != nil || n != 5 {
			t.Fatalf("FCALL bump %s: %d, %v", key, n, err)
		}
		if v, err := cc.FCallRO(ctx, "peek", []string{key}).Text(); err != nil || v != "5" {
			t.Fatalf("FCALL_RO peek %s: %q, %v", key, v, err)
		}
	}
	if err := cc.FCallRO(ctx, "bump", []string{"x"}, 1).Err(); err == nil || !strings.Contains(err.Error(), "Can not execute a script with write flag using *_ro command") {
		t.Fatalf("FCALL_RO of a writing function: %v", err)
	}

	// gocluster add-node copies the functions to the new master.
	fresh := Start(t, Options{Cluster: true})
	if r := harness.Run(t, "add-node", fresh.Addr(), nodes[0].Addr()); r.Code != 0 {
		t.Fatalf("add-node: exit %d\n%s", r.Code, r.Output())
	}
	nodes = append(nodes, fresh)
	waitHealthy(t, nodes, 20*time.Second)
	fc := client(t, fresh)
	libs, err := fc.FunctionList(ctx, redis.FunctionListQuery{WithCode: true}).Result()
	if err != nil || len(libs) != 1 || libs[0].Name != "counters" || libs[0].Code != counterLib || len(libs[0].Functions) != 2 {
		t.Fatalf("functions on the added master: %+v, %v", libs, err)
	}
}

// TestScriptKillOnEngineNode: a script looping past busy-reply-threshold
// makes other clients get BUSY; SCRIPT KILL ends it and the node serves
// again (a real `gocluster server` process).
func TestScriptKillOnEngineNode(t *testing.T) {
	n := Start(t, Options{Args: []string{"--busy-reply-threshold", "200"}})
	ctx := context.Background()
	runner, other := client(t, n), client(t, n)
	done := make(chan error, 1)
	go func() { done <- runner.Eval(ctx, "while true do end", nil).Err() }()
	waitFor(t, 5*time.Second, "BUSY", func() string {
		err := other.Get(ctx, "k").Err()
		if err != nil && strings.HasPrefix(err.Error(), "BUSY Redis is busy running a script") {
			return ""
		}
		return fmt.Sprint("GET: ", err)
	})
	if err := other.ScriptKill(ctx).Err(); err != nil {
		t.Fatalf("SCRIPT KILL: %v", err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "Script killed by user with SCRIPT KILL") {
			t.Fatalf("killed script: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("script still running after SCRIPT KILL")
	}
	if err := other.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("after SCRIPT KILL: %v", err)
	}
}

// TestRedisPyRegisterScriptOnEngineCluster: redis-py's RedisCluster runs a
// registered script (EVALSHA with its NOSCRIPT fallback) and FCALL.
func TestRedisPyRegisterScriptOnEngineCluster(t *testing.T) {
	nodes := StartN(t, 3, Options{Cluster: true})
	createCluster(t, nodes, 0)
	prog := `
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host=sys.argv[1], port=int(sys.argv[2]))
limiter = rc.register_script("""
local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return n
""")
for i in range(100):
    key = 'rate:%d' % i
    assert limiter(keys=[key], args=[60000]) == 1
    assert limiter(keys=[key], args=[60000]) == 2
    assert 0 < rc.pttl(key) <= 60000
for node in rc.get_primaries():
    rc.execute_command('FUNCTION', 'LOAD', "#!lua name=py\nredis.register_function('echo2', function(keys, args) return args[1] .. args[1] end)", target_nodes=node)
assert rc.fcall('echo2', 1, 'somekey', 'ab') == b'abab'
print('ok')
`
	// redis-py logs the NOSCRIPT it recovers from (the first call of a
	// registered script) on stderr; the verdict is on stdout.
	var stderr strings.Builder
	py := exec.Command("/usr/bin/python3", "-c", prog, nodes[0].Host, fmt.Sprint(nodes[0].Port))
	py.Stderr = &stderr
	out, err := py.Output()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("redis-py: %v\n%s\n%s", err, out, stderr.String())
	}
}

// TestScriptEffectsReachReplicas: the writes of EVAL and FCALL on a master
// reach its replica (effects replication, in MULTI/EXEC), and functions
// loaded on the master are there too.
func TestScriptEffectsReachReplicas(t *testing.T) {
	nodes := StartN(t, 6, Options{Cluster: true})
	createCluster(t, nodes, 1)
	cc := clusterClient(t, nodes)
	ctx := context.Background()
	body := "for i = 1, 3 do redis.call('rpush', KEYS[1], ARGV[1] .. i) end redis.call('set', KEYS[2], 'done') return redis.call('llen', KEYS[1])"
	if n, err := cc.Eval(ctx, body, []string{"{job}:list", "{job}:flag"}, "x").Int(); err != nil || n != 3 {
		t.Fatalf("EVAL: %d, %v", n, err)
	}
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.FunctionLoad(ctx, counterLib).Err()
	}); err != nil {
		t.Fatal(err)
	}
	if err := cc.FCall(ctx, "bump", []string{"{job}:count"}, 7).Err(); err != nil {
		t.Fatal(err)
	}
	master, err := cc.MasterForKey(ctx, "{job}:list")
	if err != nil {
		t.Fatal(err)
	}
	masterID := strings.Fields(master.ClusterMyID(ctx).Val())[0]
	var replica *Node
	for _, n := range nodes {
		if f := myself(t, n); strings.Contains(f[2], "slave") && f[3] == masterID {
			replica = n
		}
	}
	if replica == nil {
		t.Fatal("no replica of the master of {job}")
	}
	rc := client(t, replica)
	waitFor(t, 10*time.Second, "script effects on the replica", func() string {
		rc.ReadOnly(ctx)
		l, _ := rc.LRange(ctx, "{job}:list", 0, -1).Result()
		f, _ := rc.Get(ctx, "{job}:flag").Result()
		c, _ := rc.Get(ctx, "{job}:count").Result()
		if fmt.Sprint(l) != "[x1 x2 x3]" || f != "done" || c != "7" {
			return fmt.Sprintf("replica has list %v, flag %q, count %q", l, f, c)
		}
		return ""
	})
	if libs, err := rc.FunctionList(ctx, redis.FunctionListQuery{}).Result(); err != nil || len(libs) != 1 {
		t.Fatalf("functions on the replica: %v, %v", libs, err)
	}
}

// TestEngineRDBCarriesFunctions: the RDB an engine node sends to replicas
// and to `redis-cli --rdb` holds its function libraries (FUNCTION2
// entries); redis-server loads that file with the functions and keys.
func TestEngineRDBCarriesFunctions(t *testing.T) {
	n := Start(t, Options{})
	c := client(t, n)
	ctx := context.Background()
	if err := c.FunctionLoad(ctx, counterLib).Err(); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "k", "v", 0)
	dir := t.TempDir()
	if r := redisCLI(t, "-h", n.Host, "-p", fmt.Sprint(n.Port), "--rdb", dir+"/dump.rdb"); r.Code != 0 {
		t.Fatalf("redis-cli --rdb: exit %d\n%s", r.Code, r.Output())
	}
	rs := redistest.Start(t, redistest.Options{Args: []string{"--dir", dir, "--dbfilename", "dump.rdb"}})
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rc.Close()
	libs, err := rc.FunctionList(ctx, redis.FunctionListQuery{WithCode: true}).Result()
	if err != nil || len(libs) != 1 || libs[0].Code != counterLib {
		t.Fatalf("redis-server loaded functions %+v, %v", libs, err)
	}
	if n, err := rc.FCall(ctx, "bump", []string{"x"}, 2).Int(); err != nil || n != 2 {
		t.Fatalf("FCALL on redis-server: %d, %v", n, err)
	}
	if v := rc.Get(ctx, "k").Val(); v != "v" {
		t.Fatalf("key k = %q", v)
	}
}
