package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/redis/go-redis/v9"
)

// openSlotTranscript walks a slot through a migration by hand on a
// 3-master cluster (seed addresses given) and records every reply, with
// node addresses replaced by their roles (A the owner, B the target), so
// that two clusters can be compared line by line.
func openSlotTranscript(t *testing.T, addrs []string) []string {
	t.Helper()
	ctx := context.Background()
	clients, a, b := slotOwnerAndOther(t, addrs, "{t}probe", redis.Options{MaxRetries: -1})
	idA := clients[a].Do(ctx, "CLUSTER", "MYID").Val()
	idB := clients[b].Do(ctx, "CLUSTER", "MYID").Val()
	hostB, portB, _ := strings.Cut(b, ":")
	roles := strings.NewReplacer(a, "A", b, "B", hostB+" "+portB, "B", fmt.Sprint(idA), "idA", fmt.Sprint(idB), "idB")
	var out []string
	render := func(args []any, v any, err error) string {
		switch {
		case errors.Is(err, redis.Nil):
			return "nil"
		case err != nil:
			return "error " + err.Error()
		}
		if l, ok := v.([]any); ok && len(l) > 1 {
			// GETKEYSINSLOT order is the engine's own; compare as a set
			keys := strings.Fields(strings.Trim(fmt.Sprint(l), "[]"))
			if len(args) > 1 && args[1] == "GETKEYSINSLOT" {
				sort.Strings(keys)
			}
			return fmt.Sprint(keys)
		}
		return fmt.Sprint(v)
	}
	on := func(node string, args ...any) {
		r := clients[node].Do(ctx, args...)
		out = append(out, roles.Replace(fmt.Sprintf("%s %v -> %s", node, args, render(args, r.Val(), r.Err()))))
	}
	// asking sends ASKING and then the command on one connection, then a
	// second command on the same connection without ASKING.
	asking := func(node string, args, after []any) {
		conn := clients[node].Conn()
		defer conn.Close()
		if err := conn.Do(ctx, "ASKING").Err(); err != nil {
			t.Fatalf("ASKING on %s: %v", node, err)
		}
		r := conn.Do(ctx, args...)
		out = append(out, roles.Replace(fmt.Sprintf("%s ASKING %v -> %s", node, args, render(args, r.Val(), r.Err()))))
		if after != nil {
			r := conn.Do(ctx, after...)
			out = append(out, roles.Replace(fmt.Sprintf("%s then %v -> %s", node, after, render(after, r.Val(), r.Err()))))
		}
	}
	// transaction queues cmds in MULTI on one connection, runs between
	// (on other connections), then EXECs: the reply says how EXEC routes
	// keys that moved after they were queued.
	transaction := func(node string, cmds [][]any, between func()) {
		conn := clients[node].Conn()
		defer conn.Close()
		var replies []string
		for _, args := range append([][]any{{"MULTI"}}, cmds...) {
			r := conn.Do(ctx, args...)
			replies = append(replies, render(args, r.Val(), r.Err()))
		}
		between()
		r := conn.Do(ctx, "EXEC")
		replies = append(replies, render(nil, r.Val(), r.Err()))
		out = append(out, roles.Replace(fmt.Sprintf("%s MULTI %v EXEC -> %v", node, cmds, replies)))
	}
	slot := clients[a].ClusterKeySlot(ctx, "{t}a").Val()

	on(a, "SET", "{t}a", "1")
	on(a, "RPUSH", "{t}list", "x", "y")
	on(b, "CLUSTER", "SETSLOT", slot, "IMPORTING", idA)
	on(a, "CLUSTER", "SETSLOT", slot, "MIGRATING", idB)
	on(a, "GET", "{t}a")
	on(a, "GET", "{t}b")
	on(a, "SET", "{t}b", "2")
	on(a, "EXISTS", "{t}b")
	on(a, "MGET", "{t}a", "{t}b")
	on(a, "MSET", "{t}a", "5", "{t}b", "6")
	on(a, "DEL", "{t}a", "{t}b")
	on(a, "MGET", "{t}a", "other")
	on(a, "EXISTS", "{t}a", "{t}b")
	on(a, "RENAME", "{t}a", "{t}z")
	on(a, "MGET", "{t}a", "{t}a")
	on(b, "SET", "{t}new", "1")
	on(a, "LRANGE", "{t}list", 0, -1)
	on(b, "GET", "{t}b")
	asking(b, []any{"GET", "{t}b"}, []any{"GET", "{t}b"})
	asking(b, []any{"SET", "{t}b", "2"}, nil)
	asking(b, []any{"MGET", "{t}b", "{t}c"}, nil)
	asking(b, []any{"MGET", "{t}b", "{t}b"}, nil)
	asking(b, []any{"EXISTS", "{t}b"}, nil)
	transaction(a, [][]any{{"GET", "{t}a"}, {"LLEN", "{t}list"}}, func() {})
	transaction(a, [][]any{{"GET", "{t}a"}, {"LLEN", "{t}list"}}, func() {
		on(a, "MIGRATE", hostB, portB, "", 0, 5000, "KEYS", "{t}a", "{t}list")
	})
	on(a, "GET", "{t}a")
	on(a, "CLUSTER", "COUNTKEYSINSLOT", slot)
	on(b, "CLUSTER", "COUNTKEYSINSLOT", slot)
	on(b, "CLUSTER", "GETKEYSINSLOT", slot, 10)
	on(b, "CLUSTER", "SETSLOT", slot, "NODE", idB)
	on(a, "CLUSTER", "SETSLOT", slot, "NODE", idB)
	on(a, "GET", "{t}a")
	on(b, "GET", "{t}a")
	on(b, "LRANGE", "{t}list", 0, -1)
	on(a, "CLUSTER", "SETSLOT", slot, "NODE", "0000000000000000000000000000000000000000")
	on(a, "CLUSTER", "SETSLOT", slot, "MIGRATING", idA)
	return out
}

// TestOpenSlotRedirectionsMatchRealRedis: the same hand-driven slot
// migration on a cluster of engine processes and on a cluster of real
// redis-servers gives the same replies, command for command: ASK for
// missing keys, TRYAGAIN for partial multi-key commands, ASKING applying to
// one command only, CROSSSLOT, MOVED after the slot is assigned.
func TestOpenSlotRedirectionsMatchRealRedis(t *testing.T) {
	engineAddrs, realAddrs := threeMasterClusters(t)
	sameTranscripts(t, openSlotTranscript(t, engineAddrs), openSlotTranscript(t, realAddrs))
}

// sameTranscripts fails the test where the engine's transcript differs
// from redis-server's.
func sameTranscripts(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("transcripts differ in length: engine %d, redis-server %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d:\n  engine:       %s\n  redis-server: %s", i+1, got[i], want[i])
		}
	}
}

// slotOwnerAndOther connects to every node (closed at the test's end) and
// returns the clients, the master that serves key (from the MOVED the
// others answer) and another master.
func slotOwnerAndOther(t *testing.T, addrs []string, key string, opts redis.Options) (clients map[string]*redis.Client, owner, other string) {
	t.Helper()
	ctx := context.Background()
	clients = map[string]*redis.Client{}
	for _, addr := range addrs {
		o := opts
		o.Addr = addr
		c := redis.NewClient(&o)
		t.Cleanup(func() { c.Close() })
		clients[addr] = c
	}
	for _, addr := range addrs {
		if err := clients[addr].Get(ctx, key).Err(); err != nil && strings.HasPrefix(err.Error(), "MOVED ") {
			owner = strings.Fields(err.Error())[2]
		}
	}
	if owner == "" {
		t.Fatalf("no node redirected %s: is this a cluster?", key)
	}
	for _, addr := range addrs {
		if addr != owner && other == "" {
			other = addr
		}
	}
	return clients, owner, other
}

// threeMasterClusters starts two clusters of 3 masters, one of engine
// nodes and one of redis-servers, for transcripts to compare.
func threeMasterClusters(t *testing.T) (engineAddrs, realAddrs []string) {
	t.Helper()
	engines := StartN(t, 3, Options{Cluster: true})
	createCluster(t, engines, 0)
	real := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	for _, s := range real.Nodes {
		realAddrs = append(realAddrs, s.Addr())
	}
	return Addrs(engines), realAddrs
}
