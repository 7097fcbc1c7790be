package harness

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Terminal runs gocluster on a pseudo-terminal (170x50) and keeps what it drew.
type Terminal struct {
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

// StartOnTerminal runs gocluster with args on a pseudo-terminal, with
// NO_COLOR set; the process is killed when the test ends if still running.
func StartOnTerminal(t testing.TB, args ...string) *Terminal {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "NO_COLOR=1")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 170})
	if err != nil {
		t.Fatalf("start on a pty: %v", err)
	}
	term := &Terminal{cmd: cmd, tty: tty, done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := tty.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { term.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill() // ErrProcessDone once it has exited: harmless
		tty.Close()
	})
	return term
}

var ansiRe = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]`)

// Screen is everything drawn since offset, escape codes removed, and the
// offset of its end.
func (term *Terminal) Screen(offset int) (string, int) {
	term.mu.Lock()
	defer term.mu.Unlock()
	b := term.out.Bytes()
	return ansiRe.ReplaceAllString(string(b[min(offset, len(b)):]), "\n"), len(b)
}

// WaitFor polls the drawn text from offset until cond holds.
func (term *Terminal) WaitFor(t testing.TB, within time.Duration, what string, offset int, cond func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s, _ := term.Screen(offset)
		if cond(s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s on the terminal in %s; it shows:\n%s", what, within, Tail(s, 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Press types key.
func (term *Terminal) Press(t testing.TB, key string) {
	t.Helper()
	if _, err := io.WriteString(term.tty, key); err != nil {
		t.Fatalf("type %q: %v", key, err)
	}
}

// Resize changes the terminal's size, as a user resizing the window.
func (term *Terminal) Resize(t testing.TB, rows, cols uint16) {
	t.Helper()
	if err := pty.Setsize(term.tty, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatalf("resize the pty: %v", err)
	}
}

// Exit waits for the program to end and returns its error.
func (term *Terminal) Exit(t testing.TB, within time.Duration) error {
	t.Helper()
	select {
	case err := <-term.done:
		return err
	case <-time.After(within):
		s, _ := term.Screen(0)
		t.Fatalf("still running %s later; it shows:\n%s", within, Tail(s, 3000))
		return nil
	}
}

// State is the exited process (CPU times in its SysUsage); only after Exit.
func (term *Terminal) State() *os.ProcessState { return term.cmd.ProcessState }

// Tail is the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
