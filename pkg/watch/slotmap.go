package watch

import (
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// Cell is one segment of the slot band: a run of consecutive slots.
type Cell struct {
	First, Last int   // slots covered, inclusive
	Owner       int16 // the master serving most of them; OwnerNone if any is a hole
	Mixed       bool  // more than one master serves slots in it
	Open        bool  // some slot in it is migrating or importing
}

// Band cuts the 16384 slots into n cells (n is clamped to 1..16384) so a
// map can draw them: a hole anywhere in a cell marks the whole cell, so
// that one missing slot still shows.
func Band(owner *[slots.Count]int16, open []int, n int) []Cell {
	n = min(max(n, 1), slots.Count)
	isOpen := make([]bool, slots.Count)
	for _, s := range open {
		if slots.Valid(s) {
			isOpen[s] = true
		}
	}
	cells := make([]Cell, n)
	counts := map[int16]int{}
	for i := range cells {
		c := &cells[i]
		c.First, c.Last = i*slots.Count/n, (i+1)*slots.Count/n-1
		clear(counts)
		hole := false
		for s := c.First; s <= c.Last; s++ {
			o := owner[s]
			if o == OwnerNone {
				hole = true
			}
			counts[o]++
			c.Open = c.Open || isOpen[s]
		}
		c.Mixed = len(counts) > 1
		best, bestN := OwnerNone, -1
		for o, k := range counts {
			if o != OwnerNone && (k > bestN || k == bestN && o < best) {
				best, bestN = o, k
			}
		}
		c.Owner = best
		if hole {
			c.Owner = OwnerNone
		}
	}
	return cells
}

// Owners maps each slot to the index in masters of the master serving
// it (its own claim), OwnerNone where nobody does.
func Owners(masters []*topology.Node) *[slots.Count]int16 {
	var owner [slots.Count]int16
	for i := range owner {
		owner[i] = OwnerNone
	}
	for i, m := range masters {
		for _, r := range m.Slots.Ranges() {
			for s := r.Start; s <= r.End; s++ {
				owner[s] = int16(i)
			}
		}
	}
	return &owner
}
