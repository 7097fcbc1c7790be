package badinput

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
)

// TestInterruptWhileBlocked: a command stuck on a node that never answers
// exits 130 after SIGINT (once the command timeout frees it), and at once
// after a second SIGINT, with one line saying what to do.
func TestInterruptWhileBlocked(t *testing.T) {
	var silent [3]string
	for i := range silent {
		silent[i] = fakeServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	}
	cases := []struct {
		name    string
		args    []string
		signals int
		within  time.Duration
		want    string
	}{
		{"one SIGINT", []string{"check", silent[0], "--command-timeout", "2s"}, 1, 5 * time.Second, "interrupted"},
		{"two SIGINTs", []string{"check", silent[0], "--command-timeout", "60s"}, 2, 3 * time.Second, "interrupted twice"},
		{"two SIGINTs during create", []string{"create", silent[0], silent[1], silent[2], "--yes", "--command-timeout", "60s"},
			2, 3 * time.Second, "interrupted twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(harness.Binary(t), c.args...)
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			time.Sleep(500 * time.Millisecond) // connected and blocked on the reply
			start := time.Now()
			for range c.signals {
				cmd.Process.Signal(syscall.SIGINT)
				time.Sleep(100 * time.Millisecond)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(c.within):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running %s after SIGINT\n%s%s", c.within, stdout.String(), stderr.String())
			}
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != 130 {
				t.Errorf("exit %v after %s, want 130\n%s%s", err, time.Since(start), stdout.String(), stderr.String())
			}
			first := strings.SplitN(stderr.String(), "\n", 2)[0]
			if !strings.HasPrefix(first, "gocluster: ") || !strings.Contains(first, c.want) {
				t.Errorf("first stderr line %q, want \"gocluster: ...%s\"", first, c.want)
			}
			if strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "goroutine ") {
				t.Errorf("panic:\n%s", stderr.String())
			}
		})
	}
}
