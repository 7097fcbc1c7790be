package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// FAILOVER's refusals, compared with redis-server 7.0.15: a master with
// no replica, bad arguments, ABORT with nothing to abort.
func TestFailoverErrorsMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareArgs(t, real, eng, [][]string{
		{"FAILOVER"},
		{"FAILOVER", "ABORT"},
		{"FAILOVER", "TIMEOUT", "0"},
		{"FAILOVER", "TIMEOUT", "-5"},
		{"FAILOVER", "TIMEOUT", "x"},
		{"FAILOVER", "TO", "127.0.0.1", "nope"},
		{"FAILOVER", "TIMEOUT", "10", "TIMEOUT", "20"},
		{"FAILOVER", "FORCE", "FORCE"},
		{"FAILOVER", "bogus"},
		{"FAILOVER", "FORCE", "TIMEOUT", "100"},
		{"FAILOVER", "TO", "127.0.0.1", "1"},
	})
	for _, c := range []*rawConn{real, eng} {
		if info := c.do(t, "INFO", "replication").Str; !strings.Contains(string(info), "master_failover_state:no-failover") {
			t.Errorf("INFO replication lacks master_failover_state:no-failover:\n%s", info)
		}
	}
}

// waitInfo polls INFO replication until it contains every want line.
func waitInfo(t *testing.T, c *rawConn, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		info := string(c.do(t, "INFO", "replication").Str)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(info, w)
		}
		if ok {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("INFO replication never showed %q:\n%s", want, info)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// failoverPair starts a master and a replica of it, of the given kinds
// ("engine" or "redis"), with some data replicated.
func failoverPair(t *testing.T, masterKind, replicaKind string) (master, replica *rawConn, replicaPort string) {
	t.Helper()
	start := func(kind string) (*rawConn, string) {
		if kind == "redis" {
			rs := redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--enable-debug-command", "yes"}})
			return dial(t, rs.Addr()), rs.Addr()[strings.LastIndexByte(rs.Addr(), ':')+1:]
		}
		s := startServer(t)
		addr := s.Addr().String()
		return dial(t, addr), addr[strings.LastIndexByte(addr, ':')+1:]
	}
	master, masterPort := start(masterKind)
	replica, replicaPort = start(replicaKind)
	for i := range 100 {
		master.do(t, "SET", fmt.Sprintf("k%d", i), fmt.Sprint(i))
	}
	master.do(t, "RPUSH", "list", "a", "b", "c")
	replica.do(t, "REPLICAOF", "127.0.0.1", masterPort)
	waitInfo(t, replica, "master_link_status:up")
	waitInfo(t, master, "state=online")
	return master, replica, replicaPort
}

// A planned FAILOVER hands the master role to the replica, which keeps
// every write, and the old master follows it with a partial resync; each
// pairing of engine and redis-server must work, since either may be the
// master of the other.
func TestFailoverHandsOverTheRole(t *testing.T) {
	for _, kinds := range [][2]string{{"engine", "engine"}, {"engine", "redis"}, {"redis", "engine"}} {
		t.Run(kinds[0]+"-to-"+kinds[1], func(t *testing.T) {
			master, replica, replicaPort := failoverPair(t, kinds[0], kinds[1])
			if rep := master.do(t, "FAILOVER", "TO", "127.0.0.1", replicaPort, "TIMEOUT", "10000"); text(rep) != "OK" {
				t.Fatalf("FAILOVER: %s", text(rep))
			}
			if rep := master.do(t, "FAILOVER"); !strings.Contains(text(rep), "FAILOVER already in progress") && !strings.Contains(text(rep), "not valid when server is a replica") {
				t.Errorf("second FAILOVER: %s", text(rep))
			}
			waitInfo(t, replica, "role:master")
			info := waitInfo(t, master, "role:slave", "master_link_status:up", "master_failover_state:no-failover")
			if !strings.Contains(info, "master_port:"+replicaPort) {
				t.Fatalf("old master follows the wrong node:\n%s", info)
			}
			for i := range 100 {
				if got := text(replica.do(t, "GET", fmt.Sprintf("k%d", i))); got != fmt.Sprint(i) {
					t.Fatalf("new master lost k%d: %s", i, got)
				}
			}
			if got := text(replica.do(t, "SET", "after", "1")); got != "OK" {
				t.Fatalf("write on the new master: %s", got)
			}
			deadline := time.Now().Add(10 * time.Second)
			for text(master.do(t, "GET", "after")) != "1" {
				if time.Now().After(deadline) {
					t.Fatal("the old master does not receive the new master's writes")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got := text(master.do(t, "SET", "x", "1")); !strings.HasPrefix(got, "READONLY") && !strings.HasPrefix(got, "ERR READONLY") {
				t.Errorf("write on the old master: %s", got)
			}
			partialOK := waitStat(t, replica, "sync_partial_ok:")
			if partialOK != "1" {
				t.Errorf("the old master did not continue with a partial resync: sync_partial_ok:%s", partialOK)
			}
		})
	}
}

// text is a reply's string: a simple string, a bulk string or an error.
func text(r resp.Reply) string { return string(r.Str) }

func waitStat(t *testing.T, c *rawConn, prefix string) string {
	t.Helper()
	for _, line := range strings.Split(string(c.do(t, "INFO", "stats").Str), "\r\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	t.Fatalf("INFO stats has no %s", prefix)
	return ""
}

// sendAsync sends one command on a new connection and returns its reply
// (or the error) on a channel, for commands that block.
func sendAsync(t *testing.T, addr string, args ...string) chan string {
	t.Helper()
	c := dial(t, addr)
	var bs [][]byte
	for _, a := range args {
		bs = append(bs, []byte(a))
	}
	out := make(chan string, 1)
	c.conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.conn.Write(resp.AppendCommand(nil, bs...)); err != nil {
		t.Fatal(err)
	}
	go func() {
		rep, err := resp.ReadReply(c.br)
		if err != nil {
			out <- err.Error()
			return
		}
		out <- text(rep)
	}()
	return out
}

// While FAILOVER waits for a replica to catch up, writes are held (CLIENT
// UNPAUSE does not release them); a TIMEOUT or ABORT ends it, writes go
// through again and the node stays master. The replica is a redis-server
// held in DEBUG SLEEP, so it acknowledges nothing meanwhile.
func TestFailoverAbortAndTimeout(t *testing.T) {
	master, replica, _ := failoverPair(t, "engine", "redis")
	masterAddr, replicaAddr := master.conn.RemoteAddr().String(), replica.conn.RemoteAddr().String()
	asleep := sendAsync(t, replicaAddr, "DEBUG", "SLEEP", "4")
	time.Sleep(50 * time.Millisecond)
	master.do(t, "SET", "pending", "1") // the sleeping replica cannot acknowledge it
	if rep := master.do(t, "FAILOVER", "TIMEOUT", "100"); text(rep) != "OK" {
		t.Fatalf("FAILOVER TIMEOUT 100: %s", text(rep))
	}
	info := waitInfo(t, master, "master_failover_state:no-failover")
	if !strings.Contains(info, "role:master") {
		t.Fatalf("a failover that timed out changed the role:\n%s", info)
	}
	if got := text(master.do(t, "SET", "free", "1")); got != "OK" {
		t.Fatalf("write after the timed-out failover: %s", got)
	}

	if rep := master.do(t, "FAILOVER"); text(rep) != "OK" {
		t.Fatalf("FAILOVER: %s", text(rep))
	}
	waitInfo(t, master, "master_failover_state:waiting-for-sync")
	held := sendAsync(t, masterAddr, "SET", "held", "1")
	select {
	case got := <-held:
		t.Fatalf("a write went through during the failover: %s", got)
	case <-time.After(200 * time.Millisecond):
	}
	if got := text(master.do(t, "CLIENT", "UNPAUSE")); got != "OK" {
		t.Fatal(got)
	}
	select {
	case got := <-held:
		t.Fatalf("CLIENT UNPAUSE released the failover's pause: %s", got)
	case <-time.After(200 * time.Millisecond):
	}
	if got := text(master.do(t, "REPLICAOF", "NO", "ONE")); !strings.Contains(got, "not allowed while failing over") {
		t.Errorf("REPLICAOF during a failover: %s", got)
	}
	if got := text(master.do(t, "FAILOVER", "ABORT")); got != "OK" {
		t.Fatalf("FAILOVER ABORT: %s", got)
	}
	select {
	case got := <-held:
		if got != "OK" {
			t.Fatalf("held write after ABORT: %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held write never ran after ABORT")
	}
	waitInfo(t, master, "role:master", "master_failover_state:no-failover")
	<-asleep
}
