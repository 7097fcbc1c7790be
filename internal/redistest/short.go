package redistest

import (
	"os"
	"testing"
)

// SkipIfShort skips a long test under -short on a developer's machine,
// and fails it in CI (CI set), where nothing may skip.
func SkipIfShort(tb testing.TB, why string) {
	tb.Helper()
	if !testing.Short() {
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("-short in CI would skip this test (%s): run the suite without -short", why)
	}
	tb.Skip(why)
}
