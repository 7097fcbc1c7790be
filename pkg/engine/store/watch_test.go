package store

import "testing"

// The watch registry: touches mark watchers dirty and forget their keys;
// a key that was stale when watched is no change when deleted; FLUSHALL
// and a slot's deletion touch only keys that exist.
func TestWatchRegistry(t *testing.T) {
	db := New()
	now := int64(1000)
	db.Now = func() int64 { return now }
	var a, b Watcher
	db.SetString([]byte("k"), []byte("v"), false)
	db.Watch(&a, []byte("k"))
	db.Watch(&a, []byte("k")) // once
	db.Watch(&b, []byte("other"))
	if len(db.watched["k"]) != 1 || !db.Watching() {
		t.Fatalf("watched: %v", db.watched)
	}
	db.Touch([]byte("k"))
	if !a.Dirty() || b.Dirty() || a.Watching() {
		t.Fatalf("after touching k: a dirty %v watching %v, b dirty %v", a.Dirty(), a.Watching(), b.Dirty())
	}
	db.Unwatch(&a)
	db.Unwatch(&b)
	if a.Dirty() || db.Watching() {
		t.Fatal("Unwatch must clear the flag and the registry")
	}

	// stale when watched: its deletion by expiry is no change
	db.SetString([]byte("s"), []byte("v"), false)
	db.SetExpire([]byte("s"), now+10)
	now += 20
	db.Watch(&a, []byte("s"))
	if db.WatchedKeyExpired(&a) {
		t.Fatal("a key stale at WATCH time does not count as expired since")
	}
	db.Exists([]byte("s")) // lazy expiry
	if a.Dirty() {
		t.Fatal("deleting a key that was stale when watched is no change")
	}
	db.SetString([]byte("s"), []byte("w"), false)
	db.Touch([]byte("s"))
	if !a.Dirty() {
		t.Fatal("writing the key after its stale copy went must touch it")
	}
	db.Unwatch(&a)

	// expiring after WATCH
	db.SetString([]byte("e"), []byte("v"), false)
	db.SetExpire([]byte("e"), now+10)
	db.Watch(&a, []byte("e"))
	now += 20
	if !db.WatchedKeyExpired(&a) {
		t.Fatal("a key that expired since WATCH must fail EXEC")
	}
	db.Unwatch(&a)

	// FLUSHALL and slot deletion touch existing keys only
	db.Watch(&a, []byte("k"))
	db.Watch(&b, []byte("missing"))
	db.Flush()
	if !a.Dirty() || b.Dirty() {
		t.Fatalf("Flush: a %v (existing), b %v (missing)", a.Dirty(), b.Dirty())
	}
	db.Unwatch(&a)
	db.Unwatch(&b)
	db.SetString([]byte("x{1}"), []byte("v"), false)
	db.SetString([]byte("y{2}"), []byte("v"), false)
	db.Watch(&a, []byte("x{1}"))
	db.Watch(&b, []byte("y{2}"))
	db.DeleteKeysInSlot(KeySlot([]byte("{1}")))
	if !a.Dirty() || b.Dirty() {
		t.Fatalf("DeleteKeysInSlot: a %v (in the slot), b %v (elsewhere)", a.Dirty(), b.Dirty())
	}
}

// An empty HLL is Redis's 18 bytes; the self test (register coding, sparse
// and dense agreeing through promotion) passes.
func TestHLLLayoutAndSelfTest(t *testing.T) {
	want := "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
	if got := string(NewHLL()); got != want {
		t.Fatalf("NewHLL = %q, want %q", got, want)
	}
	if err := HLLSelfTest(); err != nil {
		t.Fatal(err)
	}
	h, changed, err := HLLAdd(NewHLL(), [][]byte{[]byte("a")}, 3000)
	if err != nil || !changed {
		t.Fatalf("HLLAdd: %v %v", changed, err)
	}
	if _, valid := CachedCard(h); valid {
		t.Fatal("an add that changed a register must invalidate the cache")
	}
	if n, err := HLLCount(h); err != nil || n != 1 {
		t.Fatalf("HLLCount = %d, %v", n, err)
	}
	if _, err := HLLCount(h[:len(h)-1]); err == nil {
		t.Fatal("a truncated sparse HLL must be reported corrupted")
	}
}
