package server

import (
	"slices"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestACLCategoriesMatchRedisServer: the category table the engine's ACL
// rules use is redis-server's own, command by command.
func TestACLCategoriesMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	got := map[string][]string{}
	for _, cat := range real.do(t, "ACL", "CAT").Elems {
		for _, name := range real.do(t, "ACL", "CAT", string(cat.Str)).Elems {
			got[string(name.Str)] = append(got[string(name.Str)], string(cat.Str))
		}
	}
	if len(got) != len(redisACLCategories) {
		t.Errorf("redis-server names %d commands in its categories, the table %d", len(got), len(redisACLCategories))
	}
	for name, cats := range got {
		slices.Sort(cats)
		if want := strings.Join(cats, " "); redisACLCategories[name] != want {
			t.Errorf("%s: redis-server %q, table %q", name, want, redisACLCategories[name])
		}
	}
}

// TestACLPermissionsMatchRedisServer: users with command, category,
// subcommand, key (read/write) and channel rules are allowed and refused
// the same commands, with the same errors, on both servers, from clients
// and from scripts, and a change to a user applies to its open
// connections.
func TestACLPermissionsMatchRedisServer(t *testing.T) {
	realAddr := redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr()
	engAddr := startServer(t).Addr().String()
	real := [2]*rawConn{dial(t, realAddr), dial(t, realAddr)}
	eng := [2]*rawConn{dial(t, engAddr), dial(t, engAddr)}
	const admin, bob = 0, 1
	steps := []struct {
		who  int
		args []string
	}{
		{admin, []string{"ACL", "SETUSER", "bob", "on", ">pw", "+@scripting", "+set", "~x*"}},
		{admin, []string{"ACL", "SETUSER", "bob", "+@nosuch"}},
		{admin, []string{"ACL", "SETUSER", "bob", "+nosuch"}},
		{bob, []string{"AUTH", "bob", "pw"}},
		{bob, []string{"SET", "x1", "v"}},
		{bob, []string{"SET", "y1", "v"}},
		{bob, []string{"GET", "x1"}},
		{bob, []string{"HSET", "x2", "f", "v"}},
		{bob, []string{"EVAL", "return 1", "0"}},
		{bob, []string{"EVAL", "return redis.call('set','x3','v')", "1", "x3"}},
		{bob, []string{"EVAL", "return redis.call('hset','x3','f','v')", "1", "x3"}},
		{bob, []string{"EVAL", "return redis.call('set','y3','v')", "0"}},
		{bob, []string{"EVAL", "return redis.acl_check_cmd('set','xx',1)", "0"}},
		{bob, []string{"EVAL", "return redis.acl_check_cmd('hset','xx','f',1)", "0"}},
		{bob, []string{"EVAL", "return redis.acl_check_cmd('set','yy',1)", "0"}},
		{bob, []string{"EVAL", "return redis.acl_check_cmd('nosuch','yy')", "0"}},
		{admin, []string{"ACL", "SETUSER", "bob", "+get", "+config|get", "-set", "%R~r*", "%W~w*"}},
		{bob, []string{"GET", "x1"}},
		{bob, []string{"SET", "x1", "v"}},
		{bob, []string{"CONFIG", "GET", "maxmemory-policy"}},
		{bob, []string{"CONFIG", "SET", "maxmemory", "0"}},
		{bob, []string{"GET", "r1"}},
		{bob, []string{"GET", "w1"}},
		{admin, []string{"ACL", "SETUSER", "bob", "+set"}},
		{bob, []string{"SET", "w1", "v"}},
		{bob, []string{"SET", "r1", "v"}},
		{bob, []string{"MULTI"}},
		{bob, []string{"HGET", "x1", "f"}},
		{bob, []string{"EXEC"}},
		{admin, []string{"ACL", "SETUSER", "bob", "resetkeys", "allkeys", "+@pubsub"}},
		{bob, []string{"GET", "anything"}},
		{bob, []string{"PUBLISH", "ch", "m"}},
		{admin, []string{"ACL", "SETUSER", "bob", "&news*"}},
		{bob, []string{"PUBLISH", "news1", "m"}},
		{bob, []string{"PUBLISH", "other", "m"}},
		{bob, []string{"SUBSCRIBE", "other"}},
		{admin, []string{"ACL", "DELUSER", "bob"}},
		{admin, []string{"AUTH", "bob", "pw"}},
	}
	for _, st := range steps {
		want, got := real[st.who].do(t, st.args...), eng[st.who].do(t, st.args...)
		if show(want) != show(got) {
			t.Errorf("%q:\n  redis:  %s\n  engine: %s", st.args, show(want), show(got))
		}
	}
}
