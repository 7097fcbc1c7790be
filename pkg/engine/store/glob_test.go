package store

import (
	"strings"
	"testing"
	"time"
)

// The expectations are what redis-server 7.0.15 answers (KEYS and SCAN
// MATCH); TestGlobMatchesRedis in pkg/engine/server checks random patterns
// against a real one.
func TestMatchRedisSemantics(t *testing.T) {
	cases := []struct {
		p, s   string
		want   bool
		nocase bool
	}{
		{p: "", s: "", want: true},
		{p: "*", s: "", want: false}, // Redis compares nothing against an empty subject
		{p: "", s: "a", want: false},
		{p: "**", s: "abc", want: true},
		{p: "a*", s: "a", want: true},
		{p: "a*b*c", s: "aXXbYYc", want: true},
		{p: "a*b*c", s: "aXXbYYcd", want: false},
		{p: "*a", s: "aaa", want: true},
		{p: "*?", s: "x", want: true},
		{p: "?*?", s: "x", want: false},
		{p: `\`, s: `\`, want: true}, // a lone trailing backslash is itself
		{p: `a\`, s: `a\`, want: true},
		{p: `\a`, s: "a", want: true},
		{p: `\*`, s: "x", want: false},
		{p: "[abc]", s: "b", want: true},
		{p: "[^abc]", s: "b", want: false},
		{p: "[^abc]", s: "d", want: true},
		{p: "[c-a]", s: "b", want: true}, // reversed range
		{p: "[a-]", s: "]", want: true},  // "a-]" is a range up to ']' and the class is unterminated
		{p: "[a-]", s: "^", want: true},
		{p: "[a-]", s: "b", want: false},
		{p: "[abc", s: "c", want: true}, // unterminated class runs to the end
		{p: "[abc", s: "cx", want: false},
		{p: "[", s: "a", want: false},
		{p: "[]", s: "a", want: false},
		{p: "[]a]", s: "]", want: false}, // ']' closes at once: class is empty, then "a]"
		{p: `[\]]`, s: "]", want: true},
		{p: `[\-]`, s: "-", want: true},
		{p: `[\`, s: `\`, want: true},
		{p: "[^]", s: "x", want: true},
		{p: "x[a-c]y", s: "xby", want: true},
		{p: "[\x80-\xff]", s: "\x90", want: true},
		{p: "[a-\xff]", s: "b", want: false}, // signed char: 0xff is -1, the range is -1..'a'
		{p: "[a-\xff]", s: "A", want: true},
		{p: "HELLO", s: "hello", want: true, nocase: true},
		{p: "[A-C]", s: "b", want: true, nocase: true},
		{p: "[^A-C]", s: "b", want: false, nocase: true},
		{p: `[\A]`, s: "a", want: false, nocase: true}, // escaped class bytes compare exactly
		{p: "h?LLo", s: "HeLlo", want: true, nocase: true},
		{p: "HELLO", s: "hello", want: false},
	}
	for _, c := range cases {
		m := Match
		if c.nocase {
			m = MatchNoCase
		}
		if got := m([]byte(c.p), []byte(c.s)); got != c.want {
			t.Errorf("match(%q, %q, nocase=%v) = %v, want %v", c.p, c.s, c.nocase, got, c.want)
		}
	}
}

// Patterns that made a backtracking matcher run for hours answer at once.
func TestMatchPathologicalPatterns(t *testing.T) {
	cases := []struct{ p, s string }{
		{strings.Repeat("a*", 19) + "b", strings.Repeat("a", 40)},
		{strings.Repeat("*a", 1000) + "b", strings.Repeat("a", 5000)},
		{strings.Repeat("?*", 2000) + "x", strings.Repeat("y", 10000)},
		{strings.Repeat("[a-z]*", 500) + "!", strings.Repeat("q", 10000)},
	}
	for _, c := range cases {
		start := time.Now()
		if Match([]byte(c.p), []byte(c.s)) {
			t.Errorf("pattern of %d bytes matched", len(c.p))
		}
		if MatchNoCase([]byte(c.p), []byte(c.s)) {
			t.Errorf("nocase pattern of %d bytes matched", len(c.p))
		}
		// a generous correctness bound: exponential backtracking never ends
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("pattern of %d bytes took %v", len(c.p), d)
		}
	}
}

func BenchmarkMatchPathological(b *testing.B) {
	p := []byte(strings.Repeat("a*", 19) + "b")
	s := []byte(strings.Repeat("a", 40))
	for i := 0; i < b.N; i++ {
		Match(p, s)
	}
}

// refMatch is the textbook exponential matcher: * tries every split. On
// small inputs it is the specification the bounded matcher must meet.
func refMatch(p, s []byte, nocase bool) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	if p[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if refMatch(p[1:], s[i:], nocase) {
				return true
			}
		}
		return false
	}
	if len(s) == 0 {
		return false
	}
	ok, next := matchOne(p, 0, s[0], nocase)
	return ok && refMatch(p[next:], s[1:], nocase)
}

// FuzzMatch checks the bounded matcher against refMatch.
func FuzzMatch(f *testing.F) {
	f.Add([]byte("a*b?[c-d]"), []byte("axbyc"))
	f.Add([]byte(`[\`), []byte(`\`))
	f.Add([]byte("*a*a*b"), []byte("aaaab"))
	f.Add([]byte("[^a-]*?"), []byte("]]x"))
	f.Fuzz(func(t *testing.T, p, s []byte) {
		if len(p) > 16 || len(s) > 16 {
			return
		}
		for _, nocase := range []bool{false, true} {
			want := len(s) > 0 && refMatch(p, s, nocase) || len(s) == 0 && len(p) == 0
			if got := globMatch(p, s, nocase); got != want {
				t.Fatalf("globMatch(%q, %q, nocase=%v) = %v, reference says %v", p, s, nocase, got, want)
			}
		}
	})
}
