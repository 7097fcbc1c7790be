package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// exchange sends raw bytes on a new connection and collects the answer
// until the server closes the connection or stays quiet for 300ms.
func exchange(t *testing.T, addr string, send []byte) (reply string, closed bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	if _, err := conn.Write(send); err != nil {
		return "", true
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := conn.Read(buf)
		out = append(out, buf[:n]...)
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			return string(out), false
		case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), strings.Contains(err.Error(), "reset"):
			return string(out), true
		default:
			t.Fatalf("read from %s: %v", addr, err)
		}
	}
}

// garbageReply sends b and returns the first reply bytes within 300ms
// ("" on silence, a close or a dial error), safe to call from goroutines.
func garbageReply(addr string, b []byte) string {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return ""
	}
	defer conn.Close()
	conn.Write(b)
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 256)
	n, _ := conn.Read(buf)
	return string(buf[:n])
}

// protocolCases are byte streams real Redis answers deterministically; the
// engine must answer each exactly like redis-server 7.0 does.
var protocolCases = []struct{ name, send string }{
	{"negative bulk length", "*1\r\n$-5\r\n"},
	{"bulk length overflowing int64", "*1\r\n$18446744073709551616\r\n"},
	{"bulk length not a number", "*1\r\n$12a\r\n"},
	{"bulk length over proto-max-bulk-len", "*2\r\n$3\r\nGET\r\n$536870913\r\n"},
	{"multibulk count over INT_MAX", "*2147483648\r\n"},
	{"multibulk count not a number", "*x1\r\n"},
	{"negative multibulk count is skipped", "*-1\r\nPING\r\n"},
	{"element is not a bulk", "*2\r\n$4\r\nECHO\r\n:1\r\n"},
	{"RESP3 map sent as a command", "%1\r\n+a\r\n+b\r\n"},
	{"unbalanced quotes inline", "ECHO \"abc\r\n"},
	{"unknown command", "NOSUCHCOMMAND a b\r\n"},
	{"wrong arity", "*1\r\n$3\r\nGET\r\n"},
	{"valid pipeline then garbage", "*1\r\n$4\r\nPING\r\nECHO ok\r\n*1\r\n$-7\r\n*1\r\n$4\r\nPING\r\n"},
	{"empty lines and *0 are skipped", "\r\n\r\n*0\r\nPING\r\n"},
	{"huge bulk header then close", "*2\r\n$3\r\nSET\r\n$536870912\r\nabc"},
	{"inline line of 100KB", strings.Repeat("A", 100_000)},
}

// TestMalformedInputMatchesRedisAndHarmsNoOne sends malformed and hostile
// byte streams to an engine process and to a real redis-server, expects
// the same replies, and meanwhile a well-behaved client keeps working with
// no error; the engine process stays up with bounded memory.
func TestMalformedInputMatchesRedisAndHarmsNoOne(t *testing.T) {
	eng := Start(t, Options{Cluster: true})
	cliOK(t, eng, "CLUSTER", "ADDSLOTSRANGE", "0", "16383")
	rs := redistest.Start(t, redistest.Options{})

	// a normal client works all along
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var clientErr error
	var clientOps int
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := eng.Client()
		defer c.Close()
		for i := 0; ctx.Err() == nil; i++ {
			k, v := fmt.Sprint("good:", i%100), fmt.Sprint(i)
			if err := c.Set(ctx, k, v, 0).Err(); err != nil {
				if ctx.Err() == nil {
					clientErr = fmt.Errorf("SET %s: %w", k, err)
				}
				return
			}
			if got, err := c.Get(ctx, k).Result(); err != nil || got != v {
				if ctx.Err() == nil {
					clientErr = fmt.Errorf("GET %s = %q, %v; want %q", k, got, err, v)
				}
				return
			}
			clientOps++
			time.Sleep(time.Millisecond)
		}
	}()

	for _, c := range protocolCases {
		t.Run(c.name, func(t *testing.T) {
			want, wantClosed := exchange(t, rs.Addr(), []byte(c.send))
			got, gotClosed := exchange(t, eng.Addr(), []byte(c.send))
			if got != want {
				t.Errorf("engine replied %q, redis-server %q", got, want)
			}
			if gotClosed != wantClosed {
				t.Errorf("engine closed the connection: %v, redis-server: %v", gotClosed, wantClosed)
			}
		})
	}

	t.Run("random garbage from many clients at once", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 150 {
			rnd := rand.New(rand.NewPCG(7, uint64(i)))
			b := make([]byte, 1+rnd.IntN(300))
			for j := range b {
				b[j] = "*$+-:%~\r\n0123456789-x \x00\xff"[rnd.IntN(23)]
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got := garbageReply(eng.Addr(), b); got != "" && !strings.ContainsRune("-+$*:", rune(got[0])) {
					t.Errorf("garbage %q: reply %q is not RESP", b, got)
				}
			}()
		}
		wg.Wait()
		if eng.Exited() {
			t.Fatalf("engine exited after random garbage:\n%s", eng.LogTail(20))
		}
	})

	t.Run("declared 512MB bulks hold no memory", func(t *testing.T) {
		var conns []net.Conn
		for range 16 {
			conn, err := net.Dial("tcp", eng.Addr())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, conn)
			conn.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n" + strings.Repeat("x", 100_000)))
		}
		time.Sleep(300 * time.Millisecond)
		rss, err := eng.RSS()
		for _, c := range conns {
			c.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		if rss > 300<<20 {
			t.Fatalf("16 clients that declared 512MB arguments and sent 100KB each raised RSS to %d MB", rss>>20)
		}
	})

	t.Run("garbage on the cluster bus port", func(t *testing.T) {
		bus := fmt.Sprintf("%s:%d", eng.Host, eng.Port+10000)
		for _, junk := range []string{"PING\r\n", "RCmb\xff\xff\xff\xff", strings.Repeat("\x00", 5000), "RCmb\x00\x00\x00\x08\x00\x01"} {
			exchange(t, bus, []byte(junk))
		}
		if info := cliOK(t, eng, "CLUSTER", "INFO"); !strings.Contains(info, "cluster_state:ok") {
			t.Fatalf("after bus garbage:\n%s", info)
		}
	})

	cancel()
	wg.Wait()
	if clientErr != nil {
		t.Fatalf("the well-behaved client failed: %v", clientErr)
	}
	if clientOps == 0 {
		t.Fatal("the well-behaved client made no progress")
	}
	if eng.Exited() {
		t.Fatalf("engine process exited:\n%s", eng.LogTail(20))
	}
	if got, _ := exchange(t, eng.Addr(), []byte("*2\r\n$3\r\nGET\r\n$6\r\ngood:1\r\n")); !strings.HasPrefix(got, "$") {
		t.Fatalf("GET after the attacks: %q", got)
	}
}

// TestCommandWithOverAMillionArguments: Redis 7.0 accepts a command with
// more than 1024*1024 arguments (its limit is INT_MAX); so must the engine.
func TestCommandWithOverAMillionArguments(t *testing.T) {
	eng := Start(t, Options{})
	rs := redistest.Start(t, redistest.Options{})
	args := make([]any, 0, 1<<20+3)
	args = append(args, "SADD", "big")
	for i := range 1<<20 + 1 {
		args = append(args, i)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		addr string
	}{{"redis-server", rs.Addr()}, {"engine", eng.Addr()}} {
		cl := redis.NewClient(&redis.Options{Addr: c.addr, ReadTimeout: 30 * time.Second, MaxRetries: -1})
		n, err := cl.Do(ctx, args...).Int()
		cl.Close()
		if err != nil || n != 1<<20+1 {
			t.Errorf("%s: SADD with %d members = %d, %v", c.name, 1<<20+1, n, err)
		}
	}
}

// TestThousandsOfClients: 2000 simultaneous connections each run a
// pipelined SET/GET with RESP2 or RESP3; INFO clients counts them and
// drops back when they leave.
func TestThousandsOfClients(t *testing.T) {
	eng := Start(t, Options{})
	const clients = 2000
	conns := make([]net.Conn, clients)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range conns {
		c, err := net.DialTimeout("tcp", eng.Addr(), 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns[i] = c
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			proto, want := "2", fmt.Sprintf("+OK\r\n$%d\r\nv%d\r\n", len(fmt.Sprint("v", i)), i)
			if i%2 == 1 {
				proto = "3"
			}
			req := fmt.Sprintf("HELLO %s\r\nSET k%d v%d\r\nGET k%d\r\n", proto, i, i, i)
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := c.Write([]byte(req)); err != nil {
				errs <- err
				return
			}
			var got []byte
			buf := make([]byte, 4096)
			for !strings.HasSuffix(string(got), want) {
				n, err := c.Read(buf)
				if err != nil {
					errs <- fmt.Errorf("client %d (RESP%s): %v after %q", i, proto, err, got)
					return
				}
				got = append(got, buf[:n]...)
			}
			if !strings.Contains(string(got), "proto") {
				errs <- fmt.Errorf("client %d: HELLO reply lacks proto: %q", i, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := infoField(t, eng, "clients", "connected_clients"); got != fmt.Sprint(clients+1) {
		t.Fatalf("connected_clients = %s with %d clients and redis-cli connected", got, clients)
	}
	for i, c := range conns {
		c.Close()
		conns[i] = nil
	}
	waitFor(t, 10*time.Second, "clients gone", func() string {
		if got := infoField(t, eng, "clients", "connected_clients"); got != "1" {
			return "connected_clients:" + got
		}
		return ""
	})
	if got := cliOK(t, eng, "DBSIZE"); got != fmt.Sprint(clients) {
		t.Fatalf("DBSIZE %s, want %d", got, clients)
	}
}
