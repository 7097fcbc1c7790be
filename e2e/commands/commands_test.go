// Package commands tests info, call, set-timeout and bad input end to end
// against real redis-server nodes.
package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestInfoCallSetTimeout(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1})
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Addr()}})
	defer cc.Close()
	ctx := context.Background()
	for i := range 300 {
		if err := cc.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	// Let replicas catch up so that per-node counts are stable.
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		return m.Do(ctx, "WAIT", 1, 5000).Err()
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("info", func(t *testing.T) {
		r := harness.Run(t, "info", c.Addr())
		if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] 300 keys in 3 masters.") || !strings.Contains(r.Stdout, "0.02 keys per slot on average.") {
			t.Fatalf("info: %d\n%s", r.Code, r.Output())
		}
		rc := c.CLI(t, "--cluster", "info", c.Addr())
		cliOut := harness.RedisWords(rc.Stdout)
		if !strings.Contains(cliOut, "[OK] 300 keys in 3 masters.") {
			t.Fatalf("redis-cli disagrees:\n%s", rc.Output())
		}
		// The per-master lines are the same set as redis-cli's.
		for _, line := range strings.Split(cliOut, "\n") {
			if strings.Contains(line, "keys |") && !strings.Contains(r.Stdout, line) {
				t.Errorf("redis-cli line %q missing from gocluster:\n%s", line, r.Stdout)
			}
		}
		var doc struct {
			Keys    int64 `json:"keys"`
			Masters []struct {
				Slots    int `json:"slots"`
				Replicas int `json:"replicas"`
			} `json:"masters"`
		}
		j := harness.Run(t, "info", c.Addr(), "--json")
		if err := json.Unmarshal([]byte(j.Stdout), &doc); err != nil || doc.Keys != 300 || len(doc.Masters) != 3 || doc.Masters[0].Replicas != 1 {
			t.Fatalf("info --json: %v %+v\n%s", err, doc, j.Output())
		}
	})

	t.Run("call", func(t *testing.T) {
		r := harness.Run(t, "call", c.Addr(), "DBSIZE")
		if r.Code != 0 || !strings.HasPrefix(r.Stdout, ">>> Calling DBSIZE\n") {
			t.Fatalf("call: %d\n%s", r.Code, r.Output())
		}
		total := 0
		lines := 0
		for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n")[1:] {
			var addr string
			var n int
			if _, err := fmt.Sscanf(strings.Replace(line, ": ", " ", 1), "%s %d", &addr, &n); err != nil {
				t.Fatalf("bad line %q", line)
			}
			total += n
			lines++
		}
		if lines != 6 || total != 600 { // replicas hold copies
			t.Fatalf("call DBSIZE: %d lines, total %d\n%s", lines, total, r.Stdout)
		}
		dry := harness.Run(t, "call", c.Addr(), "FLUSHALL", "--dry-run", "--only-masters")
		if dry.Code != 0 || !strings.Contains(dry.Stdout, "Would call FLUSHALL on 3 nodes") {
			t.Fatalf("call --dry-run: %d\n%s", dry.Code, dry.Output())
		}
		if again := harness.Run(t, "call", c.Addr(), "DBSIZE"); again.Stdout != r.Stdout {
			t.Fatalf("call --dry-run FLUSHALL changed data:\n%s", again.Stdout)
		}
		m := harness.Run(t, "call", c.Addr(), "ROLE", "--only-masters")
		if strings.Count(m.Stdout, ": master") != 3 || strings.Contains(m.Stdout, "slave") {
			t.Fatalf("--only-masters:\n%s", m.Stdout)
		}
		s := harness.Run(t, "call", "--cluster-only-replicas", c.Addr(), "ROLE")
		if strings.Count(s.Stdout, ": slave") != 3 {
			t.Fatalf("--only-replicas:\n%s", s.Stdout)
		}
		// Arguments that look like flags belong to the called command.
		e := harness.Run(t, "call", c.Addr(), "INCRBY", "{x}counter", "-1", "--only-masters")
		if e.Code != 1 || !strings.Contains(e.Stdout, "MOVED") || !strings.Contains(e.Stdout, ": -1") {
			t.Fatalf("call with negative arg: %d\n%s", e.Code, e.Output())
		}
	})

	t.Run("set-timeout", func(t *testing.T) {
		dry := harness.Run(t, "set-timeout", c.Addr(), "7000", "--dry-run")
		if dry.Code != 0 || !strings.Contains(dry.Stdout, "Would set cluster-node-timeout to 7000 ms on 6 nodes") {
			t.Fatalf("set-timeout --dry-run: %d\n%s", dry.Code, dry.Output())
		}
		for _, s := range c.Nodes {
			if got := c.CLI(t, "-h", s.Host, "-p", fmt.Sprint(s.Port), "CONFIG", "GET", "cluster-node-timeout").Stdout; strings.Contains(got, "7000") {
				t.Fatalf("%s: --dry-run changed the timeout", s.Addr())
			}
		}
		r := harness.Run(t, "set-timeout", c.Addr(), "7000")
		if r.Code != 0 || !strings.Contains(r.Stdout, ">>> New node timeout set. 6 OK, 0 ERR.") || strings.Count(r.Stdout, "*** New timeout set for") != 6 {
			t.Fatalf("set-timeout: %d\n%s", r.Code, r.Output())
		}
		for _, s := range c.Nodes {
			got := c.CLI(t, "-h", s.Host, "-p", fmt.Sprint(s.Port), "CONFIG", "GET", "cluster-node-timeout").Stdout
			if !strings.Contains(got, "7000") {
				t.Fatalf("%s: cluster-node-timeout not set: %q", s.Addr(), got)
			}
		}
	})
}

// TestBadInput: every kind of bad input gets a one-line error naming the
// problem, the documented exit code, and never a panic or hang.
func TestBadInput(t *testing.T) {
	plain := redistest.Start(t, redistest.Options{})
	secured := redistest.Start(t, redistest.Options{Cluster: true, Password: "s3cret"})
	closed := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t, "127.0.0.1"))
	garbage := fakeServer(t, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
	silent := fakeServer(t, "")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"closed port", []string{"check", closed}, 1, "connection refused"},
		{"unresolvable host", []string{"check", "no-such-host.invalid:7000"}, 1, "cannot resolve host"},
		{"port out of range", []string{"info", "127.0.0.1:65536"}, 2, "out of range"},
		{"not host:port", []string{"check", "localhost"}, 2, "want host:port"},
		{"wrong password", []string{"check", secured.Addr(), "-a", "wrong"}, 1, "authentication failed"},
		{"missing password", []string{"check", secured.Addr()}, 1, "authentication required"},
		{"wrong ACL user", []string{"info", secured.Addr(), "--user", "nobody", "-a", "s3cret"}, 1, "authentication failed"},
		{"not a cluster node", []string{"check", plain.Addr()}, 1, "not a cluster node"},
		{"missing args", []string{"call"}, 2, "requires at least 2 arg"},
		{"bad number", []string{"set-timeout", closed, "12x"}, 2, "invalid timeout"},
		{"timeout too small", []string{"set-timeout", closed, "99"}, 2, "less than 100 milliseconds"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"check", closed, "--frob"}, 2, "unknown flag"},
		{"malformed RESP", []string{"check", garbage}, 1, "not valid RESP"},
		{"node never answers", []string{"check", silent, "--command-timeout", "500ms"}, 1, "timed out"},
		{"bad tls files", []string{"check", closed, "--tls", "--cacert", "/nonexistent.pem"}, 2, "cacert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := harness.Run(t, tt.args...)
			if r.Code != tt.code {
				t.Errorf("exit %d, want %d\n%s", r.Code, tt.code, r.Output())
			}
			first := strings.SplitN(strings.TrimSpace(r.Stderr), "\n", 2)[0]
			if !strings.HasPrefix(first, "gocluster: ") || !strings.Contains(first, tt.want) {
				t.Errorf("first stderr line %q should be one line naming %q", first, tt.want)
			}
			if strings.Contains(r.Output(), "panic") || strings.Contains(r.Output(), "goroutine ") {
				t.Errorf("panic:\n%s", r.Output())
			}
		})
	}
	// The right password works on the same node.
	if r := harness.Run(t, "call", secured.Addr(), "PING", "-a", "s3cret"); r.Code != 0 || !strings.Contains(r.Stdout, ": PONG") {
		t.Fatalf("call with password: %d\n%s", r.Code, r.Output())
	}
	r := harness.Exec(t, harness.Binary(t), harness.Cmd{Args: []string{"call", secured.Addr(), "PING"}, Env: []string{"REDISCLI_AUTH=s3cret"}})
	if r.Code != 0 || !strings.Contains(r.Stdout, ": PONG") {
		t.Fatalf("REDISCLI_AUTH not honoured: %d\n%s", r.Code, r.Output())
	}
}

// TestVersionFromLdflags builds the binary the way releases do and checks
// that the stamped version is what `gocluster version` prints.
func TestVersionFromLdflags(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gocluster")
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X github.com/gocluster/gocluster/internal/cli.Version=9.8.7-test", "../../cmd/gocluster")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	r := harness.Exec(t, bin, harness.Cmd{Args: []string{"version"}})
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "gocluster 9.8.7-test ") {
		t.Fatalf("version: %d %q", r.Code, r.Output())
	}
	r = harness.Exec(t, bin, harness.Cmd{Args: []string{"completion", "bash"}})
	if r.Code != 0 || !strings.Contains(r.Stdout, "__start_gocluster") {
		t.Fatalf("completion bash: %d\n%.300s", r.Code, r.Output())
	}
}

// fakeServer accepts connections on loopback and answers every one with
// reply (then closes it), or with silence when reply is empty.
func fakeServer(t *testing.T, reply string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.Read(buf)
				if reply == "" {
					c.SetReadDeadline(time.Now().Add(5 * time.Second))
					c.Read(buf)
					return
				}
				c.Write([]byte(reply))
			}()
		}
	}()
	return l.Addr().String()
}
