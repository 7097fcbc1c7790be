package rdb

import (
	"bytes"
	"errors"
	"hash/crc64"
	"math"
	"strings"
	"testing"
)

func TestCRC64CheckValue(t *testing.T) {
	// The check value Redis' crc64.c self-test uses.
	if got := CRC64(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("CRC64(123456789) = %#x, want 0xe9c6d914c4b8d9ca", got)
	}
	// Continuing a CRC over a split input gives the same result.
	whole := CRC64(0, []byte("hello, world"))
	if split := CRC64(CRC64(0, []byte("hello, ")), []byte("world")); split != whole {
		t.Fatalf("split CRC %#x != whole %#x", split, whole)
	}
}

func TestLZFDecompress(t *testing.T) {
	// literal "abc" then a 6-byte back-reference 3 bytes back (overlapping).
	in := []byte{2, 'a', 'b', 'c', 4 << 5, 2}
	out, err := lzfDecompress(in, 9)
	if err != nil || string(out) != "abcabcabc" {
		t.Fatalf("got %q, %v", out, err)
	}
	// Long back-reference form: length 7+n.
	in = []byte{0, 'x', 7 << 5, 20, 0}
	out, err = lzfDecompress(in, 1+7+20+2)
	if err != nil || string(out) != strings.Repeat("x", 30) {
		t.Fatalf("got %q, %v", out, err)
	}
	bad := []struct {
		name string
		in   []byte
		n    int
	}{
		{"reference before start", []byte{0, 'a', 1 << 5, 5}, 4},
		{"literal past end", []byte{5, 'a'}, 6},
		{"wrong declared length", []byte{2, 'a', 'b', 'c'}, 4},
		{"output longer than declared", []byte{2, 'a', 'b', 'c', 4 << 5, 2}, 5},
		{"truncated reference", []byte{0, 'a', 1 << 5}, 4},
		{"absurd length", []byte{0, 'a'}, 1 << 30},
	}
	for _, tc := range bad {
		if _, err := lzfDecompress(tc.in, tc.n); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", tc.name, err)
		}
	}
}

func TestLengthEncodings(t *testing.T) {
	for _, n := range []uint64{0, 63, 64, 16383, 16384, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		enc := appendLen(nil, n)
		var wantSize int
		switch {
		case n < 64:
			wantSize = 1
		case n < 16384:
			wantSize = 2
		case n <= math.MaxUint32:
			wantSize = 5
		default:
			wantSize = 9
		}
		if len(enc) != wantSize {
			t.Errorf("len(%d) encoded in %d bytes, want %d", n, len(enc), wantSize)
		}
		got, encoded, err := readLen(&bytesSource{b: enc})
		if err != nil || encoded || got != n {
			t.Errorf("readLen(appendLen(%d)) = %d, %v, %v", n, got, encoded, err)
		}
	}
}

func TestCanonicalInt(t *testing.T) {
	good := map[string]int64{"0": 0, "-1": -1, "127": 127, "9223372036854775807": math.MaxInt64,
		"-9223372036854775808": math.MinInt64}
	for s, want := range good {
		if v, ok := parseCanonicalInt([]byte(s)); !ok || v != want {
			t.Errorf("parseCanonicalInt(%q) = %d, %v", s, v, ok)
		}
	}
	for _, s := range []string{"", "-", "-0", "007", "+5", " 1", "1 ", "1.0", "9223372036854775808",
		"-9223372036854775809", "99999999999999999999", "abc"} {
		if _, ok := parseCanonicalInt([]byte(s)); ok {
			t.Errorf("parseCanonicalInt(%q) accepted", s)
		}
	}
}

func TestStringIntEncodingRoundTrip(t *testing.T) {
	for _, s := range []string{"0", "-1", "-128", "127", "128", "-32768", "32767", "32768",
		"2147483647", "-2147483648", "2147483648", "-0", "007", "", "x"} {
		v, err := DecodeDump(EncodeDump(Value{Kind: KindString, Str: []byte(s)}))
		if err != nil || string(v.Str) != s {
			t.Errorf("round trip %q: got %q, %v", s, v.Str, err)
		}
	}
}

func TestListpackEncodingsRoundTrip(t *testing.T) {
	var items [][]byte
	for _, s := range []string{"0", "127", "128", "-1", "-4096", "4095", "4096", "-4097", "32767",
		"-32768", "32768", "8388607", "-8388608", "8388608", "2147483647", "-2147483649",
		"9223372036854775807", "-9223372036854775808", "", "007", "-0"} {
		items = append(items, []byte(s))
	}
	items = append(items, bytes.Repeat([]byte("a"), 63), bytes.Repeat([]byte("b"), 64),
		bytes.Repeat([]byte("c"), 4095), bytes.Repeat([]byte("d"), 4096), bytes.Repeat([]byte("e"), 20000))
	lp := newListpackBuilder()
	for _, it := range items {
		lp.add(it)
	}
	got, err := listpackEntries(lp.buf[:lp.finish()])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("%d entries, want %d", len(got), len(items))
	}
	for i := range items {
		if !bytes.Equal(got[i], items[i]) {
			t.Errorf("entry %d = %.20q, want %.20q", i, got[i], items[i])
		}
	}
}

func TestCRC64MatchesBytewiseReference(t *testing.T) {
	data := make([]byte, 5000)
	for i := range data {
		data[i] = byte(i*7 + i>>5)
	}
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 2047, 2048, 5000} {
		// hash/crc64 with the same table, undoing its entry/exit inversion.
		want := ^crc64.Update(^uint64(0), jonesTable, data[:n])
		if got := CRC64(0, data[:n]); got != want {
			t.Fatalf("length %d: CRC64 %#x, reference %#x", n, got, want)
		}
	}
}

func TestLZFCompressRoundTrip(t *testing.T) {
	rnd := make([]byte, 3000)
	for i := range rnd {
		rnd[i] = byte(i*2654435761>>13) ^ byte(i>>3)
	}
	inputs := map[string][]byte{
		"repetitive":     bytes.Repeat([]byte("abcdefgh"), 2000),
		"one byte run":   bytes.Repeat([]byte("z"), 100000),
		"text":           []byte(strings.Repeat("the quick brown fox jumps over the lazy dog; ", 50)),
		"far repeats":    append(append(bytes.Clone(rnd), rnd[:2000]...), rnd...),
		"tail literals":  append(bytes.Repeat([]byte("ab"), 100), "xyz12345"...),
		"short":          []byte("aaaaaaa"),
		"incompressible": rnd,
		"too short":      []byte("abcd"),
	}
	for name, in := range inputs {
		c := lzfCompress(in)
		if c == nil {
			if name != "incompressible" && name != "too short" && name != "short" {
				t.Errorf("%s: not compressed", name)
			}
			continue
		}
		if len(c) > len(in)-4 {
			t.Errorf("%s: compressed to %d of %d bytes", name, len(c), len(in))
		}
		out, err := lzfDecompress(c, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Errorf("%s: round trip failed: %v", name, err)
		}
	}
}

// DecodeDumpView decodes what DecodeDump does; a raw string's bytes are
// those of the payload itself.
func TestDecodeDumpView(t *testing.T) {
	for name, v := range benchValues() {
		p := EncodeDump(v)
		got, err := DecodeDumpView(p)
		want, err2 := DecodeDump(p)
		if err != nil || err2 != nil || !SameDumps(EncodeDump(got), EncodeDump(want)) {
			t.Fatalf("%s: view %v (%v), copy %v (%v)", name, got, err, want, err2)
		}
	}
	p := EncodeDump(Value{Kind: KindString, Str: []byte("a raw string value")})
	v, err := DecodeDumpView(p)
	if err != nil || &v.Str[0] != &p[2] {
		t.Fatalf("the string was copied or misplaced: %q, %v", v.Str, err)
	}
}
