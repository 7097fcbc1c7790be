package server

import (
	"math"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("xread", -4, "readonly blocking movablekeys", 0, 0, 0, cmdXRead).movable = xreadKeys
	def("xreadgroup", -7, "write blocking movablekeys", 0, 0, 0, cmdXRead).movable = xreadKeys
}

// xreadBlockedCount is Redis's XREAD_BLOCKED_DEFAULT_COUNT: a blocked read
// without COUNT is served at most this many entries.
const xreadBlockedCount = 1000

// xreadKeys finds the keys after STREAMS: the first half of what follows it.
func xreadKeys(args [][]byte) []int {
	pos := 0
scan:
	for i := 1; i < len(args); i++ {
		switch {
		case eq(args[i], "block"), eq(args[i], "count"):
			i++
		case eq(args[i], "group"):
			i += 2
		case eq(args[i], "noack"):
		case eq(args[i], "streams"):
			pos = i
			break scan
		default:
			break scan
		}
	}
	n := (len(args) - pos - 1) / 2 // with an odd count too, as Redis's key specs read it
	if pos == 0 || n == 0 {
		return nil
	}
	out := make([]int, n)
	for i := range out {
		out[i] = pos + 1 + i
	}
	return out
}

// xreadRequest is a parsed XREAD or XREADGROUP.
type xreadRequest struct {
	group, consumer []byte
	noack           bool
	count           int64
	keys            [][]byte
	ids             []store.StreamID // ">" is MaxStreamID
	args            [][]byte
	// seen is each key's stream and its Signals when the read blocked: a
	// blocked read is looked at again for a key only once it was
	// signaled, or replaced by another value
	seen []streamSeen
}

type streamSeen struct {
	s       *store.Stream
	signals uint64
}

func (r *xreadRequest) readgroup() bool { return r.group != nil }

// cmdXRead: XREAD [COUNT n] [BLOCK ms] STREAMS key... id... and
// XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...
func cmdXRead(c *Client, args [][]byte) {
	c.srv.streamBegin()
	xreadgroup := len(args[0]) == 10
	r := &xreadRequest{args: args}
	timeout := int64(-1)
	streamsArg := 0
	for i := 1; i < len(args); i++ {
		more := len(args) - i - 1
		o := args[i]
		switch {
		case eq(o, "block") && more > 0:
			if c.isScriptClient() {
				c.w.WriteError("ERR " + string(args[0]) + " command is not allowed with BLOCK option from scripts")
				return
			}
			i++
			ms, ok := c.longLongOrReply(args[i], "timeout is not an integer or out of range")
			if !ok {
				return
			}
			if ms < 0 {
				c.w.WriteError("ERR timeout is negative")
				return
			}
			timeout = ms
		case eq(o, "count") && more > 0:
			i++
			n, ok := c.longLongOrReply(args[i], "")
			if !ok {
				return
			}
			r.count = max(n, 0)
		case eq(o, "streams") && more > 0:
			streamsArg = i + 1
			if (len(args)-streamsArg)%2 != 0 {
				c.w.WriteError("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
				return
			}
			i = len(args)
		case eq(o, "group") && more >= 2:
			if !xreadgroup {
				c.w.WriteError("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			r.group, r.consumer = args[i+1], args[i+2]
			i += 2
		case eq(o, "noack"):
			if !xreadgroup {
				c.w.WriteError("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			r.noack = true
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	if streamsArg == 0 {
		c.w.WriteError(errSyntax)
		return
	}
	if xreadgroup && r.group == nil {
		c.w.WriteError("ERR Missing GROUP option for XREADGROUP")
		return
	}
	n := (len(args) - streamsArg) / 2
	r.keys = args[streamsArg : streamsArg+n]
	r.ids = make([]store.StreamID, n)
	for i, key := range r.keys {
		s, ok := c.stream(key, false)
		if !ok {
			return
		}
		if r.readgroup() && (s == nil || s.Group(r.group) == nil) {
			c.w.WriteError("NOGROUP No such key '" + cString(key) + "' or consumer group '" + cString(r.group) + "' in XREADGROUP with GROUP option")
			return
		}
		idArg := args[streamsArg+n+i]
		switch string(idArg) {
		case "$":
			if xreadgroup {
				c.w.WriteError("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
				return
			}
			if s != nil {
				r.ids[i] = s.LastID
			}
		case ">":
			if !xreadgroup {
				c.w.WriteError("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
				return
			}
			r.ids[i] = store.MaxStreamID
		default:
			id, ok := c.streamIDOrReply(idArg, 0, true)
			if !ok {
				return
			}
			r.ids[i] = id
		}
	}
	if c.serveXRead(r) {
		c.srv.streamPropagate()
		return
	}
	c.srv.streamPropagate() // nothing served, nothing changed
	if timeout == -1 || c.inExec || c.r == nil {
		c.w.WriteNullArray() // no BLOCK, or a client that cannot block
		return
	}
	if r.count == 0 {
		r.count = xreadBlockedCount
	}
	r.seen = make([]streamSeen, len(r.keys))
	for i, key := range r.keys {
		if s, _ := c.srv.DB.Stream(key, false); s != nil {
			r.seen[i] = streamSeen{s, s.Signals}
		}
	}
	wait := time.Duration(0) // forever
	if timeout > 0 && timeout < math.MaxInt64/int64(time.Millisecond) {
		wait = time.Duration(timeout) * time.Millisecond
	}
	c.afterCall = func() {
		served := c.block(wait, func(bool) bool { return c.serveBlockedXRead(r) })
		if !served && !c.closeNow {
			c.w.WriteNullArray()
		}
	}
}

// cString is a key or name as Redis prints it in an error with %s: up to
// a NUL byte, line breaks turned into spaces (addReplyErrorFormat).
func cString(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, ch := range b {
		if ch == 0 {
			break
		}
		if ch == '\r' || ch == '\n' {
			ch = ' '
		}
		out = append(out, ch)
	}
	return string(out)
}

// isScriptClient tells the client a script's commands run as.
func (c *Client) isScriptClient() bool {
	h, ok := scriptHosts.Load(c.srv)
	return ok && h.(*scriptHost).client == c
}

// xreadServed is what one stream gives a read.
type xreadServed struct {
	key   []byte
	items []streamItem
}

// serveXRead answers a read at once if any stream has something for it
// (Redis's "serve synchronously" rules) and reports whether it did.
func (c *Client) serveXRead(r *xreadRequest) bool {
	var out []xreadServed
	for i, key := range r.keys {
		s, _ := c.srv.DB.Stream(key, false)
		if s == nil {
			continue
		}
		gt := r.ids[i]
		var g *store.StreamGroup
		history, serve := false, false
		if r.readgroup() {
			g = s.Group(r.group)
			if gt != store.MaxStreamID {
				serve, history = true, true
			} else if s.Length > 0 && s.LastValidID().Compare(g.LastID) > 0 {
				serve, gt = true, g.LastID
			}
		} else if s.Length > 0 && s.LastValidID().Compare(gt) > 0 {
			serve = true
		}
		if !serve {
			continue
		}
		start, _ := incrID(gt)
		var items []streamItem
		if g != nil {
			consumer := c.readConsumer(key, g, r)
			if history {
				items = consumerHistory(s, consumer, start, r.count, c.srv.DB.Now())
			} else {
				items = c.deliver(key, s, g, consumer, start, r.count, r.noack)
			}
		} else {
			items = collectRange(s, start, store.MaxStreamID, false, countOrAll(r.count))
		}
		out = append(out, xreadServed{key, items})
	}
	if len(out) == 0 {
		return false
	}
	if c.w.Proto() >= 3 {
		c.w.WriteMapLen(len(out))
	} else {
		c.w.WriteArrayLen(len(out))
	}
	for _, o := range out {
		if c.w.Proto() < 3 {
			c.w.WriteArrayLen(2)
		}
		c.w.WriteBulk(o.key)
		c.writeEntries(o.items)
	}
	return true
}

func countOrAll(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

// readConsumer finds (seen now) or creates the reading consumer; a consumer
// created by a NOACK read is propagated, as no XCLAIM will create it.
func (c *Client) readConsumer(key []byte, g *store.StreamGroup, r *xreadRequest) *store.StreamConsumer {
	now := c.srv.DB.Now()
	if cons := g.Consumer(r.consumer); cons != nil {
		cons.SeenTime = now
		return cons
	}
	cons := g.CreateConsumer(r.consumer, now)
	c.srv.streamEvent("xgroup-createconsumer", key)
	if r.noack {
		c.srv.streamPropagate(createConsumerForm(key, g, r.consumer))
	}
	return cons
}

// deliver gives the consumer the entries from start on (Redis's
// streamReplyWithRange with a group): the group's last ID and read counter
// advance, each entry joins the PEL (unless noack), and each delivery is
// propagated as an XCLAIM (a NOACK read as XGROUP SETID).
func (c *Client) deliver(key []byte, s *store.Stream, g *store.StreamGroup, consumer *store.StreamConsumer,
	start store.StreamID, count int64, noack bool) []streamItem {
	items := collectRange(s, start, store.MaxStreamID, false, countOrAll(count))
	now := c.srv.DB.Now()
	propagateLastID := false
	for _, it := range items {
		if it.id.Compare(g.LastID) > 0 {
			if g.EntriesRead != -1 && !s.RangeHasTombstones(it.id, nil) {
				g.EntriesRead++
			} else if s.EntriesAdded != 0 {
				g.EntriesRead = s.EstimateEntriesRead(it.id)
			}
			g.LastID = it.id
			propagateLastID = propagateLastID || noack
		}
		if !noack {
			n := g.AddPending(it.id, consumer, now)
			c.srv.streamPropagate(xclaimForm(key, g, it.id, n))
		}
	}
	if propagateLastID {
		c.srv.streamPropagate(setIDForm(key, g))
	}
	return items
}

// consumerHistory is a consumer's own pending entries from start on, each
// counted as delivered again; an entry whose message is gone comes back
// with a null body.
func consumerHistory(s *store.Stream, consumer *store.StreamConsumer, start store.StreamID, count, now int64) []streamItem {
	var items []streamItem
	consumer.AscendPEL(start, func(n *store.StreamNACK) bool {
		if count != 0 && int64(len(items)) >= count {
			return false
		}
		fields, ok := s.Get(n.ID)
		if ok {
			n.DeliveryTime = now
			n.DeliveryCount++
			if fields == nil {
				fields = [][]byte{}
			}
		}
		items = append(items, streamItem{n.ID, fields})
		return true
	})
	return items
}

// serveBlockedXRead is a blocked read's retry after a write (Redis's
// serveClientsBlockedOnStreamKey): the first stream with entries past the
// ID (for a group, past its last delivered ID) serves it. A group read
// ends with an error when its key or group is gone.
func (c *Client) serveBlockedXRead(r *xreadRequest) bool {
	for i, key := range r.keys {
		kind := c.srv.DB.Type(key)
		if r.readgroup() && kind != store.KindStream {
			c.w.WriteError("UNBLOCKED the stream key no longer exists")
			return true
		}
		if kind != store.KindStream {
			continue
		}
		s, _ := c.srv.DB.Stream(key, false)
		if s == r.seen[i].s && s.Signals == r.seen[i].signals {
			continue // not signaled since the read blocked
		}
		gt := r.ids[i]
		var g *store.StreamGroup
		if r.readgroup() {
			if g = s.Group(r.group); g == nil {
				c.w.WriteError("NOGROUP the consumer group this client was blocked on no longer exists")
				return true
			}
			gt = g.LastID
		}
		if s.LastID.Compare(gt) <= 0 {
			r.seen[i] = streamSeen{s, s.Signals} // wait for the next signal
			continue
		}
		start, _ := incrID(gt)
		c.srv.streamBegin()
		var items []streamItem
		if g != nil {
			consumer := c.readConsumer(key, g, r)
			items = c.deliver(key, s, g, consumer, start, r.count, r.noack)
		} else {
			items = collectRange(s, start, store.MaxStreamID, false, countOrAll(r.count))
		}
		if c.w.Proto() >= 3 {
			c.w.WriteMapLen(1)
		} else {
			c.w.WriteArrayLen(1)
			c.w.WriteArrayLen(2)
		}
		c.w.WriteBulk(key)
		c.writeEntries(items)
		if g != nil {
			c.srv.publishStreamEvents()
			if c.srv.streams.set && len(c.srv.streams.forms) > 0 {
				c.srv.afterWrite(lookupCommand(r.args[0]), r.args)
			}
		}
		return true
	}
	return false
}
