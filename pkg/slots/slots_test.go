package slots

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

var keyCases = []string{
	"", "a", "foo", "bar", "hello world", "user:1000", "{user1000}.following",
	"{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{}", "{", "}",
	"{a", "a}", "{}a", "a{}", "{{}}", "x{y}", "\x00\xff", "123456789", "日本語{キー}",
}

func TestKeySlotKnownValues(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	if got := CRC16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("CRC16(123456789) = %#x, want 0x31c3", got)
	}
	for key, want := range map[string]int{"foo": 12182, "bar": 5061, "{user1000}.following": 3443, "foo{}{bar}": 8363, "foo{{bar}}zap": 4015, "foo{bar}{zap}": 5061} {
		if got := Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestKeySlotMatchesRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Cluster: true})
	c := srv.Client()
	defer c.Close()
	ctx := context.Background()
	keys := append([]string{}, keyCases...)
	for i := range 500 {
		keys = append(keys, fmt.Sprintf("key:%d", i), fmt.Sprintf("{tag%d}rest", i), fmt.Sprintf("a{%d}", i))
	}
	for _, k := range keys {
		want, err := c.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatalf("CLUSTER KEYSLOT %q: %v", k, err)
		}
		if got := Slot(k); int64(got) != want {
			t.Errorf("Slot(%q) = %d, redis says %d", k, got, want)
		}
	}
}

func TestEvenSplit(t *testing.T) {
	tests := []struct {
		n    int
		want []Range
	}{
		{1, []Range{{0, 16383}}},
		{3, []Range{{0, 5460}, {5461, 10922}, {10923, 16383}}},
		{4, []Range{{0, 4095}, {4096, 8191}, {8192, 12287}, {12288, 16383}}},
	}
	for _, tt := range tests {
		got := EvenSplit(tt.n)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("EvenSplit(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	for n := 1; n <= 200; n++ {
		rs := EvenSplit(n)
		next, minLen, maxLen := 0, Count, 0
		for _, r := range rs {
			if r.Start != next {
				t.Fatalf("EvenSplit(%d): gap before %v", n, r)
			}
			next = r.End + 1
			minLen, maxLen = min(minLen, r.Len()), max(maxLen, r.Len())
		}
		if next != Count || maxLen-minLen > 1 {
			t.Fatalf("EvenSplit(%d): end %d, sizes %d..%d", n, next, minLen, maxLen)
		}
	}
}

func TestShares(t *testing.T) {
	for _, w := range [][]float64{{1, 1, 1}, {1, 2, 3}, {1, 1, 1, 1, 1, 1, 1}, {0, 1}} {
		got := Shares(w)
		sum := 0
		for _, x := range got {
			sum += x
		}
		if sum != Count {
			t.Errorf("Shares(%v) = %v, sum %d", w, got, sum)
		}
	}
	if got := Shares([]float64{1, 1, 1}); fmt.Sprint(got) != "[5462 5461 5461]" {
		t.Errorf("Shares(1,1,1) = %v", got)
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in      string
		want    Range
		wantErr bool
	}{
		{"0", Range{0, 0}, false},
		{"10-20", Range{10, 20}, false},
		{"16383", Range{16383, 16383}, false},
		{"16384", Range{}, true},
		{"-1", Range{}, true},
		{"20-10", Range{}, true},
		{"x", Range{}, true},
		{"1-", Range{}, true},
	}
	for _, tt := range tests {
		got, err := ParseRange(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("ParseRange(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestSet(t *testing.T) {
	s := SetOf(0, 1, 2, 5, 16383)
	if s.Len() != 5 || !s.Has(5) || s.Has(3) || s.Has(-1) || s.Has(Count) {
		t.Fatalf("set basics wrong: %v", s)
	}
	if got := s.String(); got != "0-2,5,16383" {
		t.Fatalf("String = %q", got)
	}
	s.Remove(1)
	s.AddRange(Range{100, 102})
	if got := s.String(); got != "0,2,5,100-102,16383" {
		t.Fatalf("String = %q", got)
	}
	if !s.Equal(SetOf(0, 2, 5, 100, 101, 102, 16383)) || s.Equal(SetOf(0)) {
		t.Fatal("Equal wrong")
	}
	var empty *Set
	if empty.Len() != 0 || empty.Has(1) || !empty.Equal(&Set{}) {
		t.Fatal("nil set should act empty")
	}
}

// TestSetRangesMatchSlots checks the word-at-a-time Ranges against the
// slot list on sets with runs crossing word boundaries, full words and
// both ends of the slot space.
func TestSetRangesMatchSlots(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		s := &Set{}
		for range rng.IntN(20) {
			start := rng.IntN(Count)
			end := min(start+rng.IntN(300), Count-1)
			s.AddRange(Range{start, end})
		}
		if i%7 == 0 {
			s.AddRange(Range{0, 200})
		}
		if i%11 == 0 {
			s.AddRange(Range{Count - 130, Count - 1})
		}
		var want []Range
		for _, x := range s.Slots() {
			if n := len(want); n > 0 && want[n-1].End == x-1 {
				want[n-1].End = x
			} else {
				want = append(want, Range{x, x})
			}
		}
		if got := s.Ranges(); !slices.Equal(got, want) {
			t.Fatalf("set %d: Ranges = %v, want %v", i, got, want)
		}
	}
	full := &Set{}
	full.AddRange(Range{0, Count - 1})
	if got := full.Ranges(); !slices.Equal(got, []Range{{0, Count - 1}}) {
		t.Fatalf("full set: Ranges = %v", got)
	}
	if got := (&Set{}).Ranges(); len(got) != 0 {
		t.Fatalf("empty set: Ranges = %v", got)
	}
}
