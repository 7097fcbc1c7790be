package server

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// TestCommandDocsMatchRedisServer: COMMAND DOCS, RESP2 and RESP3, has
// redis-server 7.0's commands, keys in its order, groups, versions,
// doc flags and argument trees, for every command and subcommand the
// engine serves; only the prose differs: every summary, history note and
// worded complexity is the project's own, so none equals Redis's.
func TestCommandDocsMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	for _, proto := range []string{"2", "3"} {
		real.do(t, "HELLO", proto)
		eng.do(t, "HELLO", proto)
		want, got := docsByName(real.do(t, "COMMAND", "DOCS")), docsByName(eng.do(t, "COMMAND", "DOCS"))
		for name := range got {
			if _, ok := want[name]; !ok && !engineOnly(name) {
				t.Errorf("RESP%s COMMAND DOCS: the engine describes %s, redis-server does not", proto, name)
			}
		}
		for name, w := range want {
			g, ok := got[name]
			if !ok {
				t.Errorf("RESP%s COMMAND DOCS: redis-server describes %s, the engine does not", proto, name)
				continue
			}
			checkOwnWords(t, name, w, g)
			if nw, ng := normalizeDoc(w), normalizeDoc(g); !reflect.DeepEqual(nw, ng) {
				t.Errorf("RESP%s COMMAND DOCS %s differs:\n  redis:  %s\n  engine: %s", proto, name, show(nw), show(ng))
			}
		}
		for _, args := range [][]string{{"GET", "Config|Get", "nosuch", "get|key", "config|get|key", "config|nosuch", "|", ""},
			{"nosuch"}, {"acl|log", "client|list", "CLIENT"}, {"set", "set"}} {
			w, g := real.do(t, append([]string{"COMMAND", "DOCS"}, args...)...), eng.do(t, append([]string{"COMMAND", "DOCS"}, args...)...)
			wn := slices.DeleteFunc(docNames(w), func(n string) bool { return unservedSubcommands[n] })
			if gn := docNames(g); !reflect.DeepEqual(wn, gn) {
				t.Errorf("RESP%s COMMAND DOCS %q names:\n  redis:  %q\n  engine: %q", proto, args, wn, gn)
			}
		}
	}
}

// docsByName reads a COMMAND DOCS map into full name -> entry, the
// subcommands included, without those only one of the servers has.
func docsByName(r resp.Reply) map[string]resp.Reply {
	out := map[string]resp.Reply{}
	for i := 0; i+1 < len(r.Elems); i += 2 {
		name := string(r.Elems[i].Str)
		out[name] = r.Elems[i+1]
		for sub, doc := range docsByName(flatMap(r.Elems[i+1])["subcommands"]) {
			if !unservedSubcommands[sub] {
				out[sub] = doc
			}
		}
	}
	return out
}

// docNames is a COMMAND DOCS reply's names, in reply order but
// subcommands.
func docNames(r resp.Reply) []string {
	var out []string
	for i := 0; i+1 < len(r.Elems); i += 2 {
		out = append(out, string(r.Elems[i].Str))
	}
	return out
}

// normalizeDoc blanks the prose of an entry (summary, history notes,
// complexity) keeping its types and places, and keeps its subcommands'
// names only, sorted (Redis lists them in hash order), without those only
// one server has: entries are compared one by one.
func normalizeDoc(r resp.Reply) resp.Reply {
	out := r
	out.Elems = append([]resp.Reply(nil), r.Elems...)
	for i := 0; i+1 < len(out.Elems); i += 2 {
		v := &out.Elems[i+1]
		switch string(out.Elems[i].Str) {
		case "summary", "complexity":
			v.Str = nil
		case "history":
			h := *v
			h.Elems = append([]resp.Reply(nil), v.Elems...)
			for j := range h.Elems {
				e := h.Elems[j]
				e.Elems = []resp.Reply{e.Elems[0], {Type: e.Elems[1].Type}}
				h.Elems[j] = e
			}
			*v = h
		case "subcommands":
			var names []string
			for _, n := range docNames(*v) {
				if !unservedSubcommands[n] && !engineOnly(n) {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			*v = resp.Reply{Type: v.Type}
			for _, n := range names {
				v.Elems = append(v.Elems, resp.Reply{Type: '$', Str: []byte(n)})
			}
		}
	}
	return out
}

// checkOwnWords: the engine's summary and history notes are present and
// none is Redis's text; its complexity is Redis's only where that is a
// bare big-O expression.
func checkOwnWords(t *testing.T, name string, want, got resp.Reply) {
	t.Helper()
	w, g := flatMap(want), flatMap(got)
	if s := string(g["summary"].Str); s == "" || strings.EqualFold(s, string(w["summary"].Str)) {
		t.Errorf("%s: summary %q must be present and our own", name, s)
	}
	if wc, gc := string(w["complexity"].Str), string(g["complexity"].Str); wc != "" && gc == wc && bigOExpressions(wc) != wc {
		t.Errorf("%s: complexity %q is Redis's text", name, gc)
	}
	for i, h := range g["history"].Elems {
		if note := string(h.Elems[1].Str); note == "" || note == "Behaviour changed in this version." || i < len(w["history"].Elems) && note == string(w["history"].Elems[i].Elems[1].Str) {
			t.Errorf("%s: history note %q must be present and our own", name, note)
		}
	}
}

// TestCommandDocsSize: the full COMMAND DOCS reply stays about the size
// of redis-server's and quick to build.
func TestCommandDocsSize(t *testing.T) {
	eng := dial(t, startServer(t).Addr().String())
	start := time.Now()
	r := eng.do(t, "COMMAND", "DOCS")
	if d := time.Since(start); d > time.Second {
		t.Errorf("COMMAND DOCS took %v", d)
	}
	if n := len(docNames(r)); n != len(commandTable) {
		t.Errorf("COMMAND DOCS describes %d commands, the engine serves %d", n, len(commandTable))
	}
}
