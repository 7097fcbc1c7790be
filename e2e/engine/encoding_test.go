package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestObjectEncodingAsRedis sends the same commands to an engine node and
// to redis-server 7 — values on both sides of each compact-encoding limit,
// with the limits changed by CONFIG SET under their old (ziplist) and new
// (listpack) names — and compares every reply, OBJECT ENCODING included.
// Redis's own type tests start by setting these limits.
func TestObjectEncodingAsRedis(t *testing.T) {
	eng := client(t, Start(t, Options{}))
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"}).Client()
	defer rs.Close()
	long := strings.Repeat("x", 65)
	script := [][]any{
		{"SET", "int", "12345"}, {"SET", "negzero", "-0"}, {"SET", "lead0", "012"},
		{"SET", "big", "123456789012345678901"}, {"SET", "short", "hello"},
		{"SET", "s44", strings.Repeat("a", 44)}, {"SET", "s45", strings.Repeat("a", 45)},
		{"RPUSH", "list", "a", "b"},
		{"SET", "app", "12"}, {"APPEND", "app", "3"}, {"APPEND", "newapp", "5"}, {"SET", "app", "x"},
		{"SETRANGE", "sr", "0", "ab"}, {"SET", "i2", "1234"}, {"SETRANGE", "i2", "0", ""}, {"SETRANGE", "i2", "0", "2"},
		{"SETBIT", "bits", "0", "1"}, {"SET", "sb", "1"}, {"SETBIT", "sb", "6", "1"}, {"COPY", "sb", "sbcopy"},
		{"RENAME", "sbcopy", "sbrenamed"}, {"BITOP", "OR", "bo", "sb"}, {"SET", "sb", "1"}, {"SETBIT", "sb", "7", "1"},
		{"BITFIELD", "bf", "SET", "i5", "0", "0"}, {"SET", "bf2", "abc"}, {"BITFIELD", "bf2", "GET", "u8", "0"},
		{"PFADD", "hll", "a"}, {"INCRBY", "counter", "5"}, {"INCRBYFLOAT", "fl", "1.5"}, {"INCRBYFLOAT", "fl", "1.5"},
		{"COPY", "fl", "flcopy"}, {"SET", "app", "a"}, {"GETSET", "app", "7"},
		{"HSET", "hsmall", "f", "v"}, {"HSET", "hlongvalue", "f", long}, {"HSET", "hlongfield", long, "v"},
		{"SADD", "sints", "1", "2", "-3"}, {"SADD", "smixed", "1", "a"}, {"SADD", "snoncanon", "01"},
		{"ZADD", "zsmall", "1", "a"}, {"ZADD", "zlong", "1", long},
		{"CONFIG", "SET", "hash-max-ziplist-entries", "2"}, {"CONFIG", "SET", "hash-max-listpack-value", "8"},
		{"HSET", "h3", "a", "1", "b", "2", "c", "3"}, {"HSET", "h9", "f", "123456789"}, {"HSET", "h2", "a", "1", "b", "2"},
		{"CONFIG", "SET", "set-max-intset-entries", "2"},
		{"SADD", "s3", "1", "2", "3"}, {"SADD", "s2", "1", "2"},
		{"SREM", "s3", "3"}, {"SMEMBERS", "s2"}, {"SREM", "smixed", "a"}, {"SADD", "s2", "x"}, {"SREM", "s2", "x"},
		{"SINTERSTORE", "sinter", "s2", "s3"}, {"SUNIONSTORE", "sunion", "s2", "smixed"}, {"SMOVE", "sints", "smoved", "-3"},
		{"CONFIG", "SET", "zset-max-ziplist-entries", "1"}, {"CONFIG", "SET", "zset-max-ziplist-value", "4"},
		{"ZADD", "z2", "1", "a", "2", "b"}, {"ZADD", "z1long", "1", "abcde"}, {"ZADD", "z1", "1", "abcd"},
		{"ZREM", "z2", "b"}, {"ZRANGE", "z2", "0", "-1", "WITHSCORES"}, {"ZADD", "z1", "2", "abcd"}, {"ZINCRBY", "z1", "1.5", "abcd"},
		{"ZUNIONSTORE", "zu", "1", "z1"}, {"ZUNIONSTORE", "zu2", "2", "z1", "z2"}, {"ZRANGESTORE", "zr", "z2", "0", "-1"},
		{"ZADD", "zl", "1", "a"}, {"ZADD", "zl", "1", "abcdefgh"}, {"ZREM", "zl", "abcdefgh"},
		{"CONFIG", "SET", "list-max-ziplist-size", "4"}, {"CONFIG", "SET", "list-compress-depth", "1"},
		{"CONFIG", "SET", "list-max-listpack-size", "-6"}, {"CONFIG", "SET", "list-compress-depth", "-1"},
		{"RPUSH", "list2", "a", "b", "c", "d", "e"},
	}
	for _, name := range []string{"hash-max-ziplist-entries", "hash-max-listpack-entries", "hash-max-ziplist-value",
		"hash-max-listpack-value", "set-max-intset-entries", "zset-max-ziplist-entries", "zset-max-listpack-entries",
		"zset-max-ziplist-value", "zset-max-listpack-value", "list-max-ziplist-size", "list-max-listpack-size", "list-compress-depth"} {
		script = append(script, []any{"CONFIG", "GET", name})
	}
	// Each key's encoding is asked right after it is written, also after a
	// value shrank again (Redis converts one way only).
	var withEncodings [][]any
	for _, cmd := range script {
		withEncodings = append(withEncodings, cmd)
		switch name := fmt.Sprint(cmd[0]); name {
		case "CONFIG":
		case "COPY", "RENAME", "BITOP": // the key written is the second
			withEncodings = append(withEncodings, []any{"OBJECT", "ENCODING", cmd[2]})
		default:
			withEncodings = append(withEncodings, []any{"OBJECT", "ENCODING", cmd[1]})
		}
	}
	withEncodings = append(withEncodings, []any{"OBJECT", "ENCODING", "missing"})
	ctx := context.Background()
	for _, cmd := range withEncodings {
		want, got := reply(ctx, rs, cmd), reply(ctx, eng, cmd)
		if got != want {
			t.Errorf("%v: engine %s, redis-server %s", cmd, got, want)
		}
	}
}

// reply is a command's reply or error, as text to compare.
func reply(ctx context.Context, c *redis.Client, cmd []any) string {
	v, err := c.Do(ctx, cmd...).Result()
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprint(v)
}
