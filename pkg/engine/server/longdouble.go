package server

import (
	"math/big"
	"strings"
)

// INCRBYFLOAT and HINCRBYFLOAT compute in C's long double, which on
// x86-64 is the 80-bit extended format: a 64-bit mantissa and exponents up
// to 2^16383. Their results are visible (1e308 + 10 is a 309-digit number
// there, an error in float64), so the engine does the same arithmetic
// with big.Float at 64 bits of precision and the same exponent range.

const (
	ldPrec   = 64
	ldMaxExp = 16384  // |x| >= 2^16384 overflows
	ldMinExp = -16444 // below the smallest subnormal: underflow to zero
)

func newLD() *big.Float { return new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven) }

// parseLongDouble reads a number as Redis's string2ld does: the whole
// argument (under 5 KB, no leading space) as strtold takes it, no NaN,
// nothing that overflows or underflows to zero.
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= maxFloatChars || isCSpace(b[0]) {
		return nil, false
	}
	_, n, _ := strtod(b) // the syntax is strtold's too
	if n != len(b) {
		return nil, false
	}
	text := string(b)
	neg := text[0] == '-'
	body := strings.TrimLeft(text, "+-")
	lower := strings.ToLower(body)
	if strings.HasPrefix(lower, "nan") {
		return nil, false
	}
	if strings.HasPrefix(lower, "inf") {
		return newLD().SetInf(neg), true
	}
	base := 10
	if strings.HasPrefix(lower, "0x") {
		base = 0
		if !strings.ContainsAny(lower, "p") {
			body += "p0"
		}
	}
	f, _, err := newLD().Parse(body, base)
	if err != nil {
		return nil, false
	}
	if neg {
		f.Neg(f)
	}
	if exp := f.MantExp(nil); f.Sign() != 0 && (exp > ldMaxExp || exp < ldMinExp) {
		return nil, false // ERANGE: an infinity or a zero
	}
	return f, true
}

// ldIncr adds incr to cur (nil: a missing value, 0) in long double and
// formats the sum as Redis stores it; false when it is not finite.
func ldIncr(cur, incr *big.Float) ([]byte, bool) {
	if incr.IsInf() || cur != nil && cur.IsInf() {
		return nil, false // inf, or inf - inf: NaN
	}
	sum := newLD().Set(incr)
	if cur != nil {
		sum.Add(cur, incr)
	}
	if sum.Sign() != 0 && sum.MantExp(nil) > ldMaxExp {
		return nil, false
	}
	return formatLongDouble(sum), true
}

// formatLongDouble is Redis's "human" long double format: %.17Lf without
// trailing zeros (nor a trailing point), and "0" for -0.
func formatLongDouble(f *big.Float) []byte {
	s := f.Text('f', 17)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return []byte(s)
}
