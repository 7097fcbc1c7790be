package enginetest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
	"github.com/redis/go-redis/v9"
)

// infoField reads one field of an INFO section.
func replInfo(t *testing.T, c *redis.Client, section, field string) string {
	t.Helper()
	for _, l := range strings.Split(c.Info(context.Background(), section).Val(), "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	return ""
}

func replInfoInt(t *testing.T, c *redis.Client, section, field string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(replInfo(t, c, section, field), 10, 64)
	if err != nil {
		t.Fatalf("INFO %s %s: %v", section, field, err)
	}
	return n
}

// sameData fails unless both nodes hold the same keys with the same values.
func sameData(t *testing.T, a, b *redis.Client) {
	t.Helper()
	ctx := context.Background()
	ka := a.Keys(ctx, "*").Val()
	if n := b.DBSize(ctx).Val(); int(n) != len(ka) {
		t.Fatalf("%d keys vs %d", len(ka), n)
	}
	for _, k := range ka {
		if x, y := snapshot(t, a, k), snapshot(t, b, k); x != y {
			t.Fatalf("%s: %.80s vs %.80s", k, x, y)
		}
	}
}

// writeMixed runs writes of every type, with relative TTLs and random
// effects, tagged so that repeated calls change the data.
func writeMixed(t *testing.T, c *redis.Client, tag string) {
	t.Helper()
	ctx := context.Background()
	p := c.Pipeline()
	p.Set(ctx, "s:"+tag, tag, 0)
	p.Incr(ctx, "counter")
	p.Append(ctx, "s:"+tag, "-more")
	p.Set(ctx, "ttl:"+tag, "x", time.Minute)
	p.RPush(ctx, "list", tag, tag+"b")
	p.LPop(ctx, "list")
	p.HSet(ctx, "hash", "f:"+tag, tag)
	p.HIncrBy(ctx, "hash", "n", 3)
	p.SAdd(ctx, "set", "a:"+tag, "b:"+tag, "c:"+tag)
	p.SPop(ctx, "set")
	p.ZAdd(ctx, "zset", redis.Z{Score: 1.5, Member: tag})
	p.ZIncrBy(ctx, "zset", 2, tag)
	p.Expire(ctx, "list", time.Hour)
	p.Set(ctx, "gone:"+tag, "1", 0)
	p.Del(ctx, "gone:"+tag)
	p.PExpire(ctx, "s:"+tag, 150*time.Millisecond) // expires on the master: replicas get a DEL
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRedisServerReplicaOfEngineWithPartialResync: a real redis-server
// REPLICAOF an engine master gets a FULLRESYNC, follows the stream of every
// data type, ACKs so WAIT counts it and INFO offsets match, and after its
// link is killed comes back with a partial resync (+CONTINUE) that replays
// the writes it missed from the backlog.
func TestRedisServerReplicaOfEngineWithPartialResync(t *testing.T) {
	ctx := context.Background()
	eng := startEngine(t)
	ec := client(t, eng.Addr())
	fillAllTypes(t, ec)
	rs := redistest.Start(t, redistest.Options{Args: []string{"--enable-debug-command", "yes"}})
	rc := client(t, rs.Addr(), func(o *redis.Options) { o.Protocol = 2 })
	h, p := hostPort(eng.Addr())
	if err := rc.Do(ctx, "REPLICAOF", h, p).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "redis-server to sync", func() bool {
		return replInfo(t, rc, "replication", "master_link_status") == "up"
	})
	if n := replInfoInt(t, ec, "stats", "sync_full"); n != 1 {
		t.Fatalf("sync_full %d", n)
	}
	writeMixed(t, ec, "one")
	if n, err := ec.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 5000 = %d, %v", n, err)
	}
	if n, err := ec.Do(ctx, "WAIT", 2, 100).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 2 100 (one replica) = %d, %v", n, err)
	}
	// WAIT times out while the replica is busy and cannot ACK
	busy := make(chan error, 1)
	go func() {
		busy <- client(t, rs.Addr()).Do(ctx, "DEBUG", "SLEEP", "0.6").Err()
	}()
	time.Sleep(100 * time.Millisecond)
	ec.Incr(ctx, "waited")
	start := time.Now()
	if n, err := ec.Do(ctx, "WAIT", 1, 200).Int(); err != nil || n != 0 || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("WAIT 1 200 with the replica asleep = %d, %v after %v", n, err, time.Since(start))
	}
	if n, err := ec.Do(ctx, "WAIT", 1, 0).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 0 = %d, %v", n, err)
	}
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
	if n, err := client(t, eng.Addr()).Do(ctx, "WAIT", 1, 0).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 0 from a client that never wrote = %d, %v", n, err)
	}
	waitFor(t, 5*time.Second, "expired key deleted on the replica", func() bool {
		return rc.DBSize(ctx).Val() == ec.DBSize(ctx).Val()
	})
	sameData(t, ec, rc)
	waitFor(t, 5*time.Second, "offsets to match", func() bool {
		m := replInfoInt(t, ec, "replication", "master_repl_offset")
		return m > 0 && m == replInfoInt(t, rc, "replication", "slave_repl_offset") &&
			strings.Contains(replInfo(t, ec, "replication", "slave0"), fmt.Sprintf(",offset=%d,", m))
	})
	if id := replInfo(t, ec, "replication", "master_replid"); len(id) != 40 || id != replInfo(t, rc, "replication", "master_replid") {
		t.Fatalf("replid: engine %q, replica %q", id, replInfo(t, rc, "replication", "master_replid"))
	}
	if s := replInfo(t, ec, "replication", "slave0"); !strings.Contains(s, "state=online") || !strings.Contains(s, "ip=127.0.0.1,port="+strconv.Itoa(rs.Port)+",") {
		t.Fatalf("slave0: %s", s)
	}

	// drop the link; writes made meanwhile come from the backlog
	before := replInfoInt(t, ec, "replication", "master_repl_offset")
	if err := rc.Do(ctx, "CLIENT", "KILL", "TYPE", "master").Err(); err != nil {
		t.Fatal(err)
	}
	writeMixed(t, ec, "two")
	waitFor(t, 10*time.Second, "the partial resync", func() bool {
		return replInfoInt(t, ec, "stats", "sync_partial_ok") == 1 && replInfo(t, rc, "replication", "master_link_status") == "up"
	})
	if n := replInfoInt(t, ec, "stats", "sync_full"); n != 1 {
		t.Fatalf("a full resync happened after the link dropped (sync_full %d)", n)
	}
	if n, err := ec.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT after the resync = %d, %v", n, err)
	}
	waitFor(t, 5*time.Second, "replica to catch up", func() bool {
		return rc.DBSize(ctx).Val() == ec.DBSize(ctx).Val() && rc.Get(ctx, "counter").Val() == "2"
	})
	sameData(t, ec, rc)
	if after := replInfoInt(t, rc, "replication", "slave_repl_offset"); after <= before {
		t.Fatalf("replica offset %d did not advance past %d", after, before)
	}
	if !strings.Contains(rs.LogTail(), "Successful partial resynchronization with master") {
		t.Fatalf("redis-server log does not show the partial resync:\n%s", rs.LogTail())
	}
}

// TestEngineReplicaOfRedisServerWithPartialResync: an engine REPLICAOF a
// real redis-server master loads its (diskless, EOF-marked) RDB, applies
// the stream, refuses writes, ACKs (the master's WAIT counts it), resumes
// with a partial resync after the master kills its link, and after
// REPLICAOF NO ONE keeps the old history as replid2.
func TestEngineReplicaOfRedisServerWithPartialResync(t *testing.T) {
	ctx := context.Background()
	rs := redistest.Start(t, redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	rc := client(t, rs.Addr(), func(o *redis.Options) { o.Protocol = 2 })
	fillAllTypes(t, rc)
	eng := startEngine(t)
	ec := client(t, eng.Addr())
	ec.Set(ctx, "stale", "dropped by the full sync", 0)
	if err := ec.Do(ctx, "REPLICAOF", "127.0.0.1", rs.Port).Err(); err != nil {
		t.Fatal(err)
	}
	if s, err := ec.Do(ctx, "REPLICAOF", "127.0.0.1", rs.Port).Text(); err != nil || s != "OK Already connected to specified master" {
		t.Fatalf("second REPLICAOF: %q %v", s, err)
	}
	waitFor(t, 10*time.Second, "engine to sync", func() bool {
		return replInfo(t, ec, "replication", "master_link_status") == "up"
	})
	if replInfo(t, ec, "replication", "role") != "slave" || replInfo(t, ec, "replication", "master_port") != strconv.Itoa(rs.Port) {
		t.Fatalf("engine INFO replication:\n%s", ec.Info(ctx, "replication").Val())
	}
	sameData(t, rc, ec)
	if ttl := ec.TTL(ctx, "str3").Val(); ttl < 59*time.Minute {
		t.Fatalf("TTL from the RDB: %v", ttl)
	}
	if err := ec.Set(ctx, "w", "1", 0).Err(); err == nil || err.Error() != "READONLY You can't write against a read only replica." {
		t.Fatalf("write on the replica: %v", err)
	}
	// a write queued in MULTI is refused and aborts the transaction
	raw, err := net.Dial("tcp", eng.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	raw.Write([]byte("MULTI\r\nSET w 1\r\nEXEC\r\n"))
	br := bufio.NewReader(raw)
	for _, want := range []string{"OK", "READONLY You can't write against a read only replica.", "EXECABORT Transaction discarded because of previous errors."} {
		rep, err := resp.ReadReply(br)
		if err != nil || string(rep.Str) != want {
			t.Fatalf("MULTI/SET/EXEC on the replica: %q %v, want %q", rep.Str, err, want)
		}
	}
	writeMixed(t, rc, "one")
	if n, err := rc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("redis-server WAIT 1 5000 = %d, %v", n, err)
	}
	waitFor(t, 5*time.Second, "stream applied", func() bool {
		return ec.DBSize(ctx).Val() == rc.DBSize(ctx).Val()
	})
	sameData(t, rc, ec)
	waitFor(t, 5*time.Second, "offsets to match", func() bool {
		m := replInfoInt(t, rc, "replication", "master_repl_offset")
		return m == replInfoInt(t, ec, "replication", "slave_repl_offset") && m == replInfoInt(t, ec, "replication", "master_repl_offset")
	})
	if id := replInfo(t, rc, "replication", "master_replid"); id != replInfo(t, ec, "replication", "master_replid") {
		t.Fatalf("replid: master %s, engine %s", id, replInfo(t, ec, "replication", "master_replid"))
	}

	// the master drops the link; the engine resumes from its offset
	if err := rc.Do(ctx, "CLIENT", "KILL", "TYPE", "slave").Err(); err != nil {
		t.Fatal(err)
	}
	writeMixed(t, rc, "two")
	waitFor(t, 10*time.Second, "the partial resync", func() bool {
		return replInfoInt(t, rc, "stats", "sync_partial_ok") == 1 && replInfo(t, ec, "replication", "master_link_status") == "up"
	})
	if n := replInfoInt(t, rc, "stats", "sync_full"); n != 1 {
		t.Fatalf("redis-server did a full resync again (sync_full %d)", n)
	}
	if n, err := rc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("redis-server WAIT after the resync = %d, %v", n, err)
	}
	waitFor(t, 5*time.Second, "engine to catch up", func() bool {
		return ec.DBSize(ctx).Val() == rc.DBSize(ctx).Val() && ec.Get(ctx, "counter").Val() == "2"
	})
	sameData(t, rc, ec)
	if err := ec.Do(ctx, "WAIT", 0, 0).Err(); err == nil || !strings.Contains(err.Error(), "WAIT cannot be used with replica instances") {
		t.Fatalf("WAIT on a replica: %v", err)
	}

	// promoted: writable, the master's history kept as replid2
	masterID := replInfo(t, rc, "replication", "master_replid")
	off := replInfoInt(t, ec, "replication", "master_repl_offset")
	if err := ec.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := ec.Set(ctx, "w", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if replInfo(t, ec, "replication", "role") != "master" || replInfo(t, ec, "replication", "master_replid2") != masterID ||
		replInfoInt(t, ec, "replication", "second_repl_offset") != off+1 {
		t.Fatalf("after REPLICAOF NO ONE:\n%s", ec.Info(ctx, "replication").Val())
	}
}

// TestEngineClusterPartialResyncAndFailoverByOffset: engine replicas in a
// cluster use the same PSYNC path (a killed master link comes back with a
// partial resync), gossip their replication offsets, and when the master
// dies the replica with the highest offset is elected, as Redis ranks them.
func TestEngineClusterPartialResyncAndFailoverByOffset(t *testing.T) {
	ctx := context.Background()
	nodes := startClusterNodes(t, 6)
	createCluster(t, nodes, 1)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(nodes), MaxRedirects: 16})
	t.Cleanup(func() { cc.Close() })
	for i := range 200 {
		if err := cc.Set(ctx, fmt.Sprint("{r}:", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	master := masterOf(t, cc, nodes, "{r}:1")
	mc := client(t, master.Addr())
	good := client(t, replicaOf(t, nodes, master).Addr())
	late := startClusterNodes(t, 1)[0]
	if out := redisCLI(t, "--cluster", "add-node", late.Addr(), master.Addr(), "--cluster-slave",
		"--cluster-master-id", nodeID(t, master)); !strings.Contains(out, "[OK] New node added correctly.") {
		t.Fatalf("add-node:\n%s", out)
	}
	stale := client(t, late.Addr())
	for _, r := range []*redis.Client{good, stale} {
		waitFor(t, 10*time.Second, "replicas in sync", func() bool {
			return replInfo(t, r, "replication", "master_link_status") == "up" &&
				replInfoInt(t, r, "replication", "slave_repl_offset") == replInfoInt(t, mc, "replication", "master_repl_offset")
		})
	}
	full := replInfoInt(t, mc, "stats", "sync_full")

	// a dropped link resumes from the backlog
	if n, err := good.Do(ctx, "CLIENT", "KILL", "TYPE", "master").Int(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL TYPE master = %d, %v", n, err)
	}
	cc.Set(ctx, "{r}:during", "x", 0)
	waitFor(t, 10*time.Second, "partial resync", func() bool {
		return replInfoInt(t, mc, "stats", "sync_partial_ok") == 1 && good.Do(ctx, "READONLY").Err() == nil &&
			replInfo(t, good, "replication", "master_link_status") == "up"
	})
	if n := replInfoInt(t, mc, "stats", "sync_full"); n != full {
		t.Fatalf("sync_full went from %d to %d", full, n)
	}

	// the late replica falls behind: it cannot authenticate any more
	if err := stale.ConfigSet(ctx, "masterauth", "wrong").Err(); err != nil {
		t.Fatal(err)
	}
	stale.Do(ctx, "CLIENT", "KILL", "TYPE", "master")
	for i := range 100 {
		cc.Set(ctx, fmt.Sprint("{r}:more", i), i, 0)
	}
	if n, err := mc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v", n, err)
	}
	goodID := nodeIDOf(t, good)
	off := replInfoInt(t, mc, "replication", "master_repl_offset")
	waitFor(t, 10*time.Second, "offsets gossiped", func() bool {
		for _, sh := range stale.ClusterShards(ctx).Val() {
			for _, n := range sh.Nodes {
				if n.ID == goodID && n.ReplicationOffset == off {
					return replInfoInt(t, stale, "replication", "slave_repl_offset") < off
				}
			}
		}
		return false
	})

	master.Close()
	waitFor(t, 20*time.Second, "failover", func() bool {
		return replInfo(t, good, "replication", "role") == "master" || replInfo(t, stale, "replication", "role") == "master"
	})
	if replInfo(t, good, "replication", "role") != "master" {
		t.Fatal("the replica with the lower offset was elected")
	}
	if v := good.Get(ctx, "{r}:more99").Val(); v != "99" {
		t.Fatalf("new master lacks the last writes: %q", v)
	}
}

func nodeIDOf(t *testing.T, c *redis.Client) string {
	t.Helper()
	id, err := c.Do(context.Background(), "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
