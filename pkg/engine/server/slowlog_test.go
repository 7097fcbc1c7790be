package server

import (
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// slowlogShape is a SLOWLOG GET reply without what differs between two
// servers (ids, times, durations, ports): each entry's arguments and name.
func slowlogShape(r resp.Reply) string {
	var out []string
	for _, e := range r.Elems {
		if len(e.Elems) != 6 {
			return "bad entry " + show(e)
		}
		out = append(out, show(e.Elems[3])+" "+show(e.Elems[5]))
	}
	return strings.Join(out, "\n")
}

// TestSlowlogMatchesRedisServer: with slowlog-log-slower-than 0 every
// command is logged, newest first, arguments truncated and redacted as
// Redis does, limited to slowlog-max-len; errors and LEN/RESET match.
func TestSlowlogMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareArgs(t, real, eng, scriptLines(`
SLOWLOG
SLOWLOG FOO
SLOWLOG GET 1 2
SLOWLOG GET x
SLOWLOG GET -2
SLOWLOG LEN extra
CONFIG SET slowlog-log-slower-than 0
CONFIG SET slowlog-max-len 5
SLOWLOG RESET
CLIENT SETNAME logger
SET k v
AUTH nobody secret
MULTI
INCR n
EXEC
SLOWLOG LEN
`))
	long := strings.Repeat("x", 200)
	many := []string{"DEL"}
	for range 40 {
		many = append(many, "k")
	}
	for _, c := range []*rawConn{real, eng} {
		c.do(t, "SET", "long", long)
		c.do(t, many...)
	}
	for _, args := range [][]string{{"SLOWLOG", "GET"}, {"SLOWLOG", "GET", "2"}, {"SLOWLOG", "GET", "-1"}} {
		want, got := slowlogShape(real.do(t, args...)), slowlogShape(eng.do(t, args...))
		if want != got {
			t.Errorf("%v:\nredis-server:\n%s\nengine:\n%s", args, want, got)
		}
	}
	compareArgs(t, real, eng, scriptLines(`
SLOWLOG RESET
SLOWLOG LEN
CONFIG SET slowlog-log-slower-than -1
GET k
SLOWLOG LEN
`))
}

// ACL SETUSER and CONFIG SET of a password appear redacted, as Redis
// logs them, failed or not.
func TestSlowlogRedactsSecretsLikeRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	for _, c := range []*rawConn{real, eng} {
		c.do(t, "CONFIG", "SET", "slowlog-log-slower-than", "0")
		c.do(t, "SLOWLOG", "RESET")
		c.do(t, "ACL", "SETUSER", "user with spaces", "+get")
		c.do(t, "ACL", "SETUSER", "someone", "+get", ">secret")
		c.do(t, "CONFIG", "SET", "masterauth", "")
		c.do(t, "CONFIG", "SET", "requirepass", "")
		c.do(t, "CONFIG", "SET", "maxmemory-policy", "noeviction")
		c.do(t, "ACL", "DELUSER", "someone")
		c.do(t, "CONFIG", "SET", "slowlog-log-slower-than", "-1")
	}
	want, got := slowlogShape(real.do(t, "SLOWLOG", "GET", "-1")), slowlogShape(eng.do(t, "SLOWLOG", "GET", "-1"))
	if want != got {
		t.Errorf("redis-server:\n%s\nengine:\n%s", want, got)
	}
}
