package badinput

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// TestBadPeers: the seed answers well but lists peers that never answer,
// answer garbage or hang up. No command may hang past --command-timeout;
// check names each bad peer, and the operations refuse with one line.
func TestBadPeers(t *testing.T) {
	silent := fakeServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	garbage := fakeServer(t, func(c net.Conn) {
		c.Read(make([]byte, 512))
		io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
		time.Sleep(3 * time.Second)
	})
	closer := fakeServer(t, func(net.Conn) {})
	const seedID = "0123456789012345678901234567890123456789"
	peer := func(n int, addr, slots string) string {
		host, port, _ := strings.Cut(addr, ":")
		return fmt.Sprintf("%040d %s:%s@1%s master - 0 0 %d connected %s\n", n, host, port, port, n+1, slots)
	}
	seed := fakeNode(t, func(self string) string {
		host, port, _ := strings.Cut(self, ":")
		return fmt.Sprintf("%s %s:%s@1%s myself,master - 0 0 1 connected 0-4000\n", seedID, host, port, port) +
			peer(1, silent, "4001-8000") + peer(2, garbage, "8001-12000") + peer(3, closer, "12001-16383")
	})
	bad := []string{silent, garbage, closer}
	timeout := []string{"--command-timeout", "1s", "--connect-timeout", "1s"}

	start := time.Now()
	r := harness.Exec(t, harness.Binary(t), harness.Cmd{Args: append([]string{"check", seed}, timeout...), Timeout: 20 * time.Second})
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("check took %s with 1 s timeouts: peers are not probed in parallel or not bounded", took)
	}
	if r.Code != 1 || strings.Contains(r.Output(), "panic") {
		t.Errorf("check: exit %d, want 1\n%s", r.Code, r.Output())
	}
	for _, a := range bad {
		if !strings.Contains(r.Stdout, a) || !strings.Contains(r.Stdout, "unreachable") {
			t.Errorf("check does not report %s as unreachable:\n%s", a, r.Stdout)
		}
	}
	cases := []badCase{
		{name: "reshard", args: []string{"reshard", seed, "--from", "all", "--to", seedID, "--slots", "10", "--yes"},
			want: []string{silent, garbage, closer, "unreachable"}},
		{name: "rebalance", args: []string{"rebalance", seed}, want: []string{silent, garbage, closer, "unreachable"}},
		{name: "fix", args: []string{"fix", seed, "--yes"}, want: []string{silent, "--fix-with-unreachable-masters"}},
		{name: "add-node", args: []string{"add-node", closer, seed}, want: []string{closer}},
		{name: "import", args: []string{"import", seed, "--from", closer}, want: []string{silent, "unreachable"}},
	}
	for i := range cases {
		cases[i].args = append(cases[i].args, timeout...)
		cases[i].code, cases[i].timeout = 1, 20*time.Second
	}
	cases = append(cases,
		badCase{name: "call", args: append([]string{"call", seed, "PING"}, timeout...), code: 1,
			want: []string{"3 of 4"}, timeout: 20 * time.Second},
		badCase{name: "backup", args: append([]string{"backup", seed, t.TempDir()}, timeout...), code: 1,
			want: []string{seed}, timeout: 20 * time.Second},
	)
	runBad(t, cases)
}

// TestImpostorNode: a node that passes every check (cluster-enabled,
// empty, alone) but rejects the commands that change it. add-node and
// create must stop with one line that says how to see and undo what was
// done.
func TestImpostorNode(t *testing.T) {
	fake := fakeNode(t, func(self string) string {
		host, port, _ := strings.Cut(self, ":")
		return fmt.Sprintf("%s %s:%s@1%s myself,master - 0 0 0 connected\n", strings.Repeat("f", 40), host, port, port)
	})
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	spares := redistest.StartNodes(t, 2, redistest.Options{})
	runBad(t, []badCase{
		{name: "add-node", args: []string{"add-node", fake, c.Addr()}, code: 1,
			want: []string{fake, "CLUSTER MEET", "gocluster del-node " + c.Addr()}, watch: c.Nodes},
		{name: "create", args: []string{"create", spares[0].Addr(), spares[1].Addr(), fake, "--yes"}, code: 1,
			want: []string{fake, "CLUSTER RESET HARD"}},
	})
}
