package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/redis/go-redis/v9"
)

// TestEngineProcessesServeRealClusterTools: six `gocluster server`
// processes become a cluster with the real `redis-cli --cluster create
// --cluster-replicas 1`; redis-cli and gocluster both check it clean; then
// redis-cli -c, go-redis ClusterClient and redis-py RedisCluster read and
// write through it, each seeing what the others wrote.
func TestEngineProcessesServeRealClusterTools(t *testing.T) {
	nodes := StartN(t, 6, Options{Cluster: true})
	createCluster(t, nodes, 1)

	t.Run("redis-cli check", func(t *testing.T) {
		out, problem := healthy(t, nodes)
		if problem != "" {
			t.Fatal(problem)
		}
		if m, s := strings.Count(out, "\nM: "), strings.Count(out, "\nS: "); m != 3 || s != 3 {
			t.Fatalf("want 3 masters and 3 replicas, got %d and %d:\n%s", m, s, out)
		}
		if !strings.Contains(out, "1 additional replica(s)") {
			t.Fatalf("masters do not report their replica:\n%s", out)
		}
	})

	t.Run("gocluster check agrees", func(t *testing.T) {
		r := harness.Run(t, "check", nodes[2].Addr())
		if r.Code != 0 {
			t.Fatalf("gocluster check exit %d:\n%s", r.Code, r.Output())
		}
		for _, want := range []string{"[OK] All 16384 slots covered.", "[OK] All nodes agree about slots configuration."} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("gocluster check lacks %q:\n%s", want, r.Stdout)
			}
		}
		r = harness.Run(t, "check", nodes[2].Addr(), "--json")
		var doc struct {
			OK           bool `json:"ok"`
			CoveredSlots int  `json:"covered_slots"`
			Nodes        []struct {
				Role string `json:"role"`
			} `json:"nodes"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
			t.Fatalf("gocluster check --json: %v\n%s", err, r.Output())
		}
		roles := map[string]int{}
		for _, n := range doc.Nodes {
			roles[n.Role]++
		}
		if !doc.OK || doc.CoveredSlots != 16384 || len(doc.Nodes) != 6 || roles["master"] != 3 {
			t.Fatalf("gocluster check --json: ok=%v covered=%d roles=%v", doc.OK, doc.CoveredSlots, roles)
		}
	})

	t.Run("redis-cli -c", func(t *testing.T) {
		for i := range 30 {
			key, val := fmt.Sprint("cli:", i), fmt.Sprint("value ", i)
			if got := cliOK(t, nodes[i%6], "-c", "SET", key, val); got != "OK" {
				t.Fatalf("redis-cli -c SET %s: %q", key, got)
			}
			if got := cliOK(t, nodes[(i+1)%6], "-c", "GET", key); got != val {
				t.Fatalf("redis-cli -c GET %s: %q, want %q", key, got, val)
			}
		}
		// the keys spread over every master, so redirections were followed
		for _, m := range masters(t, nodes) {
			if n, _ := strconv.Atoi(cliOK(t, m, "DBSIZE")); n == 0 {
				t.Fatalf("master %s holds none of 30 keys", m.Addr())
			}
		}
		// a plain client gets MOVED to the owning master for keys it lacks
		direct := client(t, nodes[0])
		ctx := context.Background()
		moved := 0
		for i := range 30 {
			key := fmt.Sprint("cli:", i)
			err := direct.Get(ctx, key).Err()
			if err == nil {
				continue
			}
			f := strings.Fields(err.Error())
			slot := direct.ClusterKeySlot(ctx, key).Val()
			if len(f) != 3 || f[0] != "MOVED" || f[1] != fmt.Sprint(slot) {
				t.Fatalf("GET %s (slot %d) on %s: %v", key, slot, nodes[0].Addr(), err)
			}
			owner := cliOK(t, &Node{Host: strings.Split(f[2], ":")[0], Port: atoi(t, strings.Split(f[2], ":")[1])}, "GET", key)
			if owner != fmt.Sprint("value ", i) {
				t.Fatalf("MOVED %s points at a node answering %q", f[2], owner)
			}
			moved++
		}
		if moved == 0 {
			t.Fatal("no MOVED from a node that serves at most a third of the slots")
		}
	})

	t.Run("go-redis ClusterClient", func(t *testing.T) {
		cc := clusterClient(t, nodes)
		want := writeEveryType(t, cc, "go", 600)
		checkEveryType(t, cc, want)
		ctx := context.Background()
		if ttl := cc.TTL(ctx, "go:str:0").Val(); ttl <= 0 || ttl > time.Hour {
			t.Fatalf("TTL of go:str:0 = %v, want within 1h", ttl)
		}
		if ttl := cc.TTL(ctx, "go:str:1").Val(); ttl != -1 {
			t.Fatalf("TTL of a key without expiry = %v, want -1", ttl)
		}
		cc.Set(ctx, "go:short", "x", 150*time.Millisecond)
		time.Sleep(400 * time.Millisecond)
		if n := cc.Exists(ctx, "go:short").Val(); n != 0 {
			t.Fatal("a key with a 150ms TTL still exists after 400ms")
		}
		if got, want := totalKeys(t, nodes), int64(30+len(want)); got != want {
			t.Fatalf("masters hold %d keys, want %d", got, want)
		}
	})

	t.Run("redis-py RedisCluster", func(t *testing.T) {
		script := `
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
assert len(rc.get_primaries()) == 3, rc.get_primaries()
for i in range(300):
    rc.set("py:%d" % i, "v%d" % i)
    rc.hset("py:h:%d" % i, mapping={"a": str(i), "b": "x"})
    rc.rpush("py:l:%d" % (i % 10), i)
    rc.zadd("py:z", {"m%d" % i: i / 4})
    rc.sadd("py:s:%d" % (i % 7), i)
rc.set("py:ttl", "t", ex=1000)
for i in range(300):
    assert rc.get("py:%d" % i) == "v%d" % i, i
    assert rc.hgetall("py:h:%d" % i) == {"a": str(i), "b": "x"}, i
assert rc.llen("py:l:3") == 30
assert rc.zrange("py:z", 0, 2, withscores=True) == [("m0", 0.0), ("m1", 0.25), ("m2", 0.5)]
assert rc.scard("py:s:0") == 43
assert 0 < rc.ttl("py:ttl") <= 1000
# what go-redis and redis-cli wrote
assert rc.get("cli:7") == "value 7"
assert rc.hget("go:hash:5", "f1") == "5:1"
assert rc.lrange("go:list:2", 0, -1) == ["2:0", "2:1", "2:2"]
print("ok")
`
		out, err := exec.Command("/usr/bin/python3", "-c", script, nodes[4].Host, strconv.Itoa(nodes[4].Port)).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("redis-py RedisCluster: %v\n%s", err, out)
		}
		// and go-redis reads what redis-py wrote
		cc := clusterClient(t, nodes)
		ctx := context.Background()
		if v := cc.Get(ctx, "py:299").Val(); v != "v299" {
			t.Fatalf("go-redis GET py:299 = %q", v)
		}
		if v := cc.ZScore(ctx, "py:z", "m10").Val(); v != 2.5 {
			t.Fatalf("go-redis ZSCORE py:z m10 = %v", v)
		}
	})
}

// writeEveryType writes n keys of each type through a ClusterClient
// pipeline (go-redis splits it by slot) and returns each key's expected
// comparable value. Every other string gets a one-hour TTL.
func writeEveryType(t *testing.T, cc *redis.ClusterClient, prefix string, n int) map[string]string {
	t.Helper()
	ctx := context.Background()
	want := map[string]string{}
	for start := 0; start < n; start += 200 {
		p := cc.Pipeline()
		for i := start; i < min(start+200, n); i++ {
			k := func(typ string) string { return fmt.Sprintf("%s:%s:%d", prefix, typ, i) }
			ttl := time.Duration(0)
			if i%2 == 0 {
				ttl = time.Hour
			}
			p.Set(ctx, k("str"), fmt.Sprint("s", i), ttl)
			want[k("str")] = fmt.Sprint("string:s", i)
			p.Set(ctx, k("int"), i*7, 0)
			want[k("int")] = fmt.Sprint("string:", i*7)
			p.RPush(ctx, k("list"), fmt.Sprint(i, ":0"), fmt.Sprint(i, ":1"), fmt.Sprint(i, ":2"))
			want[k("list")] = fmt.Sprintf("list:%d:0,%d:1,%d:2", i, i, i)
			p.HSet(ctx, k("hash"), "f0", fmt.Sprint(i, ":0"), "f1", fmt.Sprint(i, ":1"))
			want[k("hash")] = fmt.Sprintf("hash:f0=%d:0,f1=%d:1", i, i)
			p.SAdd(ctx, k("set"), "a", "b", i)
			want[k("set")] = fmt.Sprintf("set:%d,a,b", i)
			p.ZAdd(ctx, k("zset"), redis.Z{Score: float64(i) + 0.5, Member: "x"}, redis.Z{Score: -1, Member: "y"})
			want[k("zset")] = fmt.Sprintf("zset:y=-1,x=%g", float64(i)+0.5)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatalf("ClusterClient pipeline write: %v", err)
		}
	}
	return want
}

// checkEveryType reads every key back and compares it with want.
func checkEveryType(t *testing.T, cc *redis.ClusterClient, want map[string]string) {
	t.Helper()
	bad := 0
	for k, w := range want {
		if got := readValue(cc, k); got != w {
			bad++
			if bad <= 5 {
				t.Errorf("%s = %q, want %q", k, got, w)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d keys read back wrong", bad, len(want))
	}
}

// readValue renders a key's type and full value comparably.
func readValue(c redis.Cmdable, key string) string {
	ctx := context.Background()
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		return "error:" + err.Error()
	}
	switch typ {
	case "string":
		return "string:" + c.Get(ctx, key).Val()
	case "list":
		return "list:" + strings.Join(c.LRange(ctx, key, 0, -1).Val(), ",")
	case "hash":
		var kv []string
		for f, v := range c.HGetAll(ctx, key).Val() {
			kv = append(kv, f+"="+v)
		}
		sort.Strings(kv)
		return "hash:" + strings.Join(kv, ",")
	case "set":
		m := c.SMembers(ctx, key).Val()
		sort.Strings(m)
		return "set:" + strings.Join(m, ",")
	case "zset":
		var kv []string
		for _, z := range c.ZRangeWithScores(ctx, key, 0, -1).Val() {
			kv = append(kv, fmt.Sprintf("%v=%g", z.Member, z.Score))
		}
		return "zset:" + strings.Join(kv, ",")
	default:
		return "missing:" + typ
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// TestClusterAcrossLoopbackHosts imitates three machines with 127.0.0.2-4:
// redis-cli places each replica on another host than its master, every
// node shows the address it is bound to, and redirections point there.
func TestClusterAcrossLoopbackHosts(t *testing.T) {
	var nodes []*Node
	for i := range 6 {
		nodes = append(nodes, Start(t, Options{Cluster: true, Host: fmt.Sprintf("127.0.0.%d", 2+i%3)}))
	}
	createCluster(t, nodes, 1)
	hostOf := map[string]string{} // id -> host in CLUSTER NODES
	var lines [][]string
	for _, l := range strings.Split(cliOK(t, nodes[0], "CLUSTER", "NODES"), "\n") {
		f := strings.Fields(l)
		host, _, _ := strings.Cut(f[1], ":")
		hostOf[f[0]] = host
		lines = append(lines, f)
	}
	for _, n := range nodes {
		if got := hostOf[nodeID(t, n)]; got != n.Host {
			t.Errorf("node bound to %s is listed with host %q", n.Addr(), got)
		}
	}
	for _, f := range lines {
		if strings.Contains(f[2], "slave") && hostOf[f[0]] == hostOf[f[3]] {
			t.Errorf("replica %s is on the same host as its master", f[1])
		}
	}
	cc := clusterClient(t, nodes)
	ctx := context.Background()
	direct := client(t, nodes[0])
	moved := map[string]bool{}
	for i := range 200 {
		k := fmt.Sprint("h:", i)
		if err := cc.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		if err := direct.Get(ctx, k).Err(); err != nil && strings.HasPrefix(err.Error(), "MOVED ") {
			moved[strings.Split(strings.Fields(err.Error())[2], ":")[0]] = true
		}
	}
	for _, h := range []string{"127.0.0.3", "127.0.0.4"} {
		if !moved[h] {
			t.Errorf("no MOVED to host %s from %s (got %v)", h, nodes[0].Addr(), moved)
		}
	}
}
