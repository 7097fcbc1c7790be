package server

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
	"github.com/redis/go-redis/v9"
)

// trackingSide is one server's connections in a tracking script, named
// A, B, C... with their client ids.
type trackingSide struct {
	conns map[string]*rawConn
	ids   map[string]int64
}

func newTrackingSide(t *testing.T, addr string, names string) *trackingSide {
	side := &trackingSide{conns: map[string]*rawConn{}, ids: map[string]int64{}}
	for _, n := range strings.Split(names, "") {
		side.conns[n] = dial(t, addr)
		side.ids[n] = side.conns[n].do(t, "CLIENT", "ID").Int
	}
	return side
}

// next reads one frame (a reply or a push) within wait, or reports none.
func (r *rawConn) next(t *testing.T, wait time.Duration) (resp.Reply, bool) {
	t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(wait))
	rep, err := resp.ReadReply(r.br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return resp.Reply{}, false
	}
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return rep, true
}

// send writes one command without reading its reply.
func (r *rawConn) send(t *testing.T, args []string) {
	t.Helper()
	var bs [][]byte
	for _, a := range args {
		bs = append(bs, []byte(a))
	}
	r.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.conn.Write(resp.AppendCommand(nil, bs...)); err != nil {
		t.Fatal(err)
	}
}

// compareTracking runs a script on redis-server and on the engine and
// compares every frame each connection receives, pushes included. Lines:
//
//	A: CMD args    A sends CMD and reads one frame (its reply, or a push before it)
//	A>             A reads the next frame (a push), waiting up to a second
//	A> none        nothing more arrives on A within 100 ms
//	A: INFO field  compares one INFO field
//	sleep N        waits N milliseconds
//
// "$C" in arguments is connection C's client id on that server; a line
// ending in "#ids" compares its frames with client ids made symbolic.
func compareTracking(t *testing.T, names, script string) {
	t.Helper()
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	sides := [2]*trackingSide{newTrackingSide(t, rs.Addr(), names), newTrackingSide(t, es.Addr().String(), names)}
	for _, raw := range strings.Split(strings.TrimSpace(script), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		if ms, ok := strings.CutPrefix(line, "sleep "); ok {
			n, _ := strconv.Atoi(ms)
			time.Sleep(time.Duration(n) * time.Millisecond)
			continue
		}
		line, normalize := strings.CutSuffix(line, "#ids")
		line = strings.TrimSpace(line)
		who := line[:1]
		var got [2]string
		var have [2]bool
		for i, side := range sides {
			conn := side.conns[who]
			var rep resp.Reply
			switch rest := strings.TrimSpace(line[2:]); {
			case line[1] == '>' && rest == "none":
				rep, have[i] = conn.next(t, 100*time.Millisecond)
			case line[1] == '>':
				rep, have[i] = conn.next(t, time.Second)
			default:
				args := scriptWords(rest)
				for j, a := range args {
					if id, ok := side.ids[strings.TrimPrefix(a, "$")]; ok && strings.HasPrefix(a, "$") {
						args[j] = strconv.FormatInt(id, 10)
					}
				}
				if len(args) == 2 && args[0] == "INFO" {
					got[i], have[i] = infoField(t, conn, args[1]), true
					continue
				}
				conn.send(t, args)
				rep, have[i] = conn.next(t, 5*time.Second)
				if args[0] == "HELLO" { // its server fields differ
					continue
				}
			}
			if normalize {
				rep = symbolicIDs(rep, side.ids)
			}
			if have[i] {
				got[i] = showFrame(rep)
			}
		}
		if line[1] == '>' && !strings.HasSuffix(line, "none") && !have[0] {
			t.Errorf("%s: redis-server sent nothing (the script expects a push)", line)
		}
		if have[0] != have[1] || got[0] != got[1] {
			t.Errorf("%s:\n  redis:  %v %s\n  engine: %v %s", line, have[0], got[0], have[1], got[1])
		}
	}
}

// scriptWords splits a script line into words; "double quotes" keep spaces.
func scriptWords(line string) []string {
	var words []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		if quoted, ok := strings.CutPrefix(line, `"`); ok {
			word, rest, _ := strings.Cut(quoted, `"`)
			words, line = append(words, word), rest
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		words, line = append(words, word), rest
	}
	return words
}

// showFrame is show with pushes (which show prints as a string).
func showFrame(r resp.Reply) string {
	if r.Type != '>' {
		return show(r)
	}
	var parts []string
	for _, e := range r.Elems {
		parts = append(parts, showFrame(e))
	}
	return ">[" + strings.Join(parts, " ") + "]"
}

func infoField(t *testing.T, c *rawConn, field string) string {
	t.Helper()
	c.send(t, []string{"INFO", "everything"})
	rep, _ := c.next(t, 5*time.Second)
	for _, l := range strings.Split(string(rep.Str), "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	return "missing"
}

// symbolicIDs replaces integers that are client ids with -1000-index.
func symbolicIDs(r resp.Reply, ids map[string]int64) resp.Reply {
	if r.Type == ':' {
		for name, id := range ids {
			if r.Int == id {
				r.Int = -1000 - int64(name[0]-'A')
			}
		}
	}
	for i := range r.Elems {
		r.Elems[i] = symbolicIDs(r.Elems[i], ids)
	}
	return r
}

// Default mode in RESP3: a key read by a tracking client is invalidated by
// another client's write, by its own (after the reply), by DEL, RENAME,
// EXPIRE, MULTI/EXEC and scripts; NOLOOP leaves out its own writes.
func TestTrackingDefaultModeMatchesRedis(t *testing.T) {
	compareTracking(t, "AB", `
A: HELLO 3
A: CLIENT TRACKING ON
B: SET k 1
A: GET k
B: SET k 2
A>
A> none
A: GET k
A: SET k 3
A>
A: MGET k j
B: MSET k 1 j 2
A>
A>
B: SET k 1
A> none
A: HGET h f
A: HSET h f 1
A>
A: HGETALL h
A: HDEL h f
A>
A: GET k
B: RENAME k k2
A>
A: GET k2
B: EXPIRE k2 100
A>
A: EXISTS k2
B: DEL k2
A>
A: GET x
B: MULTI
B: INCR x
B: INCR y
B: EXEC
A>
A: GET x
A: MULTI
A: INCR x
A: GET x
A: EXEC
A>
A: GET s1
B: EVAL "redis.call('set', KEYS[1], 'v')" 1 s1
A>
A: CLIENT TRACKING OFF
A: CLIENT TRACKING ON NOLOOP
A: GET n
A: SET n 1
A> none
A: GET n
B: SET n 2
A>
A: GET n
B: FLUSHALL
A>
A: PING
A: INFO tracking_clients
A: INFO tracking_total_keys
A: INFO tracking_total_items
A: INFO tracking_total_prefixes
`)
}

// Expiry, lazy and active, invalidates like a write.
func TestTrackingExpiryMatchesRedis(t *testing.T) {
	compareTracking(t, "AB", `
A: HELLO 3
A: CLIENT TRACKING ON
B: SET e v PX 100
A: GET e
sleep 300
A>
B: SET f v PX 50
A: GET f
sleep 100
B: GET f
A>
A: GET f
A> none
`)
}

// RESP2 with REDIRECT to a connection subscribed to __redis__:invalidate,
// and a redirect client that goes away.
func TestTrackingRedirectMatchesRedis(t *testing.T) {
	compareTracking(t, "ABC", `
C: SUBSCRIBE __redis__:invalidate
A: CLIENT TRACKING ON REDIRECT $C
A: CLIENT GETREDIR #ids
A: CLIENT TRACKINGINFO #ids
B: SET k 1
A: GET k
B: SET k 2
C>
A: GET k
A: GET k
B: FLUSHDB
C>
A: INFO tracking_total_keys
A: CLIENT TRACKING ON REDIRECT $C BCAST
A: CLIENT TRACKING OFF
A: CLIENT TRACKING ON REDIRECT $C BCAST PREFIX p: PREFIX q:
B: MSET p:1 a q:1 b r:1 c p:2 d
C>
C>
C> none
A: INFO tracking_total_prefixes
A: HELLO 3
A: CLIENT TRACKING OFF
A: CLIENT TRACKING ON REDIRECT $C
A: GET z
C: UNSUBSCRIBE
C: QUIT
sleep 50
B: SET z 1
A> #ids
A: CLIENT TRACKINGINFO #ids
A: CLIENT GETREDIR #ids
`)
}

// BCAST with prefixes in RESP3, NOLOOP in BCAST, and OPTIN / OPTOUT with
// CLIENT CACHING.
func TestTrackingModesMatchRedis(t *testing.T) {
	compareTracking(t, "AB", `
A: HELLO 3
A: CLIENT TRACKING ON BCAST PREFIX a: PREFIX b:
A: CLIENT TRACKINGINFO
B: MSET a:1 x b:1 y c:1 z a:2 w
A>
A>
A> none
B: MULTI
B: INCR a:3
B: DEL a:1 b:1
B: EXEC
A>
A>
A: SET a:9 own
A>
A: CLIENT TRACKING OFF
A: CLIENT TRACKING ON BCAST NOLOOP
A: SET mine 1
A> none
B: SET theirs 1
A>
A: CLIENT TRACKING OFF
A: CLIENT TRACKING ON OPTIN
A: CLIENT TRACKINGINFO
A: GET o1
B: SET o1 1
A> none
A: CLIENT CACHING yes
A: CLIENT TRACKINGINFO
A: GET o1
B: SET o1 2
A>
A: CLIENT CACHING yes
A: MULTI
A: GET o2
A: GET o3
A: EXEC
B: MSET o2 1 o3 1
A>
A>
A: CLIENT TRACKING OFF
A: CLIENT TRACKING ON OPTOUT
A: CLIENT CACHING no
A: CLIENT TRACKINGINFO
A: GET p1
B: SET p1 1
A> none
A: GET p1
B: SET p1 2
A>
A: CLIENT TRACKING OFF
A: CLIENT TRACKINGINFO
A: CLIENT GETREDIR
`)
}

// Every error CLIENT TRACKING and CLIENT CACHING give, in Redis's order.
func TestTrackingErrorsMatchRedis(t *testing.T) {
	compareTracking(t, "AB", `
A: CLIENT TRACKING
A: CLIENT TRACKING maybe
A: CLIENT TRACKING ON junk
A: CLIENT TRACKING ON REDIRECT
A: CLIENT TRACKING ON REDIRECT x
A: CLIENT TRACKING ON REDIRECT 0
A: CLIENT TRACKING ON REDIRECT 999999
A: CLIENT TRACKING ON REDIRECT $B REDIRECT $B
A: CLIENT TRACKING ON PREFIX a
A: CLIENT TRACKING ON BCAST OPTIN
A: CLIENT TRACKING ON OPTIN OPTOUT
A: CLIENT TRACKING maybe REDIRECT 999999
A: CLIENT CACHING yes
A: CLIENT CACHING
A: CLIENT CACHING yes no
A: CLIENT GETREDIR x
A: CLIENT TRACKINGINFO x
A: CLIENT TRACKING ON OPTIN
A: CLIENT CACHING no
A: CLIENT CACHING maybe
A: CLIENT TRACKING ON OPTOUT
A: CLIENT TRACKING ON BCAST
A: CLIENT TRACKING OFF
A: CLIENT TRACKING ON OPTOUT
A: CLIENT CACHING yes
A: CLIENT TRACKING OFF
A: CLIENT TRACKING ON BCAST PREFIX FOOBAR PREFIX FOO
A: CLIENT TRACKING ON BCAST PREFIX FOO PREFIX BAR
A: CLIENT TRACKING ON BCAST PREFIX FO
A: CLIENT TRACKING ON BCAST PREFIX BARB
A: CLIENT TRACKING ON BCAST PREFIX BAR
A: CLIENT TRACKING ON
A: CLIENT TRACKING ON BCAST PREFIX x PREFIX y PREFIX yz
A>
A: CLIENT TRACKINGINFO
A: CLIENT TRACKING ON BCAST
A: CLIENT TRACKINGINFO
A: INFO tracking_total_prefixes
A: CLIENT TRACKING OFF OPTIN OPTOUT
A: CLIENT TRACKINGINFO
A: INFO tracking_total_prefixes
A: INFO tracking_clients
`)
}

// tracking-table-max-keys: shrinking the table invalidates keys until it
// fits (which keys is random on both servers: only the count is compared).
func TestTrackingTableLimitMatchesRedis(t *testing.T) {
	compareTracking(t, "AB", `
A: HELLO 3
A: CLIENT TRACKING ON
A: MGET k1 k2 k3 k4 k5
A: INFO tracking_total_keys
B: CONFIG SET tracking-table-max-keys 2
sleep 300
A: INFO tracking_total_keys
B: CONFIG SET tracking-table-max-keys 1000000
`)
}

// The table's invalidation messages are counted, not compared: Redis picks
// the keys to evict at random.
func TestTrackingTableLimitSendsInvalidations(t *testing.T) {
	s := startServer(t)
	a, b := dial(t, s.Addr().String()), dial(t, s.Addr().String())
	a.do(t, "HELLO", "3")
	a.do(t, "CLIENT", "TRACKING", "ON")
	a.do(t, "MGET", "k1", "k2", "k3", "k4", "k5")
	b.do(t, "CONFIG", "SET", "tracking-table-max-keys", "2")
	for i := 0; i < 3; i++ {
		rep, ok := a.next(t, time.Second)
		if !ok || rep.Type != '>' || string(rep.Elems[0].Str) != "invalidate" {
			t.Fatalf("push %d: %v %s", i, ok, show(rep))
		}
	}
	if rep, ok := a.next(t, 200*time.Millisecond); ok {
		t.Fatalf("a fourth invalidation: %s", show(rep))
	}
}

// CLIENT LIST shows tracking as Redis does: flag t (and B, R) and redir.
func TestTrackingClientList(t *testing.T) {
	s := startServer(t)
	a, b := dial(t, s.Addr().String()), dial(t, s.Addr().String())
	bid := b.do(t, "CLIENT", "ID").Int
	a.do(t, "CLIENT", "TRACKING", "ON", "BCAST", "REDIRECT", strconv.FormatInt(bid, 10))
	info := string(a.do(t, "CLIENT", "INFO").Str)
	if !strings.Contains(info, " flags=tB ") || !strings.Contains(info, " redir="+strconv.FormatInt(bid, 10)+" ") {
		t.Fatalf("CLIENT INFO: %s", info)
	}
	a.do(t, "RESET")
	if info := string(a.do(t, "CLIENT", "INFO").Str); !strings.Contains(info, " flags=N ") || !strings.Contains(info, " redir=-1 ") {
		t.Fatalf("after RESET: %s", info)
	}
}

// go-redis receives invalidations through a PubSub on __redis__:invalidate
// (RESP2 redirection) as PayloadSlice messages, on both servers.
func TestTrackingGoRedisRedirect(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	for name, addr := range map[string]string{"redis": rs.Addr(), "engine": es.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
			defer rdb.Close()
			ps := rdb.Subscribe(ctx, "__redis__:invalidate")
			defer ps.Close()
			if _, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			redirect := subscriberID(ctx, t, rdb)
			conn := rdb.Conn()
			defer conn.Close()
			if err := conn.Do(ctx, "CLIENT", "TRACKING", "ON", "REDIRECT", redirect).Err(); err != nil {
				t.Fatal(err)
			}
			rdb.Set(ctx, "cached", "1", 0)
			if err := conn.Get(ctx, "cached").Err(); err != nil {
				t.Fatal(err)
			}
			rdb.Set(ctx, "cached", "2", 0)
			select {
			case msg := <-ps.Channel():
				if msg.Channel != "__redis__:invalidate" || !reflect.DeepEqual(msg.PayloadSlice, []string{"cached"}) {
					t.Fatalf("message: %+v", msg)
				}
			case <-ctx.Done():
				t.Fatal("no invalidation")
			}
		})
	}
}

// subscriberID finds the id of the connection running SUBSCRIBE.
func subscriberID(ctx context.Context, t *testing.T, rdb *redis.Client) string {
	t.Helper()
	list, err := rdb.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(list, "\n") {
		if strings.Contains(l, "cmd=subscribe") {
			id, _, _ := strings.Cut(strings.TrimPrefix(l, "id="), " ")
			return id
		}
	}
	t.Fatalf("no subscriber in CLIENT LIST:\n%s", list)
	return ""
}

// A key a transaction wrote and then found expired reaches a NOLOOP BCAST
// client: the expiry is the server's change, not the client's (Redis
// 7.0's "Tracking gets notification of lazy expired keys").
func TestTrackingLazyExpiryReachesNoloopClient(t *testing.T) {
	real := redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--enable-debug-command", "yes"}}).Addr()
	eng := startServerArgs(t, "--enable-debug-command", "yes").Addr().String()
	var got [2]string
	for i, addr := range []string{real, eng} {
		redir, writer := dial(t, addr), dial(t, addr)
		id := redir.do(t, "CLIENT", "ID")
		redir.do(t, "SUBSCRIBE", "__redis__:invalidate")
		writer.do(t, "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", strconv.FormatInt(id.Int, 10), "NOLOOP")
		for _, args := range [][]string{{"MULTI"}, {"SET", "mykey{t}", "myval", "px", "1"}, {"SET", "other{t}", "myval"},
			{"DEBUG", "SLEEP", "0.1"}, {"GET", "mykey{t}"}, {"EXEC"}} {
			writer.do(t, args...)
		}
		// The invalidation comes before the reply to PING on redis-server;
		// the engine may deliver the two in either order.
		for _, r := range []string{show(redir.do(t, "PING")), readReply(t, redir)} {
			if strings.Contains(r, "invalidate") {
				got[i] = r
			}
		}
	}
	if got[0] != got[1] || !strings.Contains(got[1], "mykey{t}") || strings.Contains(got[1], "other") {
		t.Errorf("invalidation after a lazy expiry:\n  redis:  %s\n  engine: %s", got[0], got[1])
	}
}

// readReply reads one more reply (or push) from c.
func readReply(t *testing.T, c *rawConn) string {
	t.Helper()
	c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	r, err := resp.ReadReply(c.br)
	if err != nil {
		t.Fatal(err)
	}
	return show(r)
}
