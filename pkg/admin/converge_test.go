package admin

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
)

// A node that refuses connections is down: WaitConverged says so after
// downGrace instead of polling it for its whole timeout.
func TestWaitConvergedGivesUpOnANodeThatIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	defer func(g time.Duration) { downGrace = g }(downGrace)
	downGrace = 300 * time.Millisecond
	start := time.Now()
	err = WaitConverged(context.Background(), pool, []string{addr}, ConvergeOptions{Timeout: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "is it down?") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("WaitConverged on a closed port: %v", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("WaitConverged polled a closed port for %s", waited)
	}
}
