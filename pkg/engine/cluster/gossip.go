package cluster

import (
	"math/rand/v2"
	"net"
	"time"
)

// header fills the fields every message carries, from myself (mu held). A
// replica advertises its master's slots and config epoch, as Redis does.
func (c *Cluster) header(typ uint16) *message {
	me := c.myself
	m := &message{typ: typ, sender: me.id, currentEpoch: c.currentEpoch,
		port: uint16(me.port), cport: uint16(me.cport), flags: me.flags &^ flagMyself,
		stateOK: c.stateOK, offset: me.replOffset}
	if c.announced {
		m.ip = me.ip
	}
	master := c.myMasterOrMe()
	m.slots = master.slots
	m.configEpoch = master.configEpoch
	if me.isSlave() && me.master != nil {
		m.masterID = me.master.id
	}
	return m
}

func (c *Cluster) sendOn(l *link, m *message) {
	if l == nil || l.conn == nil {
		return
	}
	if l.send(m.encode()) && int(m.typ) < msgTypeCount {
		c.statsSent[m.typ]++
	}
}

// sendPing sends PING, PONG or MEET with gossip about other nodes: a tenth
// of them (at least three), plus every node we think is failing, so failure
// reports spread fast.
func (c *Cluster) sendPing(l *link, typ uint16) {
	m := c.header(typ)
	var candidates, failing []*node
	for _, n := range c.nodes {
		if n == c.myself || n.flags&(flagHandshake|flagNoAddr) != 0 || (l.node == n) {
			continue
		}
		if n.flags&flagPFail != 0 {
			failing = append(failing, n)
		} else if n.link != nil || n.numSlots > 0 {
			candidates = append(candidates, n)
		}
	}
	wanted := max(3, len(c.nodes)/10)
	if len(candidates) <= 8 { // small clusters: tell everything, converge fast
		wanted = len(candidates)
	}
	rand.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
	if wanted < len(candidates) {
		candidates = candidates[:wanted]
	}
	for _, n := range append(candidates, failing...) {
		m.gossip = append(m.gossip, gossipEntry{id: n.id, pingSent: uint32(n.pingSent / 1000),
			pongRecv: uint32(n.pongRecv / 1000), ip: n.ip, port: uint16(n.port),
			cport: uint16(n.cport), flags: n.flags &^ flagMyself})
	}
	if typ == msgPing && l.node != nil && l.node.pingSent == 0 {
		l.node.pingSent = mstime()
	}
	c.sendOn(l, m)
}

// broadcastPong tells every connected node about a configuration change now
// rather than at the next ping.
func (c *Cluster) broadcastPong() {
	for _, n := range c.nodes {
		if n != c.myself && n.link != nil && n.flags&flagHandshake == 0 {
			c.sendPing(n.link, msgPong)
		}
	}
}

func (c *Cluster) broadcast(m *message) {
	for _, n := range c.nodes {
		if n != c.myself && n.link != nil && n.flags&flagHandshake == 0 {
			c.sendOn(n.link, m)
		}
	}
}

func (c *Cluster) sendFail(failing *node) {
	m := c.header(msgFail)
	m.about = failing.id
	c.broadcast(m)
}

func (c *Cluster) sendUpdate(l *link, owner *node) {
	m := c.header(msgUpdate)
	m.about, m.updateEpoch, m.updateSlots = owner.id, owner.configEpoch, &owner.slots // encoded at once, under mu
	c.sendOn(l, m)
}

// learnEpochs takes the current epoch and the sender's config epoch from a
// message's header, and reports whether either grew. It must run before
// anything compares epochs: a node met or handshaken just now is at 0 in
// our table, and comparing with that would see a config epoch collision
// that is not there, whose needless bump can reach an epoch another master
// already has and start a chain of bumps while slots move.
func (c *Cluster) learnEpochs(sender *node, m *message) bool {
	changed := false
	if m.currentEpoch > c.currentEpoch {
		c.currentEpoch = m.currentEpoch
		changed = true
	}
	if m.configEpoch > sender.configEpoch {
		sender.configEpoch = m.configEpoch
		changed = true
	}
	return changed
}

// processMessage handles one packet (clusterProcessPacket); mu held.
func (c *Cluster) processMessage(l *link, m *message) {
	now := mstime()
	c.statsRecv[m.typ]++
	sender := c.nodes[m.sender]
	if sender != nil && sender.flags&flagHandshake != 0 {
		sender = nil
	}
	if sender == c.myself {
		return // a link to ourselves (e.g. MEET of our own address)
	}
	dirtyConfig := false
	if sender != nil {
		sender.dataRecv = now
		sender.replOffset = m.offset
		dirtyConfig = c.learnEpochs(sender, m)
	}
	defer func() {
		if l.inbound && sender != nil {
			l.peer = sender // for CLUSTER LINKS
		}
		if dirtyConfig {
			c.updateState()
			c.saveConfig()
		}
	}()

	switch m.typ {
	case msgPing, msgMeet:
		if !c.announced && (m.typ == msgMeet || c.myself.ip == "") {
			if ip := hostOf(l.conn.LocalAddr()); ip != "" && ip != c.myself.ip {
				c.myself.ip = ip
				dirtyConfig = true
			}
		}
		if sender == nil && m.typ == msgMeet && !c.blacklisted(m.sender) {
			// The header carries the real id, so the node joins directly.
			n := newNode(m.sender, m.flags&(flagMaster|flagSlave))
			if n.flags == 0 {
				n.flags = flagMaster
			}
			c.setAddressFromMessage(n, l, m)
			n.dataRecv = now
			c.nodes[n.id] = n
			sender = n
			c.learnEpochs(sender, m)
			dirtyConfig = true
			c.logf("cluster: met node %s at %s", n.id, n.addr())
		}
		c.sendPing(l, msgPong)
	}

	switch m.typ {
	case msgPing, msgPong, msgMeet:
		if !l.inbound && l.node != nil {
			n := l.node
			if n.flags&flagHandshake != 0 {
				if sender != nil { // we already know it under its real id
					if m.typ == msgPong && (sender.ip != n.ip || sender.port != n.port) && sender.link == nil {
						sender.ip, sender.port, sender.cport = n.ip, n.port, n.cport
						sender.flags &^= flagNoAddr
					}
					c.delNode(n)
					dirtyConfig = true
					return
				}
				c.renameNode(n, m.sender)
				n.flags &^= flagHandshake
				n.flags |= m.flags & (flagMaster | flagSlave)
				if n.flags&(flagMaster|flagSlave) == 0 {
					n.flags |= flagMaster
				}
				sender = n
				sender.dataRecv = now
				c.learnEpochs(sender, m)
				dirtyConfig = true
			} else if n.id != m.sender {
				// The node at this address changed id (CLUSTER RESET HARD):
				// forget its address until gossip tells us where it went.
				c.logf("cluster: node %s at %s now answers as %s", n.id, n.addr(), m.sender)
				n.flags |= flagNoAddr
				n.ip, n.port, n.cport = "", 0, 0
				c.freeLink(l)
				dirtyConfig = true
				return
			}
		}
		if sender != nil && l.inbound && m.typ == msgPing {
			if c.setAddressFromMessage(sender, l, m) {
				dirtyConfig = true
			}
		}
		if !l.inbound && l.node != nil && m.typ == msgPong {
			n := l.node
			n.pongRecv = now
			n.pingSent = 0
			if n.timedOut() {
				n.flags &^= flagPFail
				c.updateState()
			} else if n.failed() {
				c.clearFailureIfNeeded(n)
			}
		}
		if sender == nil {
			return
		}
		if c.updateRole(sender, m) {
			dirtyConfig = true
		}
		if sender.isMaster() && sender.slots != m.slots {
			if c.updateSlotsConfigWith(sender, m.configEpoch, &m.slots) {
				dirtyConfig = true
			}
			// If we know a newer owner for a slot the sender claims, tell it.
			m.slots.eachSetAndNot(&sender.slots, func(j int) bool {
				if owner := c.slots[j]; owner != nil && owner.configEpoch > m.configEpoch {
					c.sendUpdate(l, owner)
					return false
				}
				return true
			})
		}
		// The header's epoch, as Redis: our table's entry never goes down,
		// so it can be above what a node that became a master again sends.
		if sender.isMaster() && c.myself.isMaster() && m.configEpoch == c.myself.configEpoch {
			if c.handleConfigEpochCollision(sender) {
				dirtyConfig = true
			}
		}
		c.processGossip(sender, m)
	case msgFail:
		if sender == nil {
			return
		}
		if f := c.nodes[m.about]; f != nil && f != c.myself && f.flags&flagFail == 0 {
			c.logf("cluster: FAIL message about %s from %s", f.id, sender.id)
			f.flags |= flagFail
			f.flags &^= flagPFail
			f.failTime = now
			dirtyConfig = true
		}
	case msgUpdate:
		if sender == nil {
			return
		}
		n := c.nodes[m.about]
		if n == nil || n.configEpoch >= m.updateEpoch {
			return
		}
		if n.isSlave() {
			c.setNodeAsMaster(n)
		}
		n.configEpoch = m.updateEpoch
		c.updateSlotsConfigWith(n, m.updateEpoch, m.updateSlots)
		dirtyConfig = true
	case msgPublish, msgPublishShard:
		if sender != nil {
			c.deliverPublished(m)
		}
	case msgAuthRequest:
		if sender != nil {
			c.voteIfNeeded(sender, l, m)
		}
	case msgAuthAck:
		if sender != nil {
			c.countVote(sender, m)
		}
	}
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, _ := net.SplitHostPort(a.String())
	return host
}

// setAddressFromMessage records where a node is: the ip it announces, or the
// socket's remote address (nodeUpdateAddressIfNeeded).
func (c *Cluster) setAddressFromMessage(n *node, l *link, m *message) bool {
	ip := m.ip
	if ip == "" {
		ip = hostOf(l.conn.RemoteAddr())
	}
	port, cport := int(m.port), int(m.cport)
	if n.ip == ip && n.port == port && n.cport == cport {
		return false
	}
	n.ip, n.port, n.cport = ip, port, cport
	n.flags &^= flagNoAddr
	if n.link != nil {
		c.freeLink(n.link) // reconnect to the new address
	}
	return true
}

// updateRole applies what the sender says about being a master or a replica.
func (c *Cluster) updateRole(sender *node, m *message) bool {
	if m.masterID == "" {
		if sender.isSlave() {
			c.setNodeAsMaster(sender)
			return true
		}
		return false
	}
	changed := false
	if sender.isMaster() {
		c.delNodeSlots(sender)
		sender.flags &^= flagMaster | flagMigrateTo
		sender.flags |= flagSlave
		changed = true
	}
	master := c.nodes[m.masterID]
	if master != nil && sender.master != master && master != sender {
		if sender.master != nil {
			sender.master.removeReplica(sender)
		}
		sender.master = master
		master.addReplica(sender)
		changed = true
	}
	return changed
}

// updateSlotsConfigWith applies a master's slot claims where its config epoch
// wins (clusterUpdateSlotsConfigWith). When this node's master loses its last
// slot to sender, this node follows sender as a replica.
func (c *Cluster) updateSlotsConfigWith(sender *node, epoch uint64, claimed *slotBitmap) bool {
	if sender == c.myself {
		return false
	}
	curMaster := c.myMasterOrMe()
	var newMaster *node
	var lostWithKeys []int
	changed := false
	migratedOurs := 0
	claimed.eachSetAndNot(&sender.slots, func(j int) bool {
		owner := c.slots[j]
		if c.importing[j] != nil || owner != nil && owner.configEpoch >= epoch {
			return true
		}
		handedOver := owner == c.myself && c.handOver.has(j)
		if owner == c.myself && !handedOver {
			lostWithKeys = append(lostWithKeys, j)
		}
		if owner == curMaster && !handedOver {
			newMaster = sender
			migratedOurs++
		}
		c.delSlot(j)
		c.addSlot(sender, j)
		changed = true
		return true
	})
	if !changed {
		return false
	}
	c.updateState()
	// Without replica migration, follow sender only when it took all of
	// our shard's slots at once: it is our shard's new master (a failover).
	follow := !c.cfg.NoReplicaMigration || claimed.count() == migratedOurs
	if newMaster != nil && curMaster.numSlots == 0 && follow {
		c.logf("cluster: lost my last slot to %s, becoming its replica", sender.id)
		c.setMyMaster(sender)
	} else if me := c.myself; me.master != nil && me.master.master != nil && me.master.master != me {
		// Our master turned into a replica (it lost its last slot) before
		// we learnt where its slots went: replicate its master instead of
		// staying a replica of a replica.
		c.logf("cluster: I'm a sub-replica, becoming a replica of %s", me.master.master.id)
		c.setMyMaster(me.master.master)
	} else if len(lostWithKeys) > 0 {
		if del, ok := c.ks.(SlotKeyDeleter); ok {
			c.afterUnlok = append(c.afterUnlok, func() {
				for _, j := range lostWithKeys {
					del.DeleteKeysInSlot(j)
				}
			})
		}
	}
	return true
}

// handleConfigEpochCollision: two masters with the same config epoch; the one
// with the smaller id takes a new epoch, so every master's epoch is unique.
func (c *Cluster) handleConfigEpochCollision(sender *node) bool {
	if sender.id <= c.myself.id {
		return false
	}
	c.currentEpoch++
	c.myself.configEpoch = c.currentEpoch
	c.logf("cluster: config epoch collision with %s, my epoch is now %d", sender.id, c.currentEpoch)
	return true
}

// processGossip handles what the sender says about other nodes.
func (c *Cluster) processGossip(sender *node, m *message) {
	now := mstime()
	for _, g := range m.gossip {
		n := c.nodes[g.id]
		if n == nil {
			if g.flags&flagNoAddr == 0 && g.ip != "" && g.id != c.myself.id && !c.blacklisted(g.id) {
				c.startHandshake(g.ip, int(g.port), int(g.cport), false)
			}
			continue
		}
		if n == c.myself {
			continue
		}
		if sender.isMaster() {
			if g.flags&(flagFail|flagPFail) != 0 {
				n.failReports[sender] = now
				c.markFailingIfNeeded(n)
			} else {
				delete(n.failReports, sender)
			}
		}
		// A node we cannot reach but a peer can, at another address: move.
		if n.flags&(flagFail|flagPFail|flagNoAddr) != 0 && n.link == nil && g.flags&flagNoAddr == 0 &&
			g.ip != "" && (n.ip != g.ip || n.port != int(g.port) || n.cport != int(g.cport)) {
			n.ip, n.port, n.cport = g.ip, int(g.port), int(g.cport)
			n.flags &^= flagNoAddr
		}
	}
}

// validFailReports drops reports older than twice the node timeout and
// counts the rest.
func (c *Cluster) validFailReports(n *node) int {
	maxAge := 2 * c.cfg.NodeTimeout.Milliseconds()
	now := mstime()
	for r, t := range n.failReports {
		if now-t > maxAge || c.nodes[r.id] != r {
			delete(n.failReports, r)
		}
	}
	return len(n.failReports)
}

// markFailingIfNeeded promotes PFAIL to FAIL when a majority of masters agree.
func (c *Cluster) markFailingIfNeeded(n *node) {
	if !n.timedOut() || n.failed() {
		return
	}
	failures := c.validFailReports(n)
	if c.myself.isMaster() {
		failures++
	}
	if failures < c.size/2+1 {
		return
	}
	c.logf("cluster: marking node %s as failing (quorum reached)", n.id)
	n.flags &^= flagPFail
	n.flags |= flagFail
	n.failTime = mstime()
	c.sendFail(n)
	c.updateState()
	c.saveConfig()
}

// clearFailureIfNeeded lifts FAIL from a node that answers again: at once
// for replicas and slot-less masters, after 2*timeout for masters with slots.
func (c *Cluster) clearFailureIfNeeded(n *node) {
	now := mstime()
	if n.isSlave() || n.numSlots == 0 || now-n.failTime > 2*c.cfg.NodeTimeout.Milliseconds() {
		c.logf("cluster: clearing FAIL state of %s", n.id)
		n.flags &^= flagFail
		c.updateState()
		c.saveConfig()
	}
}

// startHandshake adds a node known only by address; it gets its real id from
// its first PONG. It reports false for an invalid address.
func (c *Cluster) startHandshake(ip string, port, cport int, meet bool) bool {
	parsed := net.ParseIP(ip)
	if parsed == nil || port <= 0 || port > 65535 || cport <= 0 || cport > 65535 {
		return false
	}
	ip = parsed.String()
	for _, n := range c.nodes {
		if n.flags&flagHandshake != 0 && n.ip == ip && n.port == port && n.cport == cport {
			if meet && n.link == nil {
				n.flags |= flagMeet // the user asked for a MEET: send one when we connect
			}
			return true // already in progress
		}
	}
	n := newNode(randomID(), flagHandshake|flagMaster)
	if meet {
		n.flags |= flagMeet
	}
	n.ip, n.port, n.cport = ip, port, cport
	c.nodes[n.id] = n
	return true
}

func (c *Cluster) blacklisted(id string) bool {
	until, ok := c.blacklist[id]
	if !ok {
		return false
	}
	if time.Now().Unix() > until {
		delete(c.blacklist, id)
		return false
	}
	return true
}

// pingInterval grows with the cluster so big clusters do not flood the bus,
// while small ones converge within a second.
func (c *Cluster) pingInterval() int64 {
	iv := int64(200 + 20*len(c.nodes))
	if half := c.cfg.NodeTimeout.Milliseconds() / 2; iv > half {
		iv = max(half, 10)
	}
	return iv
}

// cron is the periodic housekeeping (clusterCron); mu held.
func (c *Cluster) cron() {
	now := mstime()
	timeout := c.cfg.NodeTimeout.Milliseconds()
	handshakeTimeout := max(timeout, 1000)
	interval := c.pingInterval()
	changed := false
	for _, n := range c.nodes {
		if n == c.myself || n.flags&flagNoAddr != 0 {
			continue
		}
		if n.flags&flagHandshake != 0 && now-n.ctime > handshakeTimeout {
			c.delNode(n)
			continue
		}
		if n.link == nil && !n.connecting {
			c.connect(n)
			continue
		}
		if n.link == nil || n.flags&flagHandshake != 0 {
			continue
		}
		// A link with an old unanswered ping and no traffic: reconnect.
		if now-n.link.ctime > timeout && n.pingSent != 0 && now-n.pingSent > timeout/2 && now-n.dataRecv > timeout/2 {
			c.freeLink(n.link)
			continue
		}
		if n.pingSent == 0 && now-n.pongRecv > interval {
			c.sendPing(n.link, msgPing)
		}
	}
	for _, n := range c.nodes {
		if n == c.myself || n.flags&(flagNoAddr|flagHandshake) != 0 || n.pingSent == 0 {
			continue
		}
		delay := min(now-n.pingSent, now-n.dataRecv)
		if delay > timeout && n.flags&(flagPFail|flagFail) == 0 {
			c.logf("cluster: node %s might be failing (no pong for %dms)", n.id, delay)
			n.flags |= flagPFail
			changed = true
		}
	}
	c.failoverCron()
	c.replicaMigrationCron(now)
	c.updateState()
	c.commitLocked() // normally done by the client's reply flush already
	if changed {
		c.saveConfig()
	}
}
