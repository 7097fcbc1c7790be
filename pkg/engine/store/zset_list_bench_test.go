package store

import (
	"strconv"
	"testing"
)

func bigZSet(n int) *ZSet {
	z := NewZSet()
	for i := range n {
		z.Add([]byte("element:"+strconv.Itoa(i)), float64(i%977), nil)
	}
	return z
}

// BenchmarkZSetPopMin: one pop at the low end of a 100k-member tree, with
// a member added back each time so the size stays put.
func BenchmarkZSetPopMin(b *testing.B) {
	z := bigZSet(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m := z.PopEnd(1, true)
		z.Add(m[0].Member, m[0].Score+1000, nil)
	}
}

// BenchmarkZSetPopMinOnly: pops alone (the set drains; refilled off the clock).
func BenchmarkZSetPopMinOnly(b *testing.B) {
	z := bigZSet(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if z.Len() == 0 {
			b.StopTimer()
			z = bigZSet(100_000)
			b.StartTimer()
		}
		z.PopEnd(1, true)
	}
}

// BenchmarkListPush: LPUSH or RPUSH onto one long list.
func BenchmarkListPush(b *testing.B) {
	for _, end := range []struct {
		name string
		push func(*List, []byte)
	}{{"front", (*List).PushFront}, {"back", (*List).PushBack}} {
		b.Run(end.name, func(b *testing.B) {
			var l List
			v := []byte("xxx")
			b.ReportAllocs()
			for range b.N {
				end.push(&l, v)
			}
		})
	}
}
