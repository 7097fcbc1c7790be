package rdb

import (
	"bytes"
	"errors"
	"testing"
)

// sampleStream has two nodes, a tombstone, an entry with its own fields,
// integer-looking values and a group whose PEL two consumers share.
func sampleStream() *Stream {
	b := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i, x := range s {
			out[i] = []byte(x)
		}
		return out
	}
	return &Stream{
		Nodes: []StreamNode{
			{MasterID: StreamID{1, 1}, MasterFields: b("f"), Entries: []StreamEntry{
				{ID: StreamID{1, 1}, Fields: b("f", "v")},
				{ID: StreamID{1, 2}, Deleted: true, Fields: b("f", "12")},
				{ID: StreamID{2, 0}, Fields: b("a", "-7000", "b", "")},
			}},
			{MasterID: StreamID{5, 0}, MasterFields: b("x"), Entries: []StreamEntry{{ID: StreamID{5, 0}, Fields: b("x", "y")}}},
		},
		Length: 3, LastID: StreamID{9, 9}, FirstID: StreamID{1, 1}, MaxDeletedID: StreamID{1, 2}, EntriesAdded: 7,
		Groups: []StreamGroup{{Name: []byte("g"), LastID: StreamID{5, 0}, EntriesRead: -1,
			PEL:       []StreamNACK{{ID: StreamID{1, 1}, DeliveryTime: 1700000000000, DeliveryCount: 2}, {ID: StreamID{5, 0}, DeliveryTime: 5, DeliveryCount: 1}},
			Consumers: []StreamConsumer{{Name: []byte("a"), SeenTime: 3, Pending: []StreamID{{1, 1}}}, {Name: []byte("b"), Pending: []StreamID{{5, 0}}}, {Name: []byte("idle")}},
		}},
	}
}

func TestStreamRoundTrip(t *testing.T) {
	v := Value{Kind: KindStream, Stream: sampleStream()}
	p := EncodeDump(v)
	got, err := DecodeDump(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(EncodeDump(got), p) {
		t.Fatal("a decoded stream encodes differently")
	}
}

// Every way a stream payload can lie is refused as corrupt data (RESTORE's
// "Bad data format"), never loaded into a stream the engine would then
// trip over, and never a panic: each truncation and each single-byte
// change of a valid payload is tried.
func TestStreamHostilePayloads(t *testing.T) {
	good := EncodeDump(Value{Kind: KindStream, Stream: sampleStream()})
	body := good[:len(good)-10]
	for n := 1; n < len(body); n++ {
		if _, err := DecodeDump(withFooter(body[:n], 10)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated at %d: err = %v", n, err)
		}
	}
	for i := 1; i < len(body); i++ {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(body)
			bad[i] ^= x
			v, err := DecodeDump(withFooter(bad, 10))
			if err == nil { // still a valid stream: it must encode back to itself
				if _, err := DecodeDump(EncodeDump(v)); err != nil {
					t.Fatalf("byte %d ^ %#x accepted but does not round-trip: %v", i, x, err)
				}
			}
		}
	}
	lies := map[string]func(s *Stream){
		"length":            func(s *Stream) { s.Length = 5 },
		"unordered entries": func(s *Stream) { s.Nodes[0].Entries[0].ID = StreamID{3, 0} },
		"unordered nodes":   func(s *Stream) { s.Nodes[1].MasterID, s.Nodes[1].Entries[0].ID = StreamID{0, 1}, StreamID{0, 1} },
		"entry past last":   func(s *Stream) { s.LastID = StreamID{1, 0} },
		"pending twice":     func(s *Stream) { s.Groups[0].Consumers[1].Pending = []StreamID{{1, 1}} },
		"pending orphan":    func(s *Stream) { s.Groups[0].Consumers[1].Pending = nil },
		"unknown pending":   func(s *Stream) { s.Groups[0].Consumers[2].Pending = []StreamID{{7, 7}} },
		"duplicate group":   func(s *Stream) { s.Groups = append(s.Groups, s.Groups[0]) },
		"duplicate nack":    func(s *Stream) { s.Groups[0].PEL[1].ID = StreamID{1, 1} },
		"empty node":        func(s *Stream) { s.Nodes[1].Entries = nil; s.Length = 2 },
	}
	for name, lie := range lies {
		s := sampleStream()
		lie(s)
		if _, err := DecodeDump(EncodeDump(Value{Kind: KindStream, Stream: s})); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want corrupt", name, err)
		}
	}
}

// A Redis 5/6 stream (type 15: no first ID, max deleted ID, entries-added
// or group read counters) loads with those derived as Redis derives them.
func TestStreamType15(t *testing.T) {
	s := sampleStream()
	s.Groups[0].LastID = StreamID{1, 1}
	lp := &listpackBuilder{}
	body := []byte{typeStreamLP}
	body = appendLen(body, uint64(len(s.Nodes)))
	for i := range s.Nodes {
		body = appendRawString(body, appendStreamID(nil, s.Nodes[i].MasterID))
		lp.buf = lp.buf[:0]
		streamNodeListpack(lp, &s.Nodes[i])
		lp.finish()
		body = appendRawString(body, lp.buf)
	}
	body = appendLen(appendLen(appendLen(body, s.Length), s.LastID.Ms), s.LastID.Seq)
	body = appendLen(body, 1)
	g := s.Groups[0]
	body = appendRawString(body, g.Name)
	body = appendLen(appendLen(body, g.LastID.Ms), g.LastID.Seq)
	body = appendLen(body, uint64(len(g.PEL)))
	for _, p := range g.PEL {
		body = appendStreamID(body, p.ID)
		body = append(body, 0, 0, 0, 0, 0, 0, 0, 0)
		body = appendLen(body, p.DeliveryCount)
	}
	body = appendLen(body, uint64(len(g.Consumers)))
	for _, c := range g.Consumers {
		body = appendRawString(body, c.Name)
		body = append(body, 0, 0, 0, 0, 0, 0, 0, 0)
		body = appendLen(body, uint64(len(c.Pending)))
		for _, id := range c.Pending {
			body = appendStreamID(body, id)
		}
	}
	v, err := DecodeDump(withFooter(body, 9))
	if err != nil {
		t.Fatal(err)
	}
	got := v.Stream
	if got.EntriesAdded != 3 || got.FirstID != (StreamID{1, 1}) || got.MaxDeletedID != (StreamID{}) {
		t.Fatalf("derived metadata: added %d first %v maxdel %v", got.EntriesAdded, got.FirstID, got.MaxDeletedID)
	}
	// the group's last ID is the first entry: entries_added - length + 1
	if got.Groups[0].EntriesRead != 1 {
		t.Fatalf("group entries-read %d, want 1", got.Groups[0].EntriesRead)
	}
}
