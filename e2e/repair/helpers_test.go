// Package repair holds the end-to-end tests of fix, import and backup:
// the built gocluster binary against real redis-server nodes, cross-checked
// with real redis-cli.
package repair

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/redis/go-redis/v9"
)

// fillTypes writes n keys of every type through w (a node or the cluster)
// and returns the expected dump of each: key -> canonical value.
func fillTypes(t *testing.T, w redis.Cmdable, prefix string, n int) map[string]string {
	t.Helper()
	ctx := context.Background()
	want := map[string]string{}
	for i := range n {
		k := fmt.Sprintf("%s:{%d}", prefix, i)
		var err error
		switch i % 5 {
		case 0:
			err = w.Set(ctx, k+":str", fmt.Sprintf("value-%d", i), 0).Err()
			want[k+":str"] = fmt.Sprintf("string:value-%d", i)
		case 1:
			err = w.RPush(ctx, k+":list", "a", i, "c").Err()
			want[k+":list"] = fmt.Sprintf("list:[a %d c]", i)
		case 2:
			err = w.HSet(ctx, k+":hash", "f", i).Err()
			want[k+":hash"] = fmt.Sprintf("hash:map[f:%d]", i)
		case 3:
			err = w.SAdd(ctx, k+":set", "m1", i).Err()
			want[k+":set"] = fmt.Sprintf("set:[%d m1]", i)
		case 4:
			err = w.ZAdd(ctx, k+":zset", redis.Z{Score: float64(i), Member: "z"}).Err()
			want[k+":zset"] = fmt.Sprintf("zset:[{%d z}]", i)
		}
		if err != nil {
			t.Fatalf("write %s: %v", k, err)
		}
	}
	return want
}

// readValue renders key's value as fillTypes describes it, or "" if missing.
func readValue(t *testing.T, r redis.Cmdable, key string) string {
	t.Helper()
	ctx := context.Background()
	typ, err := r.Type(ctx, key).Result()
	if err != nil {
		t.Fatalf("TYPE %s: %v", key, err)
	}
	var v any
	switch typ {
	case "none":
		return ""
	case "string":
		v, err = r.Get(ctx, key).Result()
	case "list":
		v, err = r.LRange(ctx, key, 0, -1).Result()
	case "hash":
		v, err = r.HGetAll(ctx, key).Result()
	case "set":
		var m []string
		m, err = r.SMembers(ctx, key).Result()
		if len(m) == 2 && m[0] > m[1] {
			m[0], m[1] = m[1], m[0]
		}
		v = m
	case "zset":
		v, err = r.ZRangeWithScores(ctx, key, 0, -1).Result()
	}
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return typ + ":" + strings.TrimPrefix(fmt.Sprint(v), "&")
}

// checkAll fails the test for every key whose value differs from want.
func checkAll(t *testing.T, r redis.Cmdable, want map[string]string) {
	t.Helper()
	bad := 0
	for k, v := range want {
		if got := readValue(t, r, k); got != v {
			if bad++; bad <= 5 {
				t.Errorf("key %s = %q, want %q", k, got, v)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d keys wrong or missing", bad, len(want))
	}
}

// redisCheckClean asserts that real redis-cli --cluster check finds nothing.
func redisCheckClean(t *testing.T, c *harness.Cluster) {
	t.Helper()
	r := c.RedisCheck(t)
	if r.Code != 0 || strings.Contains(r.Stdout, "[ERR]") || strings.Contains(r.Stdout, "[WARNING]") {
		t.Fatalf("redis-cli --cluster check is not clean (exit %d):\n%s", r.Code, r.Output())
	}
}

// authArgs are gocluster's flags for the cluster's password.
func authArgs(c *harness.Cluster) []string {
	if c.Password == "" {
		return nil
	}
	return []string{"-a", c.Password}
}
