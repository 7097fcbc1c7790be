package server

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
)

// scriptCases are EVAL streams whose replies (error texts included) must
// be byte for byte those of redis-server 7.0.
var scriptCases = [][]string{
	{"eval", "return redis.call('nosuch')", "0"},
	{"eval", "return redis.call('incr','a','b')", "0"},
	{"eval", "x=1", "0"},
	{"eval", "return y", "0"},
	{"eval", "return redis.pcall('nosuch')", "0"},
	{"eval", "return {1,2,3,'ciao',{1,2}}", "0"},
	{"eval", "return {ok='fine'}", "0"},
	{"eval", "return {err='My Error'}", "0"},
	{"eval", "return 3.99", "0"},
	{"eval", "return redis.error_reply('x')", "0"},
	{"eval", "error('boom')", "0"},
	{"eval", "error({err='boom2'})", "0"},
	{"eval", "return redis.call('set',KEYS[1],'x')", "1", "a"},
	{"eval_ro", "return redis.call('set','a','x')", "0"},
	{"evalsha", "ffffffffffffffffffffffffffffffffffffffff", "0"},
	{"script", "load", "return 1"},
	{"evalsha", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"},
	{"eval", "return redis.call('eval','return 1',0)", "0"},
	{"eval", "return redis.call()", "0"},
	{"eval", "return redis.call('get',{})", "0"},
	{"eval", "return redis.sha1hex('')", "0"},
	{"eval", "return loadstring('return 1')()", "0"},
	{"eval", "return print", "0"},
	{"eval", "return bit.band(7,3)", "0"},
	{"eval", "return cjson.encode({1,2,{a=1}})", "0"},
	{"eval", "return 'a'", "-1"},
	{"eval", "return 'a'", "3", "a"},
	{"set", "s", "str"},
	{"eval", "return redis.call('incr','s')", "0"},
	{"eval", "return redis.pcall('incr','s')", "0"},
	{"eval", "return {1,nil,3}", "0"},
	{"eval", "return {1.9,-2.5,'x',false,true}", "0"},
	{"eval", "return 1e30", "0"},
	{"eval", "\n\nlocal a = 1\nerror({err='E x'})", "0"},
	{"eval", "\n\nlocal a = 1\nerror('plain')", "0"},
	{"eval", "local function f()\n redis.call('incr','s')\nend\n\nf()", "0"},
	{"eval", "local ok, e = pcall(redis.call, 'incr','s'); return e", "0"},
	{"eval", "return redis.call('set', 'k', 5.7)", "0"},
	{"get", "k"},
	{"eval", "return redis.set_repl(99)", "0"},
	{"eval", "return redis.setresp(4)", "0"},
	{"eval", "return #KEYS", "2", "a", "b"},
	{"eval", "return table.concat(ARGV, ',')", "0", "x", "y"},
	{"hset", "h", "a", "1"},
	{"eval", "redis.setresp(3); return redis.call('hgetall','h')", "0"},
	{"eval", "return {double=3.5}", "0"},
	{"eval", "return {map={a=1}}", "0"},
	{"script", "exists", "a", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"},
	{"script", "flush", "x"},
	{"script", "kill"},
	{"eval", "return redis.call('get', 5)", "0"},
	{"eval", "return _G", "0"},
	{"eval", "return tostring(cjson.decode('{\"a\":1.5}').a)", "0"},
	{"eval", "return nil", "0"},
	{"eval", "return {double=3.5}", "0"},
	{"eval", "return true", "0"},
	{"eval", "redis.setresp(3); return redis.call('get','nokey')", "0"},
	{"eval", "return {bit.tohex(65535), bit.bnot(0), bit.lshift(1, 31), bit.bxor(5, 3)}", "0"},
	{"eval", `return cjson.encode({a={1,2,'x'}, b='q/"'})`, "0"},
	{"eval", "return cjson.decode('{\"a\":[1,2,{\"b\":\"c\"}]}').a[3].b", "0"},
	{"eval", "local t = {} for i = 1, 5 do t[i] = redis.call('incr', KEYS[1]) end return t", "1", "cnt"},
	{"eval", "return redis.call('lpush', KEYS[1], unpack(ARGV))", "1", "lst", "a", "b", "c"},
	{"eval", "return redis.call('lrange', KEYS[1], 0, -1)", "1", "lst"},
	{"evalsha_ro", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"},
	{"eval_ro", "return redis.call('get', KEYS[1])", "1", "cnt"},
	{"eval", "return redis.call('expire', KEYS[1], 100)", "1", "cnt"},
	{"eval", "return redis.call('ttl', KEYS[1])", "1", "cnt"},
	{"script", "flush"},
	{"script", "exists", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"},
	{"evalsha", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"},
	{"eval", "return 1"},
	{"script"},
	{"script", "foo"},
	{"eval", "return redis.call('select', '0')", "0"},
	{"eval", "return math.floor(7.5)", "0"},
	{"eval", "return string.format('%d-%s', 5, 'x')", "0"},
	{"eval", "return string.rep('ab', 3)", "0"},
	{"eval", "return tonumber('0x10')", "0"},
	{"eval", "return redis.status_reply('FINE')", "0"},
	{"eval", "return redis.error_reply('MY err')", "0"},
	{"eval", "return redis.pcall('hset', 'lst', 'a', 'b')", "0"},
	{"eval", "local r = redis.pcall('hset', 'lst', 'a', 'b'); return r.err", "0"},
	{"eval", "return KEYS[1] .. ARGV[1]", "1", "k", "v"},
	// cmsgpack, struct, bit and cjson
	{"eval", "return cmsgpack.unpack(cmsgpack.pack({1,2,'x'}))", "0"},
	{"eval", "return cmsgpack.pack({1,2,'x',{a=1}}, 300, -5, -200, 70000, -70000, 5000000000, 1.5, 0.1, true, false, string.rep('x', 40), string.rep('y', 300))", "0"},
	{"eval", "return cmsgpack.pack({})", "0"},
	{"eval", "local a = cmsgpack.unpack(cmsgpack.pack({a={b={c=1}}})) return a.a.b.c", "0"},
	{"eval", "return {cmsgpack.unpack(cmsgpack.pack(1, -1, 'a', 2.5))}", "0"},
	{"eval", "return cmsgpack.unpack('\\x93\\x01\\x02')", "0"},
	// Pub/sub and COMMAND from scripts.
	{"eval", "return {redis.call('publish', 'ch', 'm'), redis.call('spublish', 'sch', 'm')}", "0"},
	{"eval", "return {redis.call('pubsub', 'numsub', 'ch'), redis.call('pubsub', 'numpat')}", "0"},
	{"eval", "return redis.call('command', 'getkeys', 'mset', 'a', '1', 'b', '2')", "0"},
	// Calling a value that is not a function names it as Lua 5.1 does.
	{"eval", "local t = {} t.x()", "0"},
	{"eval", "local f; f()", "0"},
	{"eval", "redis.foo()", "0"},
	{"eval", "local s = 'x' s:bar()", "0"},
	{"eval", "return (5)()", "0"},
	{"eval", "local b = true b()", "0"},
	{"eval", "local function g() return nil end g()()", "0"},
	{"eval", "local u; local function k() u() end k()", "0"},
	{"eval", "local t = {a = {}} local x = t.a x.y()", "0"},
	{"eval", "return {pcall(nil)}", "0"},
	{"eval", "return {pcall(function() local z; z() end)}", "0"},
	{"eval", "return {getmetatable(nil), getmetatable(1), getmetatable(true), type(getmetatable('x'))}", "0"},
	// Bytecode neither in nor out.
	{"eval", "return loadstring(string.dump(function() return 1 end))()", "0"},
	{"eval", "local f, err = loadstring(string.dump(function() return 1 end)) return {type(f), type(string.dump), err ~= nil}", "0"},
	{"eval", "return loadstring('return 7', 'chunk')()", "0"},
	// A table packs in Lua's iteration order, the same bytes on every run
	// (circular references are copied down to the nesting limit).
	{"eval", "local a = {x=nil, y=5} local b = {x=a} a['x'] = b local e = cmsgpack.pack(a) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"},
	{"eval", "return struct.unpack('>I2', struct.pack('>I2', 258))", "0"},
	{"eval", "return struct.pack('>iHbBlLdfs', -2, 65535, -1, 255, 123456789012, 7, 1.5, 2.5, 'str')", "0"},
	{"eval", "return {struct.unpack('<i4h', struct.pack('<i4h', -7, -3))}", "0"},
	{"eval", "return struct.size('>i4hb')", "0"},
	{"eval", "return struct.pack('c3', 'abcdef')", "0"},
	{"eval", "return {struct.unpack('bc0', struct.pack('b', 3) .. 'xyzw')}", "0"},
	{"eval", "return struct.pack('!4 b i4', 1, 2)", "0"},
	{"eval", "return struct.pack('>i3', -1)", "0"},
	{"eval", "return {struct.unpack('>i3 I3', '\\xff\\xff\\xfe\\x00\\x00\\x01')}", "0"},
	{"eval", "return bit.tohex(-1, -4)", "0"},
	{"eval", "return {bit.rol(1, 33), bit.ror(1, 1), bit.arshift(-256, 4), bit.rshift(-256, 4), bit.bswap(0x12345678), bit.tobit(2^32+5)}", "0"},
	{"eval", "return cjson.encode({['1']=2, x={}, y=cjson.null, z=true})", "0"},
	{"eval", "return cjson.encode({1,2,nil,4})", "0"},
	{"eval", "return cjson.encode('a\\nb\\1')", "0"},
	{"eval", "return cjson.encode(1.5)", "0"},
	{"eval", "return cjson.encode(100000000000000)", "0"},
	{"eval", "return cjson.encode(0.1)", "0"},
	{"eval", "return cjson.decode('[1,\"a\",{\"b\":[true,false]}]')[3].b[2] == false", "0"},
	{"eval", "return cjson.decode('bad')", "0"},
}

func TestScriptRepliesMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	for _, args := range scriptCases {
		want, got := real.do(t, args...), eng.do(t, args...)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%q:\n  redis:  %s\n  engine: %s", args, show(want), show(got))
		}
	}
	// The same in RESP3.
	real.do(t, "hello", "3")
	eng.do(t, "hello", "3")
	for _, args := range scriptCases {
		want, got := real.do(t, args...), eng.do(t, args...)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("RESP3 %q:\n  redis:  %s\n  engine: %s", args, show(want), show(got))
		}
	}
}

// A script running past busy-reply-threshold makes other clients get BUSY
// until SCRIPT KILL stops it; a script that wrote cannot be killed. The
// texts are compared with redis-server's.
func TestScriptBusyAndKill(t *testing.T) {
	for name, addr := range map[string]string{
		"redis":  redistest.Start(t, redistest.Options{}).Addr(),
		"engine": startServer(t).Addr().String(),
	} {
		t.Run(name, func(t *testing.T) {
			admin := dial(t, addr)
			admin.do(t, "config", "set", "busy-reply-threshold", "100")
			if r := admin.do(t, "config", "get", "busy-reply-threshold"); len(r.Elems) != 2 || string(r.Elems[1].Str) != "100" {
				t.Fatalf("busy-reply-threshold: %s", show(r))
			}
			if r := admin.do(t, "script", "kill"); string(r.Str) != "NOTBUSY No scripts in execution right now." {
				t.Fatalf("idle SCRIPT KILL: %s", show(r))
			}
			for _, body := range []string{"while true do end", "local ok = pcall(function() while true do end end) while true do end"} {
				runner := dial(t, addr)
				done := make(chan string, 1)
				go func() {
					runner.conn.SetDeadline(time.Now().Add(10 * time.Second))
					runner.conn.Write([]byte("*3\r\n$4\r\neval\r\n$" + itoa(len(body)) + "\r\n" + body + "\r\n$1\r\n0\r\n"))
					line, _ := runner.br.ReadString('\n')
					done <- strings.TrimSpace(line)
				}()
				waitBusy(t, admin)
				if r := admin.do(t, "script", "kill"); r.Type != '+' {
					t.Fatalf("SCRIPT KILL: %s", show(r))
				}
				select {
				case line := <-done:
					if !strings.HasPrefix(line, "-ERR Script killed by user with SCRIPT KILL... script: ") {
						t.Fatalf("killed script replied %q", line)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("script not killed")
				}
				if r := admin.do(t, "ping"); r.Type != '+' {
					t.Fatalf("after kill: %s", show(r))
				}
			}
			// A writing script is unkillable; it ends by itself.
			runner := dial(t, addr)
			body := "redis.call('set', 'w', '1') local t = redis.call('time') local s = tonumber(t[1]) while tonumber(redis.call('time')[1]) < s + 2 do end return 'done'"
			done := make(chan string, 1)
			go func() {
				runner.conn.SetDeadline(time.Now().Add(10 * time.Second))
				runner.conn.Write([]byte("*3\r\n$4\r\neval\r\n$" + itoa(len(body)) + "\r\n" + body + "\r\n$1\r\n0\r\n"))
				runner.br.ReadString('\n')
				line, _ := runner.br.ReadString('\n')
				done <- strings.TrimSpace(line)
			}()
			waitBusy(t, admin)
			if r := admin.do(t, "script", "kill"); !strings.HasPrefix(string(r.Str), "UNKILLABLE Sorry the script already executed write commands") {
				t.Fatalf("SCRIPT KILL of a writer: %s", show(r))
			}
			if line := <-done; line != "done" {
				t.Fatalf("writer replied %q", line)
			}
		})
	}
}

func waitBusy(t *testing.T, c *rawConn) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r := c.do(t, "get", "x")
		if r.Type == '-' {
			if string(r.Str) != "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE." {
				t.Fatalf("busy reply %q", r.Str)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("never BUSY")
}

func itoa(n int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(appendInt(nil, n)))
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}
