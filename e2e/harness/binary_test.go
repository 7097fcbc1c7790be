package harness

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTreeKeyFollowsTheFiles(t *testing.T) {
	root := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := func() string {
		t.Helper()
		k, err := treeKey(root)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write("pkg/a.go", "package a")
	first := key()
	if again := key(); again != first {
		t.Fatalf("same tree, two keys: %s and %s", first, again)
	}
	write(".git/HEAD", "ref: main")
	if k := key(); k != first {
		t.Fatalf("a change under .git changed the key")
	}
	write("pkg/a.go", "package a // edited")
	edited := key()
	if edited == first {
		t.Fatalf("an edited source file kept the key %s", first)
	}
	write("pkg/b.go", "package a")
	if k := key(); k == edited {
		t.Fatalf("a new source file kept the key %s", edited)
	}
}

func TestPruneBinariesDropsOnlyOldOnes(t *testing.T) {
	cache := t.TempDir()
	now := time.Now()
	old := now.Add(-2 * binaryKeep)
	makeEntry := func(key string, binary bool, at time.Time) {
		t.Helper()
		dir := filepath.Join(cache, key)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if binary {
			bin := filepath.Join(dir, "gocluster")
			if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(bin, at, at); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(dir, at, at); err != nil {
			t.Fatal(err)
		}
	}
	makeEntry("current", true, old) // the caller's own: kept whatever its age
	makeEntry("recent", true, now.Add(-time.Minute))
	makeEntry("stale", true, old)
	makeEntry("building", false, now)
	makeEntry("failed", false, old)
	pruneBinaries(cache, "current", now)
	for key, want := range map[string]bool{"current": true, "recent": true, "stale": false, "building": true, "failed": false} {
		_, err := os.Stat(filepath.Join(cache, key))
		if got := err == nil; got != want {
			t.Errorf("%s: kept=%v, want %v", key, got, want)
		}
	}
}
