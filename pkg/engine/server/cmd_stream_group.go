package server

import (
	"math"
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("xgroup", -2, "write denyoom", 2, 2, 1, cmdXGroup)
	def("xack", -4, "write fast", 1, 1, 1, cmdXAck)
	def("xpending", -3, "readonly", 1, 1, 1, cmdXPending)
	def("xclaim", -6, "write fast", 1, 1, 1, cmdXClaim)
	def("xautoclaim", -6, "write fast", 1, 1, 1, cmdXAutoClaim)
}

// subcommandSyntaxError is Redis's addReplySubcommandSyntaxError.
func (c *Client) subcommandSyntaxError(args [][]byte) {
	c.w.WriteError("ERR unknown subcommand or wrong number of arguments for '" + printable(args[1], 128) +
		"'. Try " + string(upper(args[0])) + " HELP.")
}

func upper(b []byte) []byte {
	out := make([]byte, len(b))
	for i, ch := range b {
		if ch >= 'a' && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		out[i] = ch
	}
	return out
}

// checkSubcommand applies the arity Redis 7.0's command table gives each
// subcommand of a container command (XGROUP, XINFO).
func (c *Client) checkSubcommand(args [][]byte, container string, arity map[string]int) (string, bool) {
	sub := string(lower(args[1]))
	n, known := arity[sub]
	if !known {
		c.w.WriteError(unknownSubcommand(args[1], container))
		return "", false
	}
	if n > 0 && len(args) != n || n < 0 && len(args) < -n {
		c.w.WriteError("ERR wrong number of arguments for '" + string(lower([]byte(container))) + "|" + sub + "' command")
		return "", false
	}
	return sub, true
}

var xgroupArity = map[string]int{"create": -5, "createconsumer": 5, "delconsumer": 5, "destroy": 4, "help": 2, "setid": -5}

// cmdXGroup: XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP.
func cmdXGroup(c *Client, args [][]byte) {
	c.srv.streamBegin()
	sub, ok := c.checkSubcommand(args, "XGROUP", xgroupArity)
	if !ok {
		return
	}
	if sub == "help" {
		c.writeHelp("XGROUP", xgroupHelp)
		return
	}
	mkstream := false
	entriesRead := int64(-1)
	for i := 5; i < len(args); {
		switch {
		case sub == "create" && eq(args[i], "mkstream"):
			mkstream = true
			i++
		case (sub == "create" || sub == "setid") && eq(args[i], "entriesread") && i+1 < len(args):
			n, good := c.longLongOrReply(args[i+1], "")
			if !good {
				return
			}
			if n < 0 && n != -1 {
				c.w.WriteError("ERR value for ENTRIESREAD must be positive or -1")
				return
			}
			entriesRead = n
			i += 2
		default:
			c.subcommandSyntaxError(args)
			return
		}
	}
	key, name := args[2], args[3]
	s, ok := c.stream(key, false)
	if !ok {
		return
	}
	var g *store.StreamGroup
	if !mkstream {
		if s == nil {
			c.w.WriteError("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
			return
		}
		if g = s.Group(name); g == nil && (sub == "setid" || sub == "createconsumer" || sub == "delconsumer") {
			c.w.WriteError("NOGROUP No such consumer group '" + cString(name) + "' for key name '" + cString(key) + "'")
			return
		}
	}
	switch {
	case sub == "create" && len(args) <= 8:
		var id store.StreamID
		if string(args[4]) == "$" {
			if s != nil {
				id = s.LastID
			}
		} else if id, ok = c.streamIDOrReply(args[4], 0, true); !ok {
			return
		}
		if s == nil {
			s, _ = c.stream(key, true)
			c.srv.DB.Touch(key)
		}
		if s.CreateGroup(name, id, entriesRead) == nil {
			c.w.WriteError("BUSYGROUP Consumer Group name already exists")
			return
		}
		c.w.WriteRaw(okReply)
		c.srv.streamEvent("xgroup-create", key)
		c.srv.streamPropagate(args)
	case sub == "setid" && (len(args) == 5 || len(args) == 7):
		var id store.StreamID
		if string(args[4]) == "$" {
			id = s.LastID
		} else if id, ok = c.streamIDOrReply(args[4], 0, false); !ok {
			return
		}
		g.LastID, g.EntriesRead = id, entriesRead
		c.w.WriteRaw(okReply)
		c.srv.streamEvent("xgroup-setid", key)
		c.srv.streamPropagate(args)
	case sub == "destroy":
		if g == nil {
			c.w.WriteInt(0)
			c.srv.streamPropagate()
			return
		}
		s.DestroyGroup(name)
		s.Signals++ // blocked XREADGROUPs of the group get NOGROUP
		c.w.WriteInt(1)
		c.srv.streamEvent("xgroup-destroy", key)
		c.srv.streamPropagate(args)
	case sub == "createconsumer":
		if g.CreateConsumer(args[4], c.srv.DB.Now()) == nil {
			c.w.WriteInt(0)
			c.srv.streamPropagate()
			return
		}
		c.w.WriteInt(1)
		c.srv.streamEvent("xgroup-createconsumer", key)
		c.srv.streamPropagate(args)
	case sub == "delconsumer":
		cons := g.Consumer(args[4])
		if cons == nil {
			c.w.WriteInt(0)
			c.srv.streamPropagate()
			return
		}
		c.w.WriteInt(int64(g.DeleteConsumer(cons)))
		c.srv.streamEvent("xgroup-delconsumer", key)
		c.srv.streamPropagate(args)
	default:
		c.subcommandSyntaxError(args)
	}
}

// streamGroupOrNil looks up key's stream and group; ok is false when an
// error (WRONGTYPE) was written.
func (c *Client) streamGroupOrNil(key, group []byte) (*store.Stream, *store.StreamGroup, bool) {
	s, ok := c.stream(key, false)
	if !ok || s == nil {
		return s, nil, ok
	}
	return s, s.Group(group), true
}

func (c *Client) noGroup(key, group []byte) {
	c.w.WriteError("NOGROUP No such key '" + cString(key) + "' or consumer group '" + cString(group) + "'")
}

// cmdXAck: XACK key group id...
func cmdXAck(c *Client, args [][]byte) {
	c.srv.streamBegin()
	_, g, ok := c.streamGroupOrNil(args[1], args[2])
	if !ok {
		return
	}
	if g == nil {
		c.w.WriteInt(0)
		c.srv.streamPropagate()
		return
	}
	ids := make([]store.StreamID, 0, len(args)-3)
	for _, a := range args[3:] {
		id, good := c.streamIDOrReply(a, 0, true)
		if !good {
			return
		}
		ids = append(ids, id)
	}
	acked := 0
	for _, id := range ids {
		if g.Ack(id) {
			acked++
		}
	}
	if acked > 0 {
		c.srv.streamPropagate(args)
	} else {
		c.srv.streamPropagate()
	}
	c.w.WriteInt(int64(acked))
}

// cmdXPending: XPENDING key group [[IDLE ms] start end count [consumer]].
func cmdXPending(c *Client, args [][]byte) {
	if len(args) != 3 && (len(args) < 6 || len(args) > 9) {
		c.w.WriteError(errSyntax)
		return
	}
	var start, end store.StreamID
	var count, minIdle int64
	var consumerName []byte
	if len(args) >= 6 {
		at := 3
		if eq(args[3], "idle") {
			n, ok := c.longLongOrReply(args[4], "")
			if !ok {
				return
			}
			minIdle = n
			if len(args) < 8 {
				c.w.WriteError(errSyntax)
				return
			}
			at += 2
		}
		n, ok := c.longLongOrReply(args[at+2], "")
		if !ok {
			return
		}
		count = max(n, 0)
		if start, ok = c.intervalIDOrReply(args[at], 0, true); !ok {
			return
		}
		if end, ok = c.intervalIDOrReply(args[at+1], math.MaxUint64, false); !ok {
			return
		}
		if at+3 < len(args) {
			consumerName = args[at+3]
		}
	}
	_, g, ok := c.streamGroupOrNil(args[1], args[2])
	if !ok {
		return
	}
	if g == nil {
		c.noGroup(args[1], args[2])
		return
	}
	if len(args) == 3 {
		c.w.WriteArrayLen(4)
		c.w.WriteInt(int64(g.PELLen()))
		if g.PELLen() == 0 {
			c.w.WriteNull()
			c.w.WriteNull()
			c.w.WriteNullArray()
			return
		}
		lo, hi := g.PELEdges()
		c.writeID(lo)
		c.writeID(hi)
		var owners []*store.StreamConsumer
		for _, cons := range g.Consumers() {
			if cons.PELLen() > 0 {
				owners = append(owners, cons)
			}
		}
		c.w.WriteArrayLen(len(owners))
		for _, cons := range owners {
			c.w.WriteArrayLen(2)
			c.w.WriteBulkString(cons.Name)
			c.w.WriteBulk(strconv.AppendInt(nil, int64(cons.PELLen()), 10))
		}
		return
	}
	ascend := g.AscendPEL
	if consumerName != nil {
		cons := g.Consumer(consumerName)
		if cons == nil {
			c.w.WriteArrayLen(0)
			return
		}
		ascend = cons.AscendPEL
	}
	now := c.srv.DB.Now()
	var out []*store.StreamNACK
	if count > 0 {
		ascend(start, func(n *store.StreamNACK) bool {
			if n.ID.Compare(end) > 0 {
				return false
			}
			if minIdle != 0 && now-n.DeliveryTime < minIdle {
				return true
			}
			out = append(out, n)
			return int64(len(out)) < count
		})
	}
	c.w.WriteArrayLen(len(out))
	for _, n := range out {
		c.w.WriteArrayLen(4)
		c.writeID(n.ID)
		c.w.WriteBulkString(n.Consumer.Name)
		c.w.WriteInt(max(now-n.DeliveryTime, 0))
		c.w.WriteInt(int64(n.DeliveryCount))
	}
}
