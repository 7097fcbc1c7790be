package server

import (
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// TestSortMatchesRedisServer: SORT and SORT_RO over lists, sets and sorted
// sets, numeric and ALPHA, LIMIT, DESC, BY and GET patterns (strings and
// hash fields), STORE, and their errors, against redis-server 7.0. Sets
// are only sorted (their unsorted order is Redis's hash table's).
func TestSortMatchesRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real := [2]*rawConn{dial(t, rs.Addr()), dial(t, rs.Addr())}
	eng := [2]*rawConn{dial(t, es.Addr().String()), dial(t, es.Addr().String())}
	compareClients(t, real, eng, `
A: RPUSH l 3 1 2 10 -5 2.5 1e2
A: SORT l
A: SORT l DESC
A: SORT l LIMIT 1 3
A: SORT l LIMIT -5 2
A: SORT l LIMIT 2 -1
A: SORT l LIMIT 10 2
A: SORT l LIMIT 0 0
A: SORT l ALPHA
A: SORT l ALPHA DESC LIMIT 0 2
A: SORT_RO l DESC
A: SORT l BY nosort
A: SORT l BY nosort DESC
A: SORT l BY nosort LIMIT 2 3
A: SORT l BY nosort DESC LIMIT 2 3
A: SORT l BY nosort LIMIT 20 3
A: SET w_3 30
A: SET w_1 10
A: SET w_2 5
A: SET w_10 1
A: HSET h_3 f c
A: HSET h_1 f a
A: SORT l BY w_*
A: SORT l BY w_* ALPHA
A: SORT l BY h_*->f ALPHA
A: SORT l GET # GET w_* GET h_*->f
A: SORT l BY w_* GET w_* LIMIT 0 3
A: SORT l BY nosort GET w_*
A: SORT l GET nostar
A: SORT l STORE dst
A: LRANGE dst 0 -1
A: SORT l BY w_* GET w_* STORE dst
A: LRANGE dst 0 -1
A: SORT nope STORE dst
A: EXISTS dst
A: SORT nope
A: SADD s 5 3 9 1
A: SORT s
A: SORT s DESC LIMIT 1 2
A: SORT s BY nosort STORE dst
A: LRANGE dst 0 -1
A: ZADD z 1 c 2 a 3 b
A: SORT z ALPHA
A: SORT z BY nosort
A: SORT z BY nosort DESC
A: SORT z BY nosort LIMIT 1 1
A: SORT z
A: RPUSH bad 1 x
A: SORT bad
A: SORT bad ALPHA
A: RPUSH nanl nan 1
A: SORT nanl
A: SET str v
A: SORT str
A: SORT l LIMIT 1
A: SORT l LIMIT x 1
A: SORT l FOO
A: SORT l STORE
A: SORT_RO l STORE dst
A: SORT l BY
A: LPUSH wl 1
A: WATCH wl
B: SORT emptylist STORE wl
A: MULTI
A: PING
A: EXEC
`)
}

// In cluster mode, BY with a pattern and GET are refused with Redis's errors.
func TestSortByGetRefusedInClusterMode(t *testing.T) {
	s := startServer(t)
	s.Cluster = fakeCluster{}
	c := dial(t, s.Addr().String())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SORT", "l", "BY", "w_*"}, "ERR BY option of SORT denied in Cluster mode."},
		{[]string{"SORT", "l", "GET", "#"}, "ERR GET option of SORT denied in Cluster mode."},
		{[]string{"SORT_RO", "l", "GET", "w_*"}, "ERR GET option of SORT denied in Cluster mode."},
	} {
		if r := c.do(t, tc.args...); r.Type != '-' || string(r.Str) != tc.want {
			t.Errorf("%v: %s, want %q", tc.args, show(r), tc.want)
		}
	}
	// an empty element is an empty string, not a missing GET value
	for _, cmd := range [][]string{{"ZADD", "ze", "0", ""}, {"SADD", "se", ""}, {"RPUSH", "le", ""}} {
		c.do(t, cmd...)
	}
	for _, k := range []string{"ze", "se", "le"} {
		if r := c.do(t, "SORT_RO", k, "ALPHA"); len(r.Elems) != 1 || r.Elems[0].Null {
			t.Errorf("SORT_RO %s ALPHA: %s, want one empty string", k, show(r))
		}
	}
	if r := c.do(t, "SORT", "l", "BY", "nosort"); r.Type != '*' {
		t.Errorf("SORT BY nosort in cluster mode: %s", show(r))
	}
}

// fakeCluster serves every slot locally.
type fakeCluster struct{}

func (fakeCluster) Command(w *resp.Writer, args [][]byte) { w.WriteError("ERR fake") }
func (fakeCluster) Route(slots []int, asking, readonly bool, keysPresent func() (all, none bool)) string {
	return ""
}
func (fakeCluster) InfoSection() string                       { return "" }
func (fakeCluster) MyID() string                              { return "fake" }
func (fakeCluster) Role() (isReplica bool, masterAddr string) { return false, "" }
