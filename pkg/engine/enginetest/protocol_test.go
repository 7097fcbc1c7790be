package enginetest

import (
	"context"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// rawExchange sends raw bytes and returns everything the server answers
// until it closes the connection or goes quiet.
func rawExchange(t *testing.T, addr, send string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(send)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	out, _ := io.ReadAll(conn)
	return string(out)
}

func TestMalformedRequestsGetErrorsNotCrashes(t *testing.T) {
	n := startEngine(t)
	cases := []struct{ name, send, want string }{
		{"huge bulk", "*1\r\n$999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk over 512MB", "*2\r\n$3\r\nSET\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"huge multibulk", "*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"garbage after star", "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"wrong element type", "*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
		{"unbalanced inline", "SET \"a b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"pipeline then junk", "PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n", "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := rawExchange(t, n.Addr(), c.send); got != c.want {
				t.Fatalf("got %q want %q", got, c.want)
			}
		})
	}
	// a client that claims a huge argument and disappears must not hurt others
	conn, _ := net.Dial("tcp", n.Addr())
	conn.Write([]byte("*2\r\n$3\r\nSET\r\n$500000000\r\nabc"))
	conn.Close()
	c := client(t, n.Addr())
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("server unhealthy after malformed input: %v", err)
	}
	if got := rawExchange(t, n.Addr(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nab\r\n*1\r\n$4\r\nQUIT\r\n"); got != "+OK\r\n+OK\r\n" {
		t.Fatalf("valid pipeline after attacks: %q", got)
	}
}

func TestAuthHelloAndACL(t *testing.T) {
	n := startEngine(t, "--requirepass", "s3cret")
	ctx := context.Background()
	anon := client(t, n.Addr(), func(o *redis.Options) { o.Protocol = 2 })
	if err := anon.Get(ctx, "k").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Fatalf("unauthenticated GET: %v", err)
	}
	bad := client(t, n.Addr(), func(o *redis.Options) { o.Password = "wrong" })
	if err := bad.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	good := client(t, n.Addr(), func(o *redis.Options) { o.Password = "s3cret" }) // HELLO 3 AUTH ...
	if err := good.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := good.Do(ctx, "ACL", "WHOAMI").Val(); v != "default" {
		t.Fatalf("whoami %v", v)
	}
	if err := good.Do(ctx, "ACL", "SETUSER", "app", "on", ">apppass", "~*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	app := client(t, n.Addr(), func(o *redis.Options) { o.Username, o.Password = "app", "apppass" })
	if v := app.Get(ctx, "k").Val(); v != "v" {
		t.Fatalf("ACL user GET: %q", v)
	}
	list := good.Do(ctx, "ACL", "LIST").String()
	if !strings.Contains(list, "user app on #") || !strings.Contains(list, "user default on #") {
		t.Fatalf("acl list %s", list)
	}
	hello := good.Do(ctx, "HELLO", "3").Val().(map[any]any)
	if hello["version"] != "7.0.15" || hello["proto"] != int64(3) || hello["mode"] != "standalone" {
		t.Fatalf("hello %v", hello)
	}
	if err := good.Do(ctx, "HELLO", "4").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPROTO") {
		t.Fatalf("HELLO 4: %v", err)
	}
	// redis-cli with -a, and CONFIG SET requirepass taking effect
	h, p := hostPort(n.Addr())
	if out := redisCLI(t, "-h", h, "-p", p, "-a", "s3cret", "--no-auth-warning", "CONFIG", "SET", "requirepass", "new"); out != "OK" {
		t.Fatalf("config set: %s", out)
	}
	if out := redisCLI(t, "-h", h, "-p", p, "-a", "new", "--no-auth-warning", "GET", "k"); out != "v" {
		t.Fatalf("after password change: %s", out)
	}
}

func TestInfoConfigClientCommand(t *testing.T) {
	n := startEngine(t)
	c := client(t, n.Addr())
	ctx := context.Background()
	c.Set(ctx, "a", "1", time.Hour)
	c.Set(ctx, "b", "1", 0)
	info := c.Info(ctx).Val()
	for _, want := range []string{"# Server", "redis_version:7.0.15", "redis_mode:standalone", "tcp_port:", "run_id:",
		"# Clients", "connected_clients:1", "# Memory", "used_memory:", "# Persistence", "loading:0", "# Stats",
		"# Replication", "role:master", "connected_slaves:0", "# Cluster", "cluster_enabled:0", "# Keyspace",
		"db0:keys=2,expires=1,avg_ttl=0"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO lacks %q", want)
		}
	}
	if v := c.ConfigGet(ctx, "maxmemory*").Val(); v["maxmemory"] != "0" || v["maxmemory-policy"] != "noeviction" {
		t.Fatalf("config get %v", v)
	}
	if err := c.ConfigSet(ctx, "cluster-node-timeout", "abc").Err(); err == nil {
		t.Fatal("CONFIG SET accepted a non-integer timeout")
	}
	if err := c.ConfigSet(ctx, "cluster-enabled", "no").Err(); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("CONFIG SET cluster-enabled: %v", err)
	}
	c.Do(ctx, "CLIENT", "SETNAME", "tester")
	if v := c.ClientList(ctx).Val(); !strings.Contains(v, "name=tester") || !strings.Contains(v, "cmd=client") {
		t.Fatalf("client list %q", v)
	}
	cmds := c.Command(ctx).Val()
	if get := cmds["get"]; get == nil || get.Arity != 2 || get.FirstKeyPos != 1 || !get.ReadOnly {
		t.Fatalf("COMMAND get: %+v", get)
	}
	if mset := cmds["mset"]; mset == nil || mset.LastKeyPos != -1 || mset.StepCount != 2 {
		t.Fatalf("COMMAND mset: %+v", mset)
	}
	keys := c.CommandGetKeys(ctx, "MIGRATE", "h", "1", "", "0", "10", "KEYS", "k1", "k2").Val()
	if strings.Join(keys, ",") != "k1,k2" {
		t.Fatalf("getkeys %v", keys)
	}
	if err := c.Do(ctx, "SELECT", "1").Err(); err == nil {
		t.Fatal("SELECT 1 accepted")
	}
	if err := c.Do(ctx, "CLUSTER", "INFO").Err(); err == nil || err.Error() != "ERR This instance has cluster support disabled" {
		t.Fatalf("CLUSTER on non-cluster node: %v", err)
	}
}

// TestRedisPyStandalone drives a non-cluster node with Debian's redis-py.
func TestRedisPyStandalone(t *testing.T) {
	n := startEngine(t)
	h, p := hostPort(n.Addr())
	script := `
import sys, redis
r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
assert r.ping()
r.set("py", "val", ex=100)
assert r.get("py") == "val"
assert 0 < r.ttl("py") <= 100
r.hset("ph", mapping={"a": "1", "b": "2"})
assert r.hgetall("ph") == {"a": "1", "b": "2"}
r.rpush("pl", 1, 2, 3)
assert r.lrange("pl", 0, -1) == ["1", "2", "3"]
r.zadd("pz", {"x": 1.5, "y": 0.5})
assert r.zrange("pz", 0, -1, withscores=True) == [("y", 0.5), ("x", 1.5)]
r.sadd("ps", "m1", "m2")
assert r.smembers("ps") == {"m1", "m2"}
with r.pipeline(transaction=True) as pipe:
    pipe.incr("pc").incr("pc")
    assert pipe.execute() == [1, 2]
assert r.dbsize() == 6
assert r.info("keyspace")["db0"]["keys"] == 6
assert "get" in r.command()
print("ok")
`
	cmd := exec.Command("/usr/bin/python3", "-c", script, h, p)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("redis-py: %v\n%s", err, out)
	}
}
