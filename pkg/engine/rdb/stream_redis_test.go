package rdb

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// fillStream builds, with ordinary commands, a stream exercising every part
// of the format: several nodes, entries with and without the master fields,
// integer-looking values, tombstones, a node emptied by XDEL, consumer
// groups with pending entries, a consumer without any, an unknown
// entries-read and a max-deleted-entry-id.
func fillStream(ctx context.Context, t *testing.T, c *redis.Client, key string) {
	t.Helper()
	cmds := [][]any{
		{"CONFIG", "SET", "stream-node-max-entries", "4"},
		{"DEL", key},
	}
	for i := 1; i <= 30; i++ {
		if i%3 == 0 {
			cmds = append(cmds, []any{"XADD", key, "1000-" + itoa(i), "other", itoa(i * 1000), "x", "-17"})
		} else {
			cmds = append(cmds, []any{"XADD", key, "1000-" + itoa(i), "field", "value" + itoa(i)})
		}
	}
	cmds = append(cmds,
		[]any{"XDEL", key, "1000-2", "1000-5", "1000-6", "1000-7", "1000-8"},
		[]any{"XGROUP", "CREATE", key, "g1", "0"},
		[]any{"XGROUP", "CREATE", key, "g2", "$"},
		[]any{"XGROUP", "CREATE", key, "123", "1000-3", "ENTRIESREAD", "-1"},
		[]any{"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", key, ">"},
		[]any{"XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", key, ">"},
		[]any{"XGROUP", "CREATECONSUMER", key, "g1", "carol"},
		[]any{"XDEL", key, "1000-4"},
		[]any{"XSETID", key, "2000-0", "ENTRIESADDED", "40", "MAXDELETEDID", "1500-1"},
		[]any{"CONFIG", "SET", "stream-node-max-entries", "100"},
	)
	for _, cmd := range cmds {
		if err := c.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
}

func itoa(i int) string { return string(formatInt(int64(i))) }

// A stream DUMPed by redis-server (7.0: type 19) or valkey-server (8:
// type 21) decodes, encodes again as type 19, and redis-server, deep
// sanitizing payloads, restores the engine's payload into the very same
// stream: same DUMP once Redis writes it again, same XINFO STREAM FULL.
func TestStreamDumpRoundTripWithServers(t *testing.T) {
	for _, flavor := range []string{"redis", "valkey"} {
		t.Run(flavor, func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{Flavor: flavor, Args: []string{"--sanitize-dump-payload", "yes"}})
			c := srv.Client()
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			fillStream(ctx, t, c, "s")
			dump, err := c.Dump(ctx, "s").Result()
			if err != nil {
				t.Fatal(err)
			}
			v, err := DecodeDump([]byte(dump))
			if err != nil {
				t.Fatalf("DecodeDump: %v", err)
			}
			if v.Kind != KindStream || len(v.Stream.Nodes) < 5 || len(v.Stream.Groups) != 3 {
				t.Fatalf("decoded %v with %d nodes", v.Kind, len(v.Stream.Nodes))
			}
			ours := EncodeDump(v)
			if err := c.RestoreReplace(ctx, "back", 0, string(ours)).Err(); err != nil {
				t.Fatalf("%s refused the engine's stream payload: %v", flavor, err)
			}
			if flavor == "valkey" {
				return // valkey 8 keeps an active time the 7.0 format has no room for
			}
			a := fmt.Sprint(c.Do(ctx, "XINFO", "STREAM", "s", "FULL").Val())
			b := fmt.Sprint(c.Do(ctx, "XINFO", "STREAM", "back", "FULL").Val())
			if a != b {
				t.Fatalf("XINFO STREAM FULL differs:\n%s\n%s", a, b)
			}
			again, _ := c.Dump(ctx, "back").Result()
			if !bytes.Equal([]byte(again), []byte(dump)) {
				t.Fatalf("redis-server's DUMP of the restored stream differs from the original")
			}
			if !SameDumps([]byte(dump), ours) {
				t.Fatal("SameDumps: the engine's payload is not the same stream")
			}
		})
	}
}
