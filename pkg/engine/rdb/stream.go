package rdb

import (
	"encoding/binary"
	"math"
	"strconv"
)

// Streams are kept node by node, as Redis keeps them: a node is one
// listpack of a radix tree, with a "master entry" (the fields of its first
// entry) that later entries with the same fields refer to, and entries
// deleted by XDEL or XTRIM left as flagged tombstones until their whole node
// goes. Keeping the nodes lets a DUMP/RESTORE or a reload give back the very
// same layout (XINFO's radix-tree-keys, what an approximate trim removes).

// StreamID is a stream entry ID: milliseconds and a sequence number.
type StreamID struct{ Ms, Seq uint64 }

// Compare returns -1, 0 or 1 as a is less than, equal to or greater than b.
func (a StreamID) Compare(b StreamID) int {
	switch {
	case a.Ms < b.Ms:
		return -1
	case a.Ms > b.Ms:
		return 1
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// StreamEntry is one entry of a node: its ID, whether it is a tombstone,
// and its field-value pairs (field, value, field, value...).
type StreamEntry struct {
	ID      StreamID
	Deleted bool
	Fields  [][]byte
}

// StreamNode is one listpack of a stream. MasterFields are the field names
// of the master entry; the node's radix tree key is MasterID.
type StreamNode struct {
	MasterID     StreamID
	MasterFields [][]byte
	Entries      []StreamEntry
}

// StreamNACK is a pending entry of a consumer group.
type StreamNACK struct {
	ID            StreamID
	DeliveryTime  int64
	DeliveryCount uint64
}

// StreamConsumer is a consumer of a group and the IDs it has pending.
// ActiveTime is read from Redis 7.2 payloads only (0 otherwise).
type StreamConsumer struct {
	Name       []byte
	SeenTime   int64
	ActiveTime int64
	Pending    []StreamID
}

// StreamGroup is a consumer group. EntriesRead is -1 when unknown.
type StreamGroup struct {
	Name        []byte
	LastID      StreamID
	EntriesRead int64
	PEL         []StreamNACK
	Consumers   []StreamConsumer
}

// Stream is a whole stream value with its metadata and consumer groups.
type Stream struct {
	Nodes        []StreamNode
	Length       uint64
	LastID       StreamID
	FirstID      StreamID
	MaxDeletedID StreamID
	EntriesAdded uint64
	Groups       []StreamGroup
}

// Stream listpack entry flags (Redis's STREAM_ITEM_FLAG_*).
const (
	streamFlagDeleted    = 1
	streamFlagSameFields = 2
)

// SameFields reports whether an entry's fields are the node's master
// fields, in which case the listpack stores only its values.
func (n *StreamNode) SameFields(e *StreamEntry) bool {
	if len(e.Fields) != 2*len(n.MasterFields) {
		return false
	}
	for i, f := range n.MasterFields {
		if string(e.Fields[2*i]) != string(f) {
			return false
		}
	}
	return true
}

// ListpackIntSize is how many bytes integer v takes in a listpack,
// back-length included.
func ListpackIntSize(v int64) int {
	switch {
	case v >= 0 && v <= 127:
		return 2
	case v >= -4096 && v <= 4095:
		return 3
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return 4
	case v >= -1<<23 && v < 1<<23:
		return 5
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 6
	}
	return 10
}

// ListpackStringSize is how many bytes s takes in a listpack: strings that
// are canonical integers are stored as integers, as Redis stores them.
func ListpackStringSize(s []byte) int {
	if len(s) <= 20 {
		if v, ok := parseCanonicalInt(s); ok {
			return ListpackIntSize(v)
		}
	}
	var n int
	switch l := len(s); {
	case l < 64:
		n = 1 + l
	case l < 4096:
		n = 2 + l
	default:
		n = 5 + l
	}
	return n + backlenSize(n)
}

func (l *listpackBuilder) addInt(v int64) {
	var buf [20]byte
	l.add(strconv.AppendInt(buf[:0], v, 10))
}

// streamNodeListpack builds a node's listpack as Redis lays it out: the
// master entry (live count, deleted count, field count, fields, 0), then
// each entry as flags, ID deltas, [field count, fields and] values, and its
// element count so the listpack can be walked backwards.
func streamNodeListpack(lp *listpackBuilder, n *StreamNode) {
	live, deleted := 0, 0
	for i := range n.Entries {
		if n.Entries[i].Deleted {
			deleted++
		} else {
			live++
		}
	}
	lp.begin()
	lp.addInt(int64(live))
	lp.addInt(int64(deleted))
	lp.addInt(int64(len(n.MasterFields)))
	for _, f := range n.MasterFields {
		lp.add(f)
	}
	lp.addInt(0)
	for i := range n.Entries {
		e := &n.Entries[i]
		same := n.SameFields(e)
		flags := int64(0)
		if e.Deleted {
			flags |= streamFlagDeleted
		}
		if same {
			flags |= streamFlagSameFields
		}
		lp.addInt(flags)
		lp.addInt(int64(e.ID.Ms - n.MasterID.Ms))
		lp.addInt(int64(e.ID.Seq - n.MasterID.Seq))
		pairs := len(e.Fields) / 2
		count := int64(pairs + 3)
		if !same {
			lp.addInt(int64(pairs))
			count += int64(pairs + 1)
		}
		for j := 0; j+1 < len(e.Fields); j += 2 {
			if !same {
				lp.add(e.Fields[j])
			}
			lp.add(e.Fields[j+1])
		}
		lp.addInt(count)
	}
}

func appendStreamID(buf []byte, id StreamID) []byte {
	buf = binary.BigEndian.AppendUint64(buf, id.Ms)
	return binary.BigEndian.AppendUint64(buf, id.Seq)
}

// appendStream writes the body of an RDB_TYPE_STREAM_LISTPACKS_2 object,
// what Redis 7.0 writes.
func appendStream(buf []byte, s *Stream, str, blob func(buf, s []byte) []byte) []byte {
	buf = appendLen(buf, uint64(len(s.Nodes)))
	lp := &listpackBuilder{}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		buf = appendRawString(buf, appendStreamID(nil, n.MasterID))
		lp.buf = lp.buf[:0]
		streamNodeListpack(lp, n)
		lp.finish()
		buf = blob(buf, lp.buf)
	}
	buf = appendLen(buf, s.Length)
	for _, v := range []uint64{s.LastID.Ms, s.LastID.Seq, s.FirstID.Ms, s.FirstID.Seq,
		s.MaxDeletedID.Ms, s.MaxDeletedID.Seq, s.EntriesAdded} {
		buf = appendLen(buf, v)
	}
	buf = appendLen(buf, uint64(len(s.Groups)))
	for i := range s.Groups {
		g := &s.Groups[i]
		buf = str(buf, g.Name)
		buf = appendLen(buf, g.LastID.Ms)
		buf = appendLen(buf, g.LastID.Seq)
		buf = appendLen(buf, uint64(g.EntriesRead))
		buf = appendLen(buf, uint64(len(g.PEL)))
		for _, p := range g.PEL {
			buf = appendStreamID(buf, p.ID)
			buf = binary.LittleEndian.AppendUint64(buf, uint64(p.DeliveryTime))
			buf = appendLen(buf, p.DeliveryCount)
		}
		buf = appendLen(buf, uint64(len(g.Consumers)))
		for _, c := range g.Consumers {
			buf = str(buf, c.Name)
			buf = binary.LittleEndian.AppendUint64(buf, uint64(c.SeenTime))
			buf = appendLen(buf, uint64(len(c.Pending)))
			for _, id := range c.Pending {
				buf = appendStreamID(buf, id)
			}
		}
	}
	return buf
}

func estimateStreamSize(s *Stream) int {
	if s == nil {
		return 0
	}
	n := 64
	for i := range s.Nodes {
		for _, e := range s.Nodes[i].Entries {
			n += 8
			for _, f := range e.Fields {
				n += len(f) + 2
			}
		}
	}
	for _, g := range s.Groups {
		n += len(g.Name) + 32 + 32*len(g.PEL)
		for _, c := range g.Consumers {
			n += len(c.Name) + 16 + 16*len(c.Pending)
		}
	}
	return n
}
