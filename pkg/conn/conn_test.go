package conn

import (
	"context"
	"net"
	"strings"
	"testing"
)

// A node that closes the connection (it stopped, or it speaks TLS or
// something else than RESP): one line naming the node and the likely
// causes, not a bare EOF.
func TestClosedConnectionHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	pool, err := NewPool(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	addr := ln.Addr().String()
	err = NodeError(addr, "MIGRATE", pool.Get(addr).Ping(context.Background()).Err())
	want := "node " + addr + ": MIGRATE: connection closed by the node (stopped or restarted? TLS required? not a Redis node?)"
	if err == nil || err.Error() != want || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}
