package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// Blocked XREAD/XREADGROUP, keyspace events, WATCH, MULTI and scripts
// around streams, run the same on redis-server and the engine: each
// scenario's transcript (every reply, blocked ones included) must match.
//
// Scenario lines: "A: cmd" runs cmd on client A and records its reply;
// "B> cmd" sends cmd on client B without reading; "B<" reads B's pending
// reply, "B<* text" reads B's replies up to one showing text; "blocked N" waits until N clients are blocked; "sleep MS".
// A trailing " #mask" masks every integer of the recorded reply.

func runStreamScenario(t *testing.T, addr, script string) []string {
	t.Helper()
	conns := map[byte]*rawConn{}
	conn := func(who byte) *rawConn {
		if conns[who] == nil {
			conns[who] = dial(t, addr)
		}
		return conns[who]
	}
	ctl := dial(t, addr)
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(script), "\n") {
		line = strings.TrimSpace(line)
		mask := false
		if l, ok := strings.CutSuffix(line, " #mask"); ok {
			line, mask = l, true
		}
		record := func(r resp.Reply) {
			if mask {
				r = maskInts(r, 2)
			}
			out = append(out, line+" -> "+show(r))
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "blocked "):
			want, _ := strconv.Atoi(strings.TrimPrefix(line, "blocked "))
			deadline := time.Now().Add(5 * time.Second)
			for infoInt(t, string(ctl.do(t, "INFO", "clients").Str), "blocked_clients") != int64(want) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: never %d blocked clients", addr, want)
				}
				time.Sleep(2 * time.Millisecond)
			}
		case strings.HasPrefix(line, "sleep "):
			ms, _ := strconv.Atoi(strings.TrimPrefix(line, "sleep "))
			time.Sleep(time.Duration(ms) * time.Millisecond)
		case len(line) > 2 && line[1] == ':':
			record(conn(line[0]).do(t, strings.Fields(line[2:])...))
		case len(line) > 2 && line[1] == '>':
			c := conn(line[0])
			var args [][]byte
			for _, a := range strings.Fields(line[2:]) {
				args = append(args, []byte(a))
			}
			c.conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.conn.Write(resp.AppendCommand(nil, args...)); err != nil {
				t.Fatal(err)
			}
		case len(line) > 3 && line[1:3] == "<*":
			// read replies until one shows the marker
			c := conn(line[0])
			marker := strings.TrimSpace(line[3:])
			for {
				c.conn.SetDeadline(time.Now().Add(10 * time.Second))
				r, err := resp.ReadReply(c.br)
				if err != nil {
					t.Fatalf("%s: %s: %v", addr, line, err)
				}
				record(r)
				if strings.Contains(show(r), marker) {
					break
				}
			}
		case len(line) == 2 && line[1] == '<':
			c := conn(line[0])
			c.conn.SetDeadline(time.Now().Add(10 * time.Second))
			r, err := resp.ReadReply(c.br)
			if err != nil {
				t.Fatalf("%s: %s: %v", addr, line, err)
			}
			record(r)
		default:
			t.Fatalf("bad scenario line %q", line)
		}
	}
	return out
}

func compareStreamScenario(t *testing.T, real, eng, script string) {
	t.Helper()
	want, got := runStreamScenario(t, real, script), runStreamScenario(t, eng, script)
	for i := range max(len(want), len(got)) {
		w, g := "", ""
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Errorf("step %d:\n  redis:  %s\n  engine: %s", i, w, g)
		}
	}
}

var streamScenarios = map[string]string{
	"xread woken by xadd": `
A: DEL s s2
A: XADD s 1-1 f v
B> XREAD BLOCK 0 STREAMS s2 s $ $
blocked 1
A: XADD other 1-1 f v
A: XSETID s 5-0
A: XADD s 6-0 a b
B<
B> XREAD BLOCK 0 COUNT 1 STREAMS s 0-0
B<
B> XREAD BLOCK 0 STREAMS s2 $
blocked 1
A: XADD s2 1-1 x y
A: XADD s2 1-2 x y
B<
B> XREAD BLOCK 50 STREAMS s $
B<
A: HELLO 3 #mask
B: HELLO 3 #mask
B> XREAD BLOCK 0 STREAMS s2 s $ $
blocked 1
A: XADD s 7-0 c d
B<
B> XREAD BLOCK 30 STREAMS s $
B<`,
	"xread keeps waiting through other writes": `
A: DEL s
B> XREAD BLOCK 0 STREAMS s $
blocked 1
A: SET s notastream
A: DEL s
A: XADD s 1-1 f v
B<
A: XADD s 1-2 f v
A: XDEL s 1-2
B> XREAD BLOCK 40 STREAMS s 1-1
B<`,
	"xreadgroup woken by xadd": `
A: DEL s
A: XGROUP CREATE s g $ MKSTREAM
B> XREADGROUP GROUP g alice BLOCK 0 STREAMS s >
blocked 1
C> XREADGROUP GROUP g bob BLOCK 0 COUNT 1 STREAMS s >
blocked 2
A: XADD s 1-1 f v
B<
A: XADD s 1-2 f v
C<
A: XPENDING s g
B> XREADGROUP GROUP g carol BLOCK 0 NOACK STREAMS s >
blocked 1
A: XADD s 1-3 f v
B<
A: XPENDING s g
A: XINFO GROUPS s #mask
A: XINFO CONSUMERS s g #mask
B> XREADGROUP GROUP g dave BLOCK 30 STREAMS s >
B<
A: XINFO CONSUMERS s g #mask`,
	"xreadgroup unblocked by del, set, flushall and destroy": `
A: DEL s
A: XADD s 666 f v
A: XGROUP CREATE s g $
B> XREADGROUP GROUP g Alice BLOCK 0 STREAMS s >
blocked 1
A: DEL s
B<
A: XADD s 666 f v
A: XGROUP CREATE s g $
B> XREADGROUP GROUP g Alice BLOCK 0 STREAMS s >
blocked 1
A: SET s x
B<
A: DEL s
A: XADD s 666 f v
A: XGROUP CREATE s g $
B> XREADGROUP GROUP g Alice BLOCK 0 STREAMS s >
blocked 1
A: XGROUP DESTROY s g
B<
A: XGROUP CREATE s g $
B> XREADGROUP GROUP g Alice BLOCK 0 STREAMS s >
blocked 1
A: MULTI
A: DEL s
A: XADD s 667 f v
A: XGROUP CREATE s g 0
A: EXEC
B<
A: XGROUP CREATE s g2 $
B> XREADGROUP GROUP g2 Alice BLOCK 0 STREAMS s >
blocked 1
A: FLUSHALL
B<`,
	"blocking refused in multi and scripts": `
A: DEL s
A: XADD s 1-1 f v
A: MULTI
A: XREAD BLOCK 0 STREAMS s $
A: XREAD BLOCK 0 STREAMS s 0
A: EXEC
A: EVAL "return redis.call('xread','block','0','streams','s','$')" 0
A: EVAL return 1 0
A: XGROUP CREATE s g 0
A: MULTI
A: XREADGROUP GROUP g c BLOCK 0 STREAMS s >
A: XREADGROUP GROUP g c BLOCK 0 STREAMS s >
A: EXEC`,
	"keyspace events": `
A: CONFIG SET notify-keyspace-events KEA
B: PSUBSCRIBE __key*__:*
A: DEL s
A: XADD s 1-1 f v
A: XADD s MAXLEN 1 1-2 f v
A: XADD s NOMKSTREAM MAXLEN 5 1-3 f v
A: XTRIM s MAXLEN 0
A: XTRIM s MAXLEN 0
A: XDEL s 9-9
A: XADD s 2-1 f v
A: XDEL s 2-1
A: XSETID s 9-9
A: XGROUP CREATE s g $
A: XGROUP CREATE s2 g $ MKSTREAM
A: XGROUP CREATECONSUMER s g c
A: XGROUP CREATECONSUMER s g c
A: XGROUP SETID s g 0
A: XADD s 10-1 f v
A: XREADGROUP GROUP g d STREAMS s >
A: XCLAIM s g e 0 10-1
A: XAUTOCLAIM s g f 0 0
A: XGROUP DELCONSUMER s g c
A: XGROUP DESTROY s g
A: XGROUP DESTROY s g
A: CONFIG SET notify-keyspace-events ""
A: PUBLISH __keyspace_end__:x end
B<* "end"`,
	"watch": `
A: DEL s
A: XADD s 1-1 f v
A: XGROUP CREATE s g 0
A: WATCH s
B: XREADGROUP GROUP g c STREAMS s >
A: MULTI
A: PING
A: EXEC
A: WATCH s
B: XGROUP CREATECONSUMER s g d
B: XGROUP SETID s g 0
B: XSETID s 5-0
B: XACK s g 1-1
B: XCLAIM s g e 0 1-1
A: MULTI
A: PING
A: EXEC
A: WATCH s
B: XADD s 6-0 f v
A: MULTI
A: PING
A: EXEC
A: WATCH s
B: XDEL s 6-0
A: MULTI
A: PING
A: EXEC
A: WATCH s
B: XTRIM s MAXLEN 0
A: MULTI
A: PING
A: EXEC
A: WATCH s2
B: XGROUP CREATE s2 g $ MKSTREAM
A: MULTI
A: PING
A: EXEC`,
}

func TestStreamBlockingEventsWatchMatchRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	for name, script := range streamScenarios {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			compareStreamScenario(t, rs.Addr(), es.Addr().String(), script)
		})
	}
}

// A blocked client that leaves is forgotten: the next XADD does not
// deliver to it, and a XREADGROUP blocked for a consumer does not create
// it when it left.
func TestStreamBlockedClientLeaves(t *testing.T) {
	es := startServer(t)
	a, b := dial(t, es.Addr().String()), dial(t, es.Addr().String())
	a.do(t, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
	b.conn.Write(resp.AppendCommand(nil, []byte("XREADGROUP"), []byte("GROUP"), []byte("g"), []byte("gone"), []byte("BLOCK"), []byte("0"), []byte("STREAMS"), []byte("s"), []byte(">")))
	for infoInt(t, string(a.do(t, "INFO", "clients").Str), "blocked_clients") != 1 {
		time.Sleep(2 * time.Millisecond)
	}
	b.conn.Close()
	for infoInt(t, string(a.do(t, "INFO", "clients").Str), "blocked_clients") != 0 {
		a.do(t, "XADD", "other", "*", "f", "v") // a write makes the server look at its waiters
		time.Sleep(2 * time.Millisecond)
	}
	a.do(t, "XADD", "s", "1-1", "f", "v")
	if r := a.do(t, "XPENDING", "s", "g"); r.Elems[0].Int != 0 {
		t.Fatalf("a client that left was delivered to: %s", show(r))
	}
	if r := a.do(t, "XINFO", "CONSUMERS", "s", "g"); len(r.Elems) != 0 {
		t.Fatalf("consumers: %s", show(r))
	}
}
