package store

// Match reports whether s matches the glob pattern p with Redis's rules
// (stringmatchlen): * ? [abc] [^a] [a-z] and \ escapes, byte-wise. It
// serves KEYS, SCAN MATCH, CONFIG GET and any later pattern user.
//
// The cost is bounded by len(p)*len(s) whatever the input: only the most
// recent * is ever revisited. That gives the same answers as a full
// backtracking search (every element other than * consumes exactly one
// byte, so when the text after the last * cannot be placed anywhere, no
// longer match of an earlier * can help) and the same answers as Redis 7,
// which prunes its recursion the same way since CVE-2022-36021.
func Match(p, s []byte) bool { return globMatch(p, s, false) }

// MatchNoCase is Match ignoring ASCII case, except for escaped characters
// inside a class, as in Redis.
func MatchNoCase(p, s []byte) bool { return globMatch(p, s, true) }

func globMatch(p, s []byte, nocase bool) bool {
	if len(s) == 0 {
		// Redis compares nothing against an empty subject: only an empty
		// pattern matches it (not even "*").
		return len(p) == 0
	}
	pi, si := 0, 0
	starP, starS := -1, 0 // the pattern after the last *, and where it was tried
	for si < len(s) {
		if pi < len(p) && p[pi] == '*' {
			for pi < len(p) && p[pi] == '*' {
				pi++
			}
			if pi == len(p) {
				return true
			}
			starP, starS = pi, si
			continue
		}
		if pi < len(p) {
			if ok, next := matchOne(p, pi, s[si], nocase); ok {
				pi, si = next, si+1
				continue
			}
		}
		if starP < 0 {
			return false
		}
		// let the last * swallow one more byte and retry what follows it
		starS++
		pi, si = starP, starS
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchOne matches the single-byte pattern element at p[pi] (not a *)
// against c and returns where the next element starts.
func matchOne(p []byte, pi int, c byte, nocase bool) (bool, int) {
	switch p[pi] {
	case '?':
		return true, pi + 1
	case '[':
		return matchClass(p, pi+1, c, nocase)
	case '\\':
		if pi+1 < len(p) {
			pi++
		}
	}
	return sameByte(p[pi], c, nocase), pi + 1
}

// matchClass matches c against the class whose body starts at p[j] (after
// the '['). Like Redis: a missing ']' extends the class to the end of the
// pattern, "x-y" is a range even when y is ']' and ranges may be given in
// either order.
func matchClass(p []byte, j int, c byte, nocase bool) (bool, int) {
	not := j < len(p) && p[j] == '^'
	if not {
		j++
	}
	matched := false
	for j < len(p) && p[j] != ']' {
		switch {
		case p[j] == '\\' && len(p)-j >= 2:
			// an escaped byte compares exactly, whatever nocase says
			matched = matched || p[j+1] == c
			j += 2
		case len(p)-j >= 3 && p[j+1] == '-':
			matched = matched || inRange(p[j], p[j+2], c, nocase)
			j += 3
		default:
			matched = matched || sameByte(p[j], c, nocase)
			j++
		}
	}
	if j < len(p) {
		j++ // the ']'
	}
	return matched != not, j
}

// inRange compares as Redis does on x86, where char is signed: bytes
// 0x80-0xff sort before 0x00.
func inRange(lo, hi, c byte, nocase bool) bool {
	a, b, x := int(int8(lo)), int(int8(hi)), int(int8(c))
	if a > b {
		a, b = b, a
	}
	if nocase {
		a, b, x = lowerInt(a), lowerInt(b), lowerInt(x)
	}
	return x >= a && x <= b
}

func lowerInt(x int) int {
	if x >= 'A' && x <= 'Z' {
		return x + 'a' - 'A'
	}
	return x
}

func sameByte(a, b byte, nocase bool) bool {
	if a == b {
		return true
	}
	return nocase && lowerInt(int(a)) == lowerInt(int(b))
}
