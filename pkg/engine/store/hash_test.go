package store

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

func hashOrder(h *Hash) string {
	var parts []string
	for f, v := range h.All() {
		parts = append(parts, f+"="+string(v))
	}
	return strings.Join(parts, " ")
}

// TestHashKeepsInsertionOrderUntilALimit: a compact hash lists fields in
// insertion order (an overwrite keeps the place, a re-added field goes
// last), turns into a map on the write that passes a limit and never turns
// back.
func TestHashKeepsInsertionOrderUntilALimit(t *testing.T) {
	db := New()
	db.SetEncodingLimits(EncodingLimits{HashEntries: 3, HashValue: 4})
	h, _ := db.Hash([]byte("h"), true)
	for _, f := range []string{"c", "a", "b"} {
		if !h.Set([]byte(f), []byte(f+f), db.Limits()) {
			t.Fatalf("Set(%s) on a new field reports an existing one", f)
		}
	}
	if h.Set([]byte("a"), []byte("A"), db.Limits()) || !h.Delete([]byte("c")) || h.Delete([]byte("c")) {
		t.Fatal("Set of an existing field or Delete reports wrongly")
	}
	h.Set([]byte("c"), []byte("C"), db.Limits())
	if got := hashOrder(h); got != "a=A b=bb c=C" || !h.Compact() {
		t.Fatalf("order %q (compact %v), want a=A b=bb c=C", got, h.Compact())
	}
	h.Set([]byte("d"), []byte("d"), db.Limits()) // a 4th field: past HashEntries
	if h.Compact() || h.Len() != 4 {
		t.Fatalf("4 fields over a limit of 3: compact %v, len %d", h.Compact(), h.Len())
	}
	h.Delete([]byte("d"))
	h.Delete([]byte("c"))
	if h.Compact() {
		t.Fatal("a converted hash turned back into the compact form")
	}
	if v, ok := h.Get([]byte("a")); !ok || string(v) != "A" {
		t.Fatalf("after conversion a = %q %v", v, ok)
	}
	for _, long := range [][2]string{{"fffff", "v"}, {"f", "vvvvv"}} {
		g, _ := db.Hash([]byte(fmt.Sprint(long)), true)
		g.Set([]byte("x"), []byte("y"), db.Limits())
		g.Set([]byte(long[0]), []byte(long[1]), db.Limits())
		if g.Compact() || g.Len() != 2 {
			t.Fatalf("%q: a field or value over HashValue leaves it compact (%v) or loses fields (%d)", long, g.Compact(), g.Len())
		}
	}
	var missing *Hash
	if missing.Len() != 0 || !missing.Compact() || hashOrder(missing) != "" || missing.Delete([]byte("f")) {
		t.Fatal("a nil hash is not an empty one")
	}
}

// TestHashSetPairsMatchesSetOneByOne: HSET's one-rebuild path gives the same
// fields, order, encoding and new-field count as Set called pair by pair,
// with repeated fields in one command, overwrites, and commands that cross
// the entry or value limit.
func TestHashSetPairsMatchesSetOneByOne(t *testing.T) {
	lim := &EncodingLimits{HashEntries: 6, HashValue: 8}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		var one, all Hash
		for cmd := range 1 + rng.IntN(4) {
			var pairs [][]byte
			for range 1 + rng.IntN(5) {
				value := strings.Repeat("v", rng.IntN(10)) // sometimes past HashValue
				pairs = append(pairs, []byte{byte('a' + rng.IntN(8))}, []byte(value))
			}
			wantAdded := 0
			for i := 0; i < len(pairs); i += 2 {
				if one.Set(pairs[i], pairs[i+1], lim) {
					wantAdded++
				}
			}
			if added := all.SetPairs(pairs, lim); added != wantAdded {
				t.Fatalf("trial %d command %d %q: SetPairs added %d, Set one by one %d", trial, cmd, pairs, added, wantAdded)
			}
			if one.Compact() != all.Compact() || one.Compact() && hashOrder(&one) != hashOrder(&all) {
				t.Fatalf("trial %d command %d %q: compact %v %q, one by one compact %v %q",
					trial, cmd, pairs, all.Compact(), hashOrder(&all), one.Compact(), hashOrder(&one))
			}
			if !maps.EqualFunc(maps.Collect(one.All()), maps.Collect(all.All()), bytes.Equal) {
				t.Fatalf("trial %d command %d %q: fields differ", trial, cmd, pairs)
			}
		}
	}
}
