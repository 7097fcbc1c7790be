package server

import (
	"bufio"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/resp"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// startServer runs a non-cluster server on a free loopback port.
func startServer(t *testing.T) *Server {
	t.Helper()
	return startServerArgs(t)
}

// rawConn sends commands and parses replies with the resp package.
type rawConn struct {
	conn net.Conn
	br   *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{conn: c, br: bufio.NewReader(c)}
}

func (r *rawConn) do(t *testing.T, args ...string) resp.Reply {
	t.Helper()
	var bs [][]byte
	for _, a := range args {
		bs = append(bs, []byte(a))
	}
	r.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.conn.Write(resp.AppendCommand(nil, bs...)); err != nil {
		t.Fatal(err)
	}
	rep, err := resp.ReadReply(r.br)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return rep
}

func show(r resp.Reply) string {
	switch r.Type {
	case '*', '~', '%':
		var parts []string
		for _, e := range r.Elems {
			parts = append(parts, show(e))
		}
		return fmt.Sprintf("%c[%s]", r.Type, strings.Join(parts, " "))
	case ':', '#':
		return fmt.Sprintf("%c%d", r.Type, r.Int)
	}
	if r.Null {
		return string(r.Type) + "null"
	}
	return fmt.Sprintf("%c%q", r.Type, r.Str)
}

// TestRepliesMatchRedisServer runs the same commands against real
// redis-server 7.0 and the engine and requires identical replies, errors
// included. Commands whose output order is unspecified are left out.
func TestRepliesMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	script := `
SET s hello
GET s
SET s world NX
SET s world XX GET
SET s v EX 0
SET s v EX 10 PX 10
SET s v KEEPTTL EX 10
SET n 10
INCR n
INCRBY n -20
DECRBY n 5
INCRBY n abc
INCR s
INCRBYFLOAT n 1.5
APPEND s !!
STRLEN s
GETRANGE s 1 -2
GETRANGE s -100 100
SETRANGE s 10 x
GET s
MSET a 1 b 2
MSET a 1 b
MGET a b nope
MSETNX a 1 c 3
GETDEL a
GETEX b PX 100000
EXISTS a b c
TTL nope
SETNX x 1
RPUSH l a b c d e
LPUSH l z
LRANGE l 0 -1
LRANGE l -3 -2
LRANGE l 5 1
LINDEX l -1
LINDEX l 99
LSET l 0 first
LSET l 99 x
LINSERT l BEFORE c bc
LINSERT l AFTER nope x
LREM l 1 bc
LPOS l d
LPOS l a RANK 0
LTRIM l 1 3
LRANGE l 0 -1
LPOP l 2
RPOP l
RPOP l
LLEN l
EXISTS l
LPUSH s x
RPOPLPUSH nope x
HSET h f1 v1
HSET h f1 v2 f2 v3
HGET h f1
HMGET h f1 nope f2
HLEN h
HEXISTS h f2
HINCRBY h f1 1
HINCRBY h c 5
HINCRBYFLOAT h c 0.5
HSTRLEN h f2
HDEL h f1 f2 c nope
EXISTS h
HSET h odd
SADD ints 10 -3 2 100 7
SMEMBERS ints
SADD st a b c
SADD st a d
SCARD st
SISMEMBER st z
SMISMEMBER st a z
SREM st a z
SMOVE st st2 b
SINTERSTORE dst st st2
SDIFFSTORE dst2 st st2
SCARD dst2
ZADD z 1 a 2 b 3 c
ZADD z NX 5 a 4 d
ZADD z XX CH 10 a 20 nope
ZADD z GT 1 b
ZADD z INCR 1 c
ZADD z NX XX 1 a
ZADD z 1
ZADD z abc a
ZSCORE z c
ZMSCORE z a nope
ZCARD z
ZRANK z d
ZREVRANK z d
ZRANGE z 0 -1 WITHSCORES
ZRANGE z 0 -1 REV
ZRANGE z (2 +inf BYSCORE LIMIT 1 2
ZRANGE z - + BYLEX
ZREVRANGE z 0 1 WITHSCORES
ZRANGEBYSCORE z -inf 4 WITHSCORES
ZREVRANGEBYSCORE z +inf (4
ZCOUNT z 2 (10
ZINCRBY z 0.5 a
ZADD zf 1.1 m 0.30000000000000004 n 1e20 o 3.0e-5 q -2.5 r
ZRANGE zf 0 -1 WITHSCORES
ZINCRBY zf 0.1 m
INCRBYFLOAT fl 1.1
INCRBYFLOAT fl 1e20
HINCRBYFLOAT hf f 0.1
HINCRBYFLOAT hf f 2.5
ZREM z a nope
ZPOPMIN z
ZPOPMAX z 2
ZREMRANGEBYSCORE z -inf +inf
EXISTS z
ZADD lex 0 a 0 b 0 c 0 d
ZRANGEBYLEX lex [b (d
ZLEXCOUNT lex - +
ZREMRANGEBYLEX lex - [a
ZREMRANGEBYRANK lex 0 0
ZRANGE lex 0 -1
ZRANGEBYLEX lex b c
TYPE lex
TYPE nope
EXPIRE s 100
EXPIRE s 200 NX
EXPIRE s 50 GT
EXPIRE s 500 GT
TTL s
PERSIST s
PERSIST s
EXPIRE s abc
PEXPIRE nope 100
RENAME nope x
RENAME s s2
RENAMENX s2 b
EXISTS s s2
COPY s2 s3
GET s3
DEL s2 s3 nope
UNLINK b
PING
PING hi
ECHO x
SELECT 0
DBSIZE
GET
NOSUCHCOMMAND a b
OBJECT ENCODING nope
WAIT 0 0
FLUSHALL
DBSIZE
RPUSH q a b c a b a
LPOS q a COUNT 0
LPOS q a COUNT 2 RANK -1
LPOS q a MAXLEN 2 COUNT 0
LMOVE q q2 LEFT RIGHT
LMOVE q q2 RIGHT LEFT
LRANGE q2 0 -1
LMOVE nope q2 LEFT LEFT
LMOVE q q2 UP DOWN
LPOP q 0
LPOP nope 3
LPOP q 1 2
RPOP q 1 2
SPOP q 1 2
ZPOPMIN q 1 2
RPUSHX nope a
LPUSHX q z
SET k v PXAT 99999999999999
PEXPIRETIME k
EXPIRETIME k
GETEX k PERSIST
TTL k
GETEX k EX -1
COPY k k2
COPY k k2
COPY k k2 REPLACE
COPY k k2 DB 0
SADD s1 a b c
SADD s2 c d
SINTERCARD 2 s1 s2
SDIFF s1 s2 nope s1
SINTERCARD 2 s1 s2 LIMIT 0
SINTERCARD 3 s1 s2
SINTERCARD 0 s1
SUNION nope
SPOP nope
SRANDMEMBER nope
SRANDMEMBER nope 3
ZADD zz 1 a
ZRANGE zz 0 -1 BYSCORE
ZRANGE zz (1 1 BYSCORE
ZRANGE zz 0 -1 LIMIT 0 1
ZRANGE zz [a [b BYLEX WITHSCORES
ZRANGEBYLEX zz a b
ZADD zz GT LT 1 a
ZADD zz INCR 1 a 2 b
ZPOPMIN zz -1
ZRANK zz nope
HSETNX hh f v
HSETNX hh f v2
HGET hh f
HRANDFIELD nope
HINCRBY hh f 1
HINCRBYFLOAT hh f 1
SETNX k3 1
INCRBY k3 9223372036854775807
DECR k3
INCRBY k3 9223372036854775807
SETRANGE k4 2 ab
GET k4
SETRANGE k4 -1 x
GETRANGE k4 0 0
MSETNX k4 1 k5 2
EXISTS k4 k4 k4
RENAME k4 k4
TYPE k4
OBJECT ENCODING
OBJECT FOO k4
PING a b
ECHO
CONFIG GET
CONFIG SET maxmemory
CONFIG FOO
CLIENT FOO
CLIENT SETNAME "bad name"
CLIENT SETNAME good
CLIENT GETNAME
CLIENT SETINFO lib-name x
CLIENT SETINFO LIB-VER 1
CLIENT NO-TOUCH on
ACL WHOAMI
ZADD za 1 a 2 b 3 c
ZADD zb 10 b 20 c 30 d
SADD sa c d e
ZUNIONSTORE zu 2 za zb
ZRANGE zu 0 -1 WITHSCORES
ZUNIONSTORE zu 3 za zb sa WEIGHTS 2 1 0.5 AGGREGATE MAX
ZRANGE zu 0 -1 WITHSCORES
ZINTERSTORE zi 2 za zb AGGREGATE MIN
ZRANGE zi 0 -1 WITHSCORES
ZINTER 2 za zb WITHSCORES
ZUNION 2 za nope
ZDIFF 2 za zb WITHSCORES
ZDIFFSTORE zd 2 za zb
ZINTERSTORE zi 0 za
ZINTERSTORE zi 2 za
ZUNIONSTORE zu 1 za WEIGHTS x
ZUNIONSTORE zu 1 s1
ZUNIONSTORE zu 1 k
EXISTS zu
SETBIT bits 7 1
SETBIT bits 100 1
SETBIT bits 7 0
GETBIT bits 100
GETBIT bits 99999
BITCOUNT bits
BITCOUNT bits 0 0
BITCOUNT bits 5 200 BIT
BITCOUNT bits -1 -1
SETBIT bits -1 1
SETBIT bits 1 2
GET bits
DBSIZE
ZADD zneg -0 m
ZSCORE zneg m
ZINCRBY zneg2 -0 m
ZSCORE zneg2 m
ZADD zneg2 INCR -0 n
ZRANGE zneg2 0 -1 WITHSCORES
ZUNION 1 zneg WEIGHTS -1 WITHSCORES
ZUNIONSTORE zneg3 1 zneg2 WEIGHTS -1
ZRANGE zneg3 0 -1 WITHSCORES
INCRBYFLOAT fneg -0
HINCRBYFLOAT hneg f -0
ZADD zhex 0x10 a 1e-320 b -inf c
ZRANGE zhex 0 -1 WITHSCORES
ZRANGEBYSCORE zhex "" 0x11
`
	compareScript(t, real, eng, script)
	// RESP3: maps, sets, doubles, nulls and score pairs
	real.do(t, "HELLO", "3")
	eng.do(t, "HELLO", "3")
	compareScript(t, real, eng, `
SET s v
GET nope
HSET h f v
HGETALL h
SADD st m
SMEMBERS st
ZADD z 1.5 a 2 b
ZSCORE z a
ZRANGE z 0 -1 WITHSCORES
ZRANGEBYSCORE z -inf +inf WITHSCORES
ZPOPMIN z 1
ZINCRBY z 1 b
ZADD z INCR 0.25 b
ZMSCORE z b nope
LPOP nope 2
CONFIG GET maxmemory
HRANDFIELD nope 2 WITHVALUES
EXISTS s
`)
}

func compareScript(t *testing.T, real, eng *rawConn, script string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(script), "\n") {
		args := strings.Fields(line)
		want, got := real.do(t, args...), eng.do(t, args...)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s:\n  redis:  %s\n  engine: %s", line, show(want), show(got))
		}
	}
}

// Protected mode: with the default bind and no password, a client from a
// non-loopback address is refused; loopback ones and configured nodes are not.
func TestProtectedMode(t *testing.T) {
	cfg := config.Default()
	s := New(cfg, store.New(), nil)
	remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 5000}
	local := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5000}
	if !s.protectedRefuses(remote) || s.protectedRefuses(local) {
		t.Fatal("default configuration must refuse only non-loopback clients")
	}
	cfg.SetRuntime("requirepass", "pw")
	s.applyConfig("requirepass")
	if s.protectedRefuses(remote) {
		t.Fatal("a password lifts protected mode")
	}
	bound := config.Default()
	bound.ParseArgs([]string{"--bind", "0.0.0.0"})
	if New(bound, store.New(), nil).protectedRefuses(remote) {
		t.Fatal("an explicit bind lifts protected mode")
	}
}

// TestRandomMemberIsSpread: SRANDMEMBER and HRANDFIELD without a count pick
// without walking the whole collection; every member still comes up, and
// none far more often than the rest.
func TestRandomMemberIsSpread(t *testing.T) {
	c := dial(t, startServer(t).Addr().String())
	const members, picks = 500, 10000
	sadd := []string{"SADD", "s"}
	hset := []string{"HSET", "h"}
	for i := range members {
		sadd = append(sadd, strconv.Itoa(i*7919))
		hset = append(hset, "f"+strconv.Itoa(i), "v")
	}
	c.do(t, sadd...)
	c.do(t, hset...)
	for _, cmd := range [][]string{{"SRANDMEMBER", "s"}, {"HRANDFIELD", "h"}} {
		seen := map[string]int{}
		for range picks {
			seen[string(c.do(t, cmd...).Str)]++
		}
		most := 0
		for _, n := range seen {
			most = max(most, n)
		}
		if len(seen) != members || most > 4*picks/members {
			t.Errorf("%s: %d of %d members picked in %d tries, the most often %d times (mean %d)", cmd[0], len(seen), members, picks, most, picks/members)
		}
	}
}
