package server

import (
	"runtime"
	"strings"

	"github.com/gocluster/gocluster/pkg/engine/pubsub"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// Pub/sub: the commands over pkg/engine/pubsub. A subscribed client gets a
// push goroutine that writes what publishers queue for it; every write to
// a client's connection (replies and pushes) holds its wmu, so the two
// never interleave.

func init() {
	def("subscribe", -2, "pubsub noscript loading stale nolock noroute", 0, 0, 0, cmdSubscribe)
	def("unsubscribe", -1, "pubsub noscript loading stale nolock noroute", 0, 0, 0, cmdUnsubscribe)
	def("psubscribe", -2, "pubsub noscript loading stale nolock noroute", 0, 0, 0, cmdPSubscribe)
	def("punsubscribe", -1, "pubsub noscript loading stale nolock noroute", 0, 0, 0, cmdPUnsubscribe)
	def("publish", 3, "pubsub loading stale fast may_replicate nolock noroute", 0, 0, 0, cmdPublish)
	def("pubsub", -2, "pubsub loading stale nolock noroute", 0, 0, 0, cmdPubsub)
	// Shard channels are routed like keys: one slot per command (CROSSSLOT),
	// MOVED to the owner, served by the owner's replicas too.
	def("ssubscribe", -2, "pubsub noscript loading stale nolock shardchannel", 1, -1, 1, cmdSSubscribe)
	def("sunsubscribe", -1, "pubsub noscript loading stale nolock shardchannel", 1, -1, 1, cmdSUnsubscribe)
	def("spublish", 3, "pubsub loading stale fast may_replicate nolock shardchannel", 1, 1, 1, cmdSPublish)
	def("reset", 1, "noscript loading stale fast no-auth nolock", 0, 0, 0, cmdReset)
}

// subscribedModeAllowed lists what a RESP2 client may run while subscribed.
func subscribedModeAllowed(name string) bool {
	switch name {
	case "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit", "reset":
		return true
	}
	return false
}

// subscription returns the client's pub/sub state, creating it (and its
// push goroutine) on first use.
func (c *Client) subscription() *pubsub.Sub {
	if c.sub == nil {
		c.infoMu.Lock() // other connections read it (tracking redirection)
		c.sub = pubsub.NewSub(c.w.Proto())
		c.infoMu.Unlock()
		c.pushStop = make(chan struct{})
		c.srv.wg.Add(1)
		go c.pushLoop(c.sub, c.pushStop)
	}
	return c.sub
}

// pushLoop writes queued pushes until the client goes away; a subscriber
// too slow for its queue limit is disconnected.
func (c *Client) pushLoop(sub *pubsub.Sub, stop chan struct{}) {
	defer c.srv.wg.Done()
	for {
		select {
		case <-stop:
			return
		case <-sub.Wake():
		}
		// Let the publishers that are ready run first: their messages
		// then leave in one write instead of one write each.
		runtime.Gosched()
		chunks, dead := sub.TakeChunks()
		if dead {
			c.srv.Logger.Printf("client %d %s: pub/sub output over %d bytes, closing the connection", c.id, c.conn.RemoteAddr(), pubsub.DefaultQueueLimit)
			c.conn.Close()
			return
		}
		if len(chunks) == 0 {
			continue
		}
		c.wmu.Lock()
		err := c.w.WriteChunks(chunks)
		c.wmu.Unlock()
		sub.Recycle(chunks)
		if err != nil {
			return
		}
	}
}

// endPubSub drops every subscription when the connection closes.
func (c *Client) endPubSub() {
	if c.sub == nil {
		return
	}
	c.srv.PubSub.RemoveAll(c.sub)
	close(c.pushStop)
}

// subscribedMode is RESP2's subscribed mode: the client listens to some
// channel, pattern or shard channel, and may only (un)subscribe, PING,
// QUIT or RESET. (A shard channel whose slot moved away ends by itself.)
func (c *Client) subscribedMode() bool {
	if c.sub == nil || c.w.Proto() != 2 {
		return false
	}
	ch, pat, shard := c.srv.PubSub.Count(c.sub)
	return ch+pat+shard > 0
}

func (c *Client) subscribeAll(args [][]byte, kind pubsub.Kind, verb string) {
	sub := c.subscription()
	for _, name := range args[1:] {
		c.srv.PubSub.Add(sub, kind, string(name))
		c.confirm(pubsub.Reply(c.w.Proto(), verb, name, c.subCount(kind)))
	}
}

// subCount is the count Redis reports in a (un)subscribe reply: channels
// plus patterns for the classic kinds, shard channels for the shard kind.
func (c *Client) subCount(kind pubsub.Kind) int64 {
	ch, pat, shard := c.srv.PubSub.Count(c.sub)
	if kind == pubsub.Shard {
		return int64(shard)
	}
	return int64(ch + pat)
}

func (c *Client) unsubscribeAll(args [][]byte, kind pubsub.Kind, verb string) {
	sub := c.subscription()
	names := args[1:]
	if len(names) == 0 {
		for _, n := range c.srv.PubSub.Names(sub, kind) {
			names = append(names, []byte(n))
		}
		if len(names) == 0 {
			c.confirm(pubsub.Reply(c.w.Proto(), verb, nil, c.subCount(kind)))
		}
	}
	for _, name := range names {
		c.srv.PubSub.Remove(sub, kind, string(name))
		c.confirm(pubsub.Reply(c.w.Proto(), verb, name, c.subCount(kind)))
	}
}

// confirm writes a (un)subscribe confirmation. It is a push, not a
// reply: under CLIENT REPLY OFF or SKIP it still goes out, queued behind
// the command's (dropped) reply.
func (c *Client) confirm(b []byte) {
	if c.repliesSilenced() {
		c.sub.Push(b)
	} else {
		c.w.WriteRaw(b)
	}
}

func cmdSubscribe(c *Client, args [][]byte) { c.subscribeAll(args, pubsub.Channel, "subscribe") }
func cmdUnsubscribe(c *Client, args [][]byte) {
	c.unsubscribeAll(args, pubsub.Channel, "unsubscribe")
}
func cmdPSubscribe(c *Client, args [][]byte) { c.subscribeAll(args, pubsub.Pattern, "psubscribe") }
func cmdPUnsubscribe(c *Client, args [][]byte) {
	c.unsubscribeAll(args, pubsub.Pattern, "punsubscribe")
}
func cmdSSubscribe(c *Client, args [][]byte) { c.subscribeAll(args, pubsub.Shard, "ssubscribe") }
func cmdSUnsubscribe(c *Client, args [][]byte) {
	c.unsubscribeAll(args, pubsub.Shard, "sunsubscribe")
}

// clusterPublisher is implemented by the cluster layer: it carries
// messages to the other nodes over the bus.
type clusterPublisher interface {
	Publish(channel, message []byte, shard bool)
}

// yieldToEarlierCommands lets the goroutines of connections whose
// commands arrived with this one run first. Go's netpoller hands a batch
// of ready connections to the scheduler last-in first-out, so without it
// a PUBLISH could overtake an UNSUBSCRIBE sent just before it on another
// connection, which redis-server's event loop never does. Only the first
// command of a read can be overtaken that way: the rest of a pipeline
// does not yield again.
func (c *Client) yieldToEarlierCommands() {
	if c.freshInput {
		runtime.Gosched()
		runtime.Gosched()
	}
}

func cmdPublish(c *Client, args [][]byte) {
	c.yieldToEarlierCommands()
	n := c.srv.PubSub.Publish(args[1], args[2])
	c.propagatePublish(args)
	if p, ok := c.srv.Cluster.(clusterPublisher); ok {
		p.Publish(args[1], args[2], false)
	}
	c.w.WriteInt(int64(n))
}

func cmdSPublish(c *Client, args [][]byte) {
	c.yieldToEarlierCommands()
	n := c.srv.PubSub.SPublish(args[1], args[2])
	c.propagatePublish(args)
	if p, ok := c.srv.Cluster.(clusterPublisher); ok {
		p.Publish(args[1], args[2], true)
	}
	c.w.WriteInt(int64(n))
}

func cmdPubsub(c *Client, args [][]byte) {
	hub := c.srv.PubSub
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "help" && len(args) == 2:
		c.writeHelp("PUBSUB", pubsubHelp)
	case (sub == "channels" || sub == "shardchannels") && len(args) <= 3:
		kind := pubsub.Channel
		if sub == "shardchannels" {
			kind = pubsub.Shard
		}
		var pat []byte
		if len(args) == 3 {
			pat = args[2]
		}
		names := hub.Active(kind, pat)
		c.w.WriteArrayLen(len(names))
		for _, n := range names {
			c.w.WriteBulkString(n)
		}
	case sub == "numsub" || sub == "shardnumsub":
		kind := pubsub.Channel
		if sub == "shardnumsub" {
			kind = pubsub.Shard
		}
		c.w.WriteArrayLen(2 * (len(args) - 2)) // a flat array in RESP3 too, as Redis 7.0
		for _, ch := range args[2:] {
			c.w.WriteBulk(ch)
			c.w.WriteInt(int64(hub.NumSub(kind, string(ch))))
		}
	case sub == "numpat" && len(args) == 2:
		c.w.WriteInt(int64(hub.NumPat()))
	case sub == "help" || sub == "numpat":
		c.w.WriteError("ERR wrong number of arguments for 'pubsub|" + sub + "' command")
	case sub == "channels" || sub == "shardchannels":
		c.w.WriteError("ERR unknown subcommand or wrong number of arguments for '" + printable(args[1], 128) + "'. Try PUBSUB HELP.")
	default:
		c.w.WriteError(unknownSubcommand(args[1], "PUBSUB"))
	}
}

// cmdReset puts the connection back as it was when it connected:
// transaction, subscriptions, protocol, name, READONLY and ASKING.
func cmdReset(c *Client, args [][]byte) {
	c.multi, c.multiErr = nil, false
	c.unwatchLocked()
	c.stopMonitor()
	if c.sub != nil {
		c.srv.PubSub.RemoveAll(c.sub)
	}
	c.srv.DB.Mu.Lock()
	c.srv.disableTracking(c)
	c.srv.DB.Mu.Unlock()
	c.asking = false
	c.infoMu.Lock()
	c.inMulti = false
	c.readonly = false
	c.name = ""
	c.w.SetProto(2)
	c.infoMu.Unlock()
	if c.sub != nil {
		c.sub.SetProto(2)
	}
	c.setUser("default")
	c.authed = c.srv.acl.noPassDefault()
	c.w.WriteSimple("RESET")
}

// propagatePublish sends PUBLISH and SPUBLISH to replicas, not to the AOF,
// when this node is not part of a cluster, as Redis does; in a cluster the
// bus carries them instead. Inside EXEC it joins the transaction's writes.
func (c *Client) propagatePublish(args [][]byte) {
	s := c.srv
	if s.Cluster != nil || !s.propagating() {
		return
	}
	if !c.scriptClient { // a script holds the store lock already
		s.DB.Mu.Lock()
		defer s.DB.Mu.Unlock()
	}
	if s.unit.depth > 0 {
		s.propagate(lookupCommand(args[0]), args)
		return
	}
	s.replFeed(resp.AppendCommand(nil, args...))
}
