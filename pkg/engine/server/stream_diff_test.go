package server

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// The stream commands against a real redis-server 7.0.15, in RESP2 and
// RESP3: every reply and error must be the same. A line starting with "~"
// masks integers that are clock readings (delivery and seen times, above
// 10^12); one starting with "≈" masks every integer (idle times).

const streamScript = `
XADD
XADD s
XADD s 1-1
XADD s 1-1 f
XADD s 0-0 f v
XADD s 0 f v
XADD s 0-* f v
XADD s - f v
XADD s + f v
XADD s abc f v
XADD s 1-x f v
XADD s 1--1 f v
XADD s 18446744073709551616 f v
XADD s 1-18446744073709551616 f v
XADD s -1 f v
XADD s 1-1 f v
XADD s 1-1 f v
XADD s 1 f v
XADD s 1-0 f v
XADD s 1-* g w
XADD s 2-* a 1 b 2
XADD s 2-* a 3 b 4
XADD s 3 a 5 b 6 c 7
XADD s 5-18446744073709551615 x y
XADD s 5-* x y
XADD s 6-* x y
XADD s +1-+1 x y
XADD s 007-0 x y
XADD s 8-0 f v f v
TYPE s
OBJECT ENCODING s
XLEN s
XLEN nope
XRANGE s - +
XRANGE s - + COUNT 2
XRANGE s - + COUNT 0
XRANGE s - + COUNT -1
XRANGE s - + COUNT x
XRANGE s - + COUNT
XRANGE s - + LIMIT 1
XRANGE s 2 2
XRANGE s (1-1 (6
XRANGE s (- +
XRANGE s - (+
XRANGE s (18446744073709551615-18446744073709551615 +
XRANGE s - (0-0
XRANGE s ( +
XRANGE s (( +
XRANGE s 5 4
XRANGE nope - +
XREVRANGE s + -
XREVRANGE s + - COUNT 3
XREVRANGE s (6 (1-1
XREVRANGE s 2 2
XREVRANGE s - +
XDEL s 2-0 9-9 2-0
XDEL s bogus
XDEL s - 
XDEL nope 1-1
XLEN s
XRANGE s - +
XINFO STREAM s
XINFO STREAM s FULL
XINFO STREAM s FULL COUNT 1
XINFO STREAM s FULL COUNT 0
XINFO STREAM s FULL COUNT -5
XINFO STREAM s FULL COUNT x
XINFO STREAM s FULL COUNT
XINFO STREAM s PART
XINFO STREAM s FULL X 1
XINFO STREAM nope
XINFO GROUPS s
XINFO CONSUMERS s nope
XINFO
XINFO HELP x
XINFO FOO s
XINFO GROUPS
XINFO CONSUMERS s
XTRIM s
XTRIM s MAXLEN
XTRIM s MAXLEN -1
XTRIM s MAXLEN x
XTRIM s MINID - 
XTRIM s MAXLEN 5 LIMIT 1
XTRIM s MAXLEN ~ 5 LIMIT -1
XTRIM s MAXLEN 1 MINID 1
XTRIM s FOO 1
XTRIM nope MAXLEN 1
XTRIM s MAXLEN = 6
XTRIM s MINID = 3
XTRIM s MAXLEN ~ 1
XTRIM s MINID ~ 9
XRANGE s - +
XINFO STREAM s
XADD s MAXLEN 2 * f v
XADD s MAXLEN 2 MINID 1 * f v
XADD s LIMIT 10 9-1 f v
XADD s MAXLEN 2 LIMIT 10 9-1 f v
XADD s MAXLEN ~ 2 LIMIT 10 9-1 f v
XADD s MAXLEN = 2 9-2 f v
XADD s MINID = 9-2 9-3 f v
XADD s MINID ~ 9-2 9-4 f v
XADD s MAXLEN ~ x 9-5 f v
XADD s NOMKSTREAM 9-5 f v
XADD nokey NOMKSTREAM 1-1 f v
EXISTS nokey
XRANGE s - +
XSETID s
XSETID s 1-1
XSETID s 9-10
XSETID s 100-0 ENTRIESADDED
XSETID s 100-0 ENTRIESADDED -1
XSETID s 100-0 ENTRIESADDED 1
XSETID s 100-0 ENTRIESADDED x
XSETID s 100-0 MAXDELETEDID 200-0
XSETID s 100-0 MAXDELETEDID 50-0 ENTRIESADDED 100
XSETID s 100-0 FOO 1
XSETID s - 
XSETID nope 1-1
XINFO STREAM s
XADD s 99-0 f v
XADD s 100-* f v
XGROUP
XGROUP help extra
XGROUP FOO s g
XGROUP CREATE s
XGROUP CREATE s g
XGROUP CREATE s g 0 MKSTREAM FOO
XGROUP CREATE s g 0 ENTRIESREAD
XGROUP CREATE s g 0 ENTRIESREAD -2
XGROUP CREATE s g 0 ENTRIESREAD x
XGROUP CREATE s g -
XGROUP CREATE s g +
XGROUP CREATE nope g 0
XGROUP CREATE s g 0
XGROUP CREATE s g 0
XGROUP CREATE s g2 $
XGROUP CREATE s g3 9-2 ENTRIESREAD 3
XGROUP CREATE mk g $ MKSTREAM
XGROUP CREATE mk g2 0 MKSTREAM ENTRIESREAD 0
TYPE mk
XLEN mk
XINFO STREAM mk
XGROUP SETID s nogroup 0
XGROUP SETID s g
XGROUP SETID s g x
XGROUP SETID s g - ENTRIESREAD 5
XGROUP SETID s g + 
XGROUP SETID s g 0 MKSTREAM
XGROUP SETID s g 0 ENTRIESREAD 1 FOO
XGROUP SETID s g 0
XGROUP CREATECONSUMER s nogroup c
XGROUP CREATECONSUMER s g alice
XGROUP CREATECONSUMER s g alice
XGROUP CREATECONSUMER s g
XGROUP DELCONSUMER s g nobody
XGROUP DELCONSUMER s nogroup alice
XGROUP DESTROY s nogroup
XGROUP DESTROY s g2
XGROUP DESTROY nope g
≈XINFO GROUPS s
≈XINFO CONSUMERS s g
XREAD
XREAD STREAMS
XREAD STREAMS s
XREAD STREAMS s 0
XREAD COUNT 2 STREAMS s 0
XREAD COUNT -1 STREAMS s 0
XREAD COUNT x STREAMS s 0
XREAD STREAMS s nope 0 0
XREAD STREAMS s nope 9-2 0
XREAD STREAMS s $
XREAD STREAMS s >
XREAD STREAMS s -
XREAD STREAMS s +
XREAD GROUP g a STREAMS s >
XREAD NOACK STREAMS s 0
XREAD BLOCK x STREAMS s 0
XREAD BLOCK -1 STREAMS s 0
XREAD FOO STREAMS s 0
XREAD COUNT 1 COUNT 2 STREAMS s 0
XREADGROUP GROUP g a STREAMS s
XREADGROUP STREAMS s >
XREADGROUP GROUP g STREAMS s >
XREADGROUP GROUP g a STREAMS s $
XREADGROUP GROUP nogroup a STREAMS s >
XREADGROUP GROUP g a STREAMS nope >
XREADGROUP GROUP g a STREAMS s x
XREADGROUP GROUP g alice COUNT 2 STREAMS s >
XREADGROUP GROUP g bob COUNT 1 STREAMS s >
XREADGROUP GROUP g carol NOACK COUNT 1 STREAMS s >
XREADGROUP GROUP g alice STREAMS s 0
XREADGROUP GROUP g alice COUNT 1 STREAMS s 0
XREADGROUP GROUP g alice STREAMS s 9-3
XREADGROUP GROUP g dave STREAMS s 0
≈XINFO GROUPS s
XPENDING s g
XPENDING s nogroup
XPENDING nope g
XPENDING s g - +
XPENDING s g - + x
≈XPENDING s g - + 10
≈XPENDING s g - + 10 alice
XPENDING s g - + 10 nobody
≈XPENDING s g (9-1 + 1
XPENDING s g IDLE 0 - +
≈XPENDING s g IDLE 0 - + 10
XPENDING s g IDLE 100000 - + 10
XPENDING s g IDLE 4294967296 - + 10
XPENDING s g IDLE x - + 10
≈XPENDING s g - + 10 alice extra more
XPENDING s g x + 10
XPENDING s g - (0-0 10
XACK s g
XACK s g x
XACK s g 9-1 x
XACK s nogroup 9-1
XACK nope g 9-1
XACK s g 9-1 9-1 1-1
XPENDING s g
XCLAIM s g
XCLAIM s nogroup c 0 9-2
XCLAIM nope g c 0 9-2
XCLAIM s g bob x 9-2
XCLAIM s g bob 0 9-2 FOO
XCLAIM s g bob 0 9-2 IDLE x
XCLAIM s g bob 0 9-2 TIME x
XCLAIM s g bob 0 9-2 RETRYCOUNT x
XCLAIM s g bob 0 9-2 LASTID x
XCLAIM s g bob 0 9-2 IDLE
XCLAIM s g bob 3600000 9-2
XCLAIM s g bob 0 9-2 JUSTID
XCLAIM s g bob 0 9-2 RETRYCOUNT 7
XCLAIM s g bob 0 9-2 1-1 9-3 FORCE JUSTID
XCLAIM s g bob 0 99-0 FORCE RETRYCOUNT 2 JUSTID LASTID 99-0
XCLAIM s g erin 0 12345-0 LASTID 100000-0
≈XPENDING s g - + 10
XINFO GROUPS s
XDEL s 9-3
≈XPENDING s g - + 10
XREADGROUP GROUP g bob STREAMS s 0
XAUTOCLAIM s g
XAUTOCLAIM s nogroup c 0 0
XAUTOCLAIM nope g c 0 0
XAUTOCLAIM s g c x 0
XAUTOCLAIM s g c 0 x
XAUTOCLAIM s g c 0 0 COUNT 0
XAUTOCLAIM s g c 0 0 COUNT -1
XAUTOCLAIM s g c 0 0 COUNT x
XAUTOCLAIM s g c 0 0 COUNT 9223372036854775807
XAUTOCLAIM s g c 0 0 FOO
XAUTOCLAIM s g c 0 (18446744073709551615-18446744073709551615
XAUTOCLAIM s g frank 3600000 0
XAUTOCLAIM s g frank 0 0 COUNT 1
XAUTOCLAIM s g frank 0 0 COUNT 1 JUSTID
XAUTOCLAIM s g frank 0 0
XAUTOCLAIM s g frank 0 (9-1 JUSTID
≈XPENDING s g - + 10
XGROUP DELCONSUMER s g frank
XPENDING s g
~XINFO STREAM s FULL
XGROUP DESTROY s g
XINFO GROUPS s
SET str x
XADD str 1-1 f v
XLEN str
XRANGE str - +
XREAD STREAMS str 0
XREADGROUP GROUP g a STREAMS str >
XGROUP CREATE str g 0
XINFO STREAM str
XINFO GROUPS str
XPENDING str g
XACK str g 1-1
XCLAIM str g c 0 1-1
XAUTOCLAIM str g c 0 0
XDEL str 1-1
XTRIM str MAXLEN 1
XSETID str 1-1
SCAN 0 TYPE stream MATCH s COUNT 1000
SCAN 0 TYPE STREAM MATCH m* COUNT 1000
COPY s s2
XRANGE s2 - +
XINFO STREAM s2
RENAME s2 s3
TYPE s3
EXPIRE s3 100
TTL s3
DEL s3 mk s
EXISTS s3
COMMAND GETKEYS XREAD COUNT 1 STREAMS a b 0 0
COMMAND GETKEYS XREAD BLOCK 0 COUNT 1 STREAMS a 0
COMMAND GETKEYS XREAD STREAMS a b 0
COMMAND GETKEYS XREAD STREAMS a
COMMAND GETKEYS XREADGROUP GROUP g c NOACK STREAMS a b > >
COMMAND GETKEYS XGROUP CREATE k g 0
COMMAND GETKEYS XGROUP HELP
COMMAND GETKEYS XINFO STREAM k
COMMAND GETKEYS XINFO HELP
COMMAND GETKEYS XADD k * f v
COMMAND GETKEYS XAUTOCLAIM k g c 0 0
COMMAND GETKEYS XSETID k 1-1
`

// streamBigScript grows streams across many nodes with small
// stream-node-max-entries and -bytes settings, so that node splits, the
// radix tree counts and approximate trims are compared too.
func streamBigScript() string {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	line("CONFIG SET stream-node-max-entries 7")
	line("CONFIG SET stream-node-max-bytes 300")
	for i := 1; i <= 120; i++ {
		switch {
		case i%5 == 0:
			line("XADD big %d-%d field%d %d other %s", 1000+i/3, i, i%4, i*1000, strings.Repeat("v", i%40))
		case i%7 == 0:
			line("XADD big %d-%d f1 %d", 1000+i/3, i, -i*70000)
		default:
			line("XADD big %d-%d f1 v%d f2 %d", 1000+i/3, i, i, i)
		}
		if i%10 == 0 {
			line("XINFO STREAM big")
		}
	}
	for _, id := range []string{"1001-3", "1001-4", "1001-5", "1002-6", "1010-30", "1011-33", "1020-61"} {
		line("XDEL big %s", id)
	}
	line("XINFO STREAM big")
	line("XRANGE big 1009 1012")
	line("XREVRANGE big (1030 - COUNT 5")
	line("XTRIM big MAXLEN ~ 110")
	line("XINFO STREAM big")
	line("XTRIM big MAXLEN ~ 100 LIMIT 7")
	line("XTRIM big MAXLEN ~ 100 LIMIT 0")
	line("XINFO STREAM big")
	line("XTRIM big MINID ~ 1015")
	line("XINFO STREAM big")
	line("XTRIM big MINID 1016-50")
	line("XINFO STREAM big")
	line("XTRIM big MAXLEN 60")
	line("XINFO STREAM big")
	line("XADD big MAXLEN ~ 40 2000-1 f v")
	line("XINFO STREAM big")
	line("XADD big MINID ~ 1030 LIMIT 14 2000-2 f v")
	line("XINFO STREAM big")
	line("XRANGE big - + COUNT 10")
	line("XGROUP CREATE big g 0 ENTRIESREAD 0")
	line("XREADGROUP GROUP g c COUNT 5 STREAMS big >")
	line("XINFO GROUPS big")
	line("XDEL big 1035-105")
	line("XINFO GROUPS big")
	line("XREADGROUP GROUP g c STREAMS big >")
	line("XINFO GROUPS big")
	line("XTRIM big MAXLEN 0")
	line("XINFO STREAM big")
	line("XINFO GROUPS big")
	for i := 0; i < 30; i++ {
		line("XADD big2 %d-0 k %s", 10+i, strings.Repeat("x", 100*i))
	}
	line("XINFO STREAM big2")
	line("CONFIG SET stream-node-max-entries 0")
	line("CONFIG SET stream-node-max-bytes 0")
	for i := 0; i < 30; i++ {
		line("XADD big3 %d-0 k v", 10+i)
	}
	line("XINFO STREAM big3")
	line("CONFIG SET stream-node-max-entries 100")
	line("CONFIG SET stream-node-max-bytes 4096")
	line("DEL big big2 big3")
	return b.String()
}

func TestStreamsMatchRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	for _, proto := range []string{"2", "3"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			real, eng := dial(t, rs.Addr()), dial(t, es.Addr().String())
			real.do(t, "HELLO", proto)
			eng.do(t, "HELLO", proto)
			real.do(t, "FLUSHALL")
			eng.do(t, "FLUSHALL")
			compareStreamScript(t, real, eng, streamScript)
			compareStreamScript(t, real, eng, streamBigScript())
		})
	}
}

func compareStreamScript(t *testing.T, real, eng *rawConn, script string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(script), "\n") {
		mask := 0
		if rest, ok := strings.CutPrefix(line, "~"); ok {
			line, mask = rest, 1
		} else if rest, ok := strings.CutPrefix(line, "≈"); ok {
			line, mask = rest, 2
		}
		args := strings.Fields(line)
		want, got := real.do(t, args...), eng.do(t, args...)
		if mask > 0 {
			want, got = maskInts(want, mask), maskInts(got, mask)
		}
		// IDs made from the clock ("*") differ when the two servers run a
		// millisecond apart: their milliseconds are masked, the sequence kept.
		want, got = maskClockIDs(want), maskClockIDs(got)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s:\n  redis:  %s\n  engine: %s", line, show(want), show(got))
		}
	}
}

// maskInts zeroes clock readings (mask 1) or every integer (mask 2).
func maskInts(r resp.Reply, mask int) resp.Reply {
	if r.Type == ':' && (mask == 2 || r.Int > 1e12) {
		r.Int = 0
	}
	if len(r.Elems) > 0 {
		elems := make([]resp.Reply, len(r.Elems))
		for i, e := range r.Elems {
			elems[i] = maskInts(e, mask)
		}
		r.Elems = elems
	}
	return r
}

var clockID = regexp.MustCompile(`^1\d{12}-(\d+)$`)

func maskClockIDs(r resp.Reply) resp.Reply {
	if len(r.Str) > 0 && clockID.Match(r.Str) {
		r.Str = clockID.ReplaceAll(r.Str, []byte("<ms>-$1"))
	}
	if len(r.Elems) > 0 {
		elems := make([]resp.Reply, len(r.Elems))
		for i, e := range r.Elems {
			elems[i] = maskClockIDs(e)
		}
		r.Elems = elems
	}
	return r
}
