package enginetest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/engine"
	"github.com/gocluster/gocluster/pkg/engine/config"
)

// TestShutdownStopsRun: SHUTDOWN NOSAVE from a client makes engine.Run
// return promptly and frees the port.
func TestShutdownStopsRun(t *testing.T) {
	port := freePortPair(t)
	cfg := config.Default()
	if err := cfg.ParseArgs([]string{"--port", port, "--bind", "127.0.0.1", "--dir", t.TempDir(),
		"--cluster-enabled", "yes", "--loglevel", "nothing"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- engine.Run(context.Background(), cfg) }()
	c := client(t, "127.0.0.1:"+port)
	waitFor(t, 5*time.Second, "node up", func() bool { return c.Ping(context.Background()).Err() == nil })
	conn, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.Write([]byte("SHUTDOWN NOSAVE\r\n"))
	if n, _ := conn.Read(make([]byte, 16)); n != 0 { // no reply: the connection just closes
		t.Fatal("SHUTDOWN replied instead of closing the connection")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("engine.Run still running 5s after SHUTDOWN")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("shutdown took %v", took)
	}
	if again, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
		again.Close()
		t.Fatal("port still accepting connections after SHUTDOWN")
	}
}
