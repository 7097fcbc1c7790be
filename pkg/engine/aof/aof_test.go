package aof

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestManifestRoundTripAndErrors(t *testing.T) {
	text := "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\n# note\n\nfile appendonly.aof.2.incr.aof type i seq 2\nfile appendonly.aof.3.incr.aof seq 3 type i\n"
	m, err := ParseManifest([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if m.Base.Name != "appendonly.aof.2.base.rdb" || len(m.History) != 1 || len(m.Incr) != 2 || m.LastIncr().Seq != 3 {
		t.Fatalf("parsed %+v", m)
	}
	if m.NextBaseSeq() != 3 || m.NextIncrSeq() != 4 {
		t.Fatalf("next seqs %d %d", m.NextBaseSeq(), m.NextIncrSeq())
	}
	again, err := ParseManifest(m.Encode())
	if err != nil || string(again.Encode()) != string(m.Encode()) {
		t.Fatalf("round trip: %v\n%s", err, again.Encode())
	}
	for _, r := range m.Retired() {
		if r.Type != TypeHistory {
			t.Fatalf("retired %+v", r)
		}
	}
	for _, bad := range []string{
		"",
		"file a seq 1\n",
		"file a seq x type b\n",
		"file a seq 1 type b\nfile b seq 2 type b\n",
		"file a seq 2 type i\nfile b seq 1 type i\n",
		"file ../etc/passwd seq 1 type i\n",
		"file a seq 1 type z\n",
		"file a seq 1 type b extra\n",
		"file " + strings.Repeat("x", 2000) + " seq 1 type b\n",
	} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("ParseManifest(%q) accepted", bad)
		}
	}
}

func cmds(args ...[]string) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteString("*" + strconv.Itoa(len(a)) + "\r\n")
		for _, w := range a {
			b.WriteString("$" + strconv.Itoa(len(w)) + "\r\n" + w + "\r\n")
		}
	}
	return b.String()
}

func TestReplay(t *testing.T) {
	file := "#TS:1700000000\r\n" + cmds([]string{"SELECT", "0"}, []string{"SET", "a", "1"},
		[]string{"MULTI"}, []string{"INCR", "a"}, []string{"INCR", "a"}, []string{"EXEC"}, []string{"SET", "b", strings.Repeat("x", 12)})
	var got []string
	valid, err := Replay([]byte(file), func(args [][]byte) error {
		got = append(got, string(args[0]))
		return nil
	})
	if err != nil || valid != int64(len(file)) || strings.Join(got, " ") != "SELECT SET INCR INCR SET" {
		t.Fatalf("Replay = %d, %v, %v", valid, err, got)
	}
	// Every cut inside the last command or an open MULTI is a truncation
	// that ends at the last complete command (or before the MULTI).
	whole := cmds([]string{"SET", "a", "1"})
	multi := whole + cmds([]string{"MULTI"}, []string{"INCR", "a"})
	for _, c := range []struct {
		data  string
		valid int
	}{
		{whole + "*3\r\n$3\r\nSET\r\n$1\r\nb", len(whole)},
		{whole + "*3\r", len(whole)},
		{multi, len(whole)},
		{multi + cmds([]string{"EXEC"})[:5], len(whole)},
		{whole + "#TS:12", len(whole)},
	} {
		n := 0
		valid, err := Replay([]byte(c.data), func([][]byte) error { n++; return nil })
		if !errors.Is(err, ErrTruncated) || valid != int64(c.valid) || n != 1 {
			t.Errorf("Replay(%q) = %d, %v after %d commands; want ErrTruncated at %d after 1", c.data, valid, err, n, c.valid)
		}
	}
	for _, bad := range []string{"GET a\r\n", "*1\r\n$3\r\nGETX\r\n", "*1\r\n+OK\r\n", "*-1\r\n", "*1\r\n$99999999999999\r\n"} {
		var fe *FormatError
		if _, err := Replay([]byte(bad), func([][]byte) error { return nil }); !errors.As(err, &fe) {
			t.Errorf("Replay(%q) = %v, want a FormatError", bad, err)
		}
	}
}

func TestLogCommitWritesBeforeAcknowledging(t *testing.T) {
	for _, p := range []Policy{FsyncAlways, FsyncEverySec, FsyncNo} {
		path := filepath.Join(t.TempDir(), "incr.aof")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		l := Open(f, 0, p)
		off := l.Append([]byte("hello "))
		l.Append([]byte("world"))
		if err := l.Commit(off); err != nil {
			t.Fatal(err)
		}
		if data, _ := os.ReadFile(path); !strings.HasPrefix(string(data), "hello ") {
			t.Fatalf("policy %d: after Commit the file holds %q", p, data)
		}
		if p == FsyncAlways && l.synced.Load() < off {
			t.Fatalf("appendfsync always: Commit returned before the fsync")
		}
		next, _ := os.OpenFile(path+".2", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err := l.Rotate(next); err != nil {
			t.Fatal(err)
		}
		l.Append([]byte("after"))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(path)
		b, _ := os.ReadFile(path + ".2")
		if string(a) != "hello world" || string(b) != "after" || l.Size() != 5 {
			t.Fatalf("policy %d: files %q %q size %d", p, a, b, l.Size())
		}
	}
}

// Each write, and each fsync of appendfsync always, is reported under the
// latency monitor's event names.
func TestLogReportsWriteAndFsyncLatency(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "incr.aof"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	l := Open(f, 0, FsyncAlways)
	defer l.Close()
	var mu sync.Mutex
	var events []string
	l.OnLatency(func(event string, _ time.Duration) {
		mu.Lock()
		events = append(events, event)
		mu.Unlock()
	})
	if err := l.Commit(l.Append([]byte("hello"))); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(events, " "); got != "aof-write-alone aof-write aof-fsync-always" {
		t.Errorf("events: %s", got)
	}
}

// FuzzReplay: an append-only file is hostile input (a crash, a disk
// error, a hand edit): replaying it never panics, and what it reports as
// valid replays again without error.
func FuzzReplay(f *testing.F) {
	f.Add([]byte(cmds([]string{"SET", "a", "1"}, []string{"MULTI"}, []string{"EXEC"})))
	f.Add([]byte("#TS:1\r\n*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET"))
	f.Add([]byte("file a seq 1 type b\nfile b seq 2 type i\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseManifest(data)
		valid, err := Replay(data, func([][]byte) error { return nil })
		if valid < 0 || valid > int64(len(data)) {
			t.Fatalf("valid = %d of %d", valid, len(data))
		}
		if errors.Is(err, ErrTruncated) {
			if _, err := Replay(data[:valid], func([][]byte) error { return nil }); err != nil {
				t.Fatalf("the valid prefix of a truncated file does not replay: %v", err)
			}
		}
	})
}
