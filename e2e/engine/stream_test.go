package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Streams in the "every data type" persistence tests: fillStreams writes
// a stream with a tombstone, a moved last ID, two consumer groups (one
// with a known read counter), pending entries with delivery counts, a
// consumer without any, and an empty stream with a group; assertStreams
// reads back everything an RDB, an AOF (Redis's XADD/XSETID/XGROUP/XCLAIM
// rewrite) and a reload carry, in a node of either kind.

func fillStreams(t *testing.T, cl *redis.Client) {
	t.Helper()
	ctx := context.Background()
	for _, cmd := range [][]any{
		{"XADD", "stream", "1-1", "f", "v1"},
		{"XADD", "stream", "1-2", "f", "v2", "g", "7"},
		{"XADD", "stream", "2-0", "f", "v3"},
		{"XADD", "stream", "3-0", "f", "v4"},
		{"XDEL", "stream", "1-2"},
		{"XGROUP", "CREATE", "stream", "g1", "0"},
		{"XGROUP", "CREATE", "stream", "g2", "$", "ENTRIESREAD", "4"},
		{"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "stream", ">"},
		{"XCLAIM", "stream", "g1", "bob", "0", "2-0", "RETRYCOUNT", "3", "TIME", "1700000000000"},
		{"XGROUP", "CREATECONSUMER", "stream", "g1", "carol"},
		{"XSETID", "stream", "5-0"},
		{"XGROUP", "CREATE", "stream-empty", "g", "$", "MKSTREAM"},
	} {
		if err := cl.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
}

// streamFacts is what must survive, idle and seen times left out.
func streamFacts(t *testing.T, resp3 *redis.Client) string {
	t.Helper()
	ctx := context.Background()
	opts := *resp3.Options()
	opts.Protocol = 2 // replies as flat arrays
	cl := redis.NewClient(&opts)
	defer cl.Close()
	var b strings.Builder
	for _, key := range []string{"stream", "stream-empty"} {
		fmt.Fprintf(&b, "%s type=%s range=%v\n", key, cl.Type(ctx, key).Val(), cl.Do(ctx, "XRANGE", key, "-", "+").Val())
		info, _ := cl.Do(ctx, "XINFO", "STREAM", key).Slice()
		for i := 0; i+1 < len(info); i += 2 {
			if name := fmt.Sprint(info[i]); !strings.HasPrefix(name, "radix-tree") {
				fmt.Fprintf(&b, " %s=%v", name, info[i+1])
			}
		}
		fmt.Fprintf(&b, "\n groups=%v\n", cl.Do(ctx, "XINFO", "GROUPS", key).Val())
	}
	pending, _ := cl.Do(ctx, "XPENDING", "stream", "g1", "-", "+", "10").Slice()
	for _, p := range pending {
		e := p.([]any)
		fmt.Fprintf(&b, " pending %v %v count=%v\n", e[0], e[1], e[3])
	}
	consumers, _ := cl.Do(ctx, "XINFO", "CONSUMERS", "stream", "g1").Slice()
	for _, c := range consumers {
		e := c.([]any)
		fmt.Fprintf(&b, " consumer %v pending=%v\n", e[1], e[3])
	}
	return b.String()
}

const wantStreamFacts = `stream type=stream range=[[1-1 [f v1]] [2-0 [f v3]] [3-0 [f v4]]]
 length=3 last-generated-id=5-0 max-deleted-entry-id=1-2 entries-added=4 recorded-first-entry-id=1-1 groups=2 first-entry=[1-1 [f v1]] last-entry=[3-0 [f v4]]
 groups=[[name g1 consumers 3 pending 2 last-delivered-id 2-0 entries-read <nil> lag <nil>] [name g2 consumers 0 pending 0 last-delivered-id 3-0 entries-read 4 lag 0]]
stream-empty type=stream range=[]
 length=0 last-generated-id=0-0 max-deleted-entry-id=0-0 entries-added=0 recorded-first-entry-id=0-0 groups=1 first-entry=<nil> last-entry=<nil>
 groups=[[name g consumers 0 pending 0 last-delivered-id 0-0 entries-read <nil> lag 0]]
 pending 1-1 alice count=1
 pending 2-0 bob count=3
 consumer alice pending=1
 consumer bob pending=1
 consumer carol pending=0
`

func assertStreams(t *testing.T, who string, cl *redis.Client) {
	t.Helper()
	if got := streamFacts(t, cl); got != wantStreamFacts {
		t.Fatalf("%s: streams differ\n got: %s\nwant: %s", who, got, wantStreamFacts)
	}
}
