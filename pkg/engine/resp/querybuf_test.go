package resp

import (
	"net"
	"strings"
	"testing"
	"time"
)

// readerOnPipe runs ReadCommand in a loop over one end of a pipe and sends
// each command, joined by spaces, to the channel.
func readerOnPipe(t *testing.T) (*Reader, net.Conn, chan string) {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { server.Close(); client.Close() })
	r := NewReader(server)
	cmds := make(chan string, 16)
	go func() {
		defer close(cmds)
		for {
			args, err := r.ReadCommand()
			if err != nil {
				return
			}
			var words []string
			for _, a := range args {
				words = append(words, string(a))
			}
			cmds <- strings.Join(words, " ")
		}
	}()
	return r, client, cmds
}

// waitQueryBuf waits until the reader reports the query buffer want says.
func waitQueryBuf(t *testing.T, r *Reader, what string, want func(used, free int) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		used, free, _ := r.QueryBuf()
		if want(used, free) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: query buffer used=%d free=%d", what, used, free)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitWaiting waits until the reader blocks between commands.
func waitWaiting(t *testing.T, r *Reader) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		r.qb.mu.Lock()
		waiting := r.qb.waiting
		r.qb.mu.Unlock()
		if waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the reader does not wait for a command")
		}
	}
}

// tidyIdle tidies r as if it had waited long enough to be idle.
func tidyIdle(r *Reader) {
	r.Tidy(time.Now())
	r.Tidy(time.Now().Add(idleAfter + time.Second))
}

func expectCommand(t *testing.T, cmds chan string, want string) {
	t.Helper()
	select {
	case got := <-cmds:
		if got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no command, want %q", want)
	}
}

// An idle reader lets its buffers go when tidied and reads the next
// command, multibulk or inline, whole; an arena grown by a big command
// shrinks to the recent peak.
func TestTidyFreesAndShrinksTheQueryBuffer(t *testing.T) {
	r, conn, cmds := readerOnPipe(t)
	for _, inline := range []bool{false, true} {
		waitWaiting(t, r)
		tidyIdle(r)
		waitQueryBuf(t, r, "released", func(used, free int) bool { return used == 0 && free == 0 })
		if inline {
			conn.Write([]byte("ECHO hello\r\n"))
			expectCommand(t, cmds, "ECHO hello")
		} else {
			conn.Write(AppendCommand(nil, []byte("SET"), []byte("k"), []byte("v")))
			expectCommand(t, cmds, "SET k v")
		}
	}
	big := strings.Repeat("x", 100000)
	conn.Write(AppendCommand(nil, []byte("SET"), []byte("k"), []byte(big)))
	expectCommand(t, cmds, "SET k "+big)
	waitWaiting(t, r)
	r.Tidy(time.Now()) // the peak is the big command's: nothing shrinks yet
	if _, free, _ := r.QueryBuf(); free <= 100000 {
		t.Fatalf("shrunk at once: free=%d", free)
	}
	conn.Write(AppendCommand(nil, []byte("GET"), []byte("k")))
	expectCommand(t, cmds, "GET k")
	waitWaiting(t, r)
	r.Tidy(time.Now())
	if _, free, _ := r.QueryBuf(); free > ioBufLen+100 {
		t.Fatalf("not shrunk: free=%d", free)
	}
	conn.Write(AppendCommand(nil, []byte("GET"), []byte("k")))
	expectCommand(t, cmds, "GET k")
}

// A reader in the middle of a command is not interrupted: the command
// arrives whole however long the client pauses.
func TestTidyLeavesAPartialCommand(t *testing.T) {
	r, conn, cmds := readerOnPipe(t)
	conn.Write([]byte("*2\r\n$4\r\nECHO\r\n$5\r\nhe"))
	waitQueryBuf(t, r, "partial", func(used, free int) bool { return used == 2 })
	if _, _, argv := r.QueryBuf(); argv != 4 {
		t.Fatalf("argv=%d, want 4", argv)
	}
	tidyIdle(r)
	conn.Write([]byte("llo\r\n"))
	expectCommand(t, cmds, "ECHO hello")
}
