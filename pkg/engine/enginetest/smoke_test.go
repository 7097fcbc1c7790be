package enginetest

import (
	"testing"
)

func TestRedisCLIBasics(t *testing.T) {
	n := startEngine(t)
	h, p := hostPort(n.Addr())
	cli := func(args ...string) string { return redisCLI(t, append([]string{"-h", h, "-p", p}, args...)...) }
	checks := []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "PONG"},
		{[]string{"SET", "k", "v"}, "OK"},
		{[]string{"GET", "k"}, "v"},
		{[]string{"INCRBY", "n", "41"}, "41"},
		{[]string{"RPUSH", "l", "a", "b", "c"}, "3"},
		{[]string{"LRANGE", "l", "0", "-1"}, "a\nb\nc"},
		{[]string{"HSET", "h", "f1", "v1", "f2", "v2"}, "2"},
		{[]string{"HGETALL", "h"}, "f1\nv1\nf2\nv2"},
		{[]string{"SADD", "s", "x", "y"}, "2"},
		{[]string{"ZADD", "z", "1", "a", "2.5", "b"}, "2"},
		{[]string{"ZRANGE", "z", "0", "-1", "WITHSCORES"}, "a\n1\nb\n2.5"},
		{[]string{"TYPE", "z"}, "zset"},
		{[]string{"DBSIZE"}, "6"},
		{[]string{"GET", "l"}, "WRONGTYPE Operation against a key holding the wrong kind of value"},
		{[]string{"NOSUCH", "x"}, "ERR unknown command 'NOSUCH', with args beginning with: 'x'"},
	}
	for _, c := range checks {
		if got := cli(c.args...); got != c.want {
			t.Errorf("%v: got %q want %q", c.args, got, c.want)
		}
	}
}
