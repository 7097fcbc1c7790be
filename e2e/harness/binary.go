package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binaryKeep is how long a built binary nobody used stays in the cache.
const binaryKeep = 6 * time.Hour

// Binary builds gocluster once per source tree and returns its path.
// Every test package runs in its own process, so the binary lives in a
// shared cache keyed by the tree's files: the packages of one `go test
// ./...` share one build, and no run leaves a binary behind in a temp
// directory of its own (a run of make test used to leave twenty).
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		binPath, buildErr = cachedBuild(filepath.Join(filepath.Dir(file), "..", ".."))
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	now := time.Now()
	_ = os.Chtimes(binPath, now, now) // in use: not pruned by another tree's run
	return binPath
}

// cachedBuild returns the binary for root's current files, building it
// when the cache has none, and drops binaries unused for binaryKeep.
func cachedBuild(root string) (string, error) {
	key, err := treeKey(root)
	if err != nil {
		return "", fmt.Errorf("reading the source tree: %w", err)
	}
	cache := filepath.Join(os.TempDir(), "gocluster-e2e-bin")
	dir := filepath.Join(cache, key)
	bin := filepath.Join(dir, "gocluster")
	now := time.Now()
	if os.Chtimes(bin, now, now) == nil { // built by an earlier package
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Packages build side by side: each writes its own file and renames
	// it into place, so none runs a half-written binary.
	tmp, err := os.CreateTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command("go", "build", "-o", tmp.Name(), "./cmd/gocluster")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", err
	}
	pruneBinaries(cache, key, now)
	return bin, nil
}

// treeKey names the state of root's files: their paths, sizes and
// modification times, hidden directories (.git) left out.
func treeKey(root string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", rel, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// pruneBinaries removes the cache's other binaries not used since
// binaryKeep ago (a run of another tree uses its own, and touches it).
func pruneBinaries(cache, keep string, now time.Time) {
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		if e.Name() == keep {
			continue
		}
		info, err := os.Stat(filepath.Join(cache, e.Name(), "gocluster"))
		if err == nil && now.Sub(info.ModTime()) < binaryKeep {
			continue
		}
		if err != nil {
			// A directory without a binary is being built into, or
			// was left by a build that failed: only an old one goes.
			if di, derr := e.Info(); derr != nil || now.Sub(di.ModTime()) < binaryKeep {
				continue
			}
		}
		os.RemoveAll(filepath.Join(cache, e.Name()))
	}
}
