package cluster

import "math/rand/v2"

// failoverState tracks this replica's election (clusterHandleSlaveFailover).
type failoverState struct {
	authTime  int64  // ms when the election may start / started; 0 = none scheduled
	authSent  bool   // votes requested for authEpoch
	authEpoch uint64 // epoch of the running election
	votes     int
	manual    bool // a CLUSTER FAILOVER [FORCE] is in progress
	manualEnd int64
}

func (c *Cluster) resetManualFailover() {
	c.failover.manual = false
	c.failover.manualEnd = 0
}

// authTimeout is how long an election may take before it is retried.
func (c *Cluster) authTimeout() int64 {
	return max(2*c.cfg.NodeTimeout.Milliseconds(), 2000)
}

// replicaRank orders replicas of the same master by replication offset: the
// most up to date one stands first.
func (c *Cluster) replicaRank() int {
	me := c.myself
	if me.master == nil {
		return 0
	}
	rank := 0
	for _, r := range me.master.replicas {
		if r != me && r.flags&flagNoFailover == 0 && r.replOffset > me.replOffset {
			rank++
		}
	}
	return rank
}

// failoverCron runs each cron tick: a replica whose master is FAIL (or that
// was told CLUSTER FAILOVER) holds an election and, with a majority of the
// masters' votes, takes over its master's slots.
func (c *Cluster) failoverCron() {
	me := c.myself
	f := &c.failover
	if me.isMaster() || me.master == nil || me.master.numSlots == 0 {
		f.authTime = 0
		return
	}
	if !f.manual && (!me.master.failed() || me.flags&flagNoFailover != 0) {
		f.authTime = 0
		return
	}
	now := mstime()
	if f.manual && now > f.manualEnd {
		c.logf("cluster: manual failover timed out")
		c.resetManualFailover()
		f.authTime = 0
		return
	}
	if f.authTime != 0 && now-f.authTime > 2*c.authTimeout() {
		f.authTime = 0 // the last election is over; allow a new one
	}
	if f.authTime == 0 {
		f.authTime = now
		if !f.manual { // stagger replicas so the best one usually wins
			f.authTime += 500 + rand.Int64N(500) + int64(c.replicaRank())*1000
		}
		f.authSent, f.votes = false, 0
		return
	}
	if now < f.authTime {
		return
	}
	if now-f.authTime > c.authTimeout() {
		return // this election expired; wait for the retry window
	}
	if !f.authSent {
		c.currentEpoch++
		f.authEpoch = c.currentEpoch
		f.authSent = true
		c.logf("cluster: starting failover election for epoch %d", f.authEpoch)
		m := c.header(msgAuthRequest)
		if f.manual {
			m.mflags |= mflagForceAck
		}
		c.broadcast(m)
		c.saveConfig()
		return
	}
	if f.votes >= c.size/2+1 {
		c.logf("cluster: failover election won (%d votes), taking over", f.votes)
		if me.configEpoch < f.authEpoch {
			me.configEpoch = f.authEpoch
		}
		c.takeOverMaster()
	}
}

// voteIfNeeded answers a replica's vote request (clusterSendFailoverAuthIfNeeded).
func (c *Cluster) voteIfNeeded(requester *node, l *link, m *message) {
	me := c.myself
	if me.isSlave() || me.numSlots == 0 {
		return
	}
	if m.currentEpoch < c.currentEpoch || c.lastVoteEpoch == c.currentEpoch {
		return
	}
	master := requester.master
	if !requester.isSlave() || master == nil {
		return
	}
	if !master.failed() && m.mflags&mflagForceAck == 0 {
		return
	}
	now := mstime()
	if now-master.votedTime < 2*c.cfg.NodeTimeout.Milliseconds() {
		return
	}
	for j := range NumSlots {
		if m.slots.has(j) && c.slots[j] != nil && c.slots[j].configEpoch > m.configEpoch {
			return // the requester's view of its slots is stale
		}
	}
	c.lastVoteEpoch = c.currentEpoch
	master.votedTime = now
	c.saveConfig()
	ack := c.header(msgAuthAck)
	if requester.link != nil {
		c.sendOn(requester.link, ack)
	} else {
		c.sendOn(l, ack)
	}
}

func (c *Cluster) countVote(voter *node, m *message) {
	f := &c.failover
	if voter.isMaster() && voter.numSlots > 0 && f.authSent && m.currentEpoch >= f.authEpoch {
		f.votes++
	}
}

// takeOverMaster makes myself the master of my old master's slots
// (clusterFailoverReplaceYourMaster) and tells everybody.
func (c *Cluster) takeOverMaster() {
	me := c.myself
	old := me.master
	if me.isMaster() || old == nil {
		return
	}
	c.setNodeAsMaster(me)
	for j := range NumSlots {
		if c.slots[j] == old {
			c.delSlot(j)
			c.addSlot(me, j)
		}
	}
	c.resetManualFailover()
	c.failover.authTime = 0
	c.updateState()
	c.saveConfig()
	c.broadcastPong()
}
