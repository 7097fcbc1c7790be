package server

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// TestCommandInfoMatchesRedisServer: COMMAND INFO of every command and
// subcommand the engine serves is redis-server 7.0's reply, in RESP2 and
// RESP3 (subcommands compared in name order, since Redis lists them in
// hash order, and without the few subcommands the engine does not serve),
// and so is COMMAND INFO of names neither serves; COMMAND COUNT counts the
// served commands of Redis's.
func TestCommandInfoMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	names := replyStrings(eng.do(t, "COMMAND", "LIST"))
	for _, proto := range []string{"2", "3"} {
		real.do(t, "HELLO", proto)
		eng.do(t, "HELLO", proto)
		for _, name := range names {
			if engineOnly(name) {
				continue // Redis 7.0 has no such command
			}
			compareCommandInfo(t, real, eng, "RESP"+proto, "COMMAND", "INFO", name)
		}
		compareCommandInfo(t, real, eng, "RESP"+proto, "COMMAND", "INFO", "GET", "Config|Get", "nosuch",
			"get|key", "config|get|key", "config|nosuch", "|", "")
		want, got := commandInfoByName(real.do(t, "COMMAND")), commandInfoByName(eng.do(t, "COMMAND"))
		for name, info := range got {
			if !engineOnly(name) && !reflect.DeepEqual(info, want[name]) {
				t.Errorf("RESP%s COMMAND: %s differs:\n  redis:  %s\n  engine: %s", proto, name, show(want[name]), show(info))
			}
		}
		if len(got)-engineOnlyCommands() != len(want) {
			t.Errorf("RESP%s COMMAND: redis-server describes %d commands, the engine %d", proto, len(want), len(got))
		}
	}
	compareArgs(t, real, eng, [][]string{{"COMMAND", "COUNT", "x"}, {"COMMAND", "HELP", "x"}, {"COMMAND", "GETKEYS"},
		{"COMMAND", "GETKEYS", "get"}, {"COMMAND", "GETKEYSANDFLAGS", "get"}, {"COMMAND", "GETKEYS", "nosuch", "x"},
		{"COMMAND", "NOSUCH"}, {"COMMAND", "DOCS", "nosuch"}})
	if n := eng.do(t, "COMMAND", "COUNT").Int; n != int64(len(commandTable)) || n-int64(engineOnlyCommands()) != real.do(t, "COMMAND", "COUNT").Int {
		t.Errorf("COMMAND COUNT %d: the engine serves %d commands, redis-server's as many", n, len(commandTable))
	}
}

// compareCommandInfo sends one COMMAND INFO to both servers and compares
// the replies, normalized by normalizeCommandInfo.
func compareCommandInfo(t *testing.T, real, eng *rawConn, proto string, args ...string) {
	t.Helper()
	want, got := real.do(t, args...), eng.do(t, args...)
	for i := range want.Elems {
		normalizeCommandInfo(&want.Elems[i])
		normalizeCommandInfo(&got.Elems[i])
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s %q:\n  redis:  %s\n  engine: %s", proto, args, show(want), show(got))
	}
}

// normalizeCommandInfo sorts an entry's subcommands by name, recursively,
// and drops those only one of the servers has.
func normalizeCommandInfo(r *resp.Reply) {
	if len(r.Elems) != 10 || len(r.Elems[9].Elems) == 0 {
		return
	}
	subs := r.Elems[9].Elems[:0]
	for _, s := range r.Elems[9].Elems {
		if name := string(s.Elems[0].Str); !unservedSubcommands[name] && !engineOnly(name) {
			normalizeCommandInfo(&s)
			subs = append(subs, s)
		}
	}
	sort.Slice(subs, func(i, j int) bool { return string(subs[i].Elems[0].Str) < string(subs[j].Elems[0].Str) })
	r.Elems[9].Elems = subs
}

func commandInfoByName(r resp.Reply) map[string]resp.Reply {
	out := map[string]resp.Reply{}
	for _, e := range r.Elems {
		normalizeCommandInfo(&e)
		out[string(e.Elems[0].Str)] = e
	}
	return out
}

// engineOnly: a command or subcommand Redis 7.0 does not have (the
// engine's own, or one a test registers).
func engineOnly(name string) bool {
	_, redis := redisCommandTable[name]
	return !redis
}

func engineOnlyCommands() int {
	n := 0
	for name := range commandTable {
		if engineOnly(name) {
			n++
		}
	}
	return n
}

func replyStrings(r resp.Reply) []string {
	var out []string
	for _, e := range r.Elems {
		out = append(out, string(e.Str))
	}
	return out
}

// TestCommandListMatchesRedisServer: COMMAND LIST, with and without
// FILTERBY, names the same commands and subcommands as redis-server's
// (as sets), but those the engine does not serve and its own; syntax
// errors are Redis's.
func TestCommandListMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	served := func(redisNames []string) []string {
		var out []string
		for _, n := range redisNames {
			parent, _, _ := strings.Cut(n, "|")
			if commandTable[parent] != nil && !unservedSubcommands[n] {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	check := func(args ...string) {
		t.Helper()
		want, got := real.do(t, args...), eng.do(t, args...)
		if want.Type == '-' || got.Type == '-' {
			if !reflect.DeepEqual(want, got) {
				t.Errorf("%q:\n  redis:  %s\n  engine: %s", args, show(want), show(got))
			}
			return
		}
		wantNames := served(replyStrings(want))
		gotNames := slices.DeleteFunc(replyStrings(got), engineOnly)
		slices.Sort(gotNames)
		if !slices.Equal(wantNames, gotNames) {
			t.Errorf("%q:\n  redis (served part): %q\n  engine:              %q", args, wantNames, gotNames)
		}
	}
	check("COMMAND", "LIST")
	for _, cat := range append(replyStrings(real.do(t, "ACL", "CAT")), "ADMIN", "Scripting", "nosuch") {
		check("COMMAND", "LIST", "FILTERBY", "ACLCAT", cat)
	}
	for _, p := range []string{"set", "GET", "config*", "config|*re*", "cl*help", "non_exists", "non_exists*", "*", "*|*", "x[a-c]*"} {
		check("COMMAND", "LIST", "FILTERBY", "PATTERN", p)
	}
	check("COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch")
	for _, bad := range [][]string{{"bad_arg"}, {"filterby", "bad_arg"}, {"filterby", "bad_arg", "x"},
		{"filterby", "pattern"}, {"filterby", "pattern", "a", "filterby", "pattern", "b"}, {"filterby", "pattern", "a", "x"}} {
		check(append([]string{"COMMAND", "LIST"}, bad...)...)
	}
	if got := replyStrings(eng.do(t, "COMMAND", "LIST", "FILTERBY", "PATTERN", "cluster|*slot*migration*")); !slices.Equal(got, []string{"cluster|cancelslotmigrations", "cluster|getslotmigrations"}) {
		t.Errorf("COMMAND LIST of the engine's own slot migration subcommands: %q", got)
	}
}

// TestUnservedSubcommandsAreUnknown: the Redis subcommands COMMAND leaves
// out are exactly those the engine answers "unknown subcommand" to when
// called with as many arguments as their arity asks.
func TestUnservedSubcommandsAreUnknown(t *testing.T) {
	eng := dial(t, startServer(t).Addr().String())
	for name, info := range redisCommandTable {
		parent, sub, isSub := strings.Cut(name, "|")
		if !isSub || commandTable[parent] == nil {
			continue
		}
		args := []string{parent, sub}
		for len(args) < max(info.arity, -info.arity) {
			args = append(args, "x")
		}
		r := eng.do(t, args...)
		unknown := r.Type == '-' && strings.HasPrefix(string(r.Str), "ERR unknown subcommand")
		if unknown != unservedSubcommands[name] {
			t.Errorf("%q answers %s; unservedSubcommands[%q] = %v", args, show(r), name, unservedSubcommands[name])
		}
	}
}
