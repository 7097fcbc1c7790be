package geo

import (
	"slices"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Point is a member found by a search.
type Point struct {
	Member   []byte
	Score    float64
	Lon, Lat float64
	Dist     float64 // meters from the shape's center
}

// boxScores is the score interval [min, max) of the members inside a box:
// every 52-bit score that starts with the box's bits.
func boxScores(h Bits) (float64, float64) {
	lo := Align52(h)
	h.Bits++
	return float64(lo), float64(Align52(h))
}

// Search returns the members of z inside the shape, in the order Redis
// visits them: box by box, each in score order. With limit > 0 (COUNT
// ANY) it stops once it has found limit members.
func Search(z *store.ZSet, s *Shape, limit int64) []Point {
	boxes := s.searchBoxes()
	var found []Point
	last := 0 // the last box searched; box 0 is never compared
	for i, box := range boxes {
		if box.isZero() {
			continue
		}
		// Huge radii give equal neighbours; a box equal to the one searched
		// just before is skipped so its members are not listed twice.
		if last != 0 && box == boxes[last] {
			continue
		}
		if limit > 0 && int64(len(found)) >= limit {
			break
		}
		lo, hi := boxScores(box)
		for m := range z.Ascend(z.FirstAbove(store.ScoreBound{Value: lo})) {
			if !(m.Score < hi) {
				break
			}
			lon, lat := Decode(m.Score)
			if dist, ok := s.Contains(lon, lat); ok {
				found = append(found, Point{Member: m.Member, Score: m.Score, Lon: lon, Lat: lat, Dist: dist})
			}
			if limit > 0 && int64(len(found)) >= limit {
				break
			}
		}
		last = i
	}
	return found
}

// Order sorts points by distance, ascending unless desc, as redis-server
// does: a stable sort when every point is returned (glibc's qsort is a
// merge sort), Redis's partial quicksort when only the first count are.
func Order(points []Point, desc bool, count int64) {
	cmp := func(a, b *Point) int {
		// C's comparator: a NaN distance (asin of a rounding above 1)
		// compares below anything, both ways
		c := -1
		if a.Dist > b.Dist {
			c = 1
		} else if a.Dist == b.Dist {
			c = 0
		}
		if desc {
			c = -c
		}
		return c
	}
	if count <= 0 || count >= int64(len(points)) {
		slices.SortStableFunc(points, func(a, b Point) int { return cmp(&a, &b) })
		return
	}
	partialSort(points, cmp, 0, int(count)-1)
}
