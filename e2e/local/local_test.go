// Package local tests `gocluster local up`, the command behind `make run`.
package local

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/redis/go-redis/v9"
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

// localUp runs `gocluster local up` with args until it prints "Press
// Ctrl-C"; stop sends SIGINT, waits for a clean exit and returns all output.
type localUp struct {
	cmd  *exec.Cmd
	done chan error
	out  *strings.Builder
	mu   *sync.Mutex
}

func startLocalUp(t *testing.T, args ...string) (*localUp, string) {
	t.Helper()
	cmd := exec.Command(harness.Binary(t), append([]string{"local", "up", "--no-color"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lu := &localUp{cmd: cmd, done: make(chan error, 1), out: &strings.Builder{}, mu: &sync.Mutex{}}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lu.mu.Lock()
			lu.out.WriteString(sc.Text() + "\n")
			text := lu.out.String()
			lu.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
				ready <- text
			}
		}
		io.Copy(io.Discard, stdout)
		lu.done <- cmd.Wait()
	}()
	select {
	case text := <-ready:
		return lu, text
	case err := <-lu.done:
		t.Fatalf("local up exited early: %v\n%s", err, lu.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("local up not ready in 60s:\n%s", lu.output())
	}
	return nil, ""
}

func (lu *localUp) output() string {
	lu.mu.Lock()
	defer lu.mu.Unlock()
	return lu.out.String()
}

func (lu *localUp) stop(t *testing.T) {
	t.Helper()
	if err := lu.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lu.done:
		if err != nil {
			t.Fatalf("local up after Ctrl-C: %v\n%s", err, lu.output())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("local up did not stop within 20s of SIGINT")
	}
}

func TestLocalUp(t *testing.T) {
	for _, backend := range []string{"engine", "redis-server"} {
		t.Run(backend, func(t *testing.T) {
			base := freeBase(t, 6)
			t0 := time.Now()
			lu, text := startLocalUp(t, "--port", fmt.Sprint(base), "--backend", backend)
			if !strings.Contains(text, "[OK] All 16384 slots covered.") {
				t.Fatalf("local up did not print a clean check:\n%s", text)
			}
			// One machine is the point: one note, no warning per replica.
			if strings.Contains(text, "[WARNING]") || strings.Count(text, "replicas share their master's host") != 1 {
				t.Fatalf("local up should print one note about hosts and no warning:\n%s", text)
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
			lu.stop(t)
			for p := base; p < base+6; p++ {
				if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 200*time.Millisecond); err == nil {
					c.Close()
					t.Errorf("port %d still open after local up stopped", p)
				}
			}
		})
	}
}

// TestLocalUpDirKeepsData: `local up --dir D` runs its nodes with
// appendonly yes; stopped with Ctrl-C and started again on D, the same
// cluster comes back (node IDs and keys) instead of a new one, and a run
// with other sizes on D is refused.
func TestLocalUpDirKeepsData(t *testing.T) {
	for _, backend := range []string{"engine", "redis-server"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			base := freeBase(t, 6)
			args := []string{"--port", fmt.Sprint(base), "--backend", backend, "--dir", dir}
			lu, _ := startLocalUp(t, args...)
			addrs := make([]string, 6)
			for i := range addrs {
				addrs[i] = fmt.Sprintf("127.0.0.1:%d", base+i)
			}
			ids := func() string {
				var out []string
				for _, a := range addrs {
					c := redis.NewClient(&redis.Options{Addr: a})
					id, err := c.Do(ctx, "CLUSTER", "MYID").Text()
					c.Close()
					if err != nil {
						t.Fatalf("CLUSTER MYID on %s: %v", a, err)
					}
					out = append(out, id)
				}
				return strings.Join(out, " ")
			}
			before := ids()
			cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
			for i := range 300 {
				if err := cc.Set(ctx, fmt.Sprintf("kept:%d", i), i, 0).Err(); err != nil {
					t.Fatalf("SET: %v", err)
				}
			}
			cc.Close()
			lu.stop(t)

			lu, text := startLocalUp(t, args...)
			if !strings.Contains(text, "Restarted 6 "+backend+" nodes from "+dir) || !strings.Contains(text, "[OK] All 16384 slots covered.") {
				t.Fatalf("the second local up on the same --dir did not resume the cluster:\n%s", text)
			}
			if after := ids(); after != before {
				t.Fatalf("node IDs changed across the restart:\n  %s\n  %s", before, after)
			}
			cc = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
			for i := range 300 {
				if v, err := cc.Get(ctx, fmt.Sprintf("kept:%d", i)).Result(); err != nil || v != fmt.Sprint(i) {
					t.Fatalf("kept:%d after the restart = %q, %v", i, v, err)
				}
			}
			cc.Close()
			lu.stop(t)

			r := harness.Exec(t, harness.Binary(t), harness.Cmd{Args: append([]string{"local", "up", "--masters", "4", "--replicas", "0"}, args...)})
			if r.Code == 0 || !strings.Contains(r.Output(), "holds a cluster of 6 nodes, not 4") {
				t.Fatalf("local up with other sizes on a used --dir: exit %d\n%s", r.Code, r.Output())
			}
		})
	}
}
