package enginetest

import (
	"bufio"
	"context"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// TestClusterNodeSurvivesBoundaryArguments runs every command of the
// table, with random boundary-value arguments, against an engine node in
// cluster mode serving every slot, where keyed commands first go through
// slot routing (movable keys, numkeys counts). No command may end in an
// internal error (a recovered panic), and the node must keep answering.
func TestClusterNodeSurvivesBoundaryArguments(t *testing.T) {
	n := startEngine(t, "--cluster-enabled", "yes")
	c := client(t, n.Addr())
	ctx := context.Background()
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "slots served", func() bool { return c.Set(ctx, "{k}probe", "1", 0).Err() == nil })
	infos, err := c.Do(ctx, "COMMAND").Slice()
	if err != nil {
		t.Fatal(err)
	}
	skip := map[string]bool{"shutdown": true, "sync": true, "psync": true, "replconf": true, "replicaof": true, "slaveof": true,
		"config": true, "acl": true, "migrate": true, "auth": true, "quit": true, "client": true, "wait": true,
		"blpop": true, "brpop": true, "blmove": true, "brpoplpush": true, "hello": true, "cluster": true,
		"blmpop": true, "bzmpop": true, "bzpopmin": true, "bzpopmax": true, "xread": true, "xreadgroup": true,
		"subscribe": true, "psubscribe": true, "ssubscribe": true, "monitor": true, "reset": true, "multi": true,
		"unsubscribe": true, "punsubscribe": true, "sunsubscribe": true}
	var names []string
	for _, info := range infos {
		if name := info.([]any)[0].(string); !skip[name] {
			names = append(names, name)
		}
	}
	values := []string{"0", "1", "-1", "2", "9223372036854775807", "-9223372036854775808", "18446744073709551615",
		"nan", "inf", "-inf", "", "1.5", "(1", "[a", "-", "+", "*", "{k}a", "{k}b", "{k}s", "{x}other", "WITHSCORES",
		"LIMIT", "COUNT", "MATCH", "REV", "BYSCORE", "BYLEX", "EX", "PX", "GET", "NX", "XX", "GT", "CH", "INCR",
		"RANK", "MAXLEN", "WEIGHTS", "AGGREGATE", "LEFT", "RIGHT", "BEFORE", "WITHVALUES", "BIT", "REPLACE",
		"KEYS", "DB", strings.Repeat("x", 100000)}
	conn, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// errors echo names as Redis's do, the 100 KB argument included
	br := bufio.NewReaderSize(conn, 1<<20)
	rnd := rand.New(rand.NewPCG(11, 13))
	for _, name := range names {
		for range 40 {
			args := [][]byte{[]byte(name)}
			for range rnd.IntN(7) {
				args = append(args, []byte(values[rnd.IntN(len(values))]))
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write(resp.AppendCommand(resp.AppendCommand(nil, args...), []byte("PING"))); err != nil {
				t.Fatalf("%q: %v", args, err)
			}
			rep, err := resp.ReadReply(br)
			if err != nil {
				t.Fatalf("%q: no reply: %v", args, err)
			}
			if rep.Type == '-' && strings.Contains(string(rep.Str), "internal error") {
				t.Errorf("%q: %s", args, rep.Str)
			}
			if rep, err = resp.ReadReply(br); err != nil || string(rep.Str) != "PONG" {
				t.Fatalf("after %q: PING answered %q, %v", args, rep.Str, err)
			}
		}
	}
}
