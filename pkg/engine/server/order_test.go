package server

import (
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestArgumentCheckOrderMatchesRedisServer: when a command has several
// things wrong (missing key, wrong type, bad number, bad syntax), the engine
// reports the same one as redis-server 7.0, which checks them in a fixed
// order per command.
func TestArgumentCheckOrderMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareScript(t, real, eng, `
SET s 1
RPUSH l a b
LSET nokey x v
LSET s x v
LSET l x v
LINDEX nokey x
LINDEX s x
LINDEX l x
SPOP s -1
SPOP nokey x
SPOP s 1 2
SRANDMEMBER s x
SRANDMEMBER s -9223372036854775808
SRANDMEMBER nokey 1 2
HRANDFIELD s x
HRANDFIELD s 1 foo
HRANDFIELD nokey 1 foo
HRANDFIELD nokey -9223372036854775808
ZRANGE s 0 x
ZRANGE s x 1 BYSCORE
ZRANGE nokey a b BYLEX
ZRANGEBYSCORE s x 1
ZRANGEBYLEX s a c
ZCOUNT s x 1
ZLEXCOUNT s a b
ZREMRANGEBYSCORE s x 1
ZREMRANGEBYLEX s a b
ZREMRANGEBYRANK s x 1
ZADD z 1 a 2 b 3 c
ZRANGE z (1 3 BYSCORE
ZRANGE z 3 (1 BYSCORE REV WITHSCORES
ZREMRANGEBYSCORE z (2 +inf
ZRANGE z 0 -1 WITHSCORES
ZUNIONSTORE d 2 s s WEIGHTS 1
ZUNION 1 s FOO
ZDIFF 1 s WITHSCORES FOO
ZUNION x s
ZUNION 0 s
ZUNION 3 s
ZINTER 1 z WEIGHTS x
BITCOUNT nokey x 1
BITCOUNT nokey 1
BITCOUNT s 1
BITCOUNT s x 1
GETEX nokey EX x
GETEX nokey EX 0
GETEX nokey FOO
GETEX s EX x
INCRBYFLOAT l x
INCRBYFLOAT s x
COPY s s
COPY s s2 DB x
SADD st m
SMOVE nokey l m
SMOVE st l m
`)
}
