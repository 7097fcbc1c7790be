package store

import (
	"sort"

	"github.com/tidwall/btree"
)

// StreamGroup is a consumer group: its last delivered ID, its logical read
// counter (-1 when unknown), its pending entries list (PEL) and its
// consumers. A pending entry is shared by the group's PEL and its owner's.
type StreamGroup struct {
	Name        string
	LastID      StreamID
	EntriesRead int64
	pel         *btree.BTreeG[*StreamNACK]
	consumers   map[string]*StreamConsumer
}

// StreamNACK is a pending entry: delivered, not yet acknowledged.
type StreamNACK struct {
	ID            StreamID
	DeliveryTime  int64
	DeliveryCount uint64
	Consumer      *StreamConsumer
}

// StreamConsumer is a consumer of a group, with its own pending entries.
type StreamConsumer struct {
	Name     string
	SeenTime int64
	pel      *btree.BTreeG[*StreamNACK]
}

func nackLess(a, b *StreamNACK) bool { return a.ID.Compare(b.ID) < 0 }

func newPEL() *btree.BTreeG[*StreamNACK] {
	return btree.NewBTreeGOptions(nackLess, btree.Options{NoLocks: true})
}

// Group returns the consumer group name, nil when there is none.
func (s *Stream) Group(name []byte) *StreamGroup { return s.groups[string(name)] }

// GroupCount is how many consumer groups the stream has.
func (s *Stream) GroupCount() int { return len(s.groups) }

// Groups returns the groups in name order (Redis keeps them in a radix tree).
func (s *Stream) Groups() []*StreamGroup {
	out := make([]*StreamGroup, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CreateGroup adds a group; nil when one of that name exists.
func (s *Stream) CreateGroup(name []byte, last StreamID, entriesRead int64) *StreamGroup {
	if s.groups[string(name)] != nil {
		return nil
	}
	if s.groups == nil {
		s.groups = map[string]*StreamGroup{}
	}
	g := &StreamGroup{Name: string(name), LastID: last, EntriesRead: entriesRead, pel: newPEL(), consumers: map[string]*StreamConsumer{}}
	s.groups[g.Name] = g
	return g
}

// DestroyGroup removes a group and reports whether it existed.
func (s *Stream) DestroyGroup(name []byte) bool {
	if s.groups[string(name)] == nil {
		return false
	}
	delete(s.groups, string(name))
	return true
}

// PELLen is the number of pending entries of the group.
func (g *StreamGroup) PELLen() int { return g.pel.Len() }

// Pending returns the pending entry id, nil when there is none.
func (g *StreamGroup) Pending(id StreamID) *StreamNACK {
	n, _ := g.pel.Get(&StreamNACK{ID: id})
	return n
}

// AscendPEL calls fn with the group's pending entries from id on, in ID
// order, until it returns false. fn must not change the PEL.
func (g *StreamGroup) AscendPEL(from StreamID, fn func(*StreamNACK) bool) {
	g.pel.Ascend(&StreamNACK{ID: from}, fn)
}

// PELEdges returns the lowest and highest pending IDs (the PEL is not empty).
func (g *StreamGroup) PELEdges() (StreamID, StreamID) {
	lo, _ := g.pel.Min()
	hi, _ := g.pel.Max()
	return lo.ID, hi.ID
}

// AddPending records id as delivered to c at now, or, when it was pending
// already, gives it to c with a fresh delivery time and count (Redis's
// streamReplyWithRange does both).
func (g *StreamGroup) AddPending(id StreamID, c *StreamConsumer, now int64) *StreamNACK {
	if n := g.Pending(id); n != nil {
		if n.Consumer != nil {
			n.Consumer.pel.Delete(n)
		}
		n.Consumer, n.DeliveryTime, n.DeliveryCount = c, now, 1
		c.pel.Set(n)
		return n
	}
	n := &StreamNACK{ID: id, DeliveryTime: now, DeliveryCount: 1, Consumer: c}
	g.pel.Set(n)
	c.pel.Set(n)
	return n
}

// InsertPending adds an unowned pending entry (XCLAIM FORCE); Claim gives
// it an owner.
func (g *StreamGroup) InsertPending(id StreamID, now int64) *StreamNACK {
	n := &StreamNACK{ID: id, DeliveryTime: now, DeliveryCount: 1}
	g.pel.Set(n)
	return n
}

// Claim makes c the owner of the pending entry n.
func (g *StreamGroup) Claim(n *StreamNACK, c *StreamConsumer) {
	if n.Consumer == c {
		return
	}
	if n.Consumer != nil {
		n.Consumer.pel.Delete(n)
	}
	n.Consumer = c
	c.pel.Set(n)
}

// Ack removes the pending entry id and reports whether there was one.
func (g *StreamGroup) Ack(id StreamID) bool {
	n, ok := g.pel.Delete(&StreamNACK{ID: id})
	if !ok {
		return false
	}
	if n.Consumer != nil {
		n.Consumer.pel.Delete(n)
	}
	return true
}

// Consumer returns the consumer name, nil when there is none.
func (g *StreamGroup) Consumer(name []byte) *StreamConsumer { return g.consumers[string(name)] }

// ConsumerCount is how many consumers the group has.
func (g *StreamGroup) ConsumerCount() int { return len(g.consumers) }

// Consumers returns the consumers in name order.
func (g *StreamGroup) Consumers() []*StreamConsumer {
	out := make([]*StreamConsumer, 0, len(g.consumers))
	for _, c := range g.consumers {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CreateConsumer adds a consumer seen at now; nil when it exists.
func (g *StreamGroup) CreateConsumer(name []byte, now int64) *StreamConsumer {
	if g.consumers[string(name)] != nil {
		return nil
	}
	c := &StreamConsumer{Name: string(name), SeenTime: now, pel: newPEL()}
	g.consumers[c.Name] = c
	return c
}

// DeleteConsumer removes a consumer and its pending entries, returning how
// many it had.
func (g *StreamGroup) DeleteConsumer(c *StreamConsumer) int {
	n := c.pel.Len()
	c.pel.Scan(func(p *StreamNACK) bool {
		g.pel.Delete(p)
		return true
	})
	delete(g.consumers, c.Name)
	return n
}

// PELLen is the number of entries pending for the consumer.
func (c *StreamConsumer) PELLen() int { return c.pel.Len() }

// AscendPEL calls fn with the consumer's pending entries from id on, in ID
// order, until it returns false. fn must not change the PEL.
func (c *StreamConsumer) AscendPEL(from StreamID, fn func(*StreamNACK) bool) {
	c.pel.Ascend(&StreamNACK{ID: from}, fn)
}

// RangeHasTombstones reports whether an entry deleted by XDEL may lie
// between start and end (end nil: to the end), from the stream's metadata
// alone, as Redis's streamRangeHasTombstones.
func (s *Stream) RangeHasTombstones(start StreamID, end *StreamID) bool {
	if s.Length == 0 || s.MaxDeletedID == (StreamID{}) {
		return false
	}
	if s.FirstID.Compare(s.MaxDeletedID) > 0 {
		return false
	}
	e := MaxStreamID
	if end != nil {
		e = *end
	}
	return start.Compare(s.MaxDeletedID) <= 0 && s.MaxDeletedID.Compare(e) <= 0
}

// EstimateEntriesRead is the logical read counter of id, or -1 when it
// cannot be known (Redis's streamEstimateDistanceFromFirstEverEntry).
func (s *Stream) EstimateEntriesRead(id StreamID) int64 {
	if s.EntriesAdded == 0 {
		return 0
	}
	if s.Length == 0 && id.Compare(s.LastID) < 1 {
		return int64(s.EntriesAdded)
	}
	switch c := id.Compare(s.LastID); {
	case c == 0:
		return int64(s.EntriesAdded)
	case c > 0:
		return -1
	}
	if s.MaxDeletedID == (StreamID{}) || s.MaxDeletedID.Compare(s.FirstID) < 0 {
		switch c := id.Compare(s.FirstID); {
		case c < 0:
			return int64(s.EntriesAdded - s.Length)
		case c == 0:
			return int64(s.EntriesAdded - s.Length + 1)
		}
	}
	return -1
}

// Lag is how many entries the group has yet to read, ok false when that
// cannot be known (XINFO's null lag).
func (s *Stream) Lag(g *StreamGroup) (int64, bool) {
	if s.EntriesAdded == 0 {
		return 0, true
	}
	if g.EntriesRead != -1 && !s.RangeHasTombstones(g.LastID, nil) {
		return int64(s.EntriesAdded) - g.EntriesRead, true
	}
	if read := s.EstimateEntriesRead(g.LastID); read != -1 {
		return int64(s.EntriesAdded) - read, true
	}
	return 0, false
}
