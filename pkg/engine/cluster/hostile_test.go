package cluster

import (
	"math"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// TestHostileBusMessages sends well-formed but hostile cluster bus
// messages to a node's bus port, as anyone who reaches the port could:
// every message type, ids of known and unknown nodes (its own included),
// boundary epochs and offsets, odd addresses, flags and slot bitmaps,
// gossip about itself, FAIL and UPDATE about itself. The node must not
// crash (a panic in the bus goroutine would end the test binary) and
// must keep answering CLUSTER commands.
func TestHostileBusMessages(t *testing.T) {
	n := startNode(t, nodeOpts{})
	other := startNode(t, nodeOpts{})
	meetAll(t, []*testNode{n, other})
	rnd := rand.New(rand.NewPCG(3, 5))
	hexID := func() string {
		var b strings.Builder
		for range idLen {
			b.WriteByte("0123456789abcdef"[rnd.IntN(16)])
		}
		return b.String()
	}
	ids := []string{n.MyID(), other.MyID(), hexID(), hexID(), ""}
	pickID := func() string { return ids[rnd.IntN(len(ids))] }
	u64s := []uint64{0, 1, 2, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64, 1 << 32}
	pick64 := func() uint64 { return u64s[rnd.IntN(len(u64s))] }
	ips := []string{"", "127.0.0.1", "::1", "0.0.0.0", "999.1.1.1", "not an ip", strings.Repeat("x", 255), "127.0.0.1:1"}
	ports := []uint16{0, 1, 6379, 65535, uint16(n.cfg.Port)}
	pick16 := func() uint16 { return ports[rnd.IntN(len(ports))] }
	randomSlots := func() *slotBitmap {
		var s slotBitmap
		switch rnd.IntN(3) {
		case 0: // none
		case 1:
			for i := range s {
				s[i] = 0xff
			}
		default:
			for range 20 {
				s[rnd.IntN(len(s))] = byte(rnd.IntN(256))
			}
		}
		return &s
	}
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for round := range 20 {
		for range 200 {
			if conn == nil {
				var err error
				if conn, err = net.Dial("tcp", n.BusAddr()); err != nil {
					t.Fatal(err)
				}
			}
			m := &message{
				typ: uint16(rnd.IntN(msgTypeCount + 1)), sender: ids[rnd.IntN(len(ids)-1)], currentEpoch: pick64(), configEpoch: pick64(),
				offset: int64(pick64()), masterID: pickID(), ip: ips[rnd.IntN(len(ips))], port: pick16(), cport: pick16(),
				flags: nodeFlags(rnd.IntN(1 << 11)), stateOK: rnd.IntN(2) == 0, mflags: uint8(rnd.IntN(256)),
				slots: *randomSlots(), about: pickID(), updateEpoch: pick64(), updateSlots: randomSlots(),
				channel: []byte("ch"), payload: []byte("p"),
			}
			for range rnd.IntN(5) {
				m.gossip = append(m.gossip, gossipEntry{id: pickID(), pingSent: uint32(pick64()), pongRecv: uint32(pick64()),
					ip: ips[rnd.IntN(len(ips))], port: pick16(), cport: pick16(), flags: nodeFlags(rnd.IntN(1 << 11))})
			}
			conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write(m.encode()); err != nil {
				conn.Close() // the node closes a link that sends an invalid message
				conn = nil
			}
			if rnd.IntN(20) == 0 && conn != nil { // and a fresh link now and then
				conn.Close()
				conn = nil
			}
		}
		if got := n.do(t, "MYID"); string(got.Str) != n.MyID() {
			t.Fatalf("round %d: CLUSTER MYID answered %v", round, got)
		}
		n.do(t, "NODES")
		n.do(t, "INFO")
	}
	if got := string(n.do(t, "MYID").Str); got != n.MyID() {
		t.Fatalf("node changed identity: %s", got)
	}
}
