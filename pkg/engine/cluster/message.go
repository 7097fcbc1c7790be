package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Bus message types. Only engine nodes speak this protocol; the numbering
// follows Redis's CLUSTERMSG_TYPE_* so CLUSTER INFO counters line up.
const (
	msgPing         = 0
	msgPong         = 1
	msgMeet         = 2
	msgFail         = 3
	msgPublish      = 4 // PUBLISH, to every node
	msgAuthRequest  = 5
	msgAuthAck      = 6
	msgUpdate       = 7
	msgMFStart      = 8
	msgPublishShard = 9 // SPUBLISH, to the nodes of the publisher's shard
	msgTypeCount    = 10
	busMagic        = "GCb1"
	frameHeaderSize = 8 // magic + uint32 total length
	maxFrameSize    = 1 << 20
	// maxPublishFrame bounds a frame carrying a published message: as
	// large as the biggest argument a client may send (proto-max-bulk-len),
	// twice (channel and message), plus the header.
	maxPublishFrame = 1<<30 + 4096
	maxGossip       = 1000
)

var msgTypeNames = [msgTypeCount]string{"ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart", "publishshard"}

// Manual failover flags carried in the header.
const mflagForceAck = 1 // a forced failover: vote even though the master is not failed

// gossipEntry is what a node says about a third node.
type gossipEntry struct {
	id          string
	pingSent    uint32 // seconds
	pongRecv    uint32 // seconds
	ip          string
	port, cport uint16
	flags       nodeFlags
}

// message is one decoded bus packet.
type message struct {
	typ          uint16
	sender       string
	currentEpoch uint64
	configEpoch  uint64
	offset       int64
	masterID     string // "" when the sender is a master
	ip           string // announced ip, "" when the receiver should use the socket address
	port, cport  uint16
	flags        nodeFlags
	stateOK      bool
	mflags       uint8
	slots        slotBitmap

	gossip []gossipEntry // ping, pong, meet

	about       string      // fail, update: the node the message is about
	updateEpoch uint64      // update
	updateSlots *slotBitmap // update only: a pointer keeps every other message 2 KB smaller

	channel, payload []byte // publish, publishshard
}

// encoder appends big-endian fields.
type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) id(s string) {
	var buf [idLen]byte
	copy(buf[:], s)
	e.b = append(e.b, buf[:]...)
}
func (e *encoder) str(s string) {
	if len(s) > 255 {
		s = s[:255]
	}
	e.u8(uint8(len(s)))
	e.b = append(e.b, s...)
}

// encode serialises m into one frame.
func (m *message) encode() []byte {
	e := &encoder{b: make([]byte, 0, 2300+len(m.gossip)*100+len(m.channel)+len(m.payload))}
	e.b = append(e.b, busMagic...)
	e.u32(0) // length, patched below
	e.u16(m.typ)
	e.id(m.sender)
	e.u64(m.currentEpoch)
	e.u64(m.configEpoch)
	e.u64(uint64(m.offset))
	e.id(m.masterID)
	e.str(m.ip)
	e.u16(m.port)
	e.u16(m.cport)
	e.u16(uint16(m.flags))
	if m.stateOK {
		e.u8(1)
	} else {
		e.u8(0)
	}
	e.u8(m.mflags)
	e.b = append(e.b, m.slots[:]...)
	switch m.typ {
	case msgPing, msgPong, msgMeet:
		e.u16(uint16(len(m.gossip)))
		for _, g := range m.gossip {
			e.id(g.id)
			e.u32(g.pingSent)
			e.u32(g.pongRecv)
			e.str(g.ip)
			e.u16(g.port)
			e.u16(g.cport)
			e.u16(uint16(g.flags))
		}
	case msgFail:
		e.id(m.about)
	case msgUpdate:
		e.id(m.about)
		e.u64(m.updateEpoch)
		slots := m.updateSlots
		if slots == nil {
			slots = new(slotBitmap)
		}
		e.b = append(e.b, slots[:]...)
	case msgPublish, msgPublishShard:
		e.u32(uint32(len(m.channel)))
		e.u32(uint32(len(m.payload)))
		e.b = append(e.b, m.channel...)
		e.b = append(e.b, m.payload...)
	}
	binary.BigEndian.PutUint32(e.b[4:8], uint32(len(e.b)))
	return e.b
}

// decoder reads big-endian fields; the first short read sticks as err.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated message")

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = errShort
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}
func (d *decoder) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}
func (d *decoder) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}
func (d *decoder) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// id reads a 40-byte id field; all zero bytes mean "none".
func (d *decoder) id() string {
	v := d.take(idLen)
	if v == nil || v[0] == 0 {
		return ""
	}
	s := string(v)
	if !validID(s) {
		d.err = fmt.Errorf("invalid node id in message")
	}
	return s
}
func (d *decoder) str() string {
	n := int(d.u8())
	return string(d.take(n))
}

// decodeMessage parses one frame body (everything after magic and length).
func decodeMessage(body []byte) (*message, error) {
	d := &decoder{b: body}
	m := &message{}
	m.typ = d.u16()
	m.sender = d.id()
	m.currentEpoch = d.u64()
	m.configEpoch = d.u64()
	m.offset = int64(d.u64())
	m.masterID = d.id()
	m.ip = d.str()
	m.port = d.u16()
	m.cport = d.u16()
	m.flags = nodeFlags(d.u16())
	m.stateOK = d.u8() == 1
	m.mflags = d.u8()
	copy(m.slots[:], d.take(len(m.slots)))
	if d.err == nil && m.sender == "" {
		return nil, errors.New("message without sender id")
	}
	switch m.typ {
	case msgPing, msgPong, msgMeet:
		count := int(d.u16())
		if count > maxGossip {
			return nil, fmt.Errorf("too many gossip entries (%d)", count)
		}
		for i := 0; i < count && d.err == nil; i++ {
			g := gossipEntry{id: d.id(), pingSent: d.u32(), pongRecv: d.u32(), ip: d.str()}
			g.port, g.cport, g.flags = d.u16(), d.u16(), nodeFlags(d.u16())
			m.gossip = append(m.gossip, g)
		}
	case msgFail:
		m.about = d.id()
	case msgUpdate:
		m.about = d.id()
		m.updateEpoch = d.u64()
		m.updateSlots = new(slotBitmap)
		copy(m.updateSlots[:], d.take(len(m.updateSlots)))
	case msgPublish, msgPublishShard:
		chLen, msgLen := d.u32(), d.u32()
		if d.err == nil && uint64(chLen)+uint64(msgLen) != uint64(len(d.b)) {
			return nil, fmt.Errorf("publish message lengths %d+%d do not match its frame", chLen, msgLen)
		}
		m.channel = append([]byte(nil), d.take(int(chLen))...)
		m.payload = append([]byte(nil), d.take(int(msgLen))...)
	case msgAuthRequest, msgAuthAck, msgMFStart:
	default:
		return nil, fmt.Errorf("unknown message type %d", m.typ)
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}
