package rdb

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// startRedis starts a real redis-server that deep-checks every RESTORE
// payload, so a subtly wrong listpack or intset is refused, not loaded.
func startRedis(t *testing.T, extraArgs ...string) (*redis.Client, context.Context) {
	t.Helper()
	args := append([]string{"--sanitize-dump-payload", "yes"}, extraArgs...)
	srv := redistest.Start(t, redistest.Options{Args: args})
	c := srv.Client()
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c, ctx
}

func writeValue(ctx context.Context, c *redis.Client, key string, v Value) error {
	pipe := c.Pipeline()
	pipe.Del(ctx, key)
	switch v.Kind {
	case KindString:
		pipe.Set(ctx, key, v.Str, 0)
	case KindList:
		for _, it := range v.List {
			pipe.RPush(ctx, key, it)
		}
	case KindSet:
		for _, m := range v.Set {
			pipe.SAdd(ctx, key, m)
		}
	case KindHash:
		for _, f := range v.Hash {
			pipe.HSet(ctx, key, f.Name, f.Value)
		}
	case KindZSet:
		for _, m := range v.ZSet {
			pipe.ZAdd(ctx, key, redis.Z{Score: m.Score, Member: m.Member})
		}
	}
	_, err := pipe.Exec(ctx)
	return err
}

// readValue reads key back from Redis with ordinary commands.
func readValue(ctx context.Context, c *redis.Client, key string) (Value, error) {
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		return Value{}, err
	}
	switch typ {
	case "string":
		s, err := c.Get(ctx, key).Result()
		return Value{Kind: KindString, Str: []byte(s)}, err
	case "list":
		items, err := c.LRange(ctx, key, 0, -1).Result()
		return Value{Kind: KindList, List: strs(items...)}, err
	case "set":
		items, err := c.SMembers(ctx, key).Result()
		return Value{Kind: KindSet, Set: strs(items...)}, err
	case "hash":
		m, err := c.HGetAll(ctx, key).Result()
		v := Value{Kind: KindHash}
		for f, val := range m {
			v.Hash = append(v.Hash, Field{Name: []byte(f), Value: []byte(val)})
		}
		return v, err
	case "zset":
		zs, err := c.ZRangeWithScores(ctx, key, 0, -1).Result()
		v := Value{Kind: KindZSet}
		for _, z := range zs {
			v.ZSet = append(v.ZSet, ZMember{Member: []byte(z.Member.(string)), Score: z.Score})
		}
		return v, err
	}
	return Value{}, fmt.Errorf("key %s has type %q", key, typ)
}

type dumpCase struct {
	name     string
	v        Value
	encoding string // OBJECT ENCODING Redis must report, proving the case hits it
	rdbType  byte   // type byte Redis' DUMP must start with
}

func stringCases() []dumpCase {
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 5000)
	for i := range random {
		random[i] = byte(rnd.Uint32())
	}
	s := func(name, val, enc string) dumpCase {
		return dumpCase{name, Value{Kind: KindString, Str: []byte(val)}, enc, typeString}
	}
	return []dumpCase{
		s("short", "hello", "embstr"),
		s("empty", "", "embstr"),
		s("int8", "-128", "int"),
		s("int16", "32767", "int"),
		s("int32", "-2147483648", "int"),
		s("int64 max", "9223372036854775807", "int"),
		s("int64 min", "-9223372036854775808", "int"),
		s("leading zero", "007", "embstr"),
		s("plus sign", "+5", "embstr"),
		s("binary", string(bin), "raw"),
		s("lzf repetitive", strings.Repeat("abcdefgh", 2000), "raw"),
		s("lzf huge repetitive", strings.Repeat("z", 300000), "raw"),
		s("incompressible", string(random), "raw"),
	}
}

func intStrings(from, n, step int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(from + i*step)
	}
	return out
}

func collectionCases() []dumpCase {
	mixed := []string{"0", "127", "128", "-1", "-4096", "4095", "4096", "32767", "-32768", "40000",
		"8388607", "8388608", "2147483648", "9223372036854775807", "-9223372036854775808",
		"", "007", "-0", "\x00\xff bin", strings.Repeat("m", 100), strings.Repeat("n", 5000)}
	var many []string
	for i := range 1000 {
		many = append(many, fmt.Sprintf("item-%d", i))
	}
	list := func(name string, items []string) dumpCase {
		return dumpCase{name, Value{Kind: KindList, List: strs(items...)}, "quicklist", typeListQuicklist2}
	}
	set := func(name string, items []string, enc string, typ byte) dumpCase {
		return dumpCase{name, Value{Kind: KindSet, Set: strs(items...)}, enc, typ}
	}
	hash := func(name string, n, valueLen int, enc string, typ byte) dumpCase {
		v := Value{Kind: KindHash}
		for i := range n {
			v.Hash = append(v.Hash, Field{Name: fmt.Appendf(nil, "f%d", i),
				Value: []byte(strings.Repeat("v", valueLen) + strconv.Itoa(i))})
		}
		v.Hash = append(v.Hash, Field{Name: []byte(""), Value: []byte("")}, Field{Name: []byte("n"), Value: []byte("-77")})
		return dumpCase{name, v, enc, typ}
	}
	zset := func(name string, n, memberLen int, enc string, typ byte) dumpCase {
		v := Value{Kind: KindZSet, ZSet: []ZMember{{[]byte("inf"), math.Inf(1)}, {[]byte("-inf"), math.Inf(-1)},
			{[]byte(""), 0}, {[]byte("tiny"), 5e-324}, {[]byte("big"), 1.7976931348623157e308}, {[]byte("frac"), -0.1}}}
		for i := range n {
			v.ZSet = append(v.ZSet, ZMember{Member: []byte(strings.Repeat("m", memberLen) + strconv.Itoa(i)), Score: float64(i) * 1.5})
		}
		return dumpCase{name, v, enc, typ}
	}
	return []dumpCase{
		list("list small", []string{"a", "b", "c"}),
		list("list mixed encodings", mixed),
		list("list many nodes", many),
		list("list duplicates", []string{"x", "x", "1", "1"}),
		set("set intset 16", intStrings(-100, 50, 4), "intset", typeSetIntset),
		set("set intset 32", append(intStrings(0, 10, 1), "100000", "-2147483648"), "intset", typeSetIntset),
		set("set intset 64", append(intStrings(0, 10, 1), "9223372036854775807", "-9223372036854775808"), "intset", typeSetIntset),
		set("set strings", []string{"a", "", "b", "\x00", strings.Repeat("s", 200)}, "hashtable", typeSet),
		set("set big ints", intStrings(0, 600, 7), "hashtable", typeSet),
		hash("hash small", 5, 3, "listpack", typeHashListpack),
		hash("hash many fields", 600, 1, "hashtable", typeHash),
		hash("hash long value", 3, 100, "hashtable", typeHash),
		zset("zset small", 5, 2, "listpack", typeZSetListpack),
		zset("zset many", 300, 2, "skiplist", typeZSet2),
		zset("zset long member", 3, 100, "skiplist", typeZSet2),
	}
}

// TestDumpFromRedisDecodes writes each value with ordinary commands, DUMPs it
// from real Redis, and checks DecodeDump returns exactly what was written.
// Then EncodeDump's payload must RESTORE into Redis and read back the same.
func TestDumpAndRestoreWithRedis(t *testing.T) {
	c, ctx := startRedis(t)
	for _, tc := range append(stringCases(), collectionCases()...) {
		t.Run(tc.name, func(t *testing.T) {
			if err := writeValue(ctx, c, "src", tc.v); err != nil {
				t.Fatalf("write: %v", err)
			}
			if enc := c.ObjectEncoding(ctx, "src").Val(); enc != tc.encoding {
				t.Fatalf("Redis encoded the value as %q, the case expects %q", enc, tc.encoding)
			}
			payload, err := c.Dump(ctx, "src").Result()
			if err != nil {
				t.Fatalf("DUMP: %v", err)
			}
			if payload[0] != tc.rdbType {
				t.Fatalf("DUMP type byte %d, case expects %d", payload[0], tc.rdbType)
			}
			got, err := DecodeDump([]byte(payload))
			if err != nil {
				t.Fatalf("DecodeDump of Redis' payload: %v", err)
			}
			if d := diffValues(got, tc.v); d != "" {
				t.Fatalf("DecodeDump of Redis' payload: %s", d)
			}

			ours := EncodeDump(tc.v)
			if err := c.RestoreReplace(ctx, "dst", 0, string(ours)).Err(); err != nil {
				t.Fatalf("Redis refused EncodeDump's payload: %v", err)
			}
			back, err := readValue(ctx, c, "dst")
			if err != nil {
				t.Fatal(err)
			}
			if d := diffValues(back, tc.v); d != "" {
				t.Fatalf("restored value: %s", d)
			}
		})
	}
}

func TestLZFStringIsCompressedByRedis(t *testing.T) {
	c, ctx := startRedis(t)
	c.Set(ctx, "k", strings.Repeat("abc", 1000), 0)
	payload := []byte(c.Dump(ctx, "k").Val())
	if len(payload) < 2 || payload[1] != 0xc0|encLZF {
		t.Fatalf("Redis did not LZF-compress the string; payload starts % x", payload[:min(len(payload), 4)])
	}
	v, err := DecodeDump(payload)
	if err != nil || string(v.Str) != strings.Repeat("abc", 1000) {
		t.Fatalf("decoded %s, %v", short(v.Str), err)
	}
}

// TestLegacyEncodingsWithRedis builds payloads in encodings Redis 7 no
// longer writes but still loads. Redis must accept each one, and what it
// reads back must equal DecodeDump's result.
func TestLegacyEncodingsWithRedis(t *testing.T) {
	c, ctx := startRedis(t)
	zl := buildZiplist
	withLen := func(typ byte, blob []byte) []byte { return appendRawString([]byte{typ}, blob) }
	zlItems := []string{"a", "", "0", "12", "13", "-1", "127", "-128", "300", "-300", "100000",
		"8388608", "2147483648", "-9223372036854775808", strings.Repeat("L", 100), strings.Repeat("X", 17000)}
	plainList := func() []byte {
		b := []byte{typeList}
		b = appendLen(b, 3)
		for _, s := range []string{"p", "1000", ""} {
			b = appendString(b, []byte(s))
		}
		return b
	}
	oldZSet := func() []byte {
		b := appendLen([]byte{typeZSet}, 4)
		b = append(appendString(b, []byte("one")), 3, '1', '.', '5')
		b = append(appendString(b, []byte("pinf")), 254)
		b = append(appendString(b, []byte("ninf")), 255)
		return append(appendString(b, []byte("neg")), 2, '-', '7')
	}
	quicklist1 := func() []byte {
		b := appendLen([]byte{typeListQuicklist}, 2)
		b = appendRawString(b, zl("q1", "q2", "5"))
		return appendRawString(b, zl("q3"))
	}
	quicklist2Plain := func() []byte {
		b := appendLen([]byte{typeListQuicklist2}, 3)
		b = appendRawString(appendLen(b, containerPacked), buildListpack("a", "7"))
		b = appendRawString(appendLen(b, containerPlain), []byte("a plain node"))
		return appendRawString(appendLen(b, containerPacked), buildListpack("z"))
	}
	cases := []struct {
		name string
		body []byte
		want Value
	}{
		{"list ziplist", withLen(typeListZiplist, zl(zlItems...)), Value{Kind: KindList, List: strs(zlItems...)}},
		{"list plain", plainList(), Value{Kind: KindList, List: strs("p", "1000", "")}},
		{"list quicklist 1", quicklist1(), Value{Kind: KindList, List: strs("q1", "q2", "5", "q3")}},
		{"list quicklist 2 plain node", quicklist2Plain(), Value{Kind: KindList, List: strs("a", "7", "a plain node", "z")}},
		{"hash ziplist", withLen(typeHashZiplist, zl("f", "v", "n", "12", "", "")),
			Value{Kind: KindHash, Hash: []Field{{[]byte("f"), []byte("v")}, {[]byte("n"), []byte("12")}, {[]byte(""), []byte("")}}}},
		{"hash zipmap", withLen(typeHashZipmap, buildZipmap("f", "v", "long", strings.Repeat("w", 300))),
			Value{Kind: KindHash, Hash: []Field{{[]byte("f"), []byte("v")}, {[]byte("long"), bytes.Repeat([]byte("w"), 300)}}}},
		{"zset ziplist", withLen(typeZSetZiplist, zl("a", "1", "b", "2.5", "c", "-inf")),
			Value{Kind: KindZSet, ZSet: []ZMember{{[]byte("a"), 1}, {[]byte("b"), 2.5}, {[]byte("c"), math.Inf(-1)}}}},
		{"zset string scores", oldZSet(),
			Value{Kind: KindZSet, ZSet: []ZMember{{[]byte("one"), 1.5}, {[]byte("pinf"), math.Inf(1)}, {[]byte("ninf"), math.Inf(-1)}, {[]byte("neg"), -7}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload := withFooter(tc.body, 9)
			got, err := DecodeDump(payload)
			if err != nil {
				t.Fatalf("DecodeDump: %v", err)
			}
			if d := diffValues(got, tc.want); d != "" {
				t.Fatalf("DecodeDump: %s", d)
			}
			if err := c.RestoreReplace(ctx, "k", 0, string(payload)).Err(); err != nil {
				t.Fatalf("Redis refused the hand-built payload (test builder is wrong): %v", err)
			}
			back, err := readValue(ctx, c, "k")
			if err != nil {
				t.Fatal(err)
			}
			if d := diffValues(back, tc.want); d != "" {
				t.Fatalf("Redis read back: %s", d)
			}
		})
	}
}
