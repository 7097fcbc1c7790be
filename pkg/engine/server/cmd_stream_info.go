package server

import (
	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("xinfo", -2, "readonly", 2, 2, 1, cmdXInfo)
}

var xinfoArity = map[string]int{"consumers": 4, "groups": 3, "help": 2, "stream": -3}

// cmdXInfo: XINFO STREAM key [FULL [COUNT n]] | GROUPS key |
// CONSUMERS key group | HELP, with Redis 7.0's fields (maps in RESP3).
func cmdXInfo(c *Client, args [][]byte) {
	sub, ok := c.checkSubcommand(args, "XINFO", xinfoArity)
	if !ok {
		return
	}
	if sub == "help" {
		c.writeHelp("XINFO", xinfoHelp)
		return
	}
	key := args[2]
	s, ok := c.stream(key, false)
	if !ok {
		return
	}
	if s == nil {
		c.w.WriteError(errNoSuchKey)
		return
	}
	switch sub {
	case "consumers":
		g := s.Group(args[3])
		if g == nil {
			c.w.WriteError("NOGROUP No such consumer group '" + cString(args[3]) + "' for key name '" + cString(key) + "'")
			return
		}
		now := c.srv.DB.Now()
		consumers := g.Consumers()
		c.w.WriteArrayLen(len(consumers))
		for _, cons := range consumers {
			c.w.WriteMapLen(3)
			c.w.WriteBulkString("name")
			c.w.WriteBulkString(cons.Name)
			c.w.WriteBulkString("pending")
			c.w.WriteInt(int64(cons.PELLen()))
			c.w.WriteBulkString("idle")
			c.w.WriteInt(max(now-cons.SeenTime, 0))
		}
	case "groups":
		groups := s.Groups()
		c.w.WriteArrayLen(len(groups))
		for _, g := range groups {
			c.w.WriteMapLen(6)
			c.w.WriteBulkString("name")
			c.w.WriteBulkString(g.Name)
			c.w.WriteBulkString("consumers")
			c.w.WriteInt(int64(g.ConsumerCount()))
			c.w.WriteBulkString("pending")
			c.w.WriteInt(int64(g.PELLen()))
			c.w.WriteBulkString("last-delivered-id")
			c.writeID(g.LastID)
			c.writeGroupCounters(s, g)
		}
	case "stream":
		c.xinfoStream(s, args)
	}
}

// writeGroupCounters writes a group's entries-read and lag (null when unknown).
func (c *Client) writeGroupCounters(s *store.Stream, g *store.StreamGroup) {
	c.w.WriteBulkString("entries-read")
	if g.EntriesRead != -1 {
		c.w.WriteInt(g.EntriesRead)
	} else {
		c.w.WriteNull()
	}
	c.w.WriteBulkString("lag")
	if lag, known := s.Lag(g); known {
		c.w.WriteInt(lag)
	} else {
		c.w.WriteNull()
	}
}

func (c *Client) xinfoStream(s *store.Stream, args [][]byte) {
	opts := args[3:]
	full, count := false, int64(10)
	if len(opts) > 0 {
		if len(opts) != 1 && len(opts) != 3 || !eq(opts[0], "full") || len(opts) == 3 && !eq(opts[1], "count") {
			c.subcommandSyntaxError(args)
			return
		}
		full = true
		if len(opts) == 3 {
			n, ok := c.longLongOrReply(opts[2], "")
			if !ok {
				return
			}
			count = n
			if count < 0 {
				count = 10
			}
		}
	}
	if full {
		c.w.WriteMapLen(9)
	} else {
		c.w.WriteMapLen(10)
	}
	c.w.WriteBulkString("length")
	c.w.WriteInt(int64(s.Length))
	c.w.WriteBulkString("radix-tree-keys")
	c.w.WriteInt(int64(s.Nodes()))
	c.w.WriteBulkString("radix-tree-nodes")
	c.w.WriteInt(int64(s.RaxNodes()))
	c.w.WriteBulkString("last-generated-id")
	c.writeID(s.LastID)
	c.w.WriteBulkString("max-deleted-entry-id")
	c.writeID(s.MaxDeletedID)
	c.w.WriteBulkString("entries-added")
	c.w.WriteInt(int64(s.EntriesAdded))
	c.w.WriteBulkString("recorded-first-entry-id")
	c.writeID(s.FirstID)
	if !full {
		c.w.WriteBulkString("groups")
		c.w.WriteInt(int64(s.GroupCount()))
		for _, rev := range []bool{false, true} {
			if rev {
				c.w.WriteBulkString("last-entry")
			} else {
				c.w.WriteBulkString("first-entry")
			}
			if items := collectRange(s, store.StreamID{}, store.MaxStreamID, rev, 1); len(items) > 0 {
				c.writeEntry(items[0])
			} else {
				c.w.WriteNull()
			}
		}
		return
	}
	c.w.WriteBulkString("entries")
	c.writeEntries(collectRange(s, store.StreamID{}, store.MaxStreamID, false, countOrAll(count)))
	c.w.WriteBulkString("groups")
	groups := s.Groups()
	c.w.WriteArrayLen(len(groups))
	for _, g := range groups {
		c.w.WriteMapLen(7)
		c.w.WriteBulkString("name")
		c.w.WriteBulkString(g.Name)
		c.w.WriteBulkString("last-delivered-id")
		c.writeID(g.LastID)
		c.writeGroupCounters(s, g)
		c.w.WriteBulkString("pel-count")
		c.w.WriteInt(int64(g.PELLen()))
		c.w.WriteBulkString("pending")
		pel := firstNACKs(g.AscendPEL, count)
		c.w.WriteArrayLen(len(pel))
		for _, n := range pel {
			c.w.WriteArrayLen(4)
			c.writeID(n.ID)
			c.w.WriteBulkString(n.Consumer.Name)
			c.w.WriteInt(n.DeliveryTime)
			c.w.WriteInt(int64(n.DeliveryCount))
		}
		c.w.WriteBulkString("consumers")
		consumers := g.Consumers()
		c.w.WriteArrayLen(len(consumers))
		for _, cons := range consumers {
			c.w.WriteMapLen(4)
			c.w.WriteBulkString("name")
			c.w.WriteBulkString(cons.Name)
			c.w.WriteBulkString("seen-time")
			c.w.WriteInt(cons.SeenTime)
			c.w.WriteBulkString("pel-count")
			c.w.WriteInt(int64(cons.PELLen()))
			c.w.WriteBulkString("pending")
			own := firstNACKs(cons.AscendPEL, count)
			c.w.WriteArrayLen(len(own))
			for _, n := range own {
				c.w.WriteArrayLen(3)
				c.writeID(n.ID)
				c.w.WriteInt(n.DeliveryTime)
				c.w.WriteInt(int64(n.DeliveryCount))
			}
		}
	}
}

// firstNACKs collects the first count entries of a pending entries list
// (all of them when count is 0), as XINFO STREAM FULL lists them.
func firstNACKs(ascend func(store.StreamID, func(*store.StreamNACK) bool), count int64) []*store.StreamNACK {
	var out []*store.StreamNACK
	ascend(store.StreamID{}, func(n *store.StreamNACK) bool {
		out = append(out, n)
		return count == 0 || int64(len(out)) < count
	})
	return out
}
