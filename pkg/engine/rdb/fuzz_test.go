package rdb

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// FuzzDecodeDump feeds arbitrary bytes to DecodeDump, both as a whole payload
// and as an object body given a valid footer (so mutations get past the
// checksum). It must never panic, and whatever it accepts must survive an
// EncodeDump/DecodeDump round trip unchanged.
func FuzzDecodeDump(f *testing.F) {
	seeds := []Value{
		{Kind: KindString, Str: []byte("hello")},
		{Kind: KindString, Str: []byte("-1234")},
		{Kind: KindList, List: strs("a", "17", "-5000", "", strings.Repeat("x", 70), "99999999999")},
		{Kind: KindSet, Set: strs("1", "2", "-70000", "9000000000")},
		{Kind: KindSet, Set: strs("a", "b")},
		{Kind: KindHash, Hash: []Field{{[]byte("f"), []byte("v")}, {[]byte("g"), []byte("12")}}},
		{Kind: KindZSet, ZSet: []ZMember{{[]byte("m"), 1.5}, {[]byte("n"), math.Inf(-1)}}},
		{Kind: KindStream, Stream: sampleStream()},
	}
	for _, v := range seeds {
		p := EncodeDump(v)
		f.Add(p)
		f.Add(p[:len(p)-10])
	}
	for _, body := range [][]byte{
		appendRawString([]byte{typeListZiplist}, buildZiplist("a", "1", "-300", "100000", strings.Repeat("L", 70))),
		appendRawString([]byte{typeHashZipmap}, buildZipmap("f", "v")),
		appendRawString([]byte{typeZSetListpack}, buildListpack("a", "1.5", "b", "inf")),
		appendRawString([]byte{typeSetListpack}, buildListpack("a", "7")),
		append(appendString(appendLen([]byte{typeZSet}, 1), []byte("m")), 3, '2', '.', '5'),
		{typeString, 0xc3, 4, 9, 2, 'a', 'b', 'c', 0x80, 2},
	} {
		f.Add(body)
		f.Add(withFooter(body, 9))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		DecodeDump(data)
		v, err := DecodeDump(withFooter(data, 10))
		if err != nil {
			return
		}
		again, err := DecodeDump(EncodeDump(v))
		if err != nil {
			t.Fatalf("re-encoded accepted value fails to decode: %v", err)
		}
		if d := diffValues(again, v); d != "" {
			t.Fatalf("round trip changed the value: %s", d)
		}
	})
}

// FuzzScan feeds arbitrary bytes to the RDB file reader, with and without a
// valid trailing checksum. It must never panic.
func FuzzScan(f *testing.F) {
	file := []byte("REDIS0010")
	file = appendString(appendString(append(file, opAux), []byte("redis-ver")), []byte("7.0.15"))
	file = appendLen(append(file, opSelectDB), 0)
	file = appendLen(appendLen(append(file, opResizeDB), 1), 0)
	file = append(file, opExpireTimeMS, 1, 2, 3, 4, 5, 6, 0, 0)
	file = appendString(append(file, typeString), []byte("k"))
	file = appendString(file, []byte("value"))
	file = append(file, typeListQuicklist2)
	file = appendString(file, []byte("l"))
	file = appendQuicklist2(file, strs("a", "1"), appendRawString)
	f.Add(append(file, opEOF))
	f.Fuzz(func(t *testing.T, data []byte) {
		noop := func(Entry) error { return nil }
		Scan(bytes.NewReader(data), int64(len(data)), noop)
		Scan(bytes.NewReader(data), -1, noop)
		withCRC := binary.LittleEndian.AppendUint64(bytes.Clone(data), CRC64(0, data))
		Scan(bytes.NewReader(withCRC), -1, noop)
	})
}

// FuzzLZF checks that whatever lzfCompress produces decompresses to its input.
func FuzzLZF(f *testing.F) {
	f.Add([]byte(strings.Repeat("abc", 100)))
	f.Add([]byte("hello hello hello hello world"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := lzfCompress(data)
		if c == nil {
			return
		}
		out, err := lzfDecompress(c, len(data))
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("round trip of %d bytes failed: %v", len(data), err)
		}
	})
}
