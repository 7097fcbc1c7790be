package server

import (
	"reflect"
	"sort"
	"testing"

	"github.com/gocluster/gocluster/pkg/engine/rdb"

	"github.com/gocluster/gocluster/internal/redistest"
)

// functionCases are FUNCTION / FCALL streams whose replies must be those
// of redis-server 7.0 (FUNCTION DUMP included: the payload is byte-equal).
var functionCases = [][]string{
	{"function", "flush"},
	{"function", "load", "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return redis.call('incr', keys[1]) end)\nredis.register_function{function_name='f2', callback=function(keys, args) return args[1] end, flags={'no-writes'}, description='desc'}"},
	{"function", "load", "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return 1 end)"},
	{"function", "load", "redis.register_function('f1', function(keys, args) return 1 end)"},
	{"function", "load", "#!lua name=lib2\nredis.register_function('f1', function(keys, args) return 1 end)"},
	{"function", "load", "#!lua name=lib2\nlocal x = 1"},
	{"function", "load", "#!lua name=lib-2\nlocal x = 1"},
	{"function", "load", "#!js name=lib2\nlocal x = 1"},
	{"function", "load", "#!lua name=lib2 foo=bar\nlocal x = 1"},
	{"function", "load", "#!lua name=lib2\nredis.call('ping')"},
	{"function", "load", "#!lua name=lib2\nredis.register_function('g', function() error('x') end)\nredis.register_function('h', function() return redis.call('nosuch') end)"},
	{"set", "k", "str"},
	{"fcall", "f1", "1", "k"},
	{"fcall_ro", "f1", "1", "k"},
	{"fcall_ro", "f2", "0", "a"},
	{"fcall", "nope", "0"},
	{"fcall", "g", "0"},
	{"fcall", "h", "0"},
	{"function", "stats"},
	{"function", "delete", "nope"},
	{"function", "delete", "lib2"},
	{"function", "load", "#!lua name=spin\nlocal a = 1 while true do a = a + 1 end"},
	{"function", "list", "libraryname", "spin"},
	{"function", "list", "libraryname"},
	{"function", "list", "withcode", "withcode"},
	{"function", "list", "withcode", "libraryname", "foo", "libraryname", "foo"},
	{"function", "load", "#!lua name=lib3\nredis.register_function{function_name='f3', description='desc'}"},
	{"function", "load", "#! name=test\nredis.register_function('foo', function() return 1 end)"},
	{"function", "load", "#!lua name=foo name=bar\nredis.register_function('foo', function() return 1 end)"},
	{"function", "load", "#!lua NAME=\"quoted\"\nredis.register_function('fq', function() return 1 end)"},
	{"function", "delete", "quoted"}, // FUNCTION DUMP's order of several libraries is each server's own
	{"function", "load", "#!lua name=x"},
	{"function", "load", "#!lua name=\nlocal a = 1"},
	{"function", "load", "#!lua\nlocal a = 1"},
	{"function", "load", "#!js foo=bar\nlocal a = 1"},
	{"function", "load", "#!lua name=lib3\nredis.register_function{callback=function() return 1 end}"},
	{"function", "restore", "xx"},
	{"function", "kill"},
	{"function", "foo"},
	{"function", "load", "replace", "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return #keys + #args end)"},
	{"fcall", "f1", "2", "a", "b", "c"},
	{"function", "dump"},
}

func TestFunctionRepliesMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	for _, args := range functionCases {
		want, got := real.do(t, args...), eng.do(t, args...)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%q:\n  redis:  %s\n  engine: %s", args, show(want), show(got))
		}
	}
}

// FUNCTION DUMP payloads move both ways between redis-server and the
// engine, and FUNCTION LIST reports the same libraries.
func TestFunctionDumpRestoreWithRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	lib := func(name, fn, body string) string {
		return "#!lua name=" + name + "\nredis.register_function{function_name='" + fn + "', callback=function(keys, args) " + body + " end, flags={'no-writes'}, description='d " + fn + "'}\n" +
			"redis.register_function('" + fn + "_w', function(keys, args) return redis.call('set', keys[1], args[1]) end)"
	}
	if r := real.do(t, "function", "load", lib("fromredis", "fr", "return 'long enough return value to be compressed by lzf: ' .. #keys")); string(r.Str) != "fromredis" {
		t.Fatalf("redis load: %s", show(r))
	}
	if r := eng.do(t, "function", "load", lib("fromengine", "fe", "return 'engine function ' .. args[1]")); string(r.Str) != "fromengine" {
		t.Fatalf("engine load: %s", show(r))
	}
	rd, ed := real.do(t, "function", "dump"), eng.do(t, "function", "dump")
	if r := eng.do(t, "function", "restore", string(rd.Str)); r.Type != '+' {
		t.Fatalf("engine restore of a redis payload: %s", show(r))
	}
	if r := real.do(t, "function", "restore", string(ed.Str)); r.Type != '+' {
		t.Fatalf("redis restore of an engine payload: %s", show(r))
	}
	for _, c := range []*rawConn{real, eng} {
		if r := c.do(t, "fcall_ro", "fr", "2", "a", "b"); string(r.Str) != "long enough return value to be compressed by lzf: 2" {
			t.Errorf("fcall fr: %s", show(r))
		}
		if r := c.do(t, "fcall", "fe", "0", "x"); string(r.Str) != "engine function x" {
			t.Errorf("fcall fe: %s", show(r))
		}
		if r := c.do(t, "fcall", "fe_w", "1", "k", "v"); r.Type != '+' {
			t.Errorf("fcall fe_w: %s", show(r))
		}
	}
	if a, b := real.do(t, "function", "list", "libraryname", "fromengine", "withcode"), eng.do(t, "function", "list", "libraryname", "fromengine", "withcode"); len(a.Elems) != 1 || len(b.Elems) != 1 || show(a.Elems[0].Elems[7]) != show(b.Elems[0].Elems[7]) {
		t.Errorf("list:\n  redis:  %s\n  engine: %s", show(a), show(b))
	}
	// The combined payloads hold the same libraries (in hash order on
	// redis-server, sorted on the engine), and the policies behave alike.
	a, errA := rdb.DecodeFunctions(real.do(t, "function", "dump").Str)
	b, errB := rdb.DecodeFunctions(eng.do(t, "function", "dump").Str)
	sort.Slice(a, func(i, j int) bool { return string(a[i]) < string(a[j]) })
	if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
		t.Errorf("dumps differ: %v %v", errA, errB)
	}
	real.do(t, "function", "delete", "fromengine")
	payload := string(real.do(t, "function", "dump").Str)
	real.do(t, "function", "restore", string(ed.Str))
	for _, args := range [][]string{
		{"function", "restore", payload},
		{"function", "restore", payload, "append"},
		{"function", "restore", payload, "bogus"},
		{"function", "restore", payload[:len(payload)-1] + "x"},
		{"function", "restore", payload, "replace"},
		{"function", "restore", payload, "flush"},
		{"function", "stats"},
		{"function", "delete", "fromredis"},
		{"function", "stats"},
	} {
		want, got := real.do(t, args...), eng.do(t, args...)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%.30q:\n  redis:  %s\n  engine: %s", args, show(want), show(got))
		}
	}
}
