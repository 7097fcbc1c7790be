package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
)

// DecodeDump verifies a DUMP payload (footer version <= MaxVersion, CRC64)
// and decodes the object in it. Every encoding Redis 7.0 and 7.2 write is
// understood, plus the older ones (ziplist, zipmap, quicklist 1, ZSET with
// string scores, Redis 5 streams). Module types are reported as unsupported.
func DecodeDump(payload []byte) (Value, error) { return decodeDump(payload, true) }

// DecodeDumpView is DecodeDump for a caller that is done with the value
// before it reuses payload: the value's slices may point into payload,
// which spares a copy of the whole body.
func DecodeDumpView(payload []byte) (Value, error) { return decodeDump(payload, false) }

func decodeDump(payload []byte, private bool) (Value, error) {
	if len(payload) < 11 { // type byte + at least 1 byte of object + footer
		return Value{}, corrupt("DUMP payload too short (%d bytes)", len(payload))
	}
	body := payload[:len(payload)-10]
	version := binary.LittleEndian.Uint16(payload[len(payload)-10:])
	if version > MaxVersion {
		return Value{}, fmt.Errorf("%w: %w: RDB version %d is newer than %d", ErrCorrupt, ErrBadFooter, version, MaxVersion)
	}
	want := binary.LittleEndian.Uint64(payload[len(payload)-8:])
	if got := CRC64(0, payload[:len(payload)-8]); got != want {
		return Value{}, fmt.Errorf("%w: %w: CRC64 mismatch", ErrCorrupt, ErrBadFooter)
	}
	// One private copy of the body backs every returned slice, so the caller
	// may reuse payload; the copy lives as long as any element of the value.
	if private {
		body = bytes.Clone(body)
	}
	s := &bytesSource{b: body}
	t, err := s.readByte()
	if err != nil {
		return Value{}, err
	}
	v, err := decodeObject(s, t)
	if err != nil {
		return Value{}, err
	}
	if s.pos != len(body) {
		return Value{}, corrupt("%d unexpected bytes after the object", len(body)-s.pos)
	}
	if isEmpty(v) {
		return Value{}, corrupt("empty %s", v.Kind)
	}
	return v, nil
}

func isEmpty(v Value) bool {
	switch v.Kind {
	case KindList:
		return len(v.List) == 0
	case KindSet:
		return len(v.Set) == 0
	case KindZSet:
		return len(v.ZSet) == 0
	case KindHash:
		return len(v.Hash) == 0
	}
	return false
}

// String encodings flagged by the top two bits 11 of a length.
const (
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// readLen reads an RDB length. encoded reports the 11 prefix, where the low
// six bits name a special string encoding instead of a length.
func readLen(s source) (n uint64, encoded bool, err error) {
	b0, err := s.readByte()
	if err != nil {
		return 0, false, err
	}
	switch b0 >> 6 {
	case 0:
		return uint64(b0 & 0x3f), false, nil
	case 1:
		b1, err := s.readByte()
		if err != nil {
			return 0, false, err
		}
		return uint64(b0&0x3f)<<8 | uint64(b1), false, nil
	case 2:
		switch b0 {
		case 0x80:
			b, err := s.read(4)
			if err != nil {
				return 0, false, err
			}
			return uint64(binary.BigEndian.Uint32(b)), false, nil
		case 0x81:
			b, err := s.read(8)
			if err != nil {
				return 0, false, err
			}
			return binary.BigEndian.Uint64(b), false, nil
		}
		return 0, false, corrupt("unknown length prefix 0x%02x", b0)
	}
	return uint64(b0 & 0x3f), true, nil
}

// readCount reads a plain length used as an element count and refuses counts
// that could not fit in what is left (every element takes at least a byte).
func readCount(s source) (int, error) {
	n, enc, err := readLen(s)
	if err != nil {
		return 0, err
	}
	if enc {
		return 0, corrupt("encoded length where a count was expected")
	}
	if rem := s.remaining(); rem >= 0 && n > uint64(rem) {
		return 0, corrupt("count %d larger than the remaining %d bytes", n, rem)
	}
	if n > math.MaxInt32 {
		return 0, corrupt("count %d too large", n)
	}
	return int(n), nil
}

// prealloc caps an up-front allocation when the input size is unknown.
func prealloc(n int, s source) int {
	if s.remaining() < 0 {
		return min(n, 4096)
	}
	return n
}

// readString reads an RDB string in any encoding (raw, int, LZF).
func readString(s source) ([]byte, error) {
	n, enc, err := readLen(s)
	if err != nil {
		return nil, err
	}
	if !enc {
		return s.read(n)
	}
	switch n {
	case encInt8:
		b, err := s.read(1)
		if err != nil {
			return nil, err
		}
		return formatInt(int64(int8(b[0]))), nil
	case encInt16:
		b, err := s.read(2)
		if err != nil {
			return nil, err
		}
		return formatInt(int64(int16(binary.LittleEndian.Uint16(b)))), nil
	case encInt32:
		b, err := s.read(4)
		if err != nil {
			return nil, err
		}
		return formatInt(int64(int32(binary.LittleEndian.Uint32(b)))), nil
	case encLZF:
		clen, cenc, err := readLen(s)
		if err != nil {
			return nil, err
		}
		ulen, uenc, err := readLen(s)
		if err != nil {
			return nil, err
		}
		if cenc || uenc {
			return nil, corrupt("LZF string with encoded lengths")
		}
		if ulen > math.MaxInt32 {
			return nil, corrupt("LZF string of %d bytes too large", ulen)
		}
		data, err := s.read(clen)
		if err != nil {
			return nil, err
		}
		return lzfDecompress(data, int(ulen))
	}
	return nil, corrupt("unknown string encoding %d", n)
}

func formatInt(v int64) []byte {
	b := strconv.AppendInt(nil, v, 10)
	return b[:len(b):len(b)]
}

// readStringDouble reads the pre-ZSET_2 score format: a length byte (253 NaN,
// 254 +inf, 255 -inf) then that many ASCII bytes.
func readStringDouble(s source) (float64, error) {
	n, err := s.readByte()
	if err != nil {
		return 0, err
	}
	switch n {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	b, err := s.read(uint64(n))
	if err != nil {
		return 0, err
	}
	return parseScore(b)
}

func parseScore(b []byte) (float64, error) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, corrupt("bad score %q", b)
	}
	return f, nil
}

// decodeObject reads the object of RDB type t.
func decodeObject(s source, t byte) (Value, error) {
	switch t {
	case typeString:
		b, err := readString(s)
		return Value{Kind: KindString, Str: b}, err
	case typeList, typeSet:
		items, err := readStrings(s)
		if t == typeList {
			return Value{Kind: KindList, List: items}, err
		}
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: KindSet, Set: items}, uniqueMembers(items)
	case typeZSet, typeZSet2:
		return readZSet(s, t == typeZSet2)
	case typeHash:
		return readHash(s)
	case typeListQuicklist, typeListQuicklist2:
		return readQuicklist(s, t == typeListQuicklist2)
	case typeHashZipmap, typeListZiplist, typeSetIntset, typeZSetZiplist,
		typeHashZiplist, typeHashListpack, typeZSetListpack, typeSetListpack:
		blob, err := readString(s)
		if err != nil {
			return Value{}, err
		}
		return decodeBlob(t, blob)
	case typeModule, typeModule2:
		return Value{}, fmt.Errorf("%w: module values are not supported", ErrUnsupported)
	case typeStreamLP, typeStreamLP2, typeStreamLP3:
		return readStream(s, t)
	}
	return Value{}, corrupt("unknown object type %d", t)
}

// decodeBlob decodes the single-string compact encodings.
func decodeBlob(t byte, blob []byte) (Value, error) {
	var items [][]byte
	var err error
	switch t {
	case typeHashZipmap:
		items, err = zipmapEntries(blob)
	case typeListZiplist, typeZSetZiplist, typeHashZiplist:
		items, err = ziplistEntries(blob)
	case typeSetIntset:
		items, err = intsetEntries(blob)
	default:
		items, err = listpackEntries(blob)
	}
	if err != nil {
		return Value{}, err
	}
	switch t {
	case typeListZiplist:
		return Value{Kind: KindList, List: items}, nil
	case typeSetIntset, typeSetListpack:
		return Value{Kind: KindSet, Set: items}, uniqueMembers(items)
	case typeZSetZiplist, typeZSetListpack:
		return pairsToZSet(items)
	}
	return pairsToHash(items)
}

func readStrings(s source) ([][]byte, error) {
	n, err := readCount(s)
	if err != nil {
		return nil, err
	}
	items := make([][]byte, 0, prealloc(n, s))
	for range n {
		b, err := readString(s)
		if err != nil {
			return nil, err
		}
		items = append(items, b)
	}
	return items, nil
}

func readZSet(s source, binaryScores bool) (Value, error) {
	n, err := readCount(s)
	if err != nil {
		return Value{}, err
	}
	members := make([]ZMember, 0, prealloc(n, s))
	for range n {
		m, err := readString(s)
		if err != nil {
			return Value{}, err
		}
		var score float64
		if binaryScores {
			bits, err := readUint64LE(s)
			if err != nil {
				return Value{}, err
			}
			score = math.Float64frombits(bits)
		} else if score, err = readStringDouble(s); err != nil {
			return Value{}, err
		}
		if math.IsNaN(score) {
			return Value{}, corrupt("sorted set member with NaN score")
		}
		members = append(members, ZMember{Member: m, Score: score})
	}
	return Value{Kind: KindZSet, ZSet: members}, uniqueZMembers(members)
}

func readHash(s source) (Value, error) {
	n, err := readCount(s)
	if err != nil {
		return Value{}, err
	}
	fields := make([]Field, 0, prealloc(n, s))
	for range n {
		name, err := readString(s)
		if err != nil {
			return Value{}, err
		}
		val, err := readString(s)
		if err != nil {
			return Value{}, err
		}
		fields = append(fields, Field{Name: name, Value: val})
	}
	return Value{Kind: KindHash, Hash: fields}, uniqueFields(fields)
}

// readQuicklist reads a list of nodes: ziplists (quicklist 1), or listpacks
// and plain single elements each preceded by its container (quicklist 2).
func readQuicklist(s source, v2 bool) (Value, error) {
	n, err := readCount(s)
	if err != nil {
		return Value{}, err
	}
	var items [][]byte
	for range n {
		container := uint64(containerPacked)
		if v2 {
			var enc bool
			if container, enc, err = readLen(s); err != nil {
				return Value{}, err
			}
			if enc || (container != containerPlain && container != containerPacked) {
				return Value{}, corrupt("unknown quicklist container %d", container)
			}
		}
		blob, err := readString(s)
		if err != nil {
			return Value{}, err
		}
		if container == containerPlain {
			items = append(items, blob)
			continue
		}
		var node [][]byte
		if v2 {
			node, err = listpackEntries(blob)
		} else {
			node, err = ziplistEntries(blob)
		}
		if err != nil {
			return Value{}, err
		}
		items = append(items, node...)
	}
	return Value{Kind: KindList, List: items}, nil
}

func pairsToHash(items [][]byte) (Value, error) {
	if len(items)%2 != 0 {
		return Value{}, corrupt("hash with an odd number of entries")
	}
	fields := make([]Field, 0, len(items)/2)
	for i := 0; i < len(items); i += 2 {
		fields = append(fields, Field{Name: items[i], Value: items[i+1]})
	}
	return Value{Kind: KindHash, Hash: fields}, uniqueFields(fields)
}

func pairsToZSet(items [][]byte) (Value, error) {
	if len(items)%2 != 0 {
		return Value{}, corrupt("sorted set with an odd number of entries")
	}
	members := make([]ZMember, 0, len(items)/2)
	for i := 0; i < len(items); i += 2 {
		score, err := parseScore(items[i+1])
		if err != nil {
			return Value{}, err
		}
		if math.IsNaN(score) {
			return Value{}, corrupt("sorted set member with NaN score")
		}
		members = append(members, ZMember{Member: items[i], Score: score})
	}
	return Value{Kind: KindZSet, ZSet: members}, uniqueZMembers(members)
}

// Duplicates would break the store's invariants; Redis refuses them too.
func uniqueMembers(items [][]byte) error {
	if hasDuplicates(len(items), func(i int) []byte { return items[i] }) {
		return corrupt("duplicate set member")
	}
	return nil
}

func uniqueFields(fields []Field) error {
	if hasDuplicates(len(fields), func(i int) []byte { return fields[i].Name }) {
		return corrupt("duplicate hash field")
	}
	return nil
}

func uniqueZMembers(members []ZMember) error {
	if hasDuplicates(len(members), func(i int) []byte { return members[i].Member }) {
		return corrupt("duplicate sorted set member")
	}
	return nil
}

var dupSeed = maphash.MakeSeed()

// hasDuplicates reports whether two of the n byte strings are equal. It keys
// a map by 64-bit hash to avoid a string allocation per element, and only on
// a hash collision falls back to sorting, which is exact.
func hasDuplicates(n int, get func(int) []byte) bool {
	if n <= 8 {
		for i := range n {
			for j := range i {
				if bytes.Equal(get(i), get(j)) {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[uint64]struct{}, n)
	for i := range n {
		h := maphash.Bytes(dupSeed, get(i))
		if _, hit := seen[h]; hit {
			all := make([][]byte, n)
			for k := range n {
				all[k] = get(k)
			}
			slices.SortFunc(all, bytes.Compare)
			for k := 1; k < n; k++ {
				if bytes.Equal(all[k-1], all[k]) {
					return true
				}
			}
			return false
		}
		seen[h] = struct{}{}
	}
	return false
}
