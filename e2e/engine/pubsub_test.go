package engine

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// pubsubStep is one command sent on one of several raw connections.
type pubsubStep struct {
	conn int
	cmd  string // space separated; "" sends nothing and only reads
	skip bool   // read and drop the reply (it names the server)
}

// pubsubScript drives subscribers and publishers through the pub/sub
// rules Redis 7.0 has: replies and push counts, patterns, shard channels,
// subscribed mode in RESP2 and its absence in RESP3, RESET, PUBSUB.
var pubsubScript = []pubsubStep{
	{0, "SUBSCRIBE a b", false},
	{1, "PSUBSCRIBE a* x?", false},
	{2, "PUBLISH a hello", false},
	{2, "PUBLISH abc x", false},
	{2, "PUBLISH nobody x", false},
	{2, "PUBSUB CHANNELS b*", false},
	{2, "PUBSUB NUMSUB a b c", false},
	{2, "PUBSUB NUMPAT", false},
	{0, "GET a", false},
	{0, "PING", false},
	{0, "PING hi", false},
	{0, "SUBSCRIBE a", false},
	{0, "UNSUBSCRIBE a", false},
	{0, "UNSUBSCRIBE", false},
	{0, "UNSUBSCRIBE", false},
	{0, "GET a", false},
	{0, "PING", false},
	{3, "HELLO 3", true},
	{3, "SUBSCRIBE c", false},
	{2, "PUBLISH c m", false},
	{3, "GET x", false},
	{3, "PING", false},
	{3, "PUNSUBSCRIBE", false},
	{3, "UNSUBSCRIBE", false},
	{1, "PUNSUBSCRIBE x?", false},
	{1, "PUNSUBSCRIBE", false},
	{4, "SSUBSCRIBE s1 s2", false},
	{2, "SPUBLISH s1 m1", false},
	{2, "PUBSUB SHARDCHANNELS s1", false},
	{2, "PUBSUB SHARDNUMSUB s1 s3", false},
	{2, "PUBLISH s1 classic", false},
	{4, "SUNSUBSCRIBE s1", false},
	{4, "SUNSUBSCRIBE", false},
	{0, "SUBSCRIBE z", false},
	{0, "RESET", false},
	{0, "GET a", false},
	{2, "SUBSCRIBE", false},
	{2, "PUBLISH a", false},
	{2, "PUBSUB NOPE", false},
	{2, "PUBSUB CHANNELS a b", false},
	{2, "PUBSUB NUMPAT x", false},
	{2, "PUBSUB HELP x", false}, // HELP itself: TestHelpMatchesRedisServer
	{5, "HELLO 3", true},
	{5, "CLIENT REPLY OFF", false},
	{5, "SET k v", false},
	{5, "SUBSCRIBE q", false},
	{2, "PUBLISH q m", false},
	{5, "GET k", false},
	{5, "CLIENT REPLY ON", false},
	{5, "GET k", false},
	{5, "CLIENT REPLY SKIP", false},
	{5, "GET k", false},
	{5, "GET k", false},
	{5, "CLIENT REPLY SKIP", false},
	{5, "UNSUBSCRIBE q", false},
	{5, "CLIENT REPLY MAYBE", false},
}

// TestPubSubMatchesRedis runs pubsubScript on redis-server 7.0 and on the
// engine and requires every connection to have read the same bytes.
func TestPubSubMatchesRedis(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	eng := Start(t, Options{})
	want := runPubsubScript(t, rs.Addr())
	got := runPubsubScript(t, eng.Addr())
	for i := range pubsubScript {
		if !bytes.Equal(want[i], got[i]) {
			s := pubsubScript[i]
			t.Errorf("step %d (conn %d %q):\nredis-server: %q\nengine:       %q", i, s.conn, s.cmd, want[i], got[i])
		}
	}
}

// runPubsubScript returns what the step's connection read after it (and
// what other connections read, appended to their own next step).
func runPubsubScript(t *testing.T, addr string) [][]byte {
	t.Helper()
	conns := map[int]net.Conn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	out := make([][]byte, len(pubsubScript))
	replyMode := map[int]string{} // CLIENT REPLY state per connection
	for i, s := range pubsubScript {
		c := conns[s.conn]
		if c == nil {
			var err error
			if c, err = net.Dial("tcp", addr); err != nil {
				t.Fatal(err)
			}
			conns[s.conn] = c
		}
		if _, err := c.Write(encodeCommand(strings.Fields(s.cmd))); err != nil {
			t.Fatal(err)
		}
		if expectsReply(replyMode, s) {
			out[i] = readReply(t, c)
		} else {
			out[i] = readQuiet(t, c)
		}
		if s.skip {
			out[i] = nil
		}
		// what the other connections received because of this step
		for _, j := range slices.Sorted(maps.Keys(conns)) {
			if j != s.conn {
				out[i] = append(out[i], fmt.Sprintf("|conn %d:", j)...)
				out[i] = append(out[i], readQuiet(t, conns[j])...)
			}
		}
	}
	return out
}

func encodeCommand(args []string) []byte {
	b := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b
}

// expectsReply says whether step s gets a reply of its own, following
// CLIENT REPLY OFF/ON/SKIP (and updates the mode).
func expectsReply(mode map[int]string, s pubsubStep) bool {
	was := mode[s.conn]
	if was == "SKIP" {
		mode[s.conn] = ""
	}
	if w, ok := strings.CutPrefix(s.cmd, "CLIENT REPLY "); ok && (w == "OFF" || w == "ON" || w == "SKIP") {
		if w == "ON" {
			mode[s.conn] = ""
			return true
		}
		if was != "OFF" {
			mode[s.conn] = w
		}
		return false
	}
	return was == ""
}

// readReply reads what a command's own connection gets: it waits up to 2
// seconds for the reply to start (a loaded machine delays it past any
// quiet period), then reads until the connection is quiet.
func readReply(t *testing.T, c net.Conn) []byte {
	t.Helper()
	return readQuietAfter(t, c, 2*time.Second)
}

// readQuiet reads until the connection has been quiet for a moment.
func readQuiet(t *testing.T, c net.Conn) []byte {
	t.Helper()
	return readQuietAfter(t, c, 60*time.Millisecond)
}

func readQuietAfter(t *testing.T, c net.Conn, first time.Duration) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 64<<10)
	for wait := first; ; wait = 60 * time.Millisecond {
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return out
			}
			t.Fatalf("read: %v", err)
		}
	}
}

// TestPubSubAcrossCluster: in a 3-master engine cluster with replicas, a
// PUBLISH on any node reaches subscribers on every node (over the bus);
// an SPUBLISH reaches the subscribers of the channel's shard, replicas
// included, through go-redis' cluster client.
func TestPubSubAcrossCluster(t *testing.T) {
	nodes := StartN(t, 6, Options{Cluster: true})
	createCluster(t, nodes, 1)
	waitHealthy(t, nodes, 30*time.Second)
	ctx := context.Background()

	var subs []*redis.PubSub
	for _, n := range nodes {
		cl := n.Client()
		t.Cleanup(func() { cl.Close() })
		ps := cl.Subscribe(ctx, "news")
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, ps)
	}
	pub := nodes[3].Client()
	defer pub.Close()
	if n, err := pub.Publish(ctx, "news", "hello").Result(); err != nil || n != 1 {
		t.Fatalf("PUBLISH on %s = %d, %v; want 1 local receiver", nodes[3].Addr(), n, err)
	}
	for i, ps := range subs {
		msg, err := ps.ReceiveTimeout(ctx, 5*time.Second)
		if err != nil {
			t.Fatalf("subscriber on %s: %v", nodes[i].Addr(), err)
		}
		if m, ok := msg.(*redis.Message); !ok || m.Channel != "news" || m.Payload != "hello" {
			t.Fatalf("subscriber on %s got %#v", nodes[i].Addr(), msg)
		}
	}

	cc := clusterClient(t, nodes)
	sps := cc.SSubscribe(ctx, "orders{7}")
	defer sps.Close()
	if _, err := sps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := cc.SPublish(ctx, "orders{7}", "o1").Result(); err != nil || n < 0 {
		t.Fatalf("SPUBLISH: %d, %v", n, err)
	}
	msg, err := sps.ReceiveTimeout(ctx, 5*time.Second)
	if m, ok := msg.(*redis.Message); err != nil || !ok || m.Payload != "o1" {
		t.Fatalf("sharded subscriber got %#v, %v", msg, err)
	}
	// A shard channel is served by its owner only: others redirect.
	var moved int
	for _, n := range nodes {
		err := n.Client().Do(ctx, "SPUBLISH", "orders{7}", "x").Err()
		if err != nil && strings.HasPrefix(err.Error(), "MOVED ") {
			moved++
		}
	}
	if moved != 4 {
		t.Fatalf("%d nodes answered MOVED to SPUBLISH, want 4 (all but the owner and its replica)", moved)
	}
}

// TestShardChannelMovesWithItsSlot: while `gocluster reshard` moves the
// slot of a shard channel, SPUBLISH keeps working through go-redis (it
// follows MOVED), the old owner's subscriber is told `sunsubscribe` (so it
// is not left silently deaf, as Redis 7 does), and subscribing again
// reaches the new owner.
func TestShardChannelMovesWithItsSlot(t *testing.T) {
	nodes := StartN(t, 3, Options{Cluster: true})
	createCluster(t, nodes, 0)
	ctx := context.Background()
	owner := masters(t, nodes)[0]
	first, _, _ := strings.Cut(mySlots(t, owner), "-")
	slot, err := strconv.Atoi(first)
	if err != nil {
		t.Fatalf("first slot of %s: %q", owner.Addr(), mySlots(t, owner))
	}
	channel := ""
	for i := 0; channel == ""; i++ {
		if c := fmt.Sprintf("chan:%d", i); slots.Slot(c) == slot {
			channel = c
		}
	}
	conn, err := net.Dial("tcp", owner.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(encodeCommand([]string{"SSUBSCRIBE", channel}))
	if got := string(readQuiet(t, conn)); !strings.Contains(got, "ssubscribe") {
		t.Fatalf("SSUBSCRIBE %s on %s: %q", channel, owner.Addr(), got)
	}

	cc := clusterClient(t, nodes)
	stop := make(chan struct{})
	published := make(chan error, 1)
	go func() {
		var firstErr error
		for i := 0; ; i++ {
			select {
			case <-stop:
				published <- firstErr
				return
			default:
			}
			if err := cc.SPublish(ctx, channel, fmt.Sprint(i)).Err(); err != nil && firstErr == nil {
				firstErr = err
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	time.Sleep(50 * time.Millisecond)
	target := masters(t, nodes)[1]
	r := harness.Run(t, "reshard", owner.Addr(), "--from", nodeID(t, owner), "--to", nodeID(t, target), "--slots", "1", "--yes")
	time.Sleep(50 * time.Millisecond)
	close(stop)
	if err := <-published; err != nil {
		t.Fatalf("SPUBLISH during the reshard: %v", err)
	}
	if r.Code != 0 {
		t.Fatalf("reshard: exit %d\n%s", r.Code, r.Output())
	}
	if got := mySlots(t, target); !strings.Contains(got, first) {
		t.Fatalf("slot %d did not move to %s (it serves %s)", slot, target.Addr(), got)
	}
	got := string(readQuiet(t, conn))
	if !strings.Contains(got, "smessage") || !strings.HasSuffix(got, fmt.Sprintf("*3\r\n$12\r\nsunsubscribe\r\n$%d\r\n%s\r\n:0\r\n", len(channel), channel)) {
		t.Fatalf("the old owner's subscriber should get messages, then sunsubscribe; got %q", got)
	}
	sps := cc.SSubscribe(ctx, channel)
	defer sps.Close()
	if _, err := sps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := cc.SPublish(ctx, channel, "after").Result(); err != nil || n != 1 {
		t.Fatalf("SPUBLISH after the move = %d, %v; want 1 subscriber", n, err)
	}
	msg, err := sps.ReceiveTimeout(ctx, 5*time.Second)
	if m, ok := msg.(*redis.Message); err != nil || !ok || m.Payload != "after" {
		t.Fatalf("subscriber on the new owner got %#v, %v", msg, err)
	}
}

// keyspaceScript: write commands of every family with keyspace and
// keyevent notifications on (and "new key" events), watched by a
// PSUBSCRIBE * connection.
var keyspaceScript = []pubsubStep{
	{1, "PSUBSCRIBE *", false},
	{0, "CONFIG SET notify-keyspace-events KEAn", false},
	{0, "CONFIG GET notify-keyspace-events", false},
	{0, "SET foo bar", false}, {0, "SET foo baz NX", false}, {0, "SET foo baz XX EX 100", false},
	{0, "SET foo qux GET", false}, {0, "SETEX k 10 v", false}, {0, "SETNX k v", false}, {0, "APPEND foo x", false},
	{0, "INCR n", false}, {0, "DECRBY n 3", false}, {0, "INCRBYFLOAT n 1.5", false}, {0, "INCR foo", false},
	{0, "DEL foo nokey k", false}, {0, "LPUSH l a b", false}, {0, "RPOP l", false}, {0, "LPOP l", false},
	{0, "LPOP l", false}, {0, "LPUSHX l a", false}, {0, "SADD s a", false}, {0, "SADD s a", false},
	{0, "SREM s a", false}, {0, "HSET h f v", false}, {0, "HSET h f w", false}, {0, "HSETNX h f x", false},
	{0, "HINCRBY h g 0", false}, {0, "HDEL h f g", false}, {0, "ZADD z 1 a", false}, {0, "ZADD z 1 a", false},
	{0, "ZINCRBY z 1 a", false}, {0, "ZADD z INCR 1 a", false}, {0, "ZREM z a", false}, {0, "EXPIRE n 100", false},
	{0, "PERSIST n", false}, {0, "PERSIST n", false}, {0, "RENAME n n2", false}, {0, "COPY n2 n3", false},
	{0, "EXPIRE n3 0", false}, {0, "MSET a 1 b 2", false}, {0, "MSETNX a 1 c 3", false}, {0, "GETDEL a", false},
	{0, "RPUSH src x y", false}, {0, "LMOVE src dst LEFT RIGHT", false}, {0, "RPOPLPUSH src dst", false},
	{0, "SADD s1 m", false}, {0, "SMOVE s1 s2 m", false}, {0, "SINTERSTORE s3 s2 s2", false},
	{0, "SINTERSTORE s3 nothing s2", false}, {0, "GETEX b EX 100", false}, {0, "GETEX b PERSIST", false},
	{0, "SETRANGE b 0 x", false}, {0, "LSET dst 0 y", false}, {0, "LTRIM dst 0 0", false},
	{0, "LINSERT dst BEFORE y z", false}, {0, "LREM dst 0 z", false}, {0, "ZADD z2 1 a 2 b", false},
	{0, "ZPOPMIN z2", false}, {0, "ZREMRANGEBYSCORE z2 0 10", false}, {0, "SADD s4 a", false}, {0, "SPOP s4", false},
	{0, "SETBIT bits 7 1", false}, {0, "UNLINK bits b", false}, {0, "PSETEX px 100000 v", false},
	{0, "ZUNIONSTORE zu 2 z2 nothing", false}, {0, "PFADD hll a b", false}, {0, "PFADD hll a", false},
	{0, "PFMERGE hll2 hll", false}, {0, "RPUSH ml a b c", false}, {0, "LMPOP 2 nokey ml RIGHT COUNT 2", false},
	{0, "LMPOP 1 ml LEFT COUNT 5", false}, {0, "LMPOP 1 ml LEFT", false}, {0, "ZADD mz 1 a 2 b", false},
	{0, "ZMPOP 1 mz MAX", false}, {0, "ZMPOP 2 nokey mz MIN COUNT 3", false}, {0, "RPUSH sl 3 1 2", false}, {0, "SORT sl STORE sd", false},
	{0, "SORT nokey STORE sd", false}, {0, "SORT nokey STORE sd", false}, {0, "BITFIELD bf SET u8 0 1", false},
	{0, "BITFIELD bf GET u8 0", false}, {0, "BITFIELD bf OVERFLOW FAIL INCRBY u2 0 9", false}, {0, "CONFIG SET notify-keyspace-events Kl", false},
	{0, "SET quiet 1", false}, {0, "LPUSH loud 1", false}, {0, "CONFIG SET notify-keyspace-events bogus", false},
	{0, "CONFIG SET notify-keyspace-events \"\"", false},
}

// TestKeyspaceNotificationsMatchRedis runs keyspaceScript on redis-server
// 7.0 and the engine and compares every byte the subscriber received.
func TestKeyspaceNotificationsMatchRedis(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	eng := Start(t, Options{})
	saved := pubsubScript
	pubsubScript = keyspaceScript
	defer func() { pubsubScript = saved }()
	want := runPubsubScript(t, rs.Addr())
	got := runPubsubScript(t, eng.Addr())
	for i, s := range keyspaceScript {
		if !bytes.Equal(want[i], got[i]) {
			t.Errorf("step %d (conn %d %q):\nredis-server: %q\nengine:       %q", i, s.conn, s.cmd, want[i], got[i])
		}
	}
}

// TestRedisPyClusterPubSub: redis-py's RedisCluster (python3-redis)
// subscribes through its cluster pub/sub on one node and receives what it
// publishes through another.
func TestRedisPyClusterPubSub(t *testing.T) {
	nodes := StartN(t, 3, Options{Cluster: true})
	createCluster(t, nodes, 0)
	const script = `
import sys, time
from redis.cluster import RedisCluster, ClusterNode
rc = RedisCluster(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
p = rc.pubsub()
p.subscribe("news")
first = p.get_message(timeout=5)
assert first and first["type"] == "subscribe", first
other = RedisCluster(startup_nodes=[ClusterNode(sys.argv[3], int(sys.argv[4]))], decode_responses=True)
other.publish("news", "hello from python")
deadline = time.time() + 5
while time.time() < deadline:
    m = p.get_message(timeout=1)
    if m and m["type"] == "message":
        assert m["channel"] == "news" and m["data"] == "hello from python", m
        print("ok")
        break
else:
    raise SystemExit("no message")
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, nodes[0].Host, strconv.Itoa(nodes[0].Port),
		nodes[2].Host, strconv.Itoa(nodes[2].Port)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("redis-py cluster pub/sub: %v\n%s", err, out)
	}
}
