package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
	engineAddrs, realAddrs := threeMasterClusters(t)
	want := blockedMoveTranscript(t, realAddrs)
	got := blockedMoveTranscript(t, engineAddrs)
	t.Logf("redis-server:\n%s", strings.Join(want, "\n"))
	sameTranscripts(t, got, want)
	if !strings.Contains(strings.Join(want, "\n"), "error MOVED") {
		t.Errorf("redis-server answered no blocked client MOVED:\n%s", strings.Join(want, "\n"))
	}
}
