package persist

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSavePoints(t *testing.T) {
	p, err := ParseSavePoints("3600 1 300 100")
	if err != nil || len(p) != 2 || p[1] != (SavePoint{300, 100}) {
		t.Fatalf("ParseSavePoints = %v, %v", p, err)
	}
	for _, bad := range []string{"1", "a 1", "0 1", "1 -1", "60 x"} {
		if _, err := ParseSavePoints(bad); err == nil {
			t.Errorf("ParseSavePoints(%q) accepted", bad)
		}
	}
	if p, err := ParseSavePoints(""); err != nil || len(p) != 0 {
		t.Fatalf(`ParseSavePoints("") = %v, %v`, p, err)
	}
	for _, tc := range []struct {
		changes int64
		since   time.Duration
		want    bool
	}{{0, time.Hour, false}, {1, time.Hour, true}, {1, time.Minute, false}, {100, 5 * time.Minute, true}, {99, 5 * time.Minute, false}} {
		if got := Due(p, tc.changes, tc.since); got != tc.want {
			t.Errorf("Due(%d changes, %v) = %v", tc.changes, tc.since, got)
		}
	}
}

func TestWriteAtomicReplacesWholeFile(t *testing.T) {
	dir := t.TempDir()
	if err := WriteAtomic(dir, "dump.rdb", []byte("first version, longer")); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(dir, "dump.rdb", []byte("second")); err != nil {
		t.Fatal(err)
	}
	data, err := ReadIfExists(filepath.Join(dir, "dump.rdb"))
	if err != nil || string(data) != "second" {
		t.Fatalf("file holds %q, %v", data, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if data, err := ReadIfExists(filepath.Join(dir, "none")); data != nil || err != nil {
		t.Fatalf("a missing file reads as %q, %v", data, err)
	}
	if err := WriteAtomic(filepath.Join(dir, "no-such-dir"), "dump.rdb", nil); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}
