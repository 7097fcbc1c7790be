package server

import (
	"strconv"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestSmallHashOrderMatchesRedisServer: a small hash answers HGETALL,
// HKEYS, HVALS and HSCAN in redis-server's listpack order (insertion
// order, a deleted and re-added field going last) and DUMPs to the same
// bytes; it turns into a hashtable at the same write as redis-server's
// (too many fields, or a field or value too long) and stays one after
// shrinking back.
func TestSmallHashOrderMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareScript(t, real, eng, `
CONFIG SET hash-max-listpack-entries 5
CONFIG SET hash-max-listpack-value 8
HSET h zeta 1 alpha 2 17 -5 mid x
HGETALL h
HKEYS h
HVALS h
HSCAN h 0
HSCAN h 0 MATCH *a* COUNT 1
OBJECT ENCODING h
DUMP h
HDEL h alpha
HSET h alpha again
HSETNX h new 70000
HINCRBY h 17 3
HINCRBYFLOAT h zeta 0.5
HGETALL h
DUMP h
OBJECT ENCODING h
HSET h sixth 6
OBJECT ENCODING h
HLEN h
HDEL h sixth new alpha zeta
HLEN h
OBJECT ENCODING h
HSET long f 12345678
OBJECT ENCODING long
HSET long g 123456789
OBJECT ENCODING long
HDEL long g
OBJECT ENCODING long
HSET longfield 123456789 v
OBJECT ENCODING longfield
HSET inc a 1
HINCRBYFLOAT inc a 1.00000001
OBJECT ENCODING inc
HGETALL inc
CONFIG SET hash-max-listpack-entries 128
CONFIG SET hash-max-listpack-value 64
`)
	// A 40-field hash keeps its order too, and a payload redis-server wrote
	// (its listpack LZF-compressed: the engine's DUMP does not compress, so
	// only small payloads are byte-equal) restores into the same order.
	var fields []string
	for i := range 40 {
		f := strconv.Itoa((i * 7919) % 1000)
		if i%3 == 0 {
			f = "f" + f
		}
		fields = append(fields, f, "v"+strconv.Itoa(i))
	}
	compareArgs(t, real, eng, [][]string{
		append([]string{"HSET", "big"}, fields...),
		{"HGETALL", "big"}, {"HKEYS", "big"}, {"HVALS", "big"}, {"HSCAN", "big", "0"},
		{"OBJECT", "ENCODING", "big"},
	})
	payload := real.do(t, "DUMP", "big").Str
	compareArgs(t, real, eng, [][]string{
		{"RESTORE", "copy", "0", string(payload)},
		{"HGETALL", "copy"}, {"OBJECT", "ENCODING", "copy"},
	})
}
