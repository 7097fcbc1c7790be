package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// fakeReplica attaches to s as a replica with PSYNC and reads the full
// sync (FULLRESYNC line and RDB payload); release lets the link goroutine
// write it when the test holds that goroutine.
func fakeReplica(t *testing.T, s *Server, release func()) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.Write(resp.AppendCommand(nil, []byte("PSYNC"), []byte("?"), []byte("-1")))
	release()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "+FULLRESYNC") {
		t.Fatalf("PSYNC: %q, %v", line, err)
	}
	size, err := br.ReadString('\n')
	n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(size, "$")))
	if err != nil || n <= 0 {
		t.Fatalf("RDB size line %q, %v", size, err)
	}
	if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; { // the link goroutine marks it online after its write
		s.DB.Mu.Lock()
		online := len(s.replicas) == 1 && s.replicas[0].online.Load()
		s.DB.Mu.Unlock()
		if online {
			return conn, br
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica link never came online")
		}
		time.Sleep(time.Millisecond)
	}
}

// A write's replication bytes are on the replica's socket before its
// reply leaves, whatever the link goroutine does: here that goroutine is
// held after sending the snapshot, so only the client's own goroutine can
// have sent them.
func TestReplicationBytesPrecedeReply(t *testing.T) {
	s := startServer(t)
	hold := make(chan struct{})
	s.DB.Mu.Lock()
	s.replWriterHold = hold
	s.DB.Mu.Unlock()
	conn, br := fakeReplica(t, s, func() { go func() { hold <- struct{}{} }() })
	defer close(hold)

	c := dial(t, s.Addr().String())
	for i := range 20 {
		val := "v" + strconv.Itoa(i)
		if r := c.do(t, "SET", "k", val); string(r.Str) != "OK" {
			t.Fatalf("SET: %s", show(r))
		}
		want := resp.AppendCommand(nil, []byte("SET"), []byte("k"), []byte(val))
		if i == 0 {
			want = append(resp.AppendCommand(nil, []byte("SELECT"), []byte("0")), want...)
		}
		conn.SetReadDeadline(time.Now().Add(time.Second))
		got := make([]byte, len(want))
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatalf("write %d acknowledged but not on the replica's socket: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("replica got %q, want %q", got, want)
		}
	}
}

// A replica that stops reading fills its socket; clients' writes must not
// wait for it (the link goroutine queues what the socket refuses).
func TestStalledReplicaDoesNotStallWrites(t *testing.T) {
	s := startServer(t)
	fakeReplica(t, s, func() {}) // then never reads again
	c := dial(t, s.Addr().String())
	big := strings.Repeat("x", 256<<10)
	start := time.Now()
	for i := range 64 { // 16 MB, far more than a loopback socket holds
		if r := c.do(t, "SET", "k"+strconv.Itoa(i), big); string(r.Str) != "OK" {
			t.Fatalf("SET: %s", show(r))
		}
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("64 writes took %v with a replica not reading", d)
	}
	s.DB.Mu.Lock()
	queued := len(s.replicas) == 1 && s.replicas[0].pending.Load() > 0
	s.DB.Mu.Unlock()
	if !queued {
		t.Error("the stalled replica's link holds nothing queued: was the stream sent or lost?")
	}
}

// A replica that stops reading and then reads again gets the stream
// whole and in order: writes small and big (above the link's chunk size)
// queue far more than its socket holds, and the link writes the queue a
// socket buffer at a time, resuming mid-chunk.
func TestStalledReplicaGetsTheWholeStreamInOrder(t *testing.T) {
	s := startServer(t)
	conn, br := fakeReplica(t, s, func() {})
	c := dial(t, s.Addr().String())
	var want []byte
	for i := range 400 {
		val := strings.Repeat(string(rune('a'+i%26)), 1+(i*7919)%(3*replChunkBytes))
		if i%3 == 0 {
			val = "v" + strconv.Itoa(i)
		}
		key := "k" + strconv.Itoa(i)
		if r := c.do(t, "SET", key, val); string(r.Str) != "OK" {
			t.Fatalf("SET: %s", show(r))
		}
		if i == 0 {
			want = resp.AppendCommand(want, []byte("SELECT"), []byte("0"))
		}
		want = resp.AppendCommand(want, []byte("SET"), []byte(key), []byte(val))
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(br, got); err != nil {
		t.Fatalf("reading the %d bytes of the stream: %v", len(want), err)
	}
	if i := firstDifference(got, want); i >= 0 {
		t.Fatalf("the stream differs at byte %d of %d: got %q, want %q", i, len(want), got[i:min(i+40, len(got))], want[i:min(i+40, len(want))])
	}
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}
