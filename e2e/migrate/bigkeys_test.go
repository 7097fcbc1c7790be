package migrate

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
)

// TestReshardBigKeys moves a 50 MB string and a 1M-field hash. The first
// MIGRATE runs with a 1 ms timeout, so it fails with IOERR and is retried
// with a longer one.
func TestReshardBigKeys(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	cc := c.ClusterClient(t)
	ctx := context.Background()
	m := c.Topology(t).Masters()
	src, dst := m[0], m[1]
	strKey, hashKey := keyIn(src.Slots.Slots()[0], "big-string"), keyIn(src.Slots.Slots()[1], "big-hash")

	big := make([]byte, 50<<20)
	for i := range big {
		big[i] = byte('a' + i*7%26)
	}
	want := sha256.Sum256(big)
	if err := cc.Set(ctx, strKey, big, 0).Err(); err != nil {
		t.Fatal(err)
	}
	const fields, batch = 1_000_000, 20_000
	for start := 0; start < fields; start += batch * 10 {
		pipe := cc.Pipeline()
		for b := start; b < min(start+batch*10, fields); b += batch {
			args := make([]any, 0, 2*batch)
			for f := b; f < b+batch; f++ {
				args = append(args, fmt.Sprintf("f%d", f), fmt.Sprintf("v%d", f))
			}
			pipe.HSet(ctx, hashKey, args...)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// --atomic never: this is about MIGRATE's timeout (a Valkey 9 node
	// would otherwise move the slots atomically).
	r := harness.Run(t, "reshard", c.Addr(), "--from", src.ID, "--to", dst.ID, "--slots", "2", "--yes", "--timeout", "1", "--atomic", "never")
	if r.Code != 0 {
		t.Fatalf("reshard of big keys: exit %d:\n%s", r.Code, r.Output())
	}
	if !strings.Contains(r.Stdout, "[WARNING] MIGRATE of slot") || !strings.Contains(r.Stdout, "retrying with timeout 10s") {
		t.Fatalf("expected a retry after the 1 ms timeout:\n%s", r.Output())
	}
	got, err := cc.Get(ctx, strKey).Bytes()
	if err != nil || sha256.Sum256(got) != want {
		t.Fatalf("50 MB string changed or lost (len %d, %v)", len(got), err)
	}
	if n, err := cc.HLen(ctx, hashKey).Result(); err != nil || n != fields {
		t.Fatalf("hash has %d fields, %v; want %d", n, err, fields)
	}
	for _, f := range []int{0, 1, 499_999, 777_777, fields - 1} {
		if v, err := cc.HGet(ctx, hashKey, fmt.Sprintf("f%d", f)).Result(); err != nil || v != fmt.Sprintf("v%d", f) {
			t.Fatalf("field f%d = %q, %v", f, v, err)
		}
	}
	dstClient := harnessClient(c, dst.Addr())
	defer dstClient.Close()
	for _, k := range []string{strKey, hashKey} {
		if n, err := dstClient.Exists(ctx, k).Result(); n != 1 {
			t.Fatalf("%s is not on the target %s: %v", k, dst.Addr(), err)
		}
	}
	assertRedisCheckClean(t, c)
}
