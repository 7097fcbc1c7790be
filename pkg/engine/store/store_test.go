package store

import (
	"bytes"
	"fmt"
	"sort"
	"testing"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
)

func TestKeySlotKnownValues(t *testing.T) {
	// values from real Redis CLUSTER KEYSLOT
	cases := map[string]int{"foo": 12182, "bar": 5061, "{user1000}.following": 3443,
		"{user1000}.followers": 3443, "foo{}{bar}": 8363, "foo{{bar}}zap": 4015, "{}": 15257, "": 0}
	for k, want := range cases {
		if got := KeySlot([]byte(k)); got != want {
			t.Errorf("KeySlot(%q) = %d, want %d", k, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "anything", true}, {"h?llo", "hello", true}, {"h?llo", "hllo", false},
		{"h[ae]llo", "hallo", true}, {"h[^e]llo", "hello", false}, {"h[a-b]llo", "hbllo", true},
		{"user:*:name", "user:42:name", true}, {"user:*:name", "user:42:mail", false},
		{`a\*b`, "a*b", true}, {`a\*b`, "axb", false}, {"", "", true}, {"a*", "", false},
	}
	for _, c := range cases {
		if got := Match([]byte(c.p), []byte(c.s)); got != c.want {
			t.Errorf("Match(%q,%q) = %v", c.p, c.s, got)
		}
	}
}

func TestStringsTypesAndCounts(t *testing.T) {
	db := New()
	db.SetString([]byte("s"), []byte("v"), false)
	l, _ := db.List([]byte("l"), true)
	l.PushBack([]byte("a"))
	if _, err := db.Hash([]byte("s"), true); err != ErrWrongType {
		t.Fatalf("hash on string: %v", err)
	}
	if _, _, err := db.GetString([]byte("l")); err != ErrWrongType {
		t.Fatalf("get on list: %v", err)
	}
	if db.DBSize() != 2 || db.Type([]byte("l")) != KindList || db.Type([]byte("x")) != KindNone {
		t.Fatalf("dbsize=%d type=%v", db.DBSize(), db.Type([]byte("l")))
	}
	l.PopFront()
	db.DeleteIfEmpty([]byte("l"))
	if db.Exists([]byte("l")) || db.DBSize() != 1 {
		t.Fatal("empty list not removed")
	}
	if !db.Rename([]byte("s"), []byte("t")) || db.Exists([]byte("s")) || db.CountKeysInSlot(KeySlot([]byte("t"))) != 1 {
		t.Fatal("rename")
	}
}

func TestTTLLazyAndActiveExpiry(t *testing.T) {
	db := New()
	now := int64(1_000_000)
	db.Now = func() int64 { return now }
	for i := range 100 {
		k := []byte(fmt.Sprint("k", i))
		db.SetString(k, []byte("v"), false)
		db.SetExpire(k, now+1000)
	}
	db.SetString([]byte("keep"), []byte("v"), false)
	if db.ExpiresCount() != 100 || db.Expire([]byte("k1")) != now+1000 || db.Expire([]byte("keep")) != -1 {
		t.Fatal("expire bookkeeping")
	}
	db.SetString([]byte("k0"), []byte("new"), false) // SET clears the TTL
	if db.Expire([]byte("k0")) != -1 || db.ExpiresCount() != 99 {
		t.Fatal("SET did not clear TTL")
	}
	now += 1000
	if db.Exists([]byte("k1")) { // lazy
		t.Fatal("expired key visible")
	}
	if n := db.ActiveExpire(1 << 20); n != 98 {
		t.Fatalf("active expiry deleted %d, want 98", n)
	}
	if db.DBSize() != 2 || db.ExpiresCount() != 0 {
		t.Fatalf("dbsize=%d expires=%d", db.DBSize(), db.ExpiresCount())
	}
	if db.Persist([]byte("k0")) || db.Persist([]byte("keep")) {
		t.Fatal("persist on key without ttl")
	}
}

func TestScanVisitsEveryKeyOnce(t *testing.T) {
	db := New()
	want := map[string]bool{}
	for i := range 5000 {
		k := fmt.Sprint("key:", i)
		db.SetString([]byte(k), []byte("x"), false)
		want[k] = true
	}
	seen := map[string]int{}
	cursor := uint64(0)
	for calls := 0; ; calls++ {
		keys, next := db.Scan(cursor, 100, nil, KindNone)
		for _, k := range keys {
			seen[string(k)]++
		}
		if next == 0 {
			break
		}
		if calls > 20000 {
			t.Fatal("scan does not terminate")
		}
		cursor = next
	}
	if len(seen) != len(want) {
		t.Fatalf("scan saw %d keys, want %d", len(seen), len(want))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", k, n)
		}
	}
	keys, _ := db.Scan(0, 1<<20, []byte("key:1?"), KindNone)
	if len(keys) != 10 {
		t.Fatalf("pattern scan got %d", len(keys))
	}
}

func TestListDeque(t *testing.T) {
	l := &List{}
	for i := range 100 {
		l.PushFront([]byte(fmt.Sprint(i)))
		l.PushBack([]byte(fmt.Sprint(i)))
	}
	if l.Len() != 200 || string(l.Index(0)) != "99" || string(l.Index(199)) != "99" {
		t.Fatalf("len=%d first=%s", l.Len(), l.Index(0))
	}
	l.Insert(1, []byte("x"))
	if string(l.Index(1)) != "x" || string(l.Index(2)) != "98" {
		t.Fatal("insert")
	}
	for l.Len() > 0 {
		l.PopBack()
	}
	if l.PopFront() != nil {
		t.Fatal("pop on empty")
	}
}

func TestZSetOrderAndRanges(t *testing.T) {
	z := NewZSet()
	z.Add([]byte("c"), 3, nil)
	z.Add([]byte("a"), 1, nil)
	z.Add([]byte("b"), 1, nil)
	if z.Add([]byte("a"), 5, nil) { // update, not new
		t.Fatal("update reported as new")
	}
	var order []string
	for m := range z.All() {
		order = append(order, string(m.Member))
	}
	if fmt.Sprint(order) != "[b c a]" {
		t.Fatalf("order %v", order)
	}
	if r, _ := z.Rank([]byte("a")); r != 2 {
		t.Fatalf("rank %d", r)
	}
	from, to := z.FirstAbove(ScoreBound{Value: 1, Exclusive: true}), z.LastBelow(ScoreBound{Value: 5})
	if from != 1 || to != 3 {
		t.Fatalf("score range %d..%d", from, to)
	}
	z.Remove([]byte("c"))
	if z.Len() != 2 || z.RemoveRange(0, 1) != 1 || z.Len() != 1 {
		t.Fatal("remove")
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	db := New()
	h, _ := db.Hash([]byte("h"), true)
	h.Set([]byte("f"), []byte("v"), db.Limits())
	z, _ := db.ZSet([]byte("z"), true)
	z.Add([]byte("m"), 2.5, nil)
	s, _ := db.Set([]byte("s"), true)
	s.Add([]byte("x"), db.Limits())
	s.Add([]byte("y"), db.Limits())
	for _, k := range []string{"h", "z", "s"} {
		v, ok := db.Export([]byte(k))
		if !ok {
			t.Fatal(k)
		}
		db.Import([]byte(k+"2"), v)
	}
	h2, _ := db.Hash([]byte("h2"), false)
	z2, _ := db.ZSet([]byte("z2"), false)
	s2v, _ := db.Export([]byte("s2"))
	var members []string
	for _, m := range s2v.Set {
		members = append(members, string(m))
	}
	sort.Strings(members)
	if !bytes.Equal(hashGet(h2, "f"), []byte("v")) || z2.Len() != 1 || fmt.Sprint(members) != "[x y]" || s2v.Kind != rdb.KindSet {
		t.Fatal("round trip lost data")
	}
	db.Import([]byte("empty"), rdb.Value{Kind: rdb.KindList})
	if db.Exists([]byte("empty")) {
		t.Fatal("empty collection stored")
	}
}

func TestSetStringCopyInPlaceIsPrivate(t *testing.T) {
	db := New()
	val := []byte("abc")
	db.SetStringCopy([]byte("a"), val, false)
	val[0] = 'X' // the caller's buffer is not the stored value
	db.Copy([]byte("a"), []byte("b"))
	db.SetExpire([]byte("a"), db.Now()+100000)
	db.SetStringCopy([]byte("a"), []byte("xyz"), false) // same length: in place
	a, _, _ := db.GetString([]byte("a"))
	b, _, _ := db.GetString([]byte("b"))
	if string(a) != "xyz" || string(b) != "abc" || db.Expire([]byte("a")) != -1 {
		t.Fatalf("a=%s b=%s ttl=%d", a, b, db.Expire([]byte("a")))
	}
	db.SetStringCopy([]byte("a"), []byte("longer"), false)
	if a, _, _ := db.GetString([]byte("a")); string(a) != "longer" {
		t.Fatalf("a=%s", a)
	}
}

// TestRandomKeyIsSpread: RANDOMKEY draws every key about equally, however
// the keys fall into slots (it once favoured the key after the widest gap
// of empty slots, and answered the same key 20 times in 20).
func TestRandomKeyIsSpread(t *testing.T) {
	db := New()
	keys := []string{"a", "{a}b", "zz", "key:1234", "another"} // two share a slot
	for _, k := range keys {
		db.SetString([]byte(k), []byte("v"), false)
	}
	counts := map[string]int{}
	const draws = 5000
	for range draws {
		counts[string(db.RandomKey())]++
	}
	for _, k := range keys {
		if c := counts[k]; c < draws/len(keys)/2 {
			t.Fatalf("RANDOMKEY drew %q %d times in %d (all: %v)", k, c, draws, counts)
		}
	}
	if New().RandomKey() != nil {
		t.Fatal("RANDOMKEY of an empty database should be nil")
	}
}

func hashGet(h *Hash, field string) []byte {
	v, _ := h.Get([]byte(field))
	return v
}
