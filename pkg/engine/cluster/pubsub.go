package cluster

// Pub/sub over the cluster bus, as Redis does it: a PUBLISH on any node
// reaches the subscribers of every node, an SPUBLISH the nodes of the
// publisher's shard (its master and that master's replicas), and a shard
// that loses a slot drops the shard channels of that slot.

// pubsubHooks connect the bus to the node's pub/sub registry.
type pubsubHooks struct {
	deliver func(channel, message []byte, shard bool) // a message from another node
	lost    func(slots []int)                         // slots my shard no longer serves
	pending []int                                     // lost slots not yet reported (mu held)
}

// OnPublish installs the function that hands messages published on other
// nodes to local subscribers; it is called outside the cluster lock.
func (c *Cluster) OnPublish(fn func(channel, message []byte, shard bool)) {
	c.mu.Lock()
	c.pubsub.deliver = fn
	c.mu.Unlock()
}

// OnSlotsLost installs the function told, outside the cluster lock, of
// slots that this node's shard served and no longer does.
func (c *Cluster) OnSlotsLost(fn func(slots []int)) {
	c.mu.Lock()
	c.pubsub.lost = fn
	c.mu.Unlock()
}

// Publish sends a message published here to the other nodes: every node
// for PUBLISH, the other nodes of this shard for SPUBLISH.
func (c *Cluster) Publish(channel, message []byte, shard bool) {
	c.mu.Lock()
	defer c.unlock()
	typ := uint16(msgPublish)
	if shard {
		typ = msgPublishShard
	}
	m := c.header(typ)
	m.channel, m.payload = channel, message
	if !shard {
		c.broadcast(m)
		return
	}
	master := c.myMasterOrMe()
	for _, n := range append([]*node{master}, master.replicas...) {
		if n != c.myself && n.link != nil && n.flags&flagHandshake == 0 {
			c.sendOn(n.link, m)
		}
	}
}

// deliverPublished hands a message from the bus to the local subscribers
// once the lock is released (mu held).
func (c *Cluster) deliverPublished(m *message) {
	if fn := c.pubsub.deliver; fn != nil {
		shard := m.typ == msgPublishShard
		c.afterUnlok = append(c.afterUnlok, func() { fn(m.channel, m.payload, shard) })
	}
}

// noteSlotLost records that slot left this node's shard (mu held).
func (c *Cluster) noteSlotLost(slot int) {
	if c.pubsub.lost != nil {
		c.pubsub.pending = append(c.pubsub.pending, slot)
	}
}

// reportLostSlots queues the hook call for the slots noted while mu was
// held (mu held, called by unlock).
func (c *Cluster) reportLostSlots() {
	if len(c.pubsub.pending) == 0 {
		return
	}
	lost, fn := c.pubsub.pending, c.pubsub.lost
	c.pubsub.pending = nil
	c.afterUnlok = append(c.afterUnlok, func() { fn(lost) })
}
