package store

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"unsafe"
)

// TestKeyTableMatchesMap drives a keyTable and a Go map with the same
// random inserts, overwrites (string and collection values, in place and
// not), deletes and full iterations, and compares them after every step.
func TestKeyTableMatchesMap(t *testing.T) {
	var tab keyTable
	want := map[string]entry{}
	wantVal := map[string]string{}
	rng := rand.New(rand.NewPCG(1, 2))
	list := &List{}
	for step := range 200_000 {
		key := "k" + strconv.Itoa(rng.IntN(3000))
		switch op := rng.IntN(10); {
		case op < 5: // a new string value, sometimes empty or long
			val := []byte(strconv.Itoa(step))
			if op == 0 {
				val = nil
			} else if op == 1 {
				val = make([]byte, 300+rng.IntN(300))
			}
			e := stringEntry(val)
			e.freq, e.clock = uint8(step), uint16(step)
			tab.set(key, e)
			want[key], wantVal[key] = e, string(val)
		case op < 6: // a collection
			e := entry{kind: KindList, ptr: unsafe.Pointer(list), n: uint32(step), freq: 7, clock: 9}
			tab.set(key, e)
			want[key], wantVal[key] = e, ""
		case op < 7: // the clock changes in place, as lookups do
			if e, ok := tab.get(key); ok {
				e.clock++
				tab.set(key, e)
				w := want[key]
				w.clock = e.clock
				want[key] = w
			}
		default:
			_, had := want[key]
			if tab.del(key) != had {
				t.Fatalf("step %d: del(%s) disagrees with the map (had %v)", step, key, had)
			}
			delete(want, key)
		}
		if tab.len() != len(want) {
			t.Fatalf("step %d: len %d, map holds %d", step, tab.len(), len(want))
		}
		if step%5000 == 0 || step < 200 {
			seen := 0
			for k, e := range tab.all() {
				seen++
				checkEntry(t, step, k, e, want, wantVal)
			}
			if seen != len(want) {
				t.Fatalf("step %d: iteration saw %d keys, want %d", step, seen, len(want))
			}
		}
		if e, ok := tab.get(key); ok != (want[key] != entry{}) || ok && e.kind != want[key].kind {
			t.Fatalf("step %d: get(%s) = %+v %v, want %+v", step, key, e, ok, want[key])
		}
	}
	for k := range want {
		tab.del(k)
	}
	if tab.len() != 0 || tab.recs != nil {
		t.Fatalf("emptied table keeps %d keys, %d positions", tab.len(), len(tab.recs))
	}
}

func checkEntry(t *testing.T, step int, k string, e entry, want map[string]entry, wantVal map[string]string) {
	t.Helper()
	w, ok := want[k]
	if !ok {
		t.Fatalf("step %d: iteration yields %q, which was deleted", step, k)
	}
	if e.kind != w.kind || e.freq != w.freq || e.clock != w.clock {
		t.Fatalf("step %d: %q is %+v, want %+v", step, k, e, w)
	}
	if e.kind == KindString && string(e.bytes()) != wantVal[k] {
		t.Fatalf("step %d: %q holds %q, want %q", step, k, e.bytes(), wantVal[k])
	}
	if e.kind != KindString && (e.ptr != w.ptr || e.n != w.n) {
		t.Fatalf("step %d: collection %q is %+v, want %+v", step, k, e, w)
	}
}

// TestKeyTableShrinks: a table most keys left is rebuilt for the keys it
// still holds.
func TestKeyTableShrinks(t *testing.T) {
	var tab keyTable
	for i := range 10_000 {
		tab.set(strconv.Itoa(i), stringEntry([]byte("v")))
	}
	big := len(tab.recs)
	for i := range 9_990 {
		tab.del(strconv.Itoa(i))
	}
	if len(tab.recs) >= big/8 {
		t.Fatalf("table of %d keys keeps %d positions (was %d)", tab.len(), len(tab.recs), big)
	}
}
