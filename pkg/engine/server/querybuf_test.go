package server

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// queryBufOf reads another client's qbuf, qbuf-free and argv-mem from
// CLIENT LIST.
func queryBufOf(t *testing.T, c *rawConn, name string) (qbuf, free, argv int) {
	t.Helper()
	f := clientListFields(t, c, name, "qbuf", "qbuf-free", "argv-mem")
	return f[0], f[1], f[2]
}

// clientListFields reads numeric fields of the client named name from
// CLIENT LIST.
func clientListFields(t *testing.T, c *rawConn, name string, keys ...string) []int {
	t.Helper()
	for _, line := range strings.Split(string(c.do(t, "CLIENT", "LIST").Str), "\n") {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		out := make([]int, len(keys))
		for i, k := range keys {
			m := regexp.MustCompile(` ` + k + `=(\d+) `).FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("no %s in %q", k, line)
			}
			out[i], _ = strconv.Atoi(m[1])
		}
		return out
	}
	t.Fatalf("no client %s", name)
	return nil
}

// The query buffer of an idle client, as unit/querybuf checks it, compared
// with redis-server 7.0.15: a read buffer of 16 KB to 32 KB after a small
// command, what a partial command has sent (the arguments read whole are
// argv-mem), more than 32 KB after a big command and less once small ones
// follow, (nearly) nothing after more than two seconds of idleness, and a
// fresh buffer with the next command.
func TestQueryBufferMatchesRedisServer(t *testing.T) {
	addrs := map[string]string{
		"redis":  redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr(),
		"engine": startServer(t).Addr().String(),
	}
	type pair struct{ client, observer *rawConn }
	conns := map[string]pair{}
	for name, addr := range addrs {
		p := pair{dial(t, addr), dial(t, addr)}
		p.client.do(t, "CLIENT", "SETNAME", "qb")
		conns[name] = p
	}
	for name, p := range conns {
		if q, f, _ := queryBufOf(t, p.observer, "qb"); q != 0 || q+f < 16384 || q+f >= 32768 {
			t.Errorf("%s after a small command: qbuf=%d qbuf-free=%d", name, q, f)
		}
		p.client.conn.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$10\r\nab"))
	}
	time.Sleep(100 * time.Millisecond)
	for name, p := range conns {
		if q, _, a := queryBufOf(t, p.observer, "qb"); q != 2 || a != 4 {
			t.Errorf("%s with a partial command: qbuf=%d argv-mem=%d, want 2 and 4", name, q, a)
		}
		p.client.conn.Write([]byte("cdefghij\r\n"))
		if r, err := resp.ReadReply(p.client.br); err != nil || show(r) != `+"OK"` {
			t.Fatalf("%s: the completed SET: %s %v", name, show(r), err)
		}
		if r := show(p.client.do(t, "SET", "x", strings.Repeat("A", 400000))); r != `+"OK"` {
			t.Fatalf("%s: %s", name, r)
		}
		q, f, _ := queryBufOf(t, p.observer, "qb")
		if q+f <= 32768 {
			t.Errorf("%s after a big command: qbuf=%d qbuf-free=%d", name, q, f)
		}
		big := q + f
		for deadline := time.Now().Add(1500 * time.Millisecond); q+f >= big && time.Now().Before(deadline); {
			p.client.do(t, "SET", "x", "small")
			time.Sleep(10 * time.Millisecond)
			q, f, _ = queryBufOf(t, p.observer, "qb")
		}
		if q+f == 0 || q+f >= big {
			t.Errorf("%s after small commands: qbuf=%d qbuf-free=%d, want 0 < sum < %d", name, q, f, big)
		}
	}
	time.Sleep(3500 * time.Millisecond)
	for name, p := range conns {
		// Redis frees only a buffer wasting more than 4 KB: it may keep
		// the few bytes it shrank to.
		if q, f, _ := queryBufOf(t, p.observer, "qb"); q != 0 || f > 4096 {
			t.Errorf("%s idle: qbuf=%d qbuf-free=%d, want 0 and at most 4096", name, q, f)
		}
		// The next command is read whole (inline: its first byte is read
		// on its own, then put back).
		p.client.conn.Write([]byte("ECHO hello\r\n"))
		if r, err := resp.ReadReply(p.client.br); err != nil || show(r) != `$"hello"` {
			t.Errorf("%s: inline ECHO after idling: %s %v", name, show(r), err)
		}
		if q, f, _ := queryBufOf(t, p.observer, "qb"); q != 0 || q+f < 16384 {
			t.Errorf("%s after idling and a command: qbuf=%d qbuf-free=%d", name, q, f)
		}
	}
}
