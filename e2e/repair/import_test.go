package repair

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

type importDoc struct {
	Plan struct {
		SourceKeys int64 `json:"source_keys"`
	} `json:"plan"`
	Result struct {
		Imported, Skipped, Failed, Deleted int64
	} `json:"result"`
}

// TestImport moves and copies keys of every type, with TTLs, from a
// password-protected standalone redis-server into a cluster with another
// password: the case the redis-cli tutorial reports broken.
func TestImport(t *testing.T) {
	ctx := context.Background()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Password: "cluster-pw"})
	cc := clusterClient(t, c)
	src := redistest.Start(t, redistest.Options{Password: "source-pw"})
	sc := src.Client()
	defer sc.Close()
	seed := c.Addr()
	base := []string{"import", seed, "--from", src.Addr(), "--from-pass", "source-pw", "-a", "cluster-pw"}

	t.Run("move with passwords on both sides", func(t *testing.T) {
		want := fillTypes(t, sc, "mv", 2000)
		sc.Set(ctx, "mv:ttl", "expiring", time.Hour)
		sc.Set(ctx, "mv:both", "from-source", 0)
		cc.Set(ctx, "mv:both", "cluster-owned", 0)

		r := harness.Run(t, append(base, "--pipeline", "300")...)
		if r.Code != 0 {
			t.Fatalf("import exit %d:\n%s", r.Code, r.Output())
		}
		for _, line := range []string{">>> Importing data from " + src.Addr(), "[OK] 2001 keys imported, 1 skipped, 0 failed, 2001 deleted from the source.",
			"[WARNING] 1 keys already exist in the cluster and were left untouched (use --replace to overwrite): mv:both"} {
			if !strings.Contains(r.Stdout, line) {
				t.Errorf("missing %q in:\n%s", line, r.Stdout)
			}
		}
		checkAll(t, cc, want)
		if ttl := cc.TTL(ctx, "mv:ttl").Val(); ttl < 50*time.Minute || ttl > time.Hour {
			t.Errorf("TTL of mv:ttl is %v after import, want about an hour", ttl)
		}
		if v := cc.Get(ctx, "mv:both").Val(); v != "cluster-owned" {
			t.Errorf("existing cluster key overwritten without --replace: %q", v)
		}
		if keys := sc.Keys(ctx, "*").Val(); len(keys) != 1 || keys[0] != "mv:both" {
			t.Errorf("source should keep only the skipped key, has %d keys: %.5v", len(keys), keys)
		}

		r = harness.Run(t, append(base, "--replace", "--json")...)
		var d importDoc
		if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil || r.Code != 0 {
			t.Fatalf("import --replace --json exit %d: %v\n%s", r.Code, err, r.Output())
		}
		if d.Plan.SourceKeys != 1 || d.Result.Imported != 1 || d.Result.Skipped != 0 || d.Result.Deleted != 1 {
			t.Errorf("--replace result %+v", d)
		}
		if v := cc.Get(ctx, "mv:both").Val(); v != "from-source" {
			t.Errorf("--replace did not overwrite: %q", v)
		}
		if n := sc.DBSize(ctx).Val(); n != 0 {
			t.Errorf("source still has %d keys", n)
		}
	})

	t.Run("copy", func(t *testing.T) {
		want := fillTypes(t, sc, "cp", 500)
		r := harness.Run(t, append(base, "--copy")...)
		if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] 500 keys imported, 0 skipped, 0 failed, 0 deleted from the source.") {
			t.Fatalf("import --copy exit %d:\n%s", r.Code, r.Output())
		}
		checkAll(t, cc, want)
		checkAll(t, sc, want)
	})

	t.Run("dry run and bad input", func(t *testing.T) {
		sc.Set(ctx, "dry", "run", 0)
		r := harness.Run(t, append(base, "--dry-run")...)
		if r.Code != 0 || !strings.Contains(r.Stdout, "Dry run: nothing imported") {
			t.Fatalf("dry run exit %d:\n%s", r.Code, r.Output())
		}
		if cc.Exists(ctx, "dry").Val() != 0 {
			t.Fatal("--dry-run imported a key")
		}
		bad := map[string][]string{
			"no --from":          {"import", seed, "-a", "cluster-pw"},
			"bad --from":         {"import", seed, "--from", "nohost", "-a", "cluster-pw"},
			"wrong source pass":  {"import", seed, "--from", src.Addr(), "--from-pass", "nope", "-a", "cluster-pw"},
			"source is the node": {"import", seed, "--from", seed, "--from-pass", "cluster-pw", "-a", "cluster-pw"},
		}
		wantCode := map[string]int{"no --from": 2, "bad --from": 2, "wrong source pass": 1, "source is the node": 1}
		for name, args := range bad {
			r := harness.Run(t, args...)
			if r.Code != wantCode[name] || strings.Count(strings.TrimSpace(r.Stderr), "\n") > 1 || !strings.HasPrefix(r.Stderr, "gocluster: ") {
				t.Errorf("%s: exit %d (want %d), want a one-line error:\n%s", name, r.Code, wantCode[name], r.Output())
			}
		}
	})
	redisCheckClean(t, c)
}
