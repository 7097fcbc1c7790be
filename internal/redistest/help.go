package redistest

import (
	"slices"
	"strings"
	"testing"
)

// <CMD> HELP replies are an array of lines: a header, then per subcommand
// its syntax (no indent, or a deeper indented "[...]" continuation) and
// its description (indented). The engine keeps redis-server's header and
// syntax lines, which clients match on, and describes the subcommands in
// its own words.

// isHelpSyntax tells a syntax line from a description line.
func isHelpSyntax(line string) bool {
	return !strings.HasPrefix(line, " ") || strings.HasPrefix(strings.TrimLeft(line, " "), "[")
}

// HelpSyntax is a HELP reply's header and syntax lines, in order.
func HelpSyntax(lines []string) []string {
	var out []string
	for _, l := range lines {
		if isHelpSyntax(l) {
			out = append(out, l)
		}
	}
	return out
}

// CheckHelp fails t unless the engine's HELP reply has redis-server's
// header and syntax lines, in its order, and none of its description
// lines. Syntax lines starting with one of engineOnly (the engine's own
// subcommands) are left out of the comparison with their descriptions.
func CheckHelp(t testing.TB, cmd string, redis, engine []string, engineOnly ...string) {
	t.Helper()
	var kept []string
	skipping := false
	for _, l := range engine {
		if isHelpSyntax(l) {
			skipping = slices.ContainsFunc(engineOnly, func(p string) bool { return strings.HasPrefix(l, p) })
		}
		if !skipping {
			kept = append(kept, l)
		}
	}
	if want, got := HelpSyntax(redis), HelpSyntax(kept); !slices.Equal(want, got) {
		t.Errorf("%s HELP syntax lines differ:\n redis:  %q\n engine: %q", cmd, want, got)
	}
	if len(HelpSyntax(redis)) < 2 {
		t.Errorf("%s HELP: redis-server's reply has no subcommands: %q", cmd, redis)
	}
	theirs := map[string]bool{}
	for _, l := range redis {
		if !isHelpSyntax(l) {
			theirs[l] = true
		}
	}
	for _, l := range engine {
		if !isHelpSyntax(l) && theirs[l] {
			t.Errorf("%s HELP: description line is redis-server's word for word: %q", cmd, l)
		}
	}
}
