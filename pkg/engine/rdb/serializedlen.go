package rdb

import (
	"math"
	"strconv"
)

// SerializedLen is how many bytes v's body takes in an RDB file written
// with rdbcompression on (Redis's default), which DEBUG OBJECT reports as
// "serializedlength". compact says the value is in a compact encoding
// (listpack hash or sorted set): Redis then writes the whole listpack as
// one string, where this package otherwise writes hashes and sorted sets
// element by element.
func SerializedLen(v Value, compact bool) int {
	compressed := func(buf, s []byte) []byte { return appendMaybeCompressed(buf, s, appendRawString) }
	switch {
	case compact && v.Kind == KindHash:
		lp := newListpackBuilder()
		for _, f := range v.Hash {
			lp.add(f.Name)
			lp.add(f.Value)
		}
		lp.finish()
		return len(compressed(nil, lp.buf))
	case compact && v.Kind == KindZSet:
		lp := newListpackBuilder()
		for _, m := range v.ZSet {
			lp.add(m.Member)
			lp.add(listpackScore(m.Score))
		}
		lp.finish()
		return len(compressed(nil, lp.buf))
	}
	return len(appendObject(nil, nil, v, true)) - 1 // less the type byte
}

// listpackScore is a score as a listpack of a sorted set keeps it: an
// integer when it is one, else the shortest text that reads back the same.
func listpackScore(f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.AppendInt(nil, int64(f), 10)
	}
	return strconv.AppendFloat(nil, f, 'g', 17, 64)
}
