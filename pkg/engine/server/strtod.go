package server

import (
	"errors"
	"math"
	"strconv"
)

// strtod reads the longest prefix of b that C's strtod accepts (glibc, C
// locale): leading white space, a sign, "inf"/"infinity"/"nan[(...)]" in
// any case, decimal or 0x-hexadecimal digits with an optional point and
// exponent. It returns the value, how many bytes it took (0: no number)
// and whether the value is out of range (an infinity for an overflow, a
// zero for an underflow), which is what Redis's number parsers look at.
func strtod(b []byte) (v float64, n int, outOfRange bool) {
	i := 0
	for i < len(b) && isCSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	signed := func(f float64) float64 {
		if neg {
			return -f
		}
		return f
	}
	if w := wordPrefix(b[i:], "infinity"); w == 8 || w >= 3 {
		if w < 8 {
			w = 3
		}
		return signed(math.Inf(1)), i + w, false
	}
	if wordPrefix(b[i:], "nan") >= 3 {
		i += 3
		if i < len(b) && b[i] == '(' { // nan(n-char-sequence)
			j := i + 1
			for j < len(b) && (isAlnum(b[j]) || b[j] == '_') {
				j++
			}
			if j < len(b) && b[j] == ')' {
				i = j + 1
			}
		}
		return math.NaN(), i, false
	}
	if i+1 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') {
		if end, ok := scanDigits(b, i+2, isHex, 'p', 'P'); ok {
			text := string(b[i:end])
			if !containsAny(text, "pP") {
				text += "p0"
			}
			return finish(signed, text, end)
		}
		// "0x" without hex digits: the number is the 0
		return signed(0), i + 1, false
	}
	end, ok := scanDigits(b, i, isDigit, 'e', 'E')
	if !ok {
		return 0, 0, false
	}
	return finish(signed, string(b[i:end]), end)
}

func finish(signed func(float64) float64, text string, end int) (float64, int, bool) {
	f, err := strconv.ParseFloat(text, 64)
	if errors.Is(err, strconv.ErrRange) {
		return signed(f), end, true // ±Inf
	}
	if err != nil { // cannot happen for what scanDigits accepted
		return 0, 0, false
	}
	if f == 0 && hasNonZeroDigit(text) {
		return signed(0), end, true // underflow
	}
	return signed(f), end, false
}

// scanDigits scans digits with an optional point (at least one digit in
// all) and an optional exponent that counts only when digits follow it.
func scanDigits(b []byte, i int, digit func(byte) bool, e1, e2 byte) (int, bool) {
	digits := 0
	for i < len(b) && digit(b[i]) {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && digit(b[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(b) && (b[i] == e1 || b[i] == e2) {
		j := i + 1
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j < len(b) && isDigit(b[j]) {
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			i = j
		}
	}
	return i, true
}

// wordPrefix is how many bytes of b match word, ignoring ASCII case.
func wordPrefix(b []byte, word string) int {
	n := 0
	for n < len(b) && n < len(word) && b[n]|0x20 == word[n] {
		n++
	}
	return n
}

// hasNonZeroDigit reports whether the digits before the exponent of a
// number accepted by scanDigits are not all zero.
func hasNonZeroDigit(s string) bool {
	hex := len(s) > 1 && s[1]|0x20 == 'x'
	if hex {
		s = s[2:]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case hex && c|0x20 == 'p', !hex && c|0x20 == 'e':
			return false
		case c >= '1' && c <= '9', hex && isHex(c) && c != '0':
			return true
		}
	}
	return false
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}

func isCSpace(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isHex(c byte) bool    { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }
func isAlnum(c byte) bool  { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'z' }

// parseDouble reads a number as Redis's string2d does (ZADD scores,
// ZINCRBY, WEIGHTS): the whole argument, no leading space, no NaN, nothing
// that overflows or underflows to zero; hexadecimal and "inf" are fine.
func parseDouble(b []byte) (float64, bool) {
	if len(b) == 0 || isCSpace(b[0]) {
		return 0, false
	}
	v, n, outOfRange := strtod(b)
	if n != len(b) || math.IsNaN(v) || outOfRange && (math.IsInf(v, 0) || v == 0) {
		return 0, false
	}
	return v, true
}

// parseRangeDouble reads a score range bound as Redis's zslParseRange
// does: whatever strtod takes, as long as nothing follows and it is not
// NaN, so an empty string is 0 and out-of-range values are infinities.
func parseRangeDouble(b []byte) (float64, bool) {
	v, n, _ := strtod(b)
	if n == 0 { // no number at all: strtod's end is the start
		return 0, len(b) == 0
	}
	if n != len(b) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}
