package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
)

// Test-only builders for the legacy encodings EncodeDump never writes, so
// their decoders can be checked against what real Redis loads from them.

// withFooter appends an RDB version and the CRC64 to an object body.
func withFooter(body []byte, version uint16) []byte {
	p := binary.LittleEndian.AppendUint16(append([]byte(nil), body...), version)
	return binary.LittleEndian.AppendUint64(p, CRC64(0, p))
}

// buildZiplist encodes items as a ziplist, integers in the smallest integer
// encoding and strings with the 6-bit, 14-bit or 32-bit length forms.
func buildZiplist(items ...string) []byte {
	zl := make([]byte, 10)
	prev := 0
	for _, it := range items {
		start := len(zl)
		if prev < 254 {
			zl = append(zl, byte(prev))
		} else {
			zl = binary.LittleEndian.AppendUint32(append(zl, 0xfe), uint32(prev))
		}
		if v, ok := parseCanonicalInt([]byte(it)); ok {
			switch {
			case v >= 0 && v <= 12:
				zl = append(zl, 0xf1+byte(v))
			case v >= -128 && v <= 127:
				zl = append(zl, 0xfe, byte(v))
			case v >= -32768 && v <= 32767:
				zl = binary.LittleEndian.AppendUint16(append(zl, 0xc0), uint16(v))
			case v >= -1<<23 && v < 1<<23:
				zl = append(zl, 0xf0, byte(v), byte(v>>8), byte(v>>16))
			case v >= -1<<31 && v < 1<<31:
				zl = binary.LittleEndian.AppendUint32(append(zl, 0xd0), uint32(v))
			default:
				zl = binary.LittleEndian.AppendUint64(append(zl, 0xe0), uint64(v))
			}
		} else {
			switch n := len(it); {
			case n < 64:
				zl = append(zl, byte(n))
			case n < 16384:
				zl = append(zl, 0x40|byte(n>>8), byte(n))
			default:
				zl = binary.BigEndian.AppendUint32(append(zl, 0x80), uint32(n))
			}
			zl = append(zl, it...)
		}
		prev = len(zl) - start
		binary.LittleEndian.PutUint32(zl[4:], uint32(start)) // zltail: offset of the last entry
	}
	if len(items) == 0 {
		binary.LittleEndian.PutUint32(zl[4:], 10)
	}
	zl = append(zl, 0xff)
	binary.LittleEndian.PutUint32(zl, uint32(len(zl)))
	binary.LittleEndian.PutUint16(zl[8:], uint16(len(items)))
	return zl
}

// buildZipmap encodes field/value pairs as a zipmap with one free byte per
// value (to exercise skipping it).
func buildZipmap(pairs ...string) []byte {
	zm := []byte{byte(len(pairs) / 2)}
	putLen := func(n int) {
		if n < 254 {
			zm = append(zm, byte(n))
		} else {
			zm = binary.LittleEndian.AppendUint32(append(zm, 254), uint32(n))
		}
	}
	for i := 0; i < len(pairs); i += 2 {
		putLen(len(pairs[i]))
		zm = append(zm, pairs[i]...)
		putLen(len(pairs[i+1]))
		zm = append(zm, 1)
		zm = append(zm, pairs[i+1]...)
		zm = append(zm, 0)
	}
	return append(zm, 0xff)
}

func buildListpack(items ...string) []byte {
	lp := newListpackBuilder()
	for _, it := range items {
		lp.add([]byte(it))
	}
	return lp.buf[:lp.finish()]
}

func strs(items ...string) [][]byte {
	out := make([][]byte, len(items))
	for i, s := range items {
		out[i] = []byte(s)
	}
	return out
}

// diffValues describes how got differs from want, ignoring the order of set
// members, hash fields and sorted-set members; "" when equal.
func diffValues(got, want Value) string {
	if got.Kind != want.Kind {
		return fmt.Sprintf("kind %s, want %s", got.Kind, want.Kind)
	}
	switch want.Kind {
	case KindString:
		if !bytes.Equal(got.Str, want.Str) {
			return fmt.Sprintf("string %s, want %s", short(got.Str), short(want.Str))
		}
	case KindList:
		return diffLists(got.List, want.List)
	case KindSet:
		return diffLists(sorted(got.Set), sorted(want.Set))
	case KindHash:
		return diffLists(hashLines(got.Hash), hashLines(want.Hash))
	case KindZSet:
		return diffLists(zsetLines(got.ZSet), zsetLines(want.ZSet))
	case KindStream:
		if a, b := EncodeDump(got), EncodeDump(want); !bytes.Equal(a, b) {
			return fmt.Sprintf("stream encodes as %d bytes, want %d", len(a), len(b))
		}
	}
	return ""
}

func diffLists(got, want [][]byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d elements, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			return fmt.Sprintf("element %d is %s, want %s", i, short(got[i]), short(want[i]))
		}
	}
	return ""
}

func short(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", b[:40], len(b))
	}
	return strconv.Quote(string(b))
}

func sorted(items [][]byte) [][]byte {
	out := slices.Clone(items)
	slices.SortFunc(out, bytes.Compare)
	return out
}

func hashLines(h []Field) [][]byte {
	var out [][]byte
	for _, f := range h {
		out = append(out, append(append(slices.Clone(f.Name), 0), f.Value...))
	}
	return sorted(out)
}

func zsetLines(z []ZMember) [][]byte {
	var out [][]byte
	for _, m := range z {
		out = append(out, fmt.Appendf(slices.Clone(m.Member), "\x00%v", m.Score))
	}
	return sorted(out)
}
