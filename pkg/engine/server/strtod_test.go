package server

import (
	"math"
	"testing"
)

// The expectations follow glibc's strtod and Redis's use of it; the
// boundary differential test checks the same inputs against redis-server
// through ZADD, ZRANGEBYSCORE and INCRBYFLOAT.
func TestNumberParsersFollowStrtod(t *testing.T) {
	inf := math.Inf(1)
	double := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1.5", 1.5, true}, {"0x10", 16, true}, {"0x1p-2", 0.25, true}, {"0X1.8P1", 3, true}, {".5", 0.5, true},
		{"5.", 5, true}, {"-0", math.Copysign(0, -1), true}, {"inf", inf, true}, {"-Infinity", -inf, true},
		{"4e-324", 5e-324, true}, {"1e309", 0, false}, {"-1e309", 0, false}, {"1e-400", 0, false}, {"infin", 0, false},
		{"nan", 0, false}, {"-nan(12)", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"", 0, false}, {"1e", 0, false},
		{".", 0, false}, {"0x", 0, false}, {"+.e1", 0, false}, {"1_0", 0, false}, {"0x_1p0", 0, false}, {"1e+", 0, false},
	}
	for _, c := range double {
		got, ok := parseDouble([]byte(c.in))
		if ok != c.ok || ok && (got != c.want || math.Signbit(got) != math.Signbit(c.want)) {
			t.Errorf("parseDouble(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	ranges := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"", 0, true}, {" 1", 1, true}, {"\t2", 2, true}, {"1e309", inf, true}, {"-1e309", -inf, true}, {"0x10", 16, true},
		{"1e-400", 0, true}, {"  ", 0, false}, {"abc", 0, false}, {"nan", 0, false}, {"1 ", 0, false},
	}
	for _, c := range ranges {
		got, ok := parseRangeDouble([]byte(c.in))
		if ok != c.ok || ok && got != c.want {
			t.Errorf("parseRangeDouble(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	for in, want := range map[string]string{"1e308": "1e308 is finite", "1e4933": "overflow", "1e-5000": "underflow", "0x1p16383": "finite"} {
		_, ok := parseLongDouble([]byte(in))
		if ok != (want == "finite" || want == "1e308 is finite") {
			t.Errorf("parseLongDouble(%q) ok = %v (%s)", in, ok, want)
		}
	}
}
