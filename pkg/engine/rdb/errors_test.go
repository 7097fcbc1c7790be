package rdb

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestDecodeDumpRejectsDamage(t *testing.T) {
	good := EncodeDump(Value{Kind: KindList, List: strs("alpha", "beta", "12", strings.Repeat("g", 300))})
	if _, err := DecodeDump(good); err != nil {
		t.Fatalf("baseline payload: %v", err)
	}
	flipped := append([]byte(nil), good...)
	flipped[3] ^= 0x20
	if _, err := DecodeDump(flipped); !errors.Is(err, ErrBadFooter) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "CRC64") {
		t.Errorf("flipped byte: err = %v, want ErrBadFooter about the CRC64", err)
	}
	body := good[:len(good)-10]
	if _, err := DecodeDump(withFooter(body, 12)); !errors.Is(err, ErrBadFooter) || !strings.Contains(err.Error(), "version 12") {
		t.Errorf("version 12: err = %v, want ErrBadFooter about the version", err)
	}
	if _, err := DecodeDump(withFooter(appendLen([]byte{typeSet}, 1<<40), 10)); errors.Is(err, ErrBadFooter) || !errors.Is(err, ErrCorrupt) {
		t.Errorf("bad object: err = %v, want ErrCorrupt but not ErrBadFooter", err)
	}
	if _, err := DecodeDump(withFooter(body, 11)); err != nil {
		t.Errorf("version 11 (Redis 7.2) must be accepted: %v", err)
	}
	if _, err := DecodeDump(withFooter(append(append([]byte(nil), body...), 0), 10)); err == nil {
		t.Error("trailing byte after the object accepted")
	}
	// Every truncation fails, both with the original footer bytes cut off
	// and with a valid footer over the truncated body.
	for n := range len(good) {
		if _, err := DecodeDump(good[:n]); err == nil {
			t.Fatalf("payload cut to %d bytes accepted", n)
		}
		if n < len(body) {
			if _, err := DecodeDump(withFooter(body[:n], 10)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("body cut to %d bytes: err = %v, want ErrCorrupt", n, err)
			}
		}
	}
}

func TestDecodeDumpRejectsBadObjects(t *testing.T) {
	lzfBomb := append([]byte{typeString, 0xc0 | encLZF}, appendLen(appendLen(nil, 2), math.MaxInt32)...)
	lzfBomb = append(lzfBomb, 0, 'a')
	cases := []struct {
		name, want string
		body       []byte
	}{
		{"unknown type", "unknown object type", []byte{99, 0}},
		{"stream truncated", "unexpected end", []byte{typeStreamLP3, 0}},
		{"module", "module values are not supported", []byte{typeModule2, 0}},
		{"huge count", "count", appendLen([]byte{typeSet}, 1<<40)},
		{"huge string", "unexpected end", appendLen([]byte{typeString}, 1<<62)},
		{"lzf bomb", "lzf", lzfBomb},
		{"bad length prefix", "length prefix", []byte{typeString, 0x82}},
		{"bad string encoding", "string encoding", []byte{typeString, 0xc5}},
		{"duplicate set member", "duplicate", appendString(appendString(appendLen([]byte{typeSet}, 2), []byte("a")), []byte("a"))},
		{"duplicate hash field", "duplicate", appendRawString([]byte{typeHashListpack}, buildListpack("f", "1", "f", "2"))},
		{"duplicate zset member", "duplicate", appendRawString([]byte{typeZSetZiplist}, buildZiplist("m", "1", "m", "2"))},
		{"odd hash listpack", "odd", appendRawString([]byte{typeHashListpack}, buildListpack("f", "1", "g"))},
		{"bad zset score", "bad score", appendRawString([]byte{typeZSetListpack}, buildListpack("m", "x1"))},
		{"nan score", "NaN", append(appendString(appendLen([]byte{typeZSet2}, 1), []byte("m")), 1, 0, 0, 0, 0, 0, 0xf8, 0x7f)},
		{"empty list", "empty list", appendLen([]byte{typeList}, 0)},
		{"empty hash listpack", "empty hash", appendRawString([]byte{typeHashListpack}, buildListpack())},
		{"bad quicklist container", "container", appendRawString(appendLen(appendLen([]byte{typeListQuicklist2}, 1), 3), buildListpack("a"))},
		{"unsorted intset", "not sorted", appendRawString([]byte{typeSetIntset}, []byte{2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0})},
		{"intset bad width", "width", appendRawString([]byte{typeSetIntset}, []byte{3, 0, 0, 0, 0, 0, 0, 0})},
		{"listpack size lie", "size header", appendRawString([]byte{typeSetListpack}, []byte{99, 0, 0, 0, 0, 0, 0xff})},
		{"listpack count lie", "declares", appendRawString([]byte{typeSetListpack}, []byte{9, 0, 0, 0, 2, 0, 1, 1, 0xff})},
		{"ziplist truncated entry", "past end", appendRawString([]byte{typeListZiplist}, []byte{11, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0})},
	}
	for _, tc := range cases {
		_, err := DecodeDump(withFooter(tc.body, 10))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// Redis 7.2 writes small sets as listpacks (type 20) in version-11 payloads.
func TestDecodeSetListpack(t *testing.T) {
	body := appendRawString([]byte{typeSetListpack}, buildListpack("a", "", "-5", "9223372036854775807"))
	v, err := DecodeDump(withFooter(body, 11))
	if err != nil {
		t.Fatal(err)
	}
	if d := diffValues(v, Value{Kind: KindSet, Set: strs("a", "", "-5", "9223372036854775807")}); d != "" {
		t.Fatal(d)
	}
}

// Decoded slices must not alias the payload: the server reuses its buffers.
func TestDecodedValuesDoNotAliasPayload(t *testing.T) {
	payload := EncodeDump(Value{Kind: KindHash, Hash: []Field{{[]byte("field"), []byte("value")}}})
	v, err := DecodeDump(payload)
	if err != nil {
		t.Fatal(err)
	}
	for i := range payload {
		payload[i] = 'X'
	}
	if string(v.Hash[0].Name) != "field" || string(v.Hash[0].Value) != "value" {
		t.Fatalf("decoded value changed with the payload: %q", v.Hash)
	}
	// Appending to an element taken from a listpack must not overwrite the next.
	lp, err := DecodeDump(withFooter(appendRawString([]byte{typeHashListpack}, buildListpack("f", "v", "g", "w")), 10))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(lp.Hash[0].Name, "XXXX"...)
	if string(lp.Hash[0].Value) != "v" || string(lp.Hash[1].Name) != "g" {
		t.Fatalf("append to one element changed its neighbours: %q", lp.Hash)
	}
}

func TestDuplicateDetectionInLargeCollections(t *testing.T) {
	members := strs(intStrings(1000, 40, 1)...)
	if err := uniqueMembers(members); err != nil {
		t.Fatalf("distinct members reported as duplicates: %v", err)
	}
	members = append(members, []byte("1020"))
	if err := uniqueMembers(members); err == nil {
		t.Fatal("duplicate in a large set not found")
	}
	body := appendLen([]byte{typeSet}, uint64(len(members)))
	for _, m := range members {
		body = appendString(body, m)
	}
	if _, err := DecodeDump(withFooter(body, 10)); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("DecodeDump of a large set with a duplicate: err = %v", err)
	}
}
