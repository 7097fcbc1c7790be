package server

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// read reads one reply, failing after 5 s.
func (r *rawConn) read(t *testing.T) resp.Reply {
	t.Helper()
	r.conn.SetDeadline(time.Now().Add(5 * time.Second))
	rep, err := resp.ReadReply(r.br)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// waitBlocked polls INFO until blocked_clients is n.
func waitBlocked(t *testing.T, ctl *rawConn, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for infoInt(t, string(ctl.do(t, "INFO", "clients").Str), "blocked_clients") != n {
		if time.Now().After(deadline) {
			t.Fatalf("blocked_clients never reached %d", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClientAdminErrorsMatchRedisServer: CLIENT PAUSE/UNPAUSE/UNBLOCK/KILL/
// NO-EVICT argument errors and simple replies are redis-server's.
func TestClientAdminErrorsMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareArgs(t, real, eng, scriptLines(`
CLIENT PAUSE
CLIENT PAUSE x
CLIENT PAUSE -1
CLIENT PAUSE 10 sometimes
CLIENT PAUSE x sometimes
CLIENT PAUSE 10 write extra
CLIENT PAUSE 0 WRITE
CLIENT UNPAUSE
CLIENT UNPAUSE now
CLIENT UNBLOCK
CLIENT UNBLOCK x
CLIENT UNBLOCK x maybe
CLIENT UNBLOCK 999999 error
CLIENT UNBLOCK 999999 TIMEOUT extra
CLIENT KILL
CLIENT KILL 1.2.3.4:5
CLIENT KILL id
CLIENT KILL id x
CLIENT KILL id 0
CLIENT KILL id -1
CLIENT KILL id 10 wrong_arg
CLIENT KILL type wrong_type
CLIENT KILL user wrong_user
CLIENT KILL skipme yes_or_no
CLIENT KILL maxage 10
CLIENT KILL laddr 1.2.3.4:5
CLIENT KILL id 999999 skipme no
CLIENT KILL type pubsub
CLIENT KILL user default skipme yes type master
CLIENT NO-EVICT on
CLIENT NO-EVICT off
CLIENT NO-EVICT maybe
`))
}

// pauseUnblockKillSession drives one server with several clients through
// CLIENT PAUSE, UNBLOCK and KILL and returns what they saw.
func pauseUnblockKillSession(t *testing.T, addr string) []string {
	ctl, a, b := dial(t, addr), dial(t, addr), dial(t, addr)
	var seen []string
	note := func(what string, r resp.Reply) { seen = append(seen, what+": "+show(r)) }

	// WRITE: reads pass, writes (and PUBLISH, EVAL) wait until UNPAUSE.
	ctl.do(t, "CLIENT", "PAUSE", "100000", "WRITE")
	a.send(t, []string{"SET", "k", "v"})
	b.send(t, []string{"PUBLISH", "ch", "m"})
	waitBlocked(t, ctl, 2)
	note("GET while writes paused", ctl.do(t, "GET", "k"))
	note("EVAL no-writes while paused", ctl.do(t, "EVAL", "#!lua flags=no-writes\nreturn 1", "0"))
	note("UNPAUSE", ctl.do(t, "CLIENT", "UNPAUSE"))
	note("paused SET", a.read(t))
	note("paused PUBLISH", b.read(t))
	waitBlocked(t, ctl, 0)

	// ALL with a timeout: every command waits, then runs by itself.
	ctl.do(t, "CLIENT", "PAUSE", "300", "ALL")
	start := time.Now()
	note("PING under PAUSE ALL", a.do(t, "PING"))
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("PING under CLIENT PAUSE 300 ALL answered after %v", waited)
	}

	// UNBLOCK: TIMEOUT answers as the timeout would, ERROR with UNBLOCKED.
	aid := strconv.FormatInt(a.do(t, "CLIENT", "ID").Int, 10)
	ctl.do(t, "SET", "str", "x")
	for _, blocking := range [][]string{
		{"BLPOP", "list", "0"},
		{"BZPOPMIN", "zset", "0"},
		{"BLMOVE", "list", "other", "LEFT", "RIGHT", "0"},
		{"XREAD", "BLOCK", "0", "STREAMS", "stream", "$"},
		{"BLMPOP", "0", "1", "list", "LEFT"},
	} {
		for _, how := range []string{"TIMEOUT", "ERROR"} {
			a.send(t, blocking)
			waitBlocked(t, ctl, 1)
			note("UNBLOCK "+how, ctl.do(t, "CLIENT", "UNBLOCK", aid, how))
			note(blocking[0]+" unblocked with "+how, a.read(t))
		}
	}
	note("UNBLOCK not blocked", ctl.do(t, "CLIENT", "UNBLOCK", aid))

	// KILL filters.
	note("KILL ID", ctl.do(t, "CLIENT", "KILL", "ID", strconv.FormatInt(b.do(t, "CLIENT", "ID").Int, 10)))
	c1, c2 := dial(t, addr), dial(t, addr)
	c1.do(t, "PING")
	note("KILL ADDR", ctl.do(t, "CLIENT", "KILL", "ADDR", c1.conn.LocalAddr().String()))
	note("KILL old form", ctl.do(t, "CLIENT", "KILL", c2.conn.LocalAddr().String()))
	note("KILL old form again", ctl.do(t, "CLIENT", "KILL", c2.conn.LocalAddr().String()))
	note("KILL LADDR", ctl.do(t, "CLIENT", "KILL", "LADDR", a.conn.RemoteAddr().String(), "SKIPME", "yes"))
	d := dial(t, addr)
	d.do(t, "PING")
	note("KILL USER default TYPE normal", ctl.do(t, "CLIENT", "KILL", "USER", "default", "TYPE", "normal"))
	note("KILL SKIPME no", ctl.do(t, "CLIENT", "KILL", "SKIPME", "no"))
	return seen
}

// TestClientPauseUnblockKillMatchRedisServer runs the same multi-client
// session against redis-server and the engine.
func TestClientPauseUnblockKillMatchRedisServer(t *testing.T) {
	got := pauseUnblockKillSession(t, startServer(t).Addr().String())
	want := pauseUnblockKillSession(t, redistest.Start(t, redistest.Options{}).Addr())
	if !reflect.DeepEqual(want, got) {
		t.Errorf("sessions differ:\nredis-server:\n%s\nengine:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	if len(want) < 20 {
		t.Fatalf("session too short: %v", fmt.Sprint(want))
	}
}

// TestClientListFieldsMatchRedisServer: CLIENT LIST and CLIENT INFO name
// the running subcommand (cmd=client|list) and its query buffer size.
func TestClientListFieldsMatchRedisServer(t *testing.T) {
	for _, addr := range []string{redistest.Start(t, redistest.Options{}).Addr(), startServer(t).Addr().String()} {
		c := dial(t, addr)
		for _, sub := range []string{"LIST", "INFO"} {
			line := string(c.do(t, "CLIENT", sub).Str)
			want := "cmd=client|" + strings.ToLower(sub) + " "
			if !strings.Contains(line, " qbuf=26 ") || !strings.Contains(line, want) {
				t.Errorf("%s CLIENT %s: want qbuf=26 and %s in %q", addr, sub, want, line)
			}
		}
		c.do(t, "CONFIG", "GET", "maxmemory")
		other := dial(t, addr)
		if list := string(other.do(t, "CLIENT", "LIST").Str); !strings.Contains(list, "cmd=config|get ") {
			t.Errorf("%s: another client's CONFIG GET is not listed as config|get: %q", addr, list)
		}
	}
}
