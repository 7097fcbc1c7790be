package server

import (
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestZMoreAndLCSMatchRedisServer: ZRANDMEMBER (deterministic cases: one
// member, empty, errors), ZINTERCARD, ZRANGESTORE and LCS against
// redis-server 7.0, in RESP2 and RESP3.
func TestZMoreAndLCSMatchRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real := [2]*rawConn{dial(t, rs.Addr()), dial(t, rs.Addr())}
	eng := [2]*rawConn{dial(t, es.Addr().String()), dial(t, es.Addr().String())}
	script := `
A: ZADD one 1.5 m
A: SET str v
A: ZRANDMEMBER one
A: ZRANDMEMBER nope
A: ZRANDMEMBER one 5
A: ZRANDMEMBER one -3
A: ZRANDMEMBER one -3 WITHSCORES
A: ZRANDMEMBER one 0
A: ZRANDMEMBER nope 3
A: ZRANDMEMBER nope -3 WITHSCORES
A: ZRANDMEMBER one x
A: ZRANDMEMBER one 1 FOO
A: ZRANDMEMBER one 1 WITHSCORES x
A: ZRANDMEMBER one -9223372036854775808
A: ZRANDMEMBER one -9223372036854775807 WITHSCORES
A: ZRANDMEMBER one 4611686018427387904 WITHSCORES
A: ZRANDMEMBER one 4611686018427387903 WITHSCORES
A: ZRANDMEMBER str
A: ZRANDMEMBER str 1
A: ZADD za 1 a 2 b 3 c 4 d
A: ZADD zb 1 b 2 c 3 d 4 e
A: SADD sb a b z
A: ZINTERCARD 2 za zb
A: ZINTERCARD 2 za zb LIMIT 2
A: ZINTERCARD 2 za zb LIMIT 0
A: ZINTERCARD 3 za zb sb
A: ZINTERCARD 2 za nope
A: ZINTERCARD 1 za
A: ZINTERCARD 0 za
A: ZINTERCARD -1 za
A: ZINTERCARD x za
A: ZINTERCARD 3 za zb
A: ZINTERCARD 2 za zb LIMIT -1
A: ZINTERCARD 2 za zb LIMIT x
A: ZINTERCARD 2 za zb LIMIT
A: ZINTERCARD 2 za zb FOO
A: ZINTERCARD 2 za str
A: ZRANGESTORE dst za 0 -1
A: ZRANGE dst 0 -1 WITHSCORES
A: ZRANGESTORE dst za 1 2 REV
A: ZRANGE dst 0 -1 WITHSCORES
A: ZRANGESTORE dst za (1 +inf BYSCORE LIMIT 1 1
A: ZRANGE dst 0 -1 WITHSCORES
A: ZRANGESTORE dst za [b [c BYLEX
A: ZRANGE dst 0 -1 WITHSCORES
A: ZRANGESTORE dst za 5 10
A: EXISTS dst
A: ZRANGESTORE str za 0 0
A: TYPE str
A: ZRANGESTORE za za 0 1
A: ZRANGE za 0 -1 WITHSCORES
A: ZRANGESTORE dst za 0 -1 WITHSCORES
A: ZRANGESTORE dst za 0 -1 LIMIT 0 1
A: ZRANGESTORE dst za x 1
A: ZRANGESTORE dst sb 0 1
A: ZRANGESTORE dst nope 0 1
A: SET s1 ohmytext
A: SET s2 mynewtext
A: SET str v
A: LCS s1 s2
A: LCS s1 s2 LEN
A: LCS s1 s2 IDX
A: LCS s1 s2 IDX MINMATCHLEN 4
A: LCS s1 s2 IDX WITHMATCHLEN
A: LCS s1 s2 IDX MINMATCHLEN -5 WITHMATCHLEN
A: LCS s1 s2 LEN IDX
A: LCS s1 s2 FOO
A: LCS s1 s2 MINMATCHLEN
A: LCS s1 s2 MINMATCHLEN x
A: LCS s1 nope
A: LCS nope nope2 IDX
A: LCS s1 str
A: SADD aset x
A: LCS s1 aset
A: SET r1 ACCGGTCGAGTGCGCGGAAGCCGGCCGAA
A: SET r2 GTCGTTCGGAATGCCGTTGCTCTGTAAA
A: LCS r1 r2
A: LCS r1 r2 IDX WITHMATCHLEN
A: LCS r1 r2 IDX MINMATCHLEN 2
A: HELLO 3
A: ZRANDMEMBER one -2 WITHSCORES
A: ZRANDMEMBER one 1
A: LCS r1 r2 IDX WITHMATCHLEN
A: LCS s1 s2 LEN
`
	compareClients(t, real, eng, script)
}
