package server

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestBitFieldMatchesRedisServer: BITFIELD and BITFIELD_RO, fixed cases
// (types, # offsets, OVERFLOW WRAP/SAT/FAIL at the edges of i64/u63,
// errors) and 300 random operation lists, against redis-server 7.0.
func TestBitFieldMatchesRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real := [2]*rawConn{dial(t, rs.Addr()), dial(t, rs.Addr())}
	eng := [2]*rawConn{dial(t, es.Addr().String()), dial(t, es.Addr().String())}
	script := `
A: BITFIELD b
A: EXISTS b
A: BITFIELD b GET u8 0
A: EXISTS b
A: BITFIELD b SET u8 0 255 GET u8 0 GET i8 0 GET u4 4 GET i4 4
A: GET b
A: BITFIELD b INCRBY u8 0 1
A: BITFIELD b OVERFLOW SAT INCRBY u8 0 300 INCRBY i8 8 -300 INCRBY i8 8 1000
A: BITFIELD b OVERFLOW FAIL INCRBY u8 0 1 SET i8 #3 200 GET i8 #3
A: BITFIELD b OVERFLOW WRAP SET i8 #3 200 GET i8 #3 INCRBY u2 100 7
A: BITFIELD b SET i64 0 9223372036854775807 INCRBY i64 0 1
A: BITFIELD b OVERFLOW SAT INCRBY i64 0 9223372036854775807 INCRBY i64 0 -9223372036854775808 INCRBY i64 0 -9223372036854775808
A: BITFIELD b OVERFLOW FAIL SET i64 0 -9223372036854775808 INCRBY i64 0 -1
A: BITFIELD b SET u63 1 9223372036854775807 GET u63 1 OVERFLOW SAT INCRBY u63 1 5 OVERFLOW WRAP INCRBY u63 1 -9223372036854775808
A: BITFIELD b GET u1 1000 GET i1 0 SET i1 3 -1 GET u1 3
A: GET b
A: STRLEN b
A: BITFIELD b SET u8 1000000 1
A: STRLEN b
A: BITFIELD_RO b GET u8 0 GET i16 #2
A: BITFIELD_RO b SET u8 0 1
A: BITFIELD_RO b INCRBY u8 0 1
A: BITFIELD_RO nope GET u8 0
A: BITFIELD b GET u64 0
A: BITFIELD b GET i65 0
A: BITFIELD b GET u0 0
A: BITFIELD b GET x8 0
A: BITFIELD b GET I8 0
A: BITFIELD b GET u8 -1
A: BITFIELD b GET u8 x
A: BITFIELD b GET u8 #-1
A: BITFIELD b GET u8 4294967296
A: BITFIELD b GET u8 4294967295
A: BITFIELD b GET u8 #536870912
A: BITFIELD b GET u8 #536870911
A: BITFIELD b GET u8 #1152921504606846976
A: BITFIELD b SET u8 0 x
A: BITFIELD b INCRBY u8 0
A: BITFIELD b OVERFLOW BOGUS GET u8 0
A: BITFIELD b OVERFLOW
A: BITFIELD b FOO u8 0
A: BITFIELD b GET u8 0 SET u8
A: LPUSH l a
A: BITFIELD l GET u8 0
A: BITFIELD_RO l GET u8 0
A: BITFIELD l OVERFLOW FOO
A: SET s hello EX 100
A: BITFIELD s SET u8 0 72
A: GET s
A: TTL s
A: BITFIELD empty OVERFLOW FAIL SET u2 0 7
A: GET empty
A: SET w 1
A: WATCH w
B: BITFIELD w GET u8 0
A: MULTI
A: PING
A: EXEC
A: WATCH w
B: BITFIELD w SET u8 0 1
A: MULTI
A: PING
A: EXEC
A: SET w 1
A: WATCH w
B: BITFIELD w OVERFLOW FAIL INCRBY u2 0 9
A: MULTI
A: PING
A: EXEC
`
	var b strings.Builder
	b.WriteString(script)
	rnd := rand.New(rand.NewPCG(7, 9))
	for range 300 {
		b.WriteString("A: BITFIELD r")
		for range 1 + rnd.IntN(5) {
			sign := "iu"[rnd.IntN(2)]
			bits := 1 + rnd.IntN(63)
			if sign == 'i' {
				bits = 1 + rnd.IntN(64)
			}
			off := fmt.Sprint(rnd.IntN(100))
			if rnd.IntN(4) == 0 {
				off = fmt.Sprintf("#%d", rnd.IntN(5))
			}
			vals := []string{"0", "1", "-1", "127", "-128", "255", "9223372036854775807", "-9223372036854775808", fmt.Sprint(rnd.Int64() - rnd.Int64())}
			v := vals[rnd.IntN(len(vals))]
			switch rnd.IntN(4) {
			case 0:
				fmt.Fprintf(&b, " GET %c%d %s", sign, bits, off)
			case 1:
				fmt.Fprintf(&b, " SET %c%d %s %s", sign, bits, off, v)
			case 2:
				fmt.Fprintf(&b, " INCRBY %c%d %s %s", sign, bits, off, v)
			default:
				fmt.Fprintf(&b, " OVERFLOW %s", []string{"WRAP", "SAT", "FAIL"}[rnd.IntN(3)])
			}
		}
		b.WriteString("\nA: GET r\n")
	}
	compareClients(t, real, eng, b.String())
}
