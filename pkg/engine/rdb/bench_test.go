package rdb

import (
	"fmt"
	"testing"
)

func benchValues() map[string]Value {
	small := Value{Kind: KindHash}
	for i := range 5 {
		small.Hash = append(small.Hash, Field{fmt.Appendf(nil, "field%d", i), fmt.Appendf(nil, "value%d", i)})
	}
	list := Value{Kind: KindList}
	zset := Value{Kind: KindZSet}
	for i := range 10000 {
		list.List = append(list.List, fmt.Appendf(nil, "element-%d", i))
		zset.ZSet = append(zset.ZSet, ZMember{fmt.Appendf(nil, "member-%d", i), float64(i)})
	}
	return map[string]Value{
		"string100": {Kind: KindString, Str: make([]byte, 100)},
		"hash5":     small,
		"list10k":   list,
		"zset10k":   zset,
	}
}

func BenchmarkEncodeDump(b *testing.B) {
	for name, v := range benchValues() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				EncodeDump(v)
			}
		})
	}
}

func BenchmarkDecodeDump(b *testing.B) {
	for name, v := range benchValues() {
		p := EncodeDump(v)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if _, err := DecodeDump(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
