package server

import (
	"bytes"
	"log"
	"strings"
	"sync"
	"testing"

	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Test-only commands that fail the way a handler bug would: under the
// store lock, after part of a reply, and in a handler that takes no lock.
func init() {
	def("test-panic", -1, "write", 0, 0, 0, func(c *Client, args [][]byte) {
		c.w.WriteArrayLen(3)
		c.w.WriteBulkString("half a reply")
		var m map[string]int
		m["boom"]++ // a nil map write, as a handler bug would
	})
	def("test-panic-nolock", -1, "nolock", 0, 0, 0, func(c *Client, args [][]byte) {
		panic("deliberate")
	})
	def("test-panic-big", -1, "readonly", 0, 0, 0, func(c *Client, args [][]byte) {
		c.w.WriteArrayLen(2)
		c.w.WriteBulk(make([]byte, 200*1024)) // more than a buffer: part of it leaves
		c.w.Flush()
		panic("after a flushed half reply")
	})
}

// lockedBuffer is a log destination shared by connection goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServerLogging is startServer with the log kept for inspection.
func startServerLogging(t *testing.T) (*Server, *lockedBuffer) {
	t.Helper()
	cfg := config.Default()
	if err := cfg.ParseArgs([]string{"--port", "0", "--bind", "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	s := New(cfg, store.New(), nil)
	logs := &lockedBuffer{}
	s.Logger = log.New(logs, "", 0)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	s.Serve()
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// A panic inside one command is logged with its name and answered as an
// error; the connection, the store lock and the node stay usable.
func TestPanicInCommandIsRecovered(t *testing.T) {
	s, logs := startServerLogging(t)
	c := dial(t, s.Addr().String())
	other := dial(t, s.Addr().String())

	if got := c.do(t, "SET", "k", "v"); string(got.Str) != "OK" {
		t.Fatalf("SET: %s", show(got))
	}
	for _, name := range []string{"TEST-PANIC", "test-panic-nolock"} {
		got := c.do(t, name, "x")
		if got.Type != '-' || !strings.HasPrefix(string(got.Str), "ERR internal error in '"+strings.ToLower(name)+"' command") {
			t.Fatalf("%s: want an error reply (and no half reply before it), got %s", name, show(got))
		}
	}
	// the same connection goes on; the store lock was released
	if got := c.do(t, "GET", "k"); string(got.Str) != "v" {
		t.Fatalf("GET after panics: %s", show(got))
	}
	if got := other.do(t, "PING"); string(got.Str) != "PONG" {
		t.Fatalf("other client: %s", show(got))
	}
	// inside a transaction only the panicking command fails
	c.do(t, "MULTI")
	c.do(t, "SET", "a", "1")
	c.do(t, "test-panic")
	c.do(t, "test-panic-nolock")
	c.do(t, "INCR", "a")
	got := c.do(t, "EXEC")
	if len(got.Elems) != 4 || string(got.Elems[0].Str) != "OK" || got.Elems[1].Type != '-' ||
		got.Elems[2].Type != '-' || got.Elems[3].Int != 2 {
		t.Fatalf("EXEC: %s", show(got))
	}
	if got := c.do(t, "GET", "a"); string(got.Str) != "2" {
		t.Fatalf("GET a: %s", show(got))
	}
	for _, want := range []string{"panic in command test-panic: assignment to entry in nil map", "panic in command test-panic-nolock: deliberate"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// When part of the reply already left, the connection cannot be repaired:
// it closes, and the node serves the next client.
func TestPanicAfterFlushedReplyClosesOnlyThatConnection(t *testing.T) {
	s, _ := startServerLogging(t)
	c := dial(t, s.Addr().String())
	if _, err := c.conn.Write([]byte("*1\r\n$14\r\ntest-panic-big\r\n")); err != nil {
		t.Fatal(err)
	}
	// read until the server closes the connection
	buf := make([]byte, 64*1024)
	for {
		if _, err := c.br.Read(buf); err != nil {
			break
		}
	}
	if got := dial(t, s.Addr().String()).do(t, "PING"); string(got.Str) != "PONG" {
		t.Fatalf("node after the panic: %s", show(got))
	}
}
