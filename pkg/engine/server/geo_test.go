package server

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// geoScript exercises every GEO command, option and error, in the order
// redis-server checks them. A: lines go to the first connection of each
// server, B: lines to the second.
const geoScript = `
A: GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
A: GEOADD Sicily NX 13.361389 38.115556 Palermo 1 1 NewOne
A: GEOADD Sicily XX CH 13.4 38.1 Palermo 2 2 Absent
A: GEOADD Sicily CH XX 13.4 38.1 Palermo
A: GEOADD Sicily XX NX 1 1 a
A: GEOADD Sicily 1 1
A: GEOADD Sicily 1 1 a 2
A: GEOADD Sicily CH CH CH
A: GEOADD Sicily GT 1 1 a
A: GEOADD Sicily 181 0 a
A: GEOADD Sicily -180.0000001 0 a
A: GEOADD Sicily 0 85.06 a
A: GEOADD Sicily 0 -85.05112879 a
A: GEOADD Sicily inf 0 a
A: GEOADD Sicily 0 -inf a
A: GEOADD Sicily 1e300 1 a
A: GEOADD Sicily nan 0 a
A: GEOADD Sicily abc 0 a
A: GEOADD Sicily 0 abc a
A: GEOADD Sicily 0x10 0 hex
A: GEOADD Sicily 0 0 ok 1000 0 bad
A: GEOADD Sicily 180 85.05112878 ne -180 -85.05112878 sw 180 -85.05112878 se -180 85.05112878 nw 0 0 zero
A: GEOADD Sicily 1 1 dup 2 2 dup
A: GEOPOS Sicily Palermo Catania ne sw se nw zero dup hex nope
A: GEOHASH Sicily Palermo Catania ne sw se nw zero dup hex nope
A: GEODIST Sicily Palermo Catania
A: GEODIST Sicily Palermo Catania km
A: GEODIST Sicily Palermo Catania KM
A: GEODIST Sicily Palermo Catania mi
A: GEODIST Sicily Palermo Catania ft
A: GEODIST Sicily Palermo Catania m
A: GEODIST Sicily Palermo Catania parsec
A: GEODIST Sicily Palermo Catania km extra
A: GEODIST Sicily Palermo nope
A: GEODIST Sicily Palermo Palermo
A: GEODIST Sicily ne sw
A: GEODIST Sicily ne se km
A: GEODIST Sicily nw ne
A: GEODIST Sicily zero ne mi
A: GEODIST nokey a b
A: GEODIST nokey a b parsec
A: GEOPOS nokey a b
A: GEOHASH nokey a
A: SET str v
A: GEOADD str 1 1 a
A: GEOADD str 1000 1 a
A: GEOPOS str a
A: GEOHASH str a
A: GEODIST str a b
A: GEODIST str a b parsec
A: GEORADIUS str 1000 0 1 km
A: GEORADIUSBYMEMBER str a 1 km
A: GEOSEARCH str FROMMEMBER a BYRADIUS 1 km
A: GEOSEARCHSTORE dst str FROMLONLAT 0 0 BYRADIUS 1 km
A: GEOSEARCHSTORE str Sicily FROMLONLAT 15 37 BYRADIUS 200 km
A: TYPE str
A: ZADD zs 1.5 weird -1 neg 1e20 huge 0 nil
A: GEOPOS zs weird neg huge nil
A: GEOHASH zs weird neg huge nil
A: GEODIST zs weird huge
A: GEORADIUS zs 0 0 20000 km WITHHASH WITHCOORD WITHDIST
A: GEORADIUS Sicily 15 37 200 km
A: GEORADIUS Sicily 15 37 200 km WITHDIST
A: GEORADIUS Sicily 15 37 200 km WITHCOORD WITHDIST WITHHASH ASC
A: GEORADIUS Sicily 15 37 200 km WITHHASH DESC
A: GEORADIUS Sicily 15 37 200 km COUNT 1
A: GEORADIUS Sicily 15 37 200 km COUNT 1 DESC
A: GEORADIUS Sicily 15 37 200 km COUNT 1 ANY
A: GEORADIUS Sicily 15 37 200 km COUNT 1 ANY DESC
A: GEORADIUS Sicily 15 37 200 km ANY
A: GEORADIUS Sicily 15 37 200 km COUNT 0
A: GEORADIUS Sicily 15 37 200 km COUNT -1
A: GEORADIUS Sicily 15 37 200 km COUNT x
A: GEORADIUS Sicily 15 37 200 km COUNT 9223372036854775807
A: GEORADIUS Sicily 15 37 200 km COUNT 9223372036854775808
A: GEORADIUS Sicily 15 37 200 km COUNT
A: GEORADIUS Sicily 15 37 200 km STORE
A: GEORADIUS Sicily 15 37 200 km FOO
A: GEORADIUS Sicily 15 37 200 parsec
A: GEORADIUS Sicily 15 37 -1 km
A: GEORADIUS Sicily 15 37 abc km
A: GEORADIUS Sicily 15 37 inf km
A: GEORADIUS Sicily 15 37 1e308 mi
A: GEORADIUS Sicily 15 37 0 km
A: GEORADIUS Sicily 15 37 -0 km
A: GEORADIUS Sicily 200 37 1 km
A: GEORADIUS Sicily x 37 1 km
A: GEORADIUS Sicily 15 37 200 km WITHDIST STORE dst
A: GEORADIUS Sicily 15 37 200 km STORE dst WITHCOORD
A: GEORADIUS Sicily 15 37 200 km STORE dst
A: ZRANGE dst 0 -1 WITHSCORES
A: GEORADIUS Sicily 15 37 200 km STOREDIST dst
A: ZRANGE dst 0 -1 WITHSCORES
A: GEORADIUS Sicily 15 37 200 km STORE dst1 STOREDIST dst2
A: EXISTS dst1 dst2
A: GEORADIUS Sicily 15 37 200 km STOREDIST dst2 COUNT 1 DESC
A: ZRANGE dst2 0 -1 WITHSCORES
A: GEORADIUS Sicily 0 -80 1 km STORE dst2
A: EXISTS dst2
A: GEORADIUS nokey 0 0 1 km STORE dst
A: EXISTS dst
A: GEORADIUS nokey 0 0 1 km
A: GEORADIUS nokey 0 0 1 km WITHDIST STORE x
A: GEORADIUS nokey 0 0 1 km ANY
A: GEORADIUS nokey 200 0 1 km
A: GEORADIUS Sicily 15 37 200 km STORE Sicily2
A: GEORADIUS Sicily2 15 37 200 km STORE Sicily2
A: ZRANGE Sicily2 0 -1 WITHSCORES
A: GEORADIUS_RO Sicily 15 37 200 km STORE dst
A: GEORADIUS_RO Sicily 15 37 200 km STOREDIST dst
A: GEORADIUS_RO Sicily 15 37 200 km WITHDIST ASC COUNT 1
A: GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST WITHCOORD
A: GEORADIUSBYMEMBER Sicily Palermo 200 km ASC COUNT 1 WITHHASH
A: GEORADIUSBYMEMBER Sicily nope 200 km
A: GEORADIUSBYMEMBER Sicily nope abc km
A: GEORADIUSBYMEMBER Sicily Palermo abc km
A: GEORADIUSBYMEMBER Sicily Palermo 1 parsec
A: GEORADIUSBYMEMBER nokey nope abc parsec
A: GEORADIUSBYMEMBER nokey nope abc parsec FOO
A: GEORADIUSBYMEMBER nokey nope 1 km STORE dst
A: GEORADIUSBYMEMBER nokey nope 1 km COUNT 0
A: GEORADIUSBYMEMBER Sicily Palermo 200 km STORE dst COUNT 1
A: ZRANGE dst 0 -1 WITHSCORES
A: GEORADIUSBYMEMBER_RO Sicily Palermo 200 km STORE dst
A: GEORADIUSBYMEMBER_RO Sicily Palermo 200 km WITHDIST
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST WITHHASH
A: GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 1000 1000 mi DESC COUNT 2
A: GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 1000 1000 mi COUNT 2 ANY
A: GEOSEARCH Sicily FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 1 m
A: GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 1 m
A: GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 1 m
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 m BYBOX 1 1 m
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 m BYRADIUS 1 m
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 m BYRADIUS 300 km
A: GEOSEARCH Sicily FROMLONLAT 15 37
A: GEOSEARCH Sicily BYRADIUS 1 km WITHDIST
A: geosearch Sicily BYRADIUS 1 km WITHDIST
A: GeoSearch Sicily FROMLONLAT 1 1 WITHDIST COUNT 1
A: GEOSEARCH Sicily FROMMEMBER nope BYRADIUS 1 km
A: GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 1 km STORE dst
A: GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 1 km STOREDIST
A: GEOSEARCH Sicily FROMLONLAT 15 BYRADIUS 1 km
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 x km
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 -1 parsec
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 parsec
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 0 0 km
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -1 km
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS x km
A: GEOSEARCH Sicily FROMLONLAT 15 370 BYRADIUS 1 km
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY WITHDIST
A: GEOSEARCH nokey FROMMEMBER nope BYRADIUS 1 km
A: GEOSEARCH nokey FROMLONLAT 0 0 BYRADIUS 1 km ANY
A: GEOSEARCH nokey FROMMEMBER nope BYBOX 1 1 km COUNT 3 ANY DESC
A: GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km
A: ZRANGE dst 0 -1 WITHSCORES
A: GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
A: ZRANGE dst 0 -1 WITHSCORES
A: GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST COUNT 1 DESC
A: ZRANGE dst 0 -1 WITHSCORES
A: GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km WITHDIST
A: GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km WITHHASH STOREDIST
A: GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km STORE x
A: GEOSEARCHSTORE dst Sicily BYBOX 400 400 km
A: GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37
A: GEOSEARCHSTORE dst Sicily FROMLONLAT 0 -80 BYRADIUS 1 km
A: EXISTS dst
A: SET dst v
A: GEOSEARCHSTORE dst nokey FROMLONLAT 0 -80 BYRADIUS 1 km
A: EXISTS dst
A: SET dst v
A: EXPIRE dst 1000
A: GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km
A: TTL dst
A: TYPE dst
A: GEOSEARCHSTORE Sicily Sicily FROMMEMBER Palermo BYRADIUS 10 km
A: ZRANGE Sicily 0 -1 WITHSCORES
A: GEOADD
A: GEOADD k 1 1
A: GEODIST k a
A: GEOHASH
A: GEOPOS
A: GEORADIUS k 1 1 1
A: GEORADIUSBYMEMBER k m 1
A: GEOSEARCH k FROMLONLAT 1 1 BYRADIUS
A: GEOSEARCHSTORE d k FROMLONLAT 1 1 BYRADIUS
A: GEOADD w 0 0 m0
A: WATCH w
A: MULTI
A: PING
B: GEOADD w 0 0 m0
A: EXEC
A: WATCH w
A: MULTI
A: PING
B: GEOADD w 0.0001 0 m0
A: EXEC
A: WATCH w
A: MULTI
A: PING
B: GEORADIUS w 0 0 1 km
A: EXEC
A: WATCH w
A: MULTI
A: PING
B: GEORADIUS w 0 0 1 km STORE w2
A: EXEC
A: WATCH w2
A: MULTI
A: PING
B: GEOSEARCHSTORE w2 w FROMLONLAT 0 0 BYRADIUS 1 km
A: EXEC
A: MULTI
A: GEOADD w 1 1 m1
A: GEORADIUS w 0 0 1000 km WITHDIST
A: GEOADD w 1000 1 bad
A: EXEC
A: HELLO 3
A: GEOPOS Sicily Palermo nope
A: GEOPOS nokey a
A: GEOHASH Sicily Palermo nope
A: GEODIST Sicily Palermo Catania
A: GEODIST nokey a b
A: GEODIST Sicily Palermo nope
A: GEORADIUS Sicily 15 37 200 km WITHCOORD WITHDIST WITHHASH ASC
A: GEORADIUSBYMEMBER Sicily Palermo 200 km WITHCOORD
A: GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST WITHHASH
A: GEOSEARCH nokey FROMLONLAT 15 37 BYBOX 400 400 km
A: GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
A: ZRANGE dst 0 -1 WITHSCORES
A: GEORADIUS zs 0 0 20000 km WITHHASH WITHCOORD WITHDIST
`

// TestGeoMatchesRedisServer runs geoScript on redis-server 7.0 and the
// engine, in RESP2 and then RESP3, and requires identical replies.
func TestGeoMatchesRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real := [2]*rawConn{dial(t, rs.Addr()), dial(t, rs.Addr())}
	eng := [2]*rawConn{dial(t, es.Addr().String()), dial(t, es.Addr().String())}
	compareClients(t, real, eng, geoScript)
}

// geoEventScript: the keyspace events GEO writes cause (GEOADD announces
// "zadd", also for an update without CH; the storing searches their own
// event, or "del" when nothing was found).
var geoEventScript = []string{
	"GEOADD g 1 1 a 2 2 b", "GEOADD g 1 1 a", "GEOADD g 1.5 1 a", "GEOADD g XX 3 3 c", "GEOADD g NX CH 3 3 c",
	"GEOADD nokey XX 1 1 a", "GEOADD g 1000 1 bad", "GEORADIUS g 0 0 1000 km", "GEORADIUS g 0 0 1000 km STORE d1",
	"GEORADIUS g 0 0 1000 km STORE d1", "GEORADIUS g 50 50 1 km STORE d1", "GEORADIUSBYMEMBER g a 1000 km STOREDIST d2",
	"GEORADIUS nokey 0 0 1 km STORE d2", "GEORADIUS nokey 0 0 1 km STORE d2", "GEOSEARCHSTORE d3 g FROMLONLAT 0 0 BYRADIUS 1000 km",
	"GEOSEARCHSTORE d3 g FROMLONLAT 50 50 BYRADIUS 1 km", "GEOSEARCHSTORE d3 nokey FROMLONLAT 50 50 BYRADIUS 1 km",
	"GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1000 km", "SET d4 str", "GEOSEARCHSTORE d4 g FROMLONLAT 0 0 BYRADIUS 1000 km STOREDIST",
	"GEORADIUS g 0 0 1000 km STORE g", "GEORADIUS_RO g 0 0 1000 km", "GEORADIUS g 0 0 1000 km STORE d5 WITHDIST",
}

// TestGeoKeyspaceEventsMatchRedisServer runs geoEventScript with every
// keyspace event on, against redis-server 7.0 and the engine, and compares
// what a PSUBSCRIBE * client receives after each command.
func TestGeoKeyspaceEventsMatchRedisServer(t *testing.T) {
	events := func(addr string) [][]string {
		cmd, sub := dial(t, addr), dial(t, addr)
		cmd.do(t, "CONFIG", "SET", "notify-keyspace-events", "KEAn")
		sub.do(t, "PSUBSCRIBE", "*")
		var out [][]string
		for i, line := range geoEventScript {
			cmd.do(t, strings.Fields(line)...)
			fence := "fence" + strconv.Itoa(i)
			cmd.do(t, "PUBLISH", fence, "x")
			var got []string
			for {
				sub.conn.SetDeadline(time.Now().Add(5 * time.Second))
				msg, err := resp.ReadReply(sub.br)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				if len(msg.Elems) == 4 && string(msg.Elems[2].Str) == fence {
					break
				}
				got = append(got, show(msg))
			}
			out = append(out, got)
		}
		return out
	}
	want := events(redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	got := events(startServer(t).Addr().String())
	for i, line := range geoEventScript {
		if !reflect.DeepEqual(want[i], got[i]) {
			t.Errorf("%s:\n  redis:  %q\n  engine: %q", line, want[i], got[i])
		}
	}
}

// TestGeoCommandInfoMatchesRedisServer: arity, flags and key positions
// as COMMAND INFO and COMMAND GETKEYS report them.
func TestGeoCommandInfoMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	for _, name := range []string{"geoadd", "geodist", "geohash", "geopos", "georadius", "georadiusbymember",
		"georadius_ro", "georadiusbymember_ro", "geosearch", "geosearchstore"} {
		want, got := real.do(t, "COMMAND", "INFO", name), eng.do(t, "COMMAND", "INFO", name)
		// name, arity, flags, first, last, step: the ACL categories and key
		// specs are the engine's approximation for every command
		if len(want.Elems) != 1 || len(got.Elems) != 1 || !reflect.DeepEqual(want.Elems[0].Elems[:6], got.Elems[0].Elems[:6]) {
			t.Errorf("COMMAND INFO %s:\n  redis:  %s\n  engine: %s", name, show(want), show(got))
		}
	}
	compareScript(t, real, eng, `
COMMAND GETKEYS GEORADIUS src 0 0 1 km STORE dst
COMMAND GETKEYS GEORADIUS src 0 0 1 km
COMMAND GETKEYS GEORADIUSBYMEMBER src m 1 km STOREDIST dst
COMMAND GETKEYS GEOSEARCHSTORE dst src FROMLONLAT 0 0 BYRADIUS 1 km
COMMAND GETKEYS GEOSEARCH src FROMLONLAT 0 0 BYRADIUS 1 km
COMMAND GETKEYS GEOADD k 1 1 m
`)
}

// TestGeoOnReplicaMatchesRedisServer: GEO writes reach a replica (GEOADD,
// and the stores of GEORADIUS and GEOSEARCHSTORE), and a read-only replica
// refuses GEORADIUS and GEORADIUSBYMEMBER, with or without STORE, as
// redis-server does, while serving the _RO forms and GEOSEARCH.
func TestGeoOnReplicaMatchesRedisServer(t *testing.T) {
	pair := func(masterAddr, replicaAddr string) [2]*rawConn {
		m, r := dial(t, masterAddr), dial(t, replicaAddr)
		host, port, _ := strings.Cut(masterAddr, ":")
		r.do(t, "REPLICAOF", host, port)
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if strings.Contains(string(r.do(t, "INFO", "replication").Str), "master_link_status:up") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica of %s never came up", masterAddr)
			}
		}
		for _, cmd := range []string{
			"GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
			"GEORADIUS g 15 37 200 km STORE d1", "GEOSEARCHSTORE d2 g FROMMEMBER Palermo BYRADIUS 200 km STOREDIST",
			"GEORADIUSBYMEMBER g Palermo 100 km STOREDIST d3",
		} {
			m.do(t, strings.Fields(cmd)...)
		}
		m.do(t, "WAIT", "1", "5000")
		return [2]*rawConn{r, m}
	}
	real := pair(redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr(), redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := pair(startServer(t).Addr().String(), startServer(t).Addr().String())
	compareClients(t, real, eng, `
A: GEOPOS g Palermo Catania
A: ZRANGE d1 0 -1 WITHSCORES
A: ZRANGE d2 0 -1 WITHSCORES
A: ZRANGE d3 0 -1 WITHSCORES
A: GEORADIUS g 15 37 200 km
A: GEORADIUS g 15 37 200 km STORE x
A: GEORADIUSBYMEMBER g Palermo 200 km
A: GEOSEARCHSTORE x g FROMLONLAT 15 37 BYRADIUS 200 km
A: GEOADD g 1 1 m
A: GEORADIUS_RO g 15 37 200 km WITHDIST
A: GEORADIUSBYMEMBER_RO g Palermo 200 km WITHCOORD
A: GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km WITHHASH
A: REPLICAOF NO ONE
`)
}
