package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// blockingScenario blocks clients one after another (each only once the
// server counts it blocked), runs the writes, and returns what each
// blocked client got, in blocking order.
func blockingScenario(t *testing.T, addr string, blockers [][]string, writes [][]string) []string {
	t.Helper()
	ctl := dial(t, addr)
	ctl.do(t, "FLUSHALL")
	var conns []*rawConn
	for i, args := range blockers {
		c := dial(t, addr)
		if _, err := c.conn.Write(resp.AppendCommand(nil, toBytes(args)...)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for infoInt(t, string(ctl.do(t, "INFO", "clients").Str), "blocked_clients") != int64(i+1) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: client %d never blocked on %q", addr, i, args)
			}
			time.Sleep(5 * time.Millisecond)
		}
		conns = append(conns, c)
	}
	for _, args := range writes {
		ctl.do(t, args...)
	}
	var got []string
	for _, c := range conns {
		c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		r, err := resp.ReadReply(c.br)
		if err != nil {
			got = append(got, "still blocked")
			continue
		}
		got = append(got, show(r))
	}
	return got
}

func toBytes(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// TestBlockedClientsServedInOrder: clients blocked on one key are served
// first blocked, first served; a transaction that pushes and pops again
// serves no one (blocked clients are served after the whole transaction);
// a BLMOVE that gets served pushes on to a client blocked on its
// destination - all as redis-server does.
func TestBlockedClientsServedInOrder(t *testing.T) {
	realAddr := redistest.Start(t, redistest.Options{}).Addr()
	engAddr := startServer(t).Addr().String()
	scenarios := []struct {
		name     string
		blockers [][]string
		writes   [][]string
	}{
		{"fifo", [][]string{{"BLPOP", "q", "0"}, {"BRPOP", "q", "0"}, {"BLPOP", "q", "0"}, {"BLPOP", "other", "q", "0"}},
			[][]string{{"RPUSH", "q", "1", "2", "3"}, {"RPUSH", "q", "4"}}},
		{"transaction", [][]string{{"BLPOP", "q", "1"}},
			[][]string{{"MULTI"}, {"RPUSH", "q", "x"}, {"LPOP", "q"}, {"EXEC"}}},
		{"chain", [][]string{{"BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"}, {"BLPOP", "dst", "0"}},
			[][]string{{"RPUSH", "src", "v"}}},
		{"zset", [][]string{{"BZPOPMIN", "z", "0"}, {"BZPOPMAX", "z", "0"}},
			[][]string{{"ZADD", "z", "1", "a", "2", "b", "3", "c"}}},
	}
	for _, sc := range scenarios {
		want := blockingScenario(t, realAddr, sc.blockers, sc.writes)
		got := blockingScenario(t, engAddr, sc.blockers, sc.writes)
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("%s:\n  redis:  %s\n  engine: %s", sc.name, strings.Join(want, " | "), strings.Join(got, " | "))
		}
	}
}
