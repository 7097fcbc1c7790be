package engine

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// blockedMoveTranscript blocks clients on keys of one slot of master A
// (BLPOP, BZPOPMIN, XREAD BLOCK) and one on another slot of A, moves the
// first slot to master B by hand, and records what each blocked client
// is answered and how many stay blocked, with addresses replaced by roles.
func blockedMoveTranscript(t *testing.T, addrs []string) []string {
	t.Helper()
	ctx := context.Background()
	clients, a, b := slotOwnerAndOther(t, addrs, "{b}probe", redis.Options{MaxRetries: -1, ReadTimeout: -1})
	// a key of another slot that A serves too: its client must stay blocked
	stay := ""
	for i := 0; stay == ""; i++ {
		k := fmt.Sprintf("{s%d}l", i)
		if clients[a].Get(ctx, k).Err() == redis.Nil {
			stay = k
		}
	}
	idA := clients[a].Do(ctx, "CLUSTER", "MYID").Val()
	idB := clients[b].Do(ctx, "CLUSTER", "MYID").Val()
	roles := strings.NewReplacer(a, "A", b, "B", fmt.Sprint(idA), "idA", fmt.Sprint(idB), "idB")
	slot := clients[a].ClusterKeySlot(ctx, "{b}l").Val()

	blocked := [][]any{
		{"BLPOP", "{b}l", 0},
		{"BZPOPMIN", "{b}z", 0},
		{"XREAD", "BLOCK", 0, "STREAMS", "{b}s", "$"},
		{"BLPOP", stay, 0},
	}
	replies := make([]chan string, len(blocked))
	for i, args := range blocked {
		replies[i] = make(chan string, 1)
		go func() {
			r := clients[a].Do(ctx, args...)
			if r.Err() != nil {
				replies[i] <- "error " + r.Err().Error()
			} else {
				replies[i] <- fmt.Sprint(r.Val())
			}
		}()
	}
	var out []string
	// blockedClients records A's blocked_clients: at the start once all
	// four block, later after the clients cron (10 times a second) has run.
	blockedClients := func(when string) {
		read := func() string {
			for l := range strings.SplitSeq(clients[a].Info(ctx, "clients").Val(), "\r\n") {
				if strings.HasPrefix(l, "blocked_clients:") {
					return l
				}
			}
			return "no blocked_clients field"
		}
		line := read()
		for deadline := time.Now().Add(5 * time.Second); when == "before" && line != "blocked_clients:4" && time.Now().Before(deadline); line = read() {
			time.Sleep(20 * time.Millisecond)
		}
		if when != "before" {
			time.Sleep(500 * time.Millisecond)
			line = read()
		}
		out = append(out, when+": A "+line)
	}
	do := func(node string, args ...any) {
		r := clients[node].Do(ctx, args...)
		out = append(out, roles.Replace(fmt.Sprintf("%s %v -> %v %v", node, args, r.Val(), r.Err())))
	}
	blockedClients("before")
	do(b, "CLUSTER", "SETSLOT", slot, "IMPORTING", idA)
	do(a, "CLUSTER", "SETSLOT", slot, "MIGRATING", idB)
	blockedClients("migrating")
	do(b, "CLUSTER", "SETSLOT", slot, "NODE", idB)
	do(a, "CLUSTER", "SETSLOT", slot, "NODE", idB)
	for i, args := range blocked[:3] {
		select {
		case r := <-replies[i]:
			out = append(out, roles.Replace(fmt.Sprintf("%v -> %s", args, r)))
		case <-time.After(5 * time.Second):
			out = append(out, fmt.Sprintf("%v -> still blocked after 5 s", args))
		}
	}
	blockedClients("moved")
	do(a, "LPUSH", stay, "x")
	select {
	case r := <-replies[3]:
		out = append(out, fmt.Sprintf("BLPOP stay -> %s", strings.ReplaceAll(r, stay, "stay")))
	case <-time.After(5 * time.Second):
		out = append(out, "BLPOP stay -> not served")
	}
	return out
}

// TestBlockedClientsRedirectedWhenTheirSlotMoves: clients blocked on keys
// of a slot that moves to another master are answered MOVED, as Redis's
// clients cron does, on engine nodes and on redis-server alike; a client
// blocked on another slot stays blocked until served.
func TestBlockedClientsRedirectedWhenTheirSlotMoves(t *testing.T) {
	sameOnClusters(t, blockedMoveTranscript, "error MOVED")
}

// blockedUnboundTranscript: with cluster-require-full-coverage off, a
// client blocked on a slot its master gives up (CLUSTER DELSLOTS, nobody
// else claiming it in that master's view) is answered CLUSTERDOWN Hash
// slot not served.
func blockedUnboundTranscript(t *testing.T, addrs []string) []string {
	t.Helper()
	ctx := context.Background()
	clients, a, _ := slotOwnerAndOther(t, addrs, "{u}probe", redis.Options{MaxRetries: -1, ReadTimeout: -1})
	for _, addr := range addrs {
		if err := clients[addr].ConfigSet(ctx, "cluster-require-full-coverage", "no").Err(); err != nil {
			t.Fatalf("CONFIG SET on %s: %v", addr, err)
		}
	}
	slot := clients[a].ClusterKeySlot(ctx, "{u}l").Val()
	reply := make(chan string, 1)
	go func() {
		v, err := clients[a].Do(ctx, "BLPOP", "{u}l", 0).Result()
		reply <- fmt.Sprint(v, " ", err)
	}()
	waitFor(t, 5*time.Second, "the BLPOP to block", func() string {
		if infoOf(t, clients[a], "clients", "blocked_clients") != "1" {
			return "not blocked yet"
		}
		return ""
	})
	out := []string{fmt.Sprint("DELSLOTS -> ", clients[a].Do(ctx, "CLUSTER", "DELSLOTS", slot).Err())}
	select {
	case r := <-reply:
		out = append(out, "BLPOP -> "+r)
	case <-time.After(5 * time.Second):
		out = append(out, "BLPOP -> still blocked after 5 s")
	}
	return out
}

// TestBlockedClientOnUnservedSlotGetsClusterDown compares the transcript
// above between engine nodes and redis-server.
func TestBlockedClientOnUnservedSlotGetsClusterDown(t *testing.T) {
	sameOnClusters(t, blockedUnboundTranscript, "Hash slot not served")
}

// demotedTranscript blocks clients on master a (BLPOP, BZPOPMIN, XREAD
// BLOCK, WAIT for a replica it lacks), makes it a replica of b, and
// records each client's answer and whether its connection was closed.
func demotedTranscript(t *testing.T, a, b string) []string {
	t.Helper()
	blocked := [][]string{
		{"BLPOP", "l", "0"},
		{"BZPOPMIN", "z", "0"},
		{"XREAD", "BLOCK", "0", "STREAMS", "s", "$"},
		{"WAIT", "1", "0"},
	}
	conns := make([]net.Conn, len(blocked))
	for i, args := range blocked {
		c, err := net.DialTimeout("tcp", a, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write(encodeCommand(args)); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	ac := clientFor(a)
	defer ac.Close()
	out := []string{}
	waitFor(t, 5*time.Second, "the clients to block", func() string {
		if n := infoOf(t, ac, "clients", "blocked_clients"); n != fmt.Sprint(len(blocked)) {
			return "blocked_clients:" + n
		}
		return ""
	})
	host, port, _ := net.SplitHostPort(b)
	out = append(out, fmt.Sprint("REPLICAOF -> ", ac.Do(context.Background(), "REPLICAOF", host, port).Err()))
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		closed := err == nil // EOF: the server closed the connection after its answer
		out = append(out, fmt.Sprintf("%s -> %q closed=%v", blocked[i][0], got, closed))
	}
	return out
}

// TestBlockedClientsDisconnectedWhenMasterTurnsReplica: Redis answers
// every blocked client UNBLOCKED and closes its connection when the node
// gets a master; the engine must do the same.
func TestBlockedClientsDisconnectedWhenMasterTurnsReplica(t *testing.T) {
	realA := redistest.Start(t, redistest.Options{Flavor: "redis"})
	realB := redistest.Start(t, redistest.Options{Flavor: "redis"})
	want := demotedTranscript(t, realA.Addr(), realB.Addr())
	engA, engB := Start(t, Options{}), Start(t, Options{})
	got := demotedTranscript(t, engA.Addr(), engB.Addr())
	sameAsRedis(t, got, want, "UNBLOCKED")
}

// sameAsRedis compares an engine transcript with redis-server's, which
// must show mark (the behaviour under test happened at all).
func sameAsRedis(t *testing.T, got, want []string, mark string) {
	t.Helper()
	t.Logf("redis-server:\n%s", strings.Join(want, "\n"))
	sameTranscripts(t, got, want)
	if !strings.Contains(strings.Join(want, "\n"), mark) {
		t.Errorf("redis-server's transcript lacks %q:\n%s", mark, strings.Join(want, "\n"))
	}
}

// sameOnClusters runs transcript on a redis-server cluster and an engine
// cluster of three masters each and compares them (see sameAsRedis).
func sameOnClusters(t *testing.T, transcript func(*testing.T, []string) []string, mark string) {
	t.Helper()
	engineAddrs, realAddrs := threeMasterClusters(t)
	want := transcript(t, realAddrs)
	sameAsRedis(t, transcript(t, engineAddrs), want, mark)
}
