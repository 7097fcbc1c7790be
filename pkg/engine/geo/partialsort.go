package geo

// partialSort orders a so that positions lo..hi hold what a full sort
// would put there. It is Redis's pqsort (Bentley and McIlroy's quicksort
// that skips the partitions outside lo..hi), step for step: the sort is not
// stable, and COUNT results with equal distances come out in the order
// this particular algorithm leaves them.
func partialSort(a []Point, cmp func(x, y *Point) int, lo, hi int) {
	pqsort(a, 0, len(a), cmp, lo, hi)
}

func med3(a []Point, i, j, k int, cmp func(x, y *Point) int) int {
	if cmp(&a[i], &a[j]) < 0 {
		if cmp(&a[j], &a[k]) < 0 {
			return j
		}
		if cmp(&a[i], &a[k]) < 0 {
			return k
		}
		return i
	}
	if cmp(&a[j], &a[k]) > 0 {
		return j
	}
	if cmp(&a[i], &a[k]) < 0 {
		return i
	}
	return k
}

// swapRun exchanges the n elements at i with the n elements at j.
func swapRun(a []Point, i, j, n int) {
	for ; n > 0; n-- {
		a[i], a[j] = a[j], a[i]
		i++
		j++
	}
}

// pqsort sorts a[base:base+n] as far as positions lo..hi (absolute
// indexes into a) need it.
func pqsort(a []Point, base, n int, cmp func(x, y *Point) int, lo, hi int) {
	for {
		if n < 7 { // insertion sort
			for m := base + 1; m < base+n; m++ {
				for l := m; l > base && cmp(&a[l-1], &a[l]) > 0; l-- {
					a[l], a[l-1] = a[l-1], a[l]
				}
			}
			return
		}
		pm := base + n/2
		if n > 7 {
			pl, pn := base, base+n-1
			if n > 40 {
				d := n / 8
				pl = med3(a, pl, pl+d, pl+2*d, cmp)
				pm = med3(a, pm-d, pm, pm+d, cmp)
				pn = med3(a, pn-2*d, pn-d, pn, cmp)
			}
			pm = med3(a, pl, pm, pn, cmp)
		}
		a[base], a[pm] = a[pm], a[base]
		pa, pb := base+1, base+1
		pc, pd := base+n-1, base+n-1
		for {
			for pb <= pc {
				r := cmp(&a[pb], &a[base])
				if r > 0 {
					break
				}
				if r == 0 {
					a[pa], a[pb] = a[pb], a[pa]
					pa++
				}
				pb++
			}
			for pb <= pc {
				r := cmp(&a[pc], &a[base])
				if r < 0 {
					break
				}
				if r == 0 {
					a[pc], a[pd] = a[pd], a[pc]
					pd--
				}
				pc--
			}
			if pb > pc {
				break
			}
			a[pb], a[pc] = a[pc], a[pb]
			pb++
			pc--
		}
		pn := base + n
		r := min(pa-base, pb-pa)
		swapRun(a, base, pb-r, r)
		r = min(pd-pc, pn-pd-1)
		swapRun(a, pb, pn-r, r)
		// recurse into the left part, loop on the right one, skipping
		// either when lo..hi lies wholly outside it
		if r = pb - pa; r > 1 && overlaps(base, base+r-1, lo, hi) {
			pqsort(a, base, r, cmp, lo, hi)
		}
		r = pd - pc
		if r <= 1 {
			return
		}
		base, n = pn-r, r
		if !overlaps(base, base+r-1, lo, hi) {
			return
		}
	}
}

// overlaps reports whether lo..hi is not wholly before or after first..last.
func overlaps(first, last, lo, hi int) bool {
	return !(lo < first && hi < first || lo > last && hi > last)
}
