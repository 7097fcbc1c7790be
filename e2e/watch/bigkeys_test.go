package watch

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// TestBigkeysFindsTheLargestKeyOfEachTypeAcrossMasters writes keys of
// every type over 3 masters, the biggest of each type on varying masters,
// and expects bigkeys to name each one, its size and its master; memkeys
// names the biggest string by bytes; --json agrees.
func TestBigkeysFindsTheLargestKeyOfEachTypeAcrossMasters(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	cc := c.ClusterClient(t)
	ctx := t.Context()
	ownerOf := func(key string) string {
		for _, m := range c.Topology(t).Masters() {
			if m.Slots.Has(slots.Slot(key)) {
				return m.Addr()
			}
		}
		t.Fatalf("no master serves %s", key)
		return ""
	}
	type want struct {
		key  string
		size int
		unit string
	}
	wants := map[string]want{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Small keys of every type everywhere, then one big key per type.
	for i := range 200 {
		k := fmt.Sprint(i)
		must(cc.Set(ctx, "s:"+k, strings.Repeat("x", i%50), 0).Err())
		must(cc.RPush(ctx, "l:"+k, 1, 2, 3).Err())
		must(cc.SAdd(ctx, "set:"+k, "a", "b").Err())
		must(cc.HSet(ctx, "h:"+k, "f", "v").Err())
		must(cc.ZAdd(ctx, "z:"+k, redis.Z{Score: 1, Member: "m"}).Err())
		must(cc.XAdd(ctx, &redis.XAddArgs{Stream: "x:" + k, Values: []any{"f", "v"}}).Err())
	}
	must(cc.Set(ctx, "big:string", strings.Repeat("y", 5000), 0).Err())
	wants["string"] = want{"big:string", 5000, "bytes"}
	list := make([]any, 777)
	for i := range list {
		list[i] = i
	}
	must(cc.RPush(ctx, "big:list", list...).Err())
	wants["list"] = want{"big:list", 777, "items"}
	must(cc.SAdd(ctx, "big:set", list[:300]...).Err())
	wants["set"] = want{"big:set", 300, "members"}
	for i := range 123 {
		must(cc.HSet(ctx, "big:hash", fmt.Sprint("f", i), i).Err())
		must(cc.ZAdd(ctx, "big:zset", redis.Z{Score: float64(i), Member: i}).Err())
	}
	wants["hash"] = want{"big:hash", 123, "fields"}
	must(cc.ZAdd(ctx, "big:zset", redis.Z{Score: 1, Member: "extra"}).Err())
	wants["zset"] = want{"big:zset", 124, "members"}
	for range 55 {
		must(cc.XAdd(ctx, &redis.XAddArgs{Stream: "big:stream", Values: []any{"f", "v"}}).Err())
	}
	wants["stream"] = want{"big:stream", 55, "entries"}

	r := harness.Run(t, "bigkeys", c.Addr())
	if r.Code != 0 {
		t.Fatalf("bigkeys: %d\n%s", r.Code, r.Output())
	}
	for typ, w := range wants {
		line := fmt.Sprintf("Biggest %6s found '%q' has %d %s on %s", typ, w.key, w.size, w.unit, ownerOf(w.key))
		if !strings.Contains(r.Stdout, line) {
			t.Errorf("bigkeys lacks %q:\n%s", line, r.Stdout)
		}
	}
	total := 200*6 + 6
	if !strings.Contains(r.Stdout, fmt.Sprintf("Sampled %d keys in the keyspace!", total)) ||
		!strings.Contains(r.Stdout, "201 lists with") {
		t.Errorf("bigkeys summary wrong:\n%s", r.Stdout)
	}
	for _, m := range c.Topology(t).Masters() {
		if !strings.Contains(r.Stdout, "│ "+m.Addr()) {
			t.Errorf("per-master table lacks %s:\n%s", m.Addr(), r.Stdout)
		}
	}

	js := harness.Run(t, "bigkeys", c.Addr(), "--json")
	var doc struct {
		Sampled int64 `json:"sampled"`
		Types   []struct {
			Type        string `json:"type"`
			Biggest     string `json:"biggest_key"`
			BiggestSize int    `json:"biggest_size"`
			BiggestNode string `json:"biggest_node"`
		} `json:"types"`
		Nodes []struct {
			Sampled int64 `json:"sampled"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(js.Stdout), &doc); err != nil || js.Code != 0 {
		t.Fatalf("bigkeys --json: %d %v\n%s", js.Code, err, js.Output())
	}
	var perNode int64
	for _, n := range doc.Nodes {
		perNode += n.Sampled
	}
	if doc.Sampled != int64(total) || perNode != doc.Sampled || len(doc.Nodes) != 3 {
		t.Errorf("--json counts: sampled %d, per node sum %d over %d nodes", doc.Sampled, perNode, len(doc.Nodes))
	}
	for _, ty := range doc.Types {
		if w := wants[ty.Type]; ty.Biggest != w.key || ty.BiggestSize != w.size || ty.BiggestNode != ownerOf(w.key) {
			t.Errorf("--json %s: %+v, want %+v", ty.Type, ty, w)
		}
	}

	mem := harness.Run(t, "memkeys", c.Addr())
	if mem.Code != 0 || !strings.Contains(mem.Stdout, fmt.Sprintf("Biggest string found '%q' has ", "big:string")) ||
		!strings.Contains(mem.Stdout, "strings with") || !strings.Contains(mem.Stdout, " bytes (") {
		t.Errorf("memkeys: %d\n%s", mem.Code, mem.Output())
	}
}
