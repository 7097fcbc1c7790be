// Package local tests `gocluster local up`, the command behind `make run`.
package local

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
)

// freeBase finds n consecutive free ports whose +10000 bus ports are free too.
func freeBase(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		base := 12000 + rand.IntN(10000) // port and bus port below the ephemeral range (32768+)
		ok := true
		for p := base; p < base+n && ok; p++ {
			for _, q := range []int{p, p + 10000} {
				l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", q))
				if err != nil {
					ok = false
					break
				}
				l.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

func TestLocalUp(t *testing.T) {
	for _, backend := range []string{"engine", "redis-server"} {
		t.Run(backend, func(t *testing.T) {
			base := freeBase(t, 6)
			t0 := time.Now()
			cmd := exec.Command(harness.Binary(t), "local", "up", "--port", fmt.Sprint(base), "--backend", backend, "--no-color")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = cmd.Stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
				}
			})
			ready := make(chan string, 1)
			var out strings.Builder
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					out.WriteString(sc.Text() + "\n")
					if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
						ready <- out.String()
					}
				}
				io.Copy(io.Discard, stdout)
				done <- cmd.Wait()
			}()
			select {
			case text := <-ready:
				if !strings.Contains(text, "[OK] All 16384 slots covered.") {
					t.Fatalf("local up did not print a clean check:\n%s", text)
				}
				// One machine is the point: one note, no warning per replica.
				if strings.Contains(text, "[WARNING]") || strings.Count(text, "replicas share their master's host") != 1 {
					t.Fatalf("local up should print one note about hosts and no warning:\n%s", text)
				}
			case err := <-done:
				t.Fatalf("local up exited early: %v\n%s", err, out.String())
			case <-time.After(60 * time.Second):
				t.Fatalf("local up not ready in 60s:\n%s", out.String())
			}
			t.Logf("ready after %s", time.Since(t0))
			seed := fmt.Sprintf("127.0.0.1:%d", base)
			if r := harness.RedisCLI(t, "--cluster", "check", seed); r.Code != 0 || !strings.Contains(r.Stdout, "[OK] All 16384 slots covered.") {
				t.Fatalf("redis-cli --cluster check on local up's cluster: %d\n%s", r.Code, r.Output())
			}
			for i := range 20 {
				port := fmt.Sprint(base + i%3)
				if r := harness.RedisCLI(t, "-c", "-p", port, "SET", fmt.Sprintf("k%d", i), fmt.Sprint(i)); strings.TrimSpace(r.Stdout) != "OK" {
					t.Fatalf("redis-cli -c SET: %s", r.Output())
				}
			}
			for i := range 20 {
				if r := harness.RedisCLI(t, "-c", "-p", fmt.Sprint(base+5), "GET", fmt.Sprintf("k%d", i)); strings.TrimSpace(r.Stdout) != fmt.Sprint(i) {
					t.Fatalf("redis-cli -c GET k%d: %q", i, r.Output())
				}
			}
			t.Logf("commands done after %s", time.Since(t0))
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("local up after Ctrl-C: %v\n%s", err, out.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatal("local up did not stop within 20s of SIGINT")
			}
			for p := base; p < base+6; p++ {
				if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 200*time.Millisecond); err == nil {
					c.Close()
					t.Errorf("port %d still open after local up stopped", p)
				}
			}
		})
	}
}
