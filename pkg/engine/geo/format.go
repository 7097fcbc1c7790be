package geo

import (
	"math"
	"strconv"
	"strings"
)

// FormatDistance writes a distance with 4 decimals, as Redis's
// fixedpoint_d2string does: the value times 10^4 rounded half to even to
// an integer (llrint), whose last 4 digits are the decimals. On x86-64
// llrint answers the int64 minimum for NaN and values out of range.
func FormatDistance(d float64) string {
	if d == 0 {
		return "0.0000"
	}
	scaled := math.RoundToEven(d * 10000)
	n := int64(math.MinInt64)
	if scaled >= -9223372036854775808.0 && scaled < 9223372036854775808.0 {
		n = int64(scaled)
	}
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u // two's complement: also right for the int64 minimum
	}
	digits := strconv.FormatUint(u, 10)
	if len(digits) < 5 {
		digits = strings.Repeat("0", 5-len(digits)) + digits
	}
	s := digits[:len(digits)-4] + "." + digits[len(digits)-4:]
	if neg {
		return "-" + s
	}
	return s
}

// FormatCoord writes a coordinate as Redis's "human" long double format:
// %.17Lf with the trailing zeros (and a bare point) removed, "-0" as "0".
// The long double holds the float64 exactly, and both printf and strconv
// round the exact binary value, so the digits agree.
func FormatCoord(v float64) string {
	if math.IsInf(v, 0) {
		if v > 0 {
			return "inf"
		}
		return "-inf"
	}
	s := strconv.FormatFloat(v, 'f', 17, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// FormatFixed6 is C's printf("%f"): 6 decimals, "inf"/"-inf"/"nan".
func FormatFixed6(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case math.IsNaN(v):
		return "nan"
	}
	return strconv.FormatFloat(v, 'f', 6, 64)
}
