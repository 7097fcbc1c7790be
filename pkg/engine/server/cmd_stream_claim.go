package server

import (
	"math"
	"strings"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// XCLAIM and XAUTOCLAIM: pending entries change owner, each change
// propagated as Redis's idempotent XCLAIM form.

// claimer finds or creates, once, the consumer entries are claimed for.
type claimer struct {
	c        *Client
	key      []byte
	g        *store.StreamGroup
	name     []byte
	consumer *store.StreamConsumer
}

func (cl *claimer) get() *store.StreamConsumer {
	if cl.consumer == nil {
		now := cl.c.srv.DB.Now()
		if cl.consumer = cl.g.Consumer(cl.name); cl.consumer != nil {
			cl.consumer.SeenTime = now
		} else {
			cl.consumer = cl.g.CreateConsumer(cl.name, now)
			cl.c.srv.streamEvent("xgroup-createconsumer", cl.key)
		}
	}
	return cl.consumer
}

// cmdXClaim: XCLAIM key group consumer min-idle-time id... [IDLE ms]
// [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id].
func cmdXClaim(c *Client, args [][]byte) {
	c.srv.streamBegin()
	key := args[1]
	s, g, ok := c.streamGroupOrNil(key, args[2])
	if !ok {
		return
	}
	if g == nil {
		c.noGroup(key, args[2])
		return
	}
	minIdle, ok := c.longLongOrReply(args[4], "Invalid min-idle-time argument for XCLAIM")
	if !ok {
		return
	}
	minIdle = max(minIdle, 0)
	var ids []store.StreamID
	j := 5
	for ; j < len(args); j++ {
		id, _, good := parseStreamID(args[j], 0, true, false)
		if !good {
			break
		}
		ids = append(ids, id)
	}
	now := c.srv.DB.Now()
	retryCount, deliveryTime := int64(-1), int64(-1)
	force, justID := false, false
	var lastID store.StreamID
	for ; j < len(args); j++ {
		more := len(args) - 1 - j
		opt := args[j]
		switch {
		case eq(opt, "force"):
			force = true
		case eq(opt, "justid"):
			justID = true
		case (eq(opt, "idle") || eq(opt, "time") || eq(opt, "retrycount")) && more > 0:
			j++
			n, good := c.longLongOrReply(args[j], "Invalid "+strings.ToUpper(string(opt))+" option argument for XCLAIM")
			if !good {
				return
			}
			switch {
			case eq(opt, "idle"):
				deliveryTime = now - n
			case eq(opt, "time"):
				deliveryTime = n
			default:
				retryCount = n
			}
		case eq(opt, "lastid") && more > 0:
			j++
			id, good := c.streamIDOrReply(args[j], 0, true)
			if !good {
				return
			}
			lastID = id
		default:
			c.w.WriteError("ERR Unrecognized XCLAIM option '" + cString(opt) + "'")
			return
		}
	}
	propagateLastID := false
	if lastID.Compare(g.LastID) > 0 {
		g.LastID = lastID
		propagateLastID = true
	}
	if deliveryTime < 0 || deliveryTime > now {
		deliveryTime = now // also when neither IDLE nor TIME was given
	}
	cl := &claimer{c: c, key: key, g: g, name: args[3]}
	var out []streamItem
	for _, id := range ids {
		n := g.Pending(id)
		fields, exists := s.Get(id)
		if !exists {
			if n != nil { // the message is gone: so goes its pending entry
				c.srv.streamPropagate(xclaimForm(key, g, id, n))
				propagateLastID = false
				g.Ack(id)
			}
			continue
		}
		if force && n == nil {
			n = g.InsertPending(id, now)
		}
		if n == nil {
			continue
		}
		if n.Consumer != nil && minIdle != 0 && now-n.DeliveryTime < minIdle {
			continue
		}
		cons := cl.get()
		n.DeliveryTime = deliveryTime
		if retryCount >= 0 {
			n.DeliveryCount = uint64(retryCount)
		} else if !justID {
			n.DeliveryCount++
		}
		g.Claim(n, cons)
		out = append(out, streamItem{id, fields})
		c.srv.streamPropagate(xclaimForm(key, g, id, n))
		propagateLastID = false
	}
	if propagateLastID {
		c.srv.streamPropagate(setIDForm(key, g))
	}
	c.srv.streamPropagate()
	c.w.WriteArrayLen(len(out))
	for _, it := range out {
		if justID {
			c.writeID(it.id)
		} else {
			c.writeEntry(it)
		}
	}
}

// xautoclaimMaxCount is COUNT's upper bound (Redis: LONG_MAX / 16), and
// what it allocates for deleted IDs past which it gives up: COUNT values
// whose 16 bytes per ID a real server could not allocate.
const (
	xautoclaimMaxCount = math.MaxInt64 / 16
	xautoclaimMaxAlloc = 1 << 36
)

// cmdXAutoClaim: XAUTOCLAIM key group consumer min-idle-time start
// [COUNT n] [JUSTID]; replies [next cursor, claimed, deleted IDs].
func cmdXAutoClaim(c *Client, args [][]byte) {
	c.srv.streamBegin()
	key := args[1]
	minIdle, ok := c.longLongOrReply(args[4], "Invalid min-idle-time argument for XAUTOCLAIM")
	if !ok {
		return
	}
	minIdle = max(minIdle, 0)
	start, ok := c.intervalIDOrReply(args[5], 0, true)
	if !ok {
		return
	}
	count := int64(100)
	justID := false
	for j := 6; j < len(args); j++ {
		switch {
		case eq(args[j], "count") && j+1 < len(args):
			n, good := parseInt(args[j+1])
			if !good || n < 1 || n > xautoclaimMaxCount {
				c.w.WriteError("ERR COUNT must be > 0")
				return
			}
			count = n
			j++
		case eq(args[j], "justid"):
			justID = true
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	s, g, ok := c.streamGroupOrNil(key, args[2])
	if !ok {
		return
	}
	if g == nil {
		c.noGroup(key, args[2])
		return
	}
	if count*16 > xautoclaimMaxAlloc {
		c.w.WriteError("ERR Insufficient memory, failed allocating transient memory, COUNT too high.")
		return
	}
	now := c.srv.DB.Now()
	attempts := count * 10
	cl := &claimer{c: c, key: key, g: g, name: args[3]}
	var claimed []streamItem
	var deleted []store.StreamID
	cursor, eof := start, false
	for attempts > 0 && count > 0 {
		attempts--
		n := nextPending(g, cursor)
		if n == nil {
			eof = true
			break
		}
		id := n.ID
		next, more := incrID(id)
		cursor, eof = next, !more
		fields, exists := s.Get(id)
		if !exists {
			c.srv.streamPropagate(xclaimForm(key, g, id, n))
			g.Ack(id)
			deleted = append(deleted, id)
			count--
		} else if minIdle == 0 || now-n.DeliveryTime >= minIdle {
			cons := cl.get()
			n.DeliveryTime = now
			if !justID {
				n.DeliveryCount++
			}
			g.Claim(n, cons)
			claimed = append(claimed, streamItem{id, fields})
			count--
			c.srv.streamPropagate(xclaimForm(key, g, id, n))
		}
		if eof {
			break
		}
	}
	var endID store.StreamID
	if !eof {
		if n := nextPending(g, cursor); n != nil {
			endID = n.ID
		}
	}
	c.srv.streamPropagate()
	c.w.WriteArrayLen(3)
	c.writeID(endID)
	c.w.WriteArrayLen(len(claimed))
	for _, it := range claimed {
		if justID {
			c.writeID(it.id)
		} else {
			c.writeEntry(it)
		}
	}
	c.w.WriteArrayLen(len(deleted))
	for _, id := range deleted {
		c.writeID(id)
	}
}

// nextPending is the group's first pending entry at or after from.
func nextPending(g *store.StreamGroup, from store.StreamID) *store.StreamNACK {
	var out *store.StreamNACK
	g.AscendPEL(from, func(n *store.StreamNACK) bool {
		out = n
		return false
	})
	return out
}
