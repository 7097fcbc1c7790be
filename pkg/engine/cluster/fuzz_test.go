package cluster

import (
	"strings"
	"testing"
)

// FuzzDecodeMessage: the cluster bus port is open to anyone who can reach
// the node, so a frame body is hostile input. Decoding must never panic,
// and what decodes must encode and decode again to the same message.
func FuzzDecodeMessage(f *testing.F) {
	id := strings.Repeat("a", idLen)
	for _, m := range []*message{
		{typ: msgPing, sender: id, ip: "127.0.0.1", port: 7000, cport: 17000,
			gossip: []gossipEntry{{id: strings.Repeat("b", idLen), ip: "10.0.0.1", port: 1, cport: 2}}},
		{typ: msgFail, sender: id, about: strings.Repeat("c", idLen)},
		{typ: msgUpdate, sender: id, about: id, updateEpoch: 1 << 63, updateSlots: &slotBitmap{}},
		{typ: msgPublish, sender: id, channel: []byte("ch"), payload: []byte("msg")},
	} {
		frame := m.encode()
		f.Add(frame[frameHeaderSize:])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := decodeMessage(body)
		if err != nil {
			return
		}
		again, err := decodeMessage(m.encode()[frameHeaderSize:])
		if err != nil {
			t.Fatalf("re-decoding an accepted message: %v", err)
		}
		if again.typ != m.typ || again.sender != m.sender || len(again.gossip) != len(m.gossip) {
			t.Fatalf("round trip changed the message: %+v vs %+v", m, again)
		}
	})
}
