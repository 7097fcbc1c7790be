package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReferenceIsCurrent: docs/reference matches the commands' help; run
// `make docs` after changing a command.
func TestReferenceIsCurrent(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	fresh, err := filepath.Glob(filepath.Join(dir, "reference", "*.md"))
	if err != nil || len(fresh) == 0 {
		t.Fatalf("nothing generated: %v", err)
	}
	committed, _ := filepath.Glob(filepath.Join("..", "..", "..", "docs", "reference", "*.md"))
	if len(committed) != len(fresh) {
		t.Errorf("docs/reference has %d pages, the commands make %d: run make docs", len(committed), len(fresh))
	}
	for _, f := range fresh {
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "reference", filepath.Base(f)))
		if err != nil || string(got) != string(want) {
			t.Errorf("docs/reference/%s is out of date: run make docs", filepath.Base(f))
		}
	}
}
