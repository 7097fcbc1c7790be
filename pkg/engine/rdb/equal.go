package rdb

import (
	"bytes"
	"slices"
)

// SameDumps reports whether two DUMP payloads hold the same value. Equal
// bytes are the same value; otherwise both are decoded and compared as
// values, because Redis serializes large hashes and sets in hash-table
// order, which differs between two nodes holding identical data. A payload
// that cannot be decoded (a newer RDB version, a module type) is never the same.
func SameDumps(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, err := DecodeDump(a)
	if err != nil {
		return false
	}
	vb, err := DecodeDump(b)
	if err != nil || va.Kind != vb.Kind {
		return false
	}
	switch va.Kind {
	case KindString:
		return bytes.Equal(va.Str, vb.Str)
	case KindList:
		return slices.EqualFunc(va.List, vb.List, bytes.Equal)
	case KindSet:
		return slices.EqualFunc(sortedBytes(va.Set), sortedBytes(vb.Set), bytes.Equal)
	case KindHash:
		sortFields := func(fs []Field) []Field {
			out := slices.Clone(fs)
			slices.SortFunc(out, func(x, y Field) int { return bytes.Compare(x.Name, y.Name) })
			return out
		}
		return slices.EqualFunc(sortFields(va.Hash), sortFields(vb.Hash), func(x, y Field) bool {
			return bytes.Equal(x.Name, y.Name) && bytes.Equal(x.Value, y.Value)
		})
	case KindZSet:
		sortMembers := func(ms []ZMember) []ZMember {
			out := slices.Clone(ms)
			slices.SortFunc(out, func(x, y ZMember) int { return bytes.Compare(x.Member, y.Member) })
			return out
		}
		return slices.EqualFunc(sortMembers(va.ZSet), sortMembers(vb.ZSet), func(x, y ZMember) bool {
			return bytes.Equal(x.Member, y.Member) && x.Score == y.Score
		})
	case KindStream:
		// nodes, metadata and groups are serialized in one order: the
		// engine's own encodings compare byte for byte
		return bytes.Equal(EncodeDump(va), EncodeDump(vb))
	}
	return false
}

func sortedBytes(in [][]byte) [][]byte {
	out := slices.Clone(in)
	slices.SortFunc(out, bytes.Compare)
	return out
}
