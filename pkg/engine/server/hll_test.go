package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestHLLMatchesRedisServer: the same PFADD sequences give byte-identical
// strings (sparse, through the promotion at hll-sparse-max-bytes, dense)
// and the same PFCOUNT estimates as redis-server 7.0; PFMERGE, PFDEBUG and
// the errors too.
func TestHLLMatchesRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real := [2]*rawConn{dial(t, rs.Addr()), dial(t, rs.Addr())}
	eng := [2]*rawConn{dial(t, es.Addr().String()), dial(t, es.Addr().String())}
	var b strings.Builder
	add := func(format string, a ...any) { fmt.Fprintf(&b, "A: "+format+"\n", a...) }
	add("PFADD h")
	add("GET h")
	add("PFCOUNT h")
	add("PFADD h a b c")
	add("GET h")
	add("PFADD h a")
	add("PFCOUNT h")
	add("GET h")
	add("PFDEBUG DECODE h")
	add("PFDEBUG ENCODING h")
	// grow one HLL through the sparse encoding up to its promotion, and
	// a second one far into the dense one
	n := 0
	for round := range 60 {
		var elems []string
		for range 1 + round*round/4 {
			elems = append(elems, fmt.Sprintf("e%d", n))
			n++
		}
		add("PFADD big %s", strings.Join(elems, " "))
		add("GET big")
		add("PFCOUNT big")
		add("PFDEBUG ENCODING big")
	}
	add("PFADD small x y z")
	add("PFADD other p q")
	add("PFMERGE m small other")
	add("GET m")
	add("PFCOUNT m")
	add("PFCOUNT small other nope")
	add("PFMERGE m big")
	add("GET m")
	add("PFCOUNT m")
	add("PFCOUNT big small")
	add("PFMERGE m2 small")
	add("GET m2")
	add("PFMERGE m3")
	add("GET m3")
	add("PFDEBUG GETREG small")
	add("PFDEBUG ENCODING small")
	add("GET small")
	add("PFDEBUG TODENSE other")
	add("PFDEBUG TODENSE other")
	add("PFDEBUG DECODE other")
	add("PFDEBUG FOO other")
	add("PFDEBUG ENCODING other extra")
	add("PFDEBUG ENCODING nope")
	add("SET str notanhll")
	add("PFADD str a")
	add("PFCOUNT str")
	add("PFCOUNT str small")
	add("PFMERGE str small")
	add("PFMERGE m str")
	add("PFDEBUG ENCODING str")
	add("LPUSH l a")
	add("PFADD l a")
	add("PFCOUNT l")
	add("PFCOUNT small l")
	add("CONFIG SET hll-sparse-max-bytes 30")
	add("PFADD tiny a b c d e f g h i j k l")
	add("PFDEBUG ENCODING tiny")
	add("GET tiny")
	add("CONFIG SET hll-sparse-max-bytes 3000")
	add("SETRANGE small 16 \xff")
	add("PFCOUNT small")
	add("PFADD small zz")
	compareClients(t, real, eng, b.String())
	if r := eng[0].do(t, "PFSELFTEST"); string(r.Str) != "OK" {
		t.Fatalf("PFSELFTEST: %s", show(r))
	}
}

// WATCH: PFADD that changes no register and PFCOUNT of a fresh cache
// touch nothing Redis would not; PFMERGE touches its destination only.
func TestHLLWatchMatchesRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real := [2]*rawConn{dial(t, rs.Addr()), dial(t, rs.Addr())}
	eng := [2]*rawConn{dial(t, es.Addr().String()), dial(t, es.Addr().String())}
	compareClients(t, real, eng, `
A: PFADD h a b
A: PFADD src x
A: PFCOUNT src
A: WATCH h src
B: PFADD h a
B: PFCOUNT src
A: MULTI
A: PING
A: EXEC
A: WATCH src
B: PFMERGE dst src
A: MULTI
A: PING
A: EXEC
A: WATCH h
B: PFADD h c
A: MULTI
A: PING
A: EXEC
A: WATCH h
B: PFCOUNT h
A: MULTI
A: PING
A: EXEC
`)
}

// HLL values move between redis-server and the engine with DUMP/RESTORE
// (dense and sparse) and count the same on arrival.
func TestHLLDumpRestoreBothWays(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real, eng := dial(t, rs.Addr()), dial(t, es.Addr().String())
	var elems []string
	for i := range 5000 {
		elems = append(elems, fmt.Sprintf("x%d", i))
	}
	real.do(t, append([]string{"PFADD", "dense"}, elems...)...)
	real.do(t, "PFADD", "sparse", "a", "b", "c")
	eng.do(t, append([]string{"PFADD", "edense"}, elems...)...)
	for _, k := range []string{"dense", "sparse"} {
		payload := real.do(t, "DUMP", k)
		if r := eng.do(t, "RESTORE", k, "0", string(payload.Str)); string(r.Str) != "OK" {
			t.Fatalf("RESTORE %s into the engine: %s", k, show(r))
		}
		want, got := real.do(t, "PFCOUNT", k), eng.do(t, "PFCOUNT", k)
		if show(want) != show(got) {
			t.Errorf("PFCOUNT %s: redis %s, engine %s", k, show(want), show(got))
		}
	}
	payload := eng.do(t, "DUMP", "edense")
	if r := real.do(t, "RESTORE", "edense", "0", string(payload.Str)); string(r.Str) != "OK" {
		t.Fatalf("RESTORE into redis-server: %s", show(r))
	}
	if want, got := real.do(t, "PFCOUNT", "edense", "dense"), eng.do(t, "PFCOUNT", "edense", "dense"); show(want) != show(got) {
		t.Errorf("PFCOUNT of the union: redis %s, engine %s", show(want), show(got))
	}
}
