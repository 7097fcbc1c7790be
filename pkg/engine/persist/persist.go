// Package persist writes and reads the engine's snapshot files on disk:
// an RDB file replaced atomically (written beside it, fsynced, renamed,
// the directory fsynced), so a crash mid-save leaves the previous
// snapshot whole, as redis-server does.
package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// WriteAtomic replaces dir/name with data, fsynced.
func WriteAtomic(dir, name string, data []byte) error {
	return WriteFileAtomic(filepath.Join(dir, name), data, true)
}

// WriteFileAtomic replaces path with data: written to a temporary file
// beside it and renamed over it, so a reader or a crash sees the old file
// or the new one, never a mix. With sync, the file and then its directory
// are fsynced, so the new file survives a power loss too.
func WriteFileAtomic(path string, data []byte, sync bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "temp-*-"+filepath.Base(path))
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(data); err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if sync {
		if d, derr := os.Open(dir); derr == nil {
			d.Sync()
			d.Close()
		}
	}
	return nil
}

// ReadIfExists returns the file's bytes, or nil when there is none.
func ReadIfExists(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// SavePoint is one "save <seconds> <changes>" rule.
type SavePoint struct {
	Seconds int64
	Changes int64
}

// ParseSavePoints reads the save option ("3600 1 300 100", or "" for
// none) into its rules.
func ParseSavePoints(v string) ([]SavePoint, error) {
	f := strings.Fields(v)
	if len(f)%2 != 0 {
		return nil, fmt.Errorf("Invalid save parameters")
	}
	var out []SavePoint
	for i := 0; i < len(f); i += 2 {
		s, err1 := strconv.ParseInt(f[i], 10, 64)
		c, err2 := strconv.ParseInt(f[i+1], 10, 64)
		if err1 != nil || err2 != nil || s < 1 || c < 0 {
			return nil, fmt.Errorf("Invalid save parameters")
		}
		out = append(out, SavePoint{Seconds: s, Changes: c})
	}
	return out, nil
}

// Due reports whether a save point is reached: at least Changes writes
// and Seconds seconds since the last save.
func Due(points []SavePoint, changes int64, since time.Duration) bool {
	for _, p := range points {
		if changes >= p.Changes && changes > 0 && since >= time.Duration(p.Seconds)*time.Second {
			return true
		}
	}
	return false
}
