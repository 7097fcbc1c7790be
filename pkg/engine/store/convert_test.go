package store

import (
	"testing"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
)

// EachEntry, which snapshots iterate, gives every live key once with its
// value and expiry and leaves out keys whose time has passed.
func TestEachEntrySkipsExpiredKeys(t *testing.T) {
	db := New()
	now := int64(1_000_000)
	db.Now = func() int64 { return now }
	db.SetString([]byte("plain"), []byte("v1"), false)
	db.SetString([]byte("later"), []byte("v2"), false)
	db.SetExpire([]byte("later"), now+5000)
	db.SetString([]byte("gone"), []byte("v3"), false)
	db.SetExpire([]byte("gone"), now-1)
	seen := map[string]string{}
	expiry := map[string]int64{}
	db.EachEntry(func(key string, v rdb.Value, expireAt int64) {
		if _, dup := seen[key]; dup {
			t.Fatalf("key %q given twice", key)
		}
		seen[key], expiry[key] = string(v.Str), expireAt
	})
	if len(seen) != 2 || seen["plain"] != "v1" || seen["later"] != "v2" {
		t.Fatalf("EachEntry gave %v, want plain=v1 and later=v2 only", seen)
	}
	if expiry["plain"] != 0 || expiry["later"] != now+5000 {
		t.Fatalf("expiries %v", expiry)
	}
}
