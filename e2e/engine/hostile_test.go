package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
)

// busyNode starts a `gocluster server` process and makes one client run a
// command that takes tens of seconds (a glob whose cost is len(pattern) x
// len(key) on 40 000-byte keys; redis-server needs as long), and checks
// that the node is indeed busy: a command needing the keyspace waits.
func busyNode(t *testing.T, cluster bool) *Node {
	n := Start(t, Options{Cluster: cluster})
	if cluster { // a one-node cluster serving every slot
		c := n.Client()
		defer c.Close()
		ctx := context.Background()
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
			t.Fatal(err)
		}
		for start := time.Now(); c.Set(ctx, "{x}probe", "1", 0).Err() != nil; time.Sleep(50 * time.Millisecond) {
			if time.Since(start) > 10*time.Second {
				t.Fatal("the one-node cluster does not accept writes")
			}
		}
	}
	conn, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	br := bufio.NewReader(conn)
	key := strings.Repeat("a", 40000)
	var batch strings.Builder
	for i := range 20 {
		k := fmt.Sprintf("{x}%s%d", key, i) // one slot, so a cluster node serves every key
		fmt.Fprintf(&batch, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n1\r\n", len(k), k)
	}
	if _, err := conn.Write([]byte(batch.String())); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if line, err := br.ReadString('\n'); err != nil || line != "+OK\r\n" {
			t.Fatalf("SET: %q %v", line, err)
		}
	}
	pattern := "*" + strings.Repeat("a", 20000) + "b"
	if _, err := fmt.Fprintf(conn, "*2\r\n$4\r\nKEYS\r\n$%d\r\n%s\r\n", len(pattern), pattern); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	probe, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	probe.SetDeadline(time.Now().Add(time.Second))
	probe.Write([]byte("GET {x}nope\r\n"))
	if _, err := bufio.NewReader(probe).ReadString('\n'); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the node should be busy running KEYS, GET answered (%v)", err)
	}
	return n
}

// SIGTERM ends the process promptly even while a client's command runs
// for much longer (it used to wait for that command).
func TestSigtermDuringLongCommand(t *testing.T) {
	for _, cluster := range []bool{false, true} {
		t.Run(fmt.Sprintf("cluster=%v", cluster), func(t *testing.T) {
			n := busyNode(t, cluster)
			start := time.Now()
			n.Signal(syscall.SIGTERM) // fails the test unless it exits within 10 s
			t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
			if log := n.LogTail(20); !strings.Contains(log, "connection(s) still running a command") {
				t.Errorf("the log does not say why shutdown did not wait:\n%s", log)
			}
		})
	}
}

// SHUTDOWN from another client is served while one runs a long command,
// and the process exits without waiting for that command.
func TestShutdownDuringLongCommand(t *testing.T) {
	n := busyNode(t, false)
	conn, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.Write([]byte("SHUTDOWN NOSAVE\r\n"))
	for !n.Exited() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("still running 10 s after SHUTDOWN:\n%s", n.LogTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("exited %v after SHUTDOWN", time.Since(start).Round(time.Millisecond))
}

// The commands of issue 11 that killed or hung every node of `local up`:
// a real gocluster server process answers them as redis-server 7.0 does,
// at once, and keeps serving.
func TestIssue11CommandsAnsweredLikeRedis(t *testing.T) {
	n := Start(t, Options{})
	real := redistest.Start(t, redistest.Options{Flavor: "redis"})
	key := strings.Repeat("a", 40)
	cmds := [][]string{
		{"SET", key, "v"},
		{"SETRANGE", "k", "9223372036854775807", "x"},
		{"SCAN", "18446744073709551615", "COUNT", "9223372036854775807"},
		{"KEYS", "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"},
		{"KEYS", "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a"},
		{"SETBIT", "k", "9223372036854775807", "1"},
		{"SETRANGE", "k", "536870911", "xx"},
		{"PING"},
	}
	ask := func(addr string) []string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		var out []string
		for _, args := range cmds {
			var b strings.Builder
			fmt.Fprintf(&b, "*%d\r\n", len(args))
			for _, a := range args {
				fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
			}
			c.SetDeadline(time.Now().Add(2 * time.Second)) // Redis answers each at once
			if _, err := c.Write([]byte(b.String())); err != nil {
				t.Fatal(err)
			}
			var reply strings.Builder
			if err := readRaw(br, &reply); err != nil {
				t.Fatalf("%s on %s: %v", args[0], addr, err)
			}
			out = append(out, reply.String())
		}
		return out
	}
	want, got := ask(real.Addr()), ask(n.Addr())
	for i := range cmds {
		if cmds[i][0] == "SCAN" {
			// redis-server visits one bucket of its hash table for a
			// cursor past the end: whether that bucket holds the key
			// depends on its random hash seed. The cursor must be 0.
			const endCursor = "*2\r\n$1\r\n0\r\n"
			if !strings.HasPrefix(want[i], endCursor) || !strings.HasPrefix(got[i], endCursor) {
				t.Errorf("SCAN past the end:\n  redis:  %q\n  engine: %q", want[i], got[i])
			}
			continue
		}
		if want[i] != got[i] {
			t.Errorf("%.60s:\n  redis:  %q\n  engine: %q", strings.Join(cmds[i], " "), want[i], got[i])
		}
	}
}

// readRaw copies one RESP reply, nested arrays included, as raw text.
func readRaw(br *bufio.Reader, out *strings.Builder) error {
	line, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	out.WriteString(line)
	var n int
	switch line[0] {
	case '$':
		fmt.Sscanf(line[1:], "%d", &n)
		if n >= 0 {
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(br, buf); err != nil {
				return err
			}
			out.Write(buf)
		}
	case '*':
		fmt.Sscanf(line[1:], "%d", &n)
		for range n {
			if err := readRaw(br, out); err != nil {
				return err
			}
		}
	}
	return nil
}
