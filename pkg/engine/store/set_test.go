package store

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestSetAgainstModel adds and removes integers of every width (and,
// late, a string) and compares the set with a map after each step: the
// intset keeps them sorted and distinct and widens when it must, and the
// string turns it into a map for good.
func TestSetAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lim := &EncodingLimits{SetIntsetEntries: 100000}
	s, model := &Set{}, map[string]bool{}
	values := []int64{0, 1, -1, math.MaxInt16, math.MinInt16, math.MaxInt16 + 1, math.MinInt32, math.MaxInt32 + 1, math.MaxInt64, math.MinInt64}
	for step := range 5000 {
		v := values[rng.IntN(len(values))] + int64(rng.IntN(300)) - 150
		m := []byte(strconv.FormatInt(v, 10))
		op := rng.IntN(6)
		if step == 4000 {
			m, op = []byte("not-a-number"), 3
		}
		if op < 2 {
			if got := s.Remove(m); got != model[string(m)] {
				t.Fatalf("Remove(%s) = %v", m, got)
			}
			delete(model, string(m))
		} else if op < 4 {
			if got := s.Add(m, lim); got == model[string(m)] {
				t.Fatalf("Add(%s) = %v", m, got)
			}
			model[string(m)] = true
		} else { // a batch, with m twice
			batch := [][]byte{m, []byte(strconv.Itoa(rng.IntN(70000) - 35000)), m}
			want := 0
			for _, b := range batch {
				if !model[string(b)] {
					model[string(b)] = true
					want++
				}
			}
			if got := s.AddAll(batch, lim); got != want {
				t.Fatalf("AddAll(%q) = %d, want %d", batch, got, want)
			}
		}
		if s.Len() != len(model) || !s.Has(m) == model[string(m)] {
			t.Fatalf("step %d: Len %d, model %d", step, s.Len(), len(model))
		}
		if step%100 == 0 || step == 3999 {
			members := s.Members()
			if len(members) != len(model) {
				t.Fatalf("Members: %d, model %d", len(members), len(model))
			}
			if s.Intset() {
				if !slices.IsSortedFunc(members, func(a, b string) int {
					x, _ := strconv.ParseInt(a, 10, 64)
					y, _ := strconv.ParseInt(b, 10, 64)
					return cmp.Compare(x, y)
				}) {
					t.Fatalf("intset members out of order: %v", members)
				}
			}
		}
	}
	if s.Intset() {
		t.Fatal("a set that held a string is still an intset")
	}
}
