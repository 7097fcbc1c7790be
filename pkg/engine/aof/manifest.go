// Package aof is the append-only file as Redis 7 lays it out: a directory
// (appenddirname) holding a manifest, one base file (an RDB, or commands)
// and incremental files of commands appended as writes run. The manifest
// names them in order; a rewrite starts a new incremental file, writes a
// new base from a snapshot, and retires the old files.
package aof

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// File types in the manifest, as Redis writes them.
const (
	TypeBase    = 'b'
	TypeHistory = 'h'
	TypeIncr    = 'i'
)

// FileInfo is one line of the manifest.
type FileInfo struct {
	Name string
	Seq  int64
	Type byte
}

// Manifest lists the files of an AOF in load order: the base, then the
// incremental files. History files wait to be deleted.
type Manifest struct {
	Base    *FileInfo
	Incr    []FileInfo
	History []FileInfo
}

// ManifestName is the manifest's file name for appendfilename.
func ManifestName(prefix string) string { return prefix + ".manifest" }

// BaseName names the base file of sequence seq: an RDB (preamble) or a
// file of commands.
func BaseName(prefix string, seq int64, rdb bool) string {
	if rdb {
		return prefix + "." + strconv.FormatInt(seq, 10) + ".base.rdb"
	}
	return prefix + "." + strconv.FormatInt(seq, 10) + ".base.aof"
}

// IncrName names the incremental file of sequence seq.
func IncrName(prefix string, seq int64) string {
	return prefix + "." + strconv.FormatInt(seq, 10) + ".incr.aof"
}

// maxManifestLine is Redis's limit on a manifest line.
const maxManifestLine = 1024

// ParseManifest reads a manifest: lines of "file NAME seq N type T" (keys
// in any order), '#' comments and blank lines skipped.
func ParseManifest(data []byte) (*Manifest, error) {
	m := &Manifest{}
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		if len(line) > maxManifestLine {
			return nil, fmt.Errorf("manifest line %d is longer than %d bytes", n+1, maxManifestLine)
		}
		fields := strings.Fields(string(line))
		if len(fields)%2 != 0 {
			return nil, fmt.Errorf("manifest line %d: invalid format %q", n+1, line)
		}
		var fi FileInfo
		for i := 0; i < len(fields); i += 2 {
			switch v := fields[i+1]; fields[i] {
			case "file":
				fi.Name = v
			case "seq":
				seq, err := strconv.ParseInt(v, 10, 64)
				if err != nil || seq < 0 {
					return nil, fmt.Errorf("manifest line %d: invalid seq %q", n+1, v)
				}
				fi.Seq = seq
			case "type":
				if len(v) != 1 {
					return nil, fmt.Errorf("manifest line %d: invalid type %q", n+1, v)
				}
				fi.Type = v[0]
			}
		}
		if fi.Name == "" || fi.Seq == 0 || fi.Type == 0 || strings.ContainsAny(fi.Name, "/\\") {
			return nil, fmt.Errorf("manifest line %d: invalid format %q", n+1, line)
		}
		switch fi.Type {
		case TypeBase:
			if m.Base != nil {
				return nil, fmt.Errorf("manifest line %d: a second base file", n+1)
			}
			m.Base = &fi
		case TypeIncr:
			if k := len(m.Incr); k > 0 && m.Incr[k-1].Seq >= fi.Seq {
				return nil, fmt.Errorf("manifest line %d: incremental files out of order", n+1)
			}
			m.Incr = append(m.Incr, fi)
		case TypeHistory:
			m.History = append(m.History, fi)
		default:
			return nil, fmt.Errorf("manifest line %d: unknown file type %q", n+1, fi.Type)
		}
	}
	if m.Base == nil && len(m.Incr) == 0 {
		return nil, fmt.Errorf("manifest names no base and no incremental file")
	}
	return m, nil
}

// Encode writes the manifest as Redis does: base, history, incremental.
func (m *Manifest) Encode() []byte {
	var b bytes.Buffer
	line := func(f FileInfo) {
		fmt.Fprintf(&b, "file %s seq %d type %c\n", f.Name, f.Seq, f.Type)
	}
	if m.Base != nil {
		line(*m.Base)
	}
	for _, f := range m.History {
		line(f)
	}
	for _, f := range m.Incr {
		line(f)
	}
	return b.Bytes()
}

// LastIncr is the incremental file appends go to (nil when there is none).
func (m *Manifest) LastIncr() *FileInfo {
	if len(m.Incr) == 0 {
		return nil
	}
	return &m.Incr[len(m.Incr)-1]
}

// NextIncrSeq and NextBaseSeq are the sequence numbers of the next files.
func (m *Manifest) NextIncrSeq() int64 {
	if f := m.LastIncr(); f != nil {
		return f.Seq + 1
	}
	return 1
}

func (m *Manifest) NextBaseSeq() int64 {
	if m.Base != nil {
		return m.Base.Seq + 1
	}
	return 1
}

// Retired lists every file of m as history, for the manifest that
// replaces m.
func (m *Manifest) Retired() []FileInfo {
	var out []FileInfo
	if m.Base != nil {
		out = append(out, *m.Base)
	}
	out = append(out, m.History...)
	out = append(out, m.Incr...)
	for i := range out {
		out[i].Type = TypeHistory
	}
	return out
}

// Clone is a deep copy.
func (m *Manifest) Clone() *Manifest {
	c := &Manifest{Incr: append([]FileInfo(nil), m.Incr...), History: append([]FileInfo(nil), m.History...)}
	if m.Base != nil {
		b := *m.Base
		c.Base = &b
	}
	return c
}
