package cluster

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gocluster/gocluster/pkg/engine/persist"
)

// TestWriteInPlace: small tables are overwritten in place, exactly, whether
// they shrink or grow; a missing file or a table larger than a page is left
// to the temporary-file-and-rename path.
func TestWriteInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	if done, err := writeInPlace(path, []byte("a\n")); done || err != nil {
		t.Fatalf("missing file: done %v, err %v; want the rename path", done, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("writeInPlace created the file")
	}
	long := bytes.Repeat([]byte("0123456789 slots\n"), 100)
	if err := persist.WriteFileAtomic(path, long, false); err != nil {
		t.Fatal(err)
	}
	for _, text := range [][]byte{[]byte("short\nvars currentEpoch 1\n"), long[:1000], []byte("x\n")} {
		if done, err := writeInPlace(path, text); !done || err != nil {
			t.Fatalf("in place write of %d bytes: done %v, err %v", len(text), done, err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, text) {
			t.Fatalf("file holds %q, want %q", got, text)
		}
	}
	big := bytes.Repeat([]byte("y"), onePage+1)
	if done, _ := writeInPlace(path, big); done {
		t.Fatal("a table larger than a page was written in place")
	}
	if err := persist.WriteFileAtomic(path, big, false); err != nil {
		t.Fatal(err)
	}
	if done, _ := writeInPlace(path, []byte("z\n")); done {
		t.Fatal("a file larger than a page was overwritten in place")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, big) {
		t.Fatal("the large file changed")
	}
}
