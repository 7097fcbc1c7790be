package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/redis/go-redis/v9"
)

// geoClusterTranscript runs GEO commands on a 3+3 cluster (seed addresses
// given) through the owner of slot {g} (A), another master (B; C is the
// third) and A's
// replica (R, with and without READONLY), and records every reply with
// addresses replaced by those roles.
func geoClusterTranscript(t *testing.T, addrs []string) []string {
	t.Helper()
	ctx := context.Background()
	clients := map[string]*redis.Client{}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1, Protocol: 2})
		defer c.Close()
		clients[a] = c
	}
	var a, b, r string
	for _, addr := range addrs {
		err := clients[addr].Get(ctx, "{g}probe").Err()
		if err != nil && strings.HasPrefix(err.Error(), "MOVED ") {
			a = strings.Fields(err.Error())[2]
		}
	}
	if a == "" {
		t.Fatal("no node redirected {g}probe")
	}
	idA := clients[a].Do(ctx, "CLUSTER", "MYID").Val()
	// a replica's role spreads by gossip: wait until A knows one
	var nodes string
	for deadline := time.Now().Add(30 * time.Second); r == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		nodes = clients[a].ClusterNodes(ctx).Val()
		for _, line := range strings.Split(nodes, "\n") {
			if f := strings.Fields(line); len(f) > 3 && f[3] == idA {
				r, _, _ = strings.Cut(f[1], "@")
			}
		}
	}
	if r == "" {
		t.Fatalf("no replica of A in CLUSTER NODES:\n%s", nodes)
	}
	var c string // the third master
	for _, addr := range addrs {
		role := clients[addr].Do(ctx, "ROLE").Val().([]any)[0]
		if addr == a || addr == r || role != "master" {
			continue
		}
		if b == "" {
			b = addr
		} else {
			c = addr
		}
	}
	roles := strings.NewReplacer(a, "A", b, "B", c, "C", r, "R")
	var out []string
	record := func(who string, args []any, res *redis.Cmd) {
		v, err := res.Result()
		s := fmt.Sprint(v)
		switch {
		case errors.Is(err, redis.Nil):
			s = "nil"
		case err != nil:
			s = "error " + err.Error()
		}
		out = append(out, roles.Replace(fmt.Sprintf("%s %v -> %s", who, args, s)))
	}
	commands := [][]any{
		{"GEOADD", "{g}src", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
		{"GEODIST", "{g}src", "Palermo", "Catania", "km"},
		{"GEOHASH", "{g}src", "Palermo", "nope"},
		{"GEOPOS", "{g}src", "Catania"},
		{"GEORADIUS", "{g}src", "15", "37", "200", "km", "WITHDIST", "ASC"},
		{"GEORADIUS_RO", "{g}src", "15", "37", "200", "km", "WITHCOORD"},
		{"GEORADIUSBYMEMBER", "{g}src", "Palermo", "200", "km"},
		{"GEORADIUSBYMEMBER_RO", "{g}src", "Palermo", "200", "km", "WITHHASH"},
		{"GEOSEARCH", "{g}src", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC"},
		{"GEORADIUS", "{g}src", "15", "37", "200", "km", "STORE", "{g}dst"},
		{"GEORADIUS", "{g}src", "15", "37", "200", "km", "STORE", "other"},
		{"GEORADIUS", "{g}src", "15", "37", "200", "km", "STOREDIST", "other", "COUNT", "1"},
		{"GEORADIUS", "{g}src", "15", "37", "200", "km", "STORE", "other", "STOREDIST", "{g}dst"},
		{"GEORADIUSBYMEMBER", "{g}src", "Palermo", "200", "km", "STOREDIST", "other"},
		{"GEOSEARCHSTORE", "{g}dst2", "{g}src", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "STOREDIST"},
		{"GEOSEARCHSTORE", "other", "{g}src", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km"},
		{"ZRANGE", "{g}dst2", "0", "-1", "WITHSCORES"},
		{"GEOSEARCH", "other", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"},
	}
	for _, cmd := range commands {
		record("A", cmd, clients[a].Do(ctx, cmd...))
	}
	clients[a].Do(ctx, "WAIT", 1, 5000)
	for _, cmd := range commands {
		record("B", cmd, clients[b].Do(ctx, cmd...))
	}
	for _, cmd := range commands {
		record("R", cmd, clients[r].Do(ctx, cmd...))
	}
	conn := clients[r].Conn()
	defer conn.Close()
	record("R", []any{"READONLY"}, conn.Do(ctx, "READONLY"))
	for _, cmd := range commands {
		record("R readonly", cmd, conn.Do(ctx, cmd...))
	}
	return out
}

// TestGeoClusterRoutingMatchesRealRedis: GEO commands on a cluster of
// engine processes are served, redirected (MOVED), refused (CROSSSLOT for
// a STORE key in another slot) and served by a READONLY replica exactly as
// on a cluster of redis-servers; GEORADIUS and GEORADIUSBYMEMBER count as
// writes there even without STORE, the _RO forms and GEOSEARCH do not.
func TestGeoClusterRoutingMatchesRealRedis(t *testing.T) {
	engines := StartN(t, 6, Options{Cluster: true})
	createCluster(t, engines, 1)
	real := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1, Flavor: "redis"})
	var realAddrs []string
	for _, s := range real.Nodes {
		realAddrs = append(realAddrs, s.Addr())
	}
	got := geoClusterTranscript(t, Addrs(engines))
	want := geoClusterTranscript(t, realAddrs)
	if len(got) != len(want) {
		t.Fatalf("transcripts differ in length: %d vs %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d:\n  engine:       %s\n  redis-server: %s", i+1, got[i], want[i])
		}
	}
}
