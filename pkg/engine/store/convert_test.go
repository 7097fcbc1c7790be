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

// Prepare builds a hash past the compact limits as a map at once, a small
// one compact as Hash.Set would; ImportPrepared stores them, and an empty
// collection is no key.
func TestPrepareHashForms(t *testing.T) {
	db := New()
	lim := *db.Limits()
	big := rdb.Value{Kind: rdb.KindHash}
	for i := range lim.HashEntries + 1 {
		big.Hash = append(big.Hash, rdb.Field{Name: []byte{'f', byte(i), byte(i >> 8)}, Value: []byte{byte(i)}})
	}
	small := rdb.Value{Kind: rdb.KindHash, Hash: big.Hash[:3]}
	db.ImportPrepared([]byte("big"), Prepare(big, &lim))
	db.ImportPrepared([]byte("small"), Prepare(small, &lim))
	db.ImportPrepared([]byte("empty"), Prepare(rdb.Value{Kind: rdb.KindSet}, &lim))
	for key, want := range map[string]rdb.Value{"big": big, "small": small} {
		got, ok := db.Export([]byte(key))
		if !ok || len(got.Hash) != len(want.Hash) || got.Compact != (key == "small") {
			t.Fatalf("%s: %d fields, compact %v (%v)", key, len(got.Hash), got.Compact, ok)
		}
		h, err := db.Hash([]byte(key), false)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range want.Hash {
			if v, ok := h.Get(f.Name); !ok || string(v) != string(f.Value) {
				t.Fatalf("%s: field %q = %q, %v", key, f.Name, v, ok)
			}
		}
	}
	if _, ok := db.Export([]byte("empty")); ok {
		t.Fatal("an empty set was stored")
	}
}
