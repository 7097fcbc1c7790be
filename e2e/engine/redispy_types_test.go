package engine

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
)

// redisPyNewTypes drives, through redis-py's RedisCluster, the types and
// commands issue 13 added to the engine: streams with a consumer group,
// HyperLogLog (its raw string too, byte for byte), geo, bit operations,
// the MPOP family, ZRANGESTORE/ZINTERCARD, SORT_RO, LCS, COPY, OBJECT
// ENCODING and WATCH. It prints one line per reply; nothing in it depends
// on time, so the lines of two servers must be equal.
const redisPyNewTypes = `
import hashlib, sys, redis
from redis.cluster import RedisCluster
host, port = sys.argv[1], int(sys.argv[2])
rc = RedisCluster(host=host, port=port, decode_responses=True)
raw = RedisCluster(host=host, port=port)
def out(name, v):
    print(name, repr(v))

# streams
for i in range(1, 6):
    rc.xadd("st", {"f": "v%d" % i, "n": str(i)}, id="%d-1" % i)
out("xlen", rc.xlen("st"))
out("xrange", rc.xrange("st", "-", "+", count=3))
out("xrange-excl", rc.execute_command("XRANGE", "st", "(2-1", "+", "COUNT", 2))
out("xrevrange", rc.xrevrange("st", "+", "-", count=2))
out("xadd-nomk", rc.execute_command("XADD", "st-none", "NOMKSTREAM", "*", "a", "1"))
out("xgroup", rc.xgroup_create("st", "g", id="0"))
out("xreadgroup", rc.xreadgroup("g", "c1", {"st": ">"}, count=2))
out("xreadgroup2", rc.xreadgroup("g", "c2", {"st": ">"}, count=1))
out("xpending", rc.xpending("st", "g"))
out("xpending-range", [(p["message_id"], p["consumer"], p["times_delivered"]) for p in rc.xpending_range("st", "g", "-", "+", 10)])
out("xack", rc.xack("st", "g", "1-1"))
out("xclaim", rc.xclaim("st", "g", "c2", 0, ["2-1"], justid=True))
out("xautoclaim", rc.execute_command("XAUTOCLAIM", "st", "g", "c3", 0, "0-0", "COUNT", 1))
out("xinfo-groups", [(g["name"], g["consumers"], g["pending"], g["last-delivered-id"]) for g in rc.xinfo_groups("st")])
out("xinfo-consumers", sorted((c["name"], c["pending"]) for c in rc.xinfo_consumers("st", "g")))
out("xtrim", rc.xtrim("st", maxlen=3, approximate=False))
out("xdel", rc.xdel("st", "4-1", "9-9"))
info = rc.xinfo_stream("st")
out("xinfo-stream", (info["length"], info["groups"], info["first-entry"], info["last-entry"], info["last-generated-id"]))
out("xread-empty", rc.xread({"st": "5-1"}, block=10))
out("xsetid", rc.execute_command("XSETID", "st", "7-0"))
out("xadd-after-setid", rc.execute_command("XADD", "st", "*", "x", "1").startswith("7-") or "later")

# HyperLogLog
out("pfadd1", rc.pfadd("hl{h}1", *["a%d" % i for i in range(50)]))
out("pfadd2", rc.pfadd("hl{h}2", *["a%d" % i for i in range(25, 90)]))
out("pfadd-again", rc.pfadd("hl{h}1", "a1"))
out("pfcount1", rc.pfcount("hl{h}1"))
out("pfcount12", rc.pfcount("hl{h}1", "hl{h}2"))
out("pfmerge", rc.pfmerge("hl{h}3", "hl{h}1", "hl{h}2"))
out("pfcount3", rc.pfcount("hl{h}3"))
out("hll-bytes", raw.get("hl{h}3").hex())  # sparse: short
for i in range(3000):
    rc.pfadd("hl{h}big", "e%d" % i)
out("pfcount-dense", rc.pfcount("hl{h}big"))
dense = raw.get("hl{h}big")
out("hll-dense-bytes", (len(dense), hashlib.sha1(dense).hexdigest()))

# geo
out("geoadd", rc.geoadd("geo{g}", [13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania", 12.496366, 41.902782, "Rome"]))
out("geodist", rc.geodist("geo{g}", "Palermo", "Catania", unit="km"))
out("geopos", rc.geopos("geo{g}", "Palermo", "Nowhere"))
out("geohash", rc.geohash("geo{g}", "Palermo", "Catania"))
out("geosearch", rc.geosearch("geo{g}", member="Palermo", radius=500, unit="km", sort="ASC", withdist=True, withcoord=True))
out("geosearchstore", rc.geosearchstore("geo{g}near", "geo{g}", longitude=15, latitude=37, width=400, height=400, unit="km", sort="DESC", count=2))
out("geosearchstore-dst", rc.zrange("geo{g}near", 0, -1))
out("georadius", rc.georadius("geo{g}", 15, 37, 200, unit="km", sort="ASC"))

# bits
out("setbit", [rc.setbit("b{b}1", o, 1) for o in (1, 7, 100)])
out("bitcount", rc.bitcount("b{b}1"))
out("bitpos", (rc.bitpos("b{b}1", 1), rc.bitpos("b{b}1", 0, 1)))
rc.set("b{b}2", "foobar")
out("bitop", [rc.bitop(op, "b{b}dst-" + op, "b{b}1", "b{b}2") for op in ("AND", "OR", "XOR")])
out("bitop-not", rc.bitop("NOT", "b{b}dst-not", "b{b}2"))
out("bitop-bytes", [raw.get("b{b}dst-" + op).hex() for op in ("AND", "OR", "XOR", "not")])
out("bitfield", rc.execute_command("BITFIELD", "bf", "SET", "u8", 0, 255, "GET", "u4", 0, "INCRBY", "i5", 100, 7, "OVERFLOW", "SAT", "INCRBY", "u2", 102, 9))
out("bitfield-ro", rc.execute_command("BITFIELD_RO", "bf", "GET", "u8", 0, "GET", "i5", 100))

# MPOP family, sorted-set extras, SORT_RO, LCS, COPY
rc.rpush("l{m}1", "a", "b", "c")
rc.rpush("l{m}2", "x")
out("lmpop", rc.execute_command("LMPOP", 2, "l{m}0", "l{m}1", "LEFT", "COUNT", 2))
out("blmpop", rc.execute_command("BLMPOP", 0.01, 2, "l{m}1", "l{m}2", "RIGHT"))
out("lmpop-none", rc.execute_command("LMPOP", 1, "l{m}9", "LEFT"))
rc.zadd("z{m}1", {"a": 1, "b": 2, "c": 3, "d": 4})
rc.zadd("z{m}2", {"b": 20, "c": 30, "e": 50})
out("zmpop", rc.execute_command("ZMPOP", 2, "z{m}0", "z{m}1", "MIN", "COUNT", 2))
out("bzmpop", rc.execute_command("BZMPOP", 0.01, 1, "z{m}1", "MAX"))
out("zrangestore", rc.execute_command("ZRANGESTORE", "z{m}dst", "z{m}2", 0, -1, "REV"))
out("zrange-dst", rc.zrange("z{m}dst", 0, -1, withscores=True))
out("zintercard", rc.execute_command("ZINTERCARD", 2, "z{m}1", "z{m}2"))
out("zrandmember-all", sorted(rc.execute_command("ZRANDMEMBER", "z{m}2", 10)))
rc.rpush("n{m}", 3, 10, 1, 22)
out("sort-ro", rc.execute_command("SORT_RO", "n{m}", "DESC", "LIMIT", 0, 3))
out("sort-alpha", rc.sort("n{m}", alpha=True))
rc.set("s{m}1", "ohmytext")
rc.set("s{m}2", "mynewtext")
out("lcs", rc.execute_command("LCS", "s{m}1", "s{m}2"))
out("lcs-len", rc.execute_command("LCS", "s{m}1", "s{m}2", "LEN"))
out("lcs-idx", rc.execute_command("LCS", "s{m}1", "s{m}2", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN"))
out("copy", (rc.execute_command("COPY", "s{m}1", "s{m}3"), rc.execute_command("COPY", "s{m}1", "s{m}3"), rc.get("s{m}3")))

# OBJECT ENCODING, Redis 7.0's names
rc.set("e:int", 12345)
rc.set("e:str", "hello")
rc.set("e:raw", "x" * 100)
rc.hset("e:hash", mapping={"a": "1"})
rc.sadd("e:intset", 1, 2, 3)
rc.sadd("e:set", "a", "b")
rc.zadd("e:zset", {"a": 1})
rc.rpush("e:list", "a")
out("encodings", [rc.object("ENCODING", k) for k in ("e:int", "e:str", "e:raw", "e:hash", "e:intset", "e:set", "e:zset", "e:list", "st", "hl{h}3")])

# WATCH: RedisCluster has no transactions; a plain client on the key's node
node = rc.get_node_from_key("w{w}")
direct = redis.Redis(host=node.host, port=node.port, decode_responses=True)
other = redis.Redis(host=node.host, port=node.port, decode_responses=True)
direct.set("w{w}", "0")
with direct.pipeline() as p:
    p.watch("w{w}")
    other.set("w{w}", "touched")
    p.multi()
    p.set("w{w}", "mine")
    try:
        p.execute()
        out("watch", "committed")
    except redis.WatchError:
        out("watch", "aborted")
with direct.pipeline() as p:
    p.watch("w{w}")
    p.multi()
    p.incr("n{w}")
    p.set("w{w}", "mine")
    out("watch-untouched", p.execute())
out("w", direct.get("w{w}"))
print("done")
`

// TestRedisPyNewTypesMatchRedisServer runs redisPyNewTypes against a
// cluster of engine nodes and one of redis-server nodes and compares
// every line.
func TestRedisPyNewTypesMatchRedisServer(t *testing.T) {
	engineNodes := StartN(t, 3, Options{Cluster: true})
	createCluster(t, engineNodes, 0)
	redisCluster := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})

	run := func(host string, port int) []string {
		t.Helper()
		out, err := exec.Command("/usr/bin/python3", "-c", redisPyNewTypes, host, strconv.Itoa(port)).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-py against %s:%d: %v\n%s", host, port, err, out)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	got := run(engineNodes[0].Host, engineNodes[0].Port)
	want := run(redisCluster.Nodes[0].Host, redisCluster.Nodes[0].Port)
	if len(want) < 60 || want[len(want)-1] != "done" {
		t.Fatalf("the script did not run through on redis-server:\n%s", strings.Join(want, "\n"))
	}
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("line %d:\n  engine:       %s\n  redis-server: %s", i+1, g, w)
		}
	}
}
