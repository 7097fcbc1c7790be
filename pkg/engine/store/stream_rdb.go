package store

import "github.com/gocluster/gocluster/pkg/engine/rdb"

// export is the stream in the rdb package's form, node by node; the field
// bytes are shared (the store never changes them in place).
func (s *Stream) export() *rdb.Stream {
	out := &rdb.Stream{Length: s.Length, LastID: s.LastID, FirstID: s.FirstID,
		MaxDeletedID: s.MaxDeletedID, EntriesAdded: s.EntriesAdded, Nodes: make([]rdb.StreamNode, len(s.nodes))}
	for i, n := range s.nodes {
		rn := rdb.StreamNode{MasterID: n.master, MasterFields: n.masterFields, Entries: make([]rdb.StreamEntry, len(n.entries))}
		for j, e := range n.entries {
			rn.Entries[j] = rdb.StreamEntry{ID: e.id, Deleted: e.deleted, Fields: e.fields}
		}
		out.Nodes[i] = rn
	}
	for _, g := range s.Groups() {
		rg := rdb.StreamGroup{Name: []byte(g.Name), LastID: g.LastID, EntriesRead: g.EntriesRead}
		g.pel.Scan(func(n *StreamNACK) bool {
			rg.PEL = append(rg.PEL, rdb.StreamNACK{ID: n.ID, DeliveryTime: n.DeliveryTime, DeliveryCount: n.DeliveryCount})
			return true
		})
		for _, c := range g.Consumers() {
			rc := rdb.StreamConsumer{Name: []byte(c.Name), SeenTime: c.SeenTime}
			c.pel.Scan(func(n *StreamNACK) bool {
				rc.Pending = append(rc.Pending, n.ID)
				return true
			})
			rg.Consumers = append(rg.Consumers, rc)
		}
		out.Groups = append(out.Groups, rg)
	}
	return out
}

// importStream builds a stream from a decoded value (which the rdb
// decoder checked: ordered IDs, consistent counts and PELs).
func importStream(v *rdb.Stream) *Stream {
	s := &Stream{Length: v.Length, LastID: v.LastID, FirstID: v.FirstID,
		MaxDeletedID: v.MaxDeletedID, EntriesAdded: v.EntriesAdded}
	for i := range v.Nodes {
		rn := &v.Nodes[i]
		n := &streamNode{master: rn.MasterID, masterFields: rn.MasterFields}
		n.body = 6 + 1 + rdb.ListpackIntSize(int64(len(rn.MasterFields))) + 2
		for _, f := range rn.MasterFields {
			n.body += rdb.ListpackStringSize(f)
		}
		n.entries = make([]streamEntry, 0, len(rn.Entries))
		for _, e := range rn.Entries {
			n.add(streamEntry{id: e.ID, fields: e.Fields, deleted: e.Deleted})
		}
		s.nodes = append(s.nodes, n)
	}
	for _, rg := range v.Groups {
		g := s.CreateGroup(rg.Name, rg.LastID, rg.EntriesRead)
		if g == nil {
			continue
		}
		byID := make(map[StreamID]*StreamNACK, len(rg.PEL))
		for _, p := range rg.PEL {
			n := &StreamNACK{ID: p.ID, DeliveryTime: p.DeliveryTime, DeliveryCount: p.DeliveryCount}
			g.pel.Set(n)
			byID[p.ID] = n
		}
		for _, rc := range rg.Consumers {
			c := g.CreateConsumer(rc.Name, rc.SeenTime)
			if c == nil {
				continue
			}
			for _, id := range rc.Pending {
				if n := byID[id]; n != nil {
					n.Consumer = c
					c.pel.Set(n)
				}
			}
		}
	}
	return s
}
