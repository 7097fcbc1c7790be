package migrate

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// TestImportUnderLoadAndSIGINT imports 150,000 keys from a standalone
// redis-server while a go-redis ClusterClient writes and reads, interrupts
// the import with a real SIGINT (exit 130, every key on one side or the
// other), then runs it again: every key arrives, the source ends empty, 0
// client errors, redis-cli --cluster check clean.
func TestImportUnderLoadAndSIGINT(t *testing.T) {
	ctx := context.Background()
	const preN, importN = 20000, 150000
	c, cc := preloadedCluster(t, preN)
	src := redistest.Start(t, redistest.Options{})
	sc := src.Client()
	defer sc.Close()
	for start := 0; start < importN; start += 10000 {
		pipe := sc.Pipeline()
		for i := start; i < start+10000; i++ {
			pipe.Set(ctx, fmt.Sprintf("imp:%d", i), fmt.Sprintf("v%d", i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	load := harness.StartLoad(t, cc, preN, 3, 3)

	out, code := interrupt(t, ">>> Importing data from", "import", c.Addr(), "--from", src.Addr(), "--pipeline", "100")
	if code != 130 || !strings.Contains(out, "Run the same import again") {
		t.Fatalf("exit %d after SIGINT, want 130 and how to go on:\n%s", code, out)
	}
	left := sc.DBSize(ctx).Val()
	if left == 0 || left == importN {
		t.Fatalf("the source holds %d of %d keys after the interrupted import; want some moved, not all", left, importN)
	}
	// Every key is on exactly one side with its value.
	for start := 0; start < importN; start += 5000 {
		inSrc, inCluster := sc.Pipeline(), cc.Pipeline()
		var a, b []func() (string, error)
		for i := start; i < start+5000; i++ {
			k := fmt.Sprintf("imp:%d", i)
			a = append(a, inSrc.Get(ctx, k).Result)
			b = append(b, inCluster.Get(ctx, k).Result)
		}
		_, _ = inSrc.Exec(ctx)
		_, _ = inCluster.Exec(ctx)
		for j := range a {
			va, ea := a[j]()
			vb, eb := b[j]()
			want := fmt.Sprintf("v%d", start+j)
			if (ea == nil) == (eb == nil) || (ea == nil && va != want) || (eb == nil && vb != want) {
				t.Fatalf("imp:%d after the interrupted import: source %q (%v), cluster %q (%v)", start+j, va, ea, vb, eb)
			}
		}
	}

	if r := harness.Run(t, "import", c.Addr(), "--from", src.Addr()); r.Code != 0 {
		t.Fatalf("second import exit %d:\n%s", r.Code, r.Output())
	}
	load.Finish(t)
	if n := sc.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("the source still holds %d keys", n)
	}
	for start := 0; start < importN; start += 5000 {
		pipe := cc.Pipeline()
		var gets []func() (string, error)
		for i := start; i < start+5000; i++ {
			gets = append(gets, pipe.Get(ctx, fmt.Sprintf("imp:%d", i)).Result)
		}
		_, _ = pipe.Exec(ctx)
		for j, get := range gets {
			if v, err := get(); err != nil || v != fmt.Sprintf("v%d", start+j) {
				t.Fatalf("imp:%d in the cluster = %q, %v", start+j, v, err)
			}
		}
	}
	assertRedisCheckClean(t, c)
}

// TestImportRecognisesKeysAlreadyCopied: keys a killed import left in the
// cluster with the source's value count as imported and leave the source;
// a key the cluster holds with another value is skipped and kept there.
func TestImportRecognisesKeysAlreadyCopied(t *testing.T) {
	ctx := context.Background()
	c, cc := preloadedCluster(t, 100)
	src := redistest.Start(t, redistest.Options{})
	sc := src.Client()
	defer sc.Close()
	for i := range 1000 {
		k, v := fmt.Sprintf("cp:%d", i), fmt.Sprintf("v%d", i)
		must(t, sc.Set(ctx, k, v, 0).Err())
		switch {
		case i < 300:
			must(t, cc.Set(ctx, k, v, 0).Err())
		case i == 300:
			must(t, cc.Set(ctx, k, "cluster's own", 0).Err())
		}
	}
	r := harness.Run(t, "import", c.Addr(), "--from", src.Addr())
	if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] 999 keys imported, 1 skipped, 0 failed, 999 deleted from the source.") {
		t.Fatalf("import exit %d:\n%s", r.Code, r.Output())
	}
	if keys := sc.Keys(ctx, "*").Val(); len(keys) != 1 || keys[0] != "cp:300" {
		t.Fatalf("the source should keep only cp:300, holds %v", keys)
	}
	if v := cc.Get(ctx, "cp:300").Val(); v != "cluster's own" {
		t.Fatalf("cp:300 in the cluster = %q, want its own value kept", v)
	}
}
