package rdb

import (
	"encoding/binary"
	"math"
	"slices"
)

// EncodeDump serializes v as a DUMP payload for RDB version 10 (Redis 7.0):
// strings raw or int-encoded, lists as quicklist 2 of listpack nodes, sets as
// an intset when small and all-integer or else a plain set, sorted sets as
// ZSET_2 and hashes as a listpack when Compact, else plain. Set members, hash fields and sorted-set members
// must be unique and scores not NaN (the store guarantees both); Redis
// refuses payloads that break these rules.
func EncodeDump(v Value) []byte {
	buf := make([]byte, 0, 64+estimateSize(v))
	buf = appendObject(buf, nil, v, false)
	buf = binary.LittleEndian.AppendUint16(buf, Version)
	return binary.LittleEndian.AppendUint64(buf, CRC64(0, buf))
}

// AppendDump appends v's DUMP payload (what EncodeDump returns) to buf.
func AppendDump(buf []byte, v Value) []byte {
	start := len(buf)
	buf = appendObject(buf, nil, v, false)
	buf = binary.LittleEndian.AppendUint16(buf, Version)
	return binary.LittleEndian.AppendUint64(buf, CRC64(0, buf[start:]))
}

// AppendEntry appends key and v as an RDB file holds them (after any
// expiry): type byte, key, body, strings not compressed.
func AppendEntry(buf []byte, key string, v Value) []byte {
	return appendObject(buf, &key, v, false)
}

func estimateSize(v Value) int {
	n := len(v.Str)
	for _, b := range v.List {
		n += len(b) + 4 // listpack encoding and backlen, node overhead
	}
	for _, b := range v.Set {
		n += len(b) + 2
	}
	for _, f := range v.Hash {
		n += len(f.Name) + len(f.Value) + 4
	}
	for _, m := range v.ZSet {
		n += len(m.Member) + 10
	}
	return n + estimateStreamSize(v.Stream)
}

// Redis' defaults: sets of at most this many integers load as an intset.
const maxIntsetEntries = 512

// Quicklist node limits, close to Redis' default list-max-listpack-size -2
// (8 KB per node); elements this large get a plain node, as in Redis.
const (
	listpackNodeBytes   = 8 << 10
	listpackNodeEntries = 128
	plainNodeThreshold  = 1 << 30
)

// appendObject writes v's type byte, key when not nil, and body; compress
// LZF-compresses strings longer than 20 bytes when that pays, as Redis does
// in RDB files.
func appendObject(buf []byte, key *string, v Value, compress bool) []byte {
	typed := func(typ byte) []byte {
		buf = append(buf, typ)
		if key != nil {
			buf = append(appendLen(buf, uint64(len(*key))), *key...)
		}
		return buf
	}
	str := appendString
	blob := appendRawString
	if compress {
		str = func(buf, s []byte) []byte { return appendMaybeCompressed(buf, s, appendString) }
		blob = func(buf, s []byte) []byte { return appendMaybeCompressed(buf, s, appendRawString) }
	}
	switch v.Kind {
	case KindString:
		buf = typed(typeString)
		return str(buf, v.Str)
	case KindList:
		buf = typed(typeListQuicklist2)
		return appendQuicklist2(buf, v.List, blob)
	case KindSet:
		if is, ok := buildIntset(v.Set); ok {
			buf = typed(typeSetIntset)
			return blob(buf, is)
		}
		buf = typed(typeSet)
		buf = appendLen(buf, uint64(len(v.Set)))
		for _, m := range v.Set {
			buf = str(buf, m)
		}
		return buf
	case KindZSet:
		buf = typed(typeZSet2)
		buf = appendLen(buf, uint64(len(v.ZSet)))
		for _, m := range v.ZSet {
			buf = str(buf, m.Member)
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(m.Score))
		}
		return buf
	case KindHash:
		if v.Compact && len(v.Hash) > 0 {
			lp := newListpackBuilder()
			for _, f := range v.Hash {
				lp.add(f.Name)
				lp.add(f.Value)
			}
			return blob(typed(typeHashListpack), lp.buf[:lp.finish()])
		}
		buf = typed(typeHash)
		buf = appendLen(buf, uint64(len(v.Hash)))
		for _, f := range v.Hash {
			buf = str(buf, f.Name)
			buf = str(buf, f.Value)
		}
		return buf
	case KindStream:
		if v.Stream != nil {
			buf = typed(typeStreamLP2)
			return appendStream(buf, v.Stream, str, blob)
		}
	}
	// An unknown kind is a programming error; encode an empty string rather
	// than panic, so the failure shows as wrong data, not a crashed node.
	return append(typed(typeString), 0)
}

// appendLen writes an RDB length in the shortest of its four forms.
func appendLen(buf []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(buf, byte(n))
	case n < 1<<14:
		return append(buf, byte(n>>8)|0x40, byte(n))
	case n <= math.MaxUint32:
		buf = append(buf, 0x80)
		return binary.BigEndian.AppendUint32(buf, uint32(n))
	}
	buf = append(buf, 0x81)
	return binary.BigEndian.AppendUint64(buf, n)
}

func appendRawString(buf, s []byte) []byte {
	buf = appendLen(buf, uint64(len(s)))
	return append(buf, s...)
}

// appendMaybeCompressed writes s LZF-compressed when it is long enough and
// compresses by at least 4 bytes, else with plain.
func appendMaybeCompressed(buf, s []byte, plain func(buf, s []byte) []byte) []byte {
	if len(s) > 20 {
		if c := lzfCompress(s); c != nil {
			buf = append(buf, 0xc0|encLZF)
			buf = appendLen(appendLen(buf, uint64(len(c))), uint64(len(s)))
			return append(buf, c...)
		}
	}
	return plain(buf, s)
}

// appendString writes s int-encoded when it is a canonical 32-bit integer,
// as Redis does, else raw.
func appendString(buf, s []byte) []byte {
	if len(s) <= 11 {
		if v, ok := parseCanonicalInt(s); ok {
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				return append(buf, 0xc0|encInt8, byte(v))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				buf = append(buf, 0xc0|encInt16)
				return binary.LittleEndian.AppendUint16(buf, uint16(v))
			case v >= math.MinInt32 && v <= math.MaxInt32:
				buf = append(buf, 0xc0|encInt32)
				return binary.LittleEndian.AppendUint32(buf, uint32(v))
			}
		}
	}
	return appendRawString(buf, s)
}

// parseCanonicalInt accepts exactly the strings Redis' string2ll does: the
// decimal form of an int64 with no sign but '-', no leading zeros, no "-0".
func parseCanonicalInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	neg := s[0] == '-'
	digits := s
	if neg {
		digits = s[1:]
	}
	if len(digits) == 0 || digits[0] < '1' || digits[0] > '9' {
		return 0, false
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if u > (math.MaxUint64-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u-1) - 1, true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// buildIntset returns the intset encoding of members when all are canonical
// integers and there are few enough of them.
func buildIntset(members [][]byte) ([]byte, bool) {
	if len(members) == 0 || len(members) > maxIntsetEntries {
		return nil, false
	}
	vals := make([]int64, 0, len(members))
	width := 2
	for _, m := range members {
		v, ok := parseCanonicalInt(m)
		if !ok {
			return nil, false
		}
		switch {
		case v < math.MinInt32 || v > math.MaxInt32:
			width = 8
		case (v < math.MinInt16 || v > math.MaxInt16) && width < 4:
			width = 4
		}
		vals = append(vals, v)
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	is := make([]byte, 8, 8+len(vals)*width)
	binary.LittleEndian.PutUint32(is, uint32(width))
	binary.LittleEndian.PutUint32(is[4:], uint32(len(vals)))
	for _, v := range vals {
		switch width {
		case 2:
			is = binary.LittleEndian.AppendUint16(is, uint16(v))
		case 4:
			is = binary.LittleEndian.AppendUint32(is, uint32(v))
		default:
			is = binary.LittleEndian.AppendUint64(is, uint64(v))
		}
	}
	return is, true
}

// appendQuicklist2 writes the node count, then each node as <container>
// <string>: a listpack of several elements, or one huge element plain.
// Listpacks are built one after another in a single arena to save allocations.
func appendQuicklist2(buf []byte, items [][]byte, blob func(buf, s []byte) []byte) []byte {
	type node struct {
		plain      bool
		start, end int // listpack bytes in lp.buf, or the index of the plain item
	}
	var nodes []node
	arena := 7 * (len(items)/listpackNodeEntries + 1) // listpack headers and ends
	for _, it := range items {
		arena += len(it) + 3 // typical: 1-2 bytes of encoding, 1 of backlen
	}
	lp := listpackBuilder{start: -1, buf: make([]byte, 0, arena)}
	flush := func() {
		if lp.start >= 0 {
			start := lp.start // finish resets it
			nodes = append(nodes, node{start: start, end: lp.finish()})
		}
	}
	for i, it := range items {
		if len(it) >= plainNodeThreshold {
			flush()
			nodes = append(nodes, node{plain: true, start: i})
			continue
		}
		if lp.start >= 0 && (lp.count >= listpackNodeEntries || len(lp.buf)-lp.start+len(it) > listpackNodeBytes) {
			flush()
		}
		if lp.start < 0 {
			lp.begin()
		}
		lp.add(it)
	}
	flush()
	buf = appendLen(buf, uint64(len(nodes)))
	for _, n := range nodes {
		if n.plain {
			buf = blob(appendLen(buf, containerPlain), items[n.start])
		} else {
			buf = blob(appendLen(buf, containerPacked), lp.buf[n.start:n.end])
		}
	}
	return buf
}

// listpackBuilder appends listpacks to buf; start is the offset of the one
// being built, -1 between listpacks.
type listpackBuilder struct {
	buf   []byte
	start int
	count int
}

func newListpackBuilder() *listpackBuilder {
	lp := &listpackBuilder{}
	lp.begin()
	return lp
}

func (l *listpackBuilder) begin() {
	l.start, l.count = len(l.buf), 0
	l.buf = append(l.buf, 0, 0, 0, 0, 0, 0) // header, filled in by finish
}

// add appends one entry, integer-encoded when it is a canonical integer.
func (l *listpackBuilder) add(s []byte) {
	start := len(l.buf)
	if v, ok := parseCanonicalInt(s); ok {
		switch {
		case v >= 0 && v <= 127:
			l.buf = append(l.buf, byte(v))
		case v >= -4096 && v <= 4095:
			u := uint16(v) & 0x1fff
			l.buf = append(l.buf, 0xc0|byte(u>>8), byte(u))
		case v >= math.MinInt16 && v <= math.MaxInt16:
			l.buf = append(l.buf, 0xf1)
			l.buf = binary.LittleEndian.AppendUint16(l.buf, uint16(v))
		case v >= -1<<23 && v < 1<<23:
			l.buf = append(l.buf, 0xf2, byte(v), byte(v>>8), byte(v>>16))
		case v >= math.MinInt32 && v <= math.MaxInt32:
			l.buf = append(l.buf, 0xf3)
			l.buf = binary.LittleEndian.AppendUint32(l.buf, uint32(v))
		default:
			l.buf = append(l.buf, 0xf4)
			l.buf = binary.LittleEndian.AppendUint64(l.buf, uint64(v))
		}
	} else {
		switch n := len(s); {
		case n < 64:
			l.buf = append(l.buf, 0x80|byte(n))
		case n < 4096:
			l.buf = append(l.buf, 0xe0|byte(n>>8), byte(n))
		default:
			l.buf = append(l.buf, 0xf0)
			l.buf = binary.LittleEndian.AppendUint32(l.buf, uint32(n))
		}
		l.buf = append(l.buf, s...)
	}
	l.buf = appendBacklen(l.buf, len(l.buf)-start)
	l.count++
}

// appendBacklen writes an entry's size so the listpack can be walked
// backwards: big-endian 7-bit groups, every byte but the first with bit 7 set.
func appendBacklen(buf []byte, n int) []byte {
	size := backlenSize(n)
	for i := size - 1; i >= 0; i-- {
		b := byte(n>>(7*uint(i))) & 0x7f
		if i != size-1 {
			b |= 0x80
		}
		buf = append(buf, b)
	}
	return buf
}

// finish ends the current listpack, fills in its header and returns the
// offset just past it.
func (l *listpackBuilder) finish() int {
	l.buf = append(l.buf, 0xff)
	lp := l.buf[l.start:]
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	count := l.count
	if count >= math.MaxUint16 {
		count = math.MaxUint16 // "unknown": readers must count
	}
	binary.LittleEndian.PutUint16(lp[4:], uint16(count))
	l.start = -1
	return len(l.buf)
}
