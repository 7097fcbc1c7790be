package cluster

import (
	"math/rand/v2"
	"testing"
)

// naiveRanges is slotRanges the slow way: one bit at a time.
func naiveRanges(b *slotBitmap) [][2]int {
	var out [][2]int
	for j := 0; j < NumSlots; j++ {
		if !b.has(j) {
			continue
		}
		start := j
		for j+1 < NumSlots && b.has(j+1) {
			j++
		}
		out = append(out, [2]int{start, j})
	}
	return out
}

// bitmapCases are edge layouts (first and last slot, word boundaries, full)
// plus random ones of several densities.
func bitmapCases() []*slotBitmap {
	var cases []*slotBitmap
	add := func(slots ...int) {
		b := new(slotBitmap)
		for _, s := range slots {
			b.set(s)
		}
		cases = append(cases, b)
	}
	add()
	add(0)
	add(NumSlots - 1)
	add(63, 64)
	add(0, 63, 64, 127, 128, NumSlots-64, NumSlots-1)
	full := new(slotBitmap)
	for j := range NumSlots {
		full.set(j)
	}
	cases = append(cases, full)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, density := range []float64{0.001, 0.1, 0.5, 0.9, 0.999} {
		b := new(slotBitmap)
		for j := range NumSlots {
			if rng.Float64() < density {
				b.set(j)
			}
		}
		cases = append(cases, b)
	}
	return cases
}

func TestSlotBitmapRangesMatchBitByBit(t *testing.T) {
	for i, b := range bitmapCases() {
		var got [][2]int
		b.eachRange(func(s, e int) { got = append(got, [2]int{s, e}) })
		want := naiveRanges(b)
		if len(got) != len(want) {
			t.Fatalf("case %d: %d ranges, want %d", i, len(got), len(want))
		}
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("case %d range %d: %v, want %v", i, k, got[k], want[k])
			}
		}
	}
}

func TestSlotBitmapEachSetAndNot(t *testing.T) {
	cases := bitmapCases()
	for i, b := range cases {
		except := cases[(i+3)%len(cases)]
		var got []int
		b.eachSetAndNot(except, func(s int) bool { got = append(got, s); return true })
		var want []int
		for j := range NumSlots {
			if b.has(j) && !except.has(j) {
				want = append(want, j)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("case %d: %d slots, want %d", i, len(got), len(want))
		}
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("case %d slot %d: %d, want %d", i, k, got[k], want[k])
			}
		}
		// Stopping early visits exactly one slot.
		visited := 0
		b.eachSetAndNot(nil, func(int) bool { visited++; return false })
		if n := b.count(); min(n, 1) != visited {
			t.Fatalf("case %d: early stop visited %d slots of %d", i, visited, n)
		}
	}
}
