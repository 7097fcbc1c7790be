package cluster

import (
	"errors"
	"fmt"
)

// The cluster side of atomic slot migration (CLUSTER MIGRATESLOTS): the
// server streams the data; these methods answer its questions about the
// topology and perform the ownership flip on both ends.

// SlotOwnerID is the id of the master serving slot, "" when unassigned.
func (c *Cluster) SlotOwnerID(slot int) string {
	if slot < 0 || slot >= NumSlots {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.slots[slot]; n != nil {
		return n.id
	}
	return ""
}

// NodeAddr is the client address ("ip:port") of the node with this id.
func (c *Cluster) NodeAddr(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[id]
	if n == nil || n.ip == "" {
		return "", false
	}
	return n.addr(), true
}

// KnowsNode reports whether a node with this id is in the cluster table.
func (c *Cluster) KnowsNode(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id] != nil
}

// IsPrimary reports whether this node is a master.
func (c *Cluster) IsPrimary() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.myself.isMaster()
}

// ManualMigration reports an open slot (SETSLOT MIGRATING or IMPORTING):
// "migrating", "importing" or "". Atomic migration refuses to start then.
func (c *Cluster) ManualMigration() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.openSlots == 0 {
		return ""
	}
	for j := range NumSlots {
		if c.migrating[j] != nil {
			return "migrating"
		}
	}
	return "importing"
}

// ClaimSlots makes this node the owner of slots, which sourceID must own in
// our view, under a new config epoch greater than every epoch we know, so
// that our claim wins everywhere once gossip spreads it. nodes.conf is
// written before it returns.
func (c *Cluster) ClaimSlots(slots []int, sourceID string) (uint64, error) {
	c.mu.Lock()
	source := c.nodes[sourceID]
	if source == nil {
		c.unlock()
		return 0, errors.New("source node unknown")
	}
	for _, s := range slots {
		if owner := c.slots[s]; owner != source && owner != c.myself {
			c.unlock()
			return 0, fmt.Errorf("slot %d is not served by the source node", s)
		}
	}
	if !c.myself.isMaster() {
		c.unlock()
		return 0, errors.New("this node is no longer a primary")
	}
	c.currentEpoch = max(c.currentEpoch, c.maxEpoch()) + 1
	c.myself.configEpoch = c.currentEpoch
	for _, s := range slots {
		if c.slots[s] != c.myself {
			c.delSlot(s)
			c.addSlot(c.myself, s)
		}
	}
	epoch := c.myself.configEpoch
	c.configChanged()
	err := c.commitLocked()
	c.unlock()
	return epoch, err
}

// HandOverSlots records that targetID now serves slots (it claimed them
// with a greater epoch; this spares waiting for its gossip). The server
// deletes the keys itself, so that its replicas see the deletions.
func (c *Cluster) HandOverSlots(slots []int, targetID string) error {
	c.mu.Lock()
	target := c.nodes[targetID]
	if target == nil {
		c.unlock()
		return errors.New("target node unknown")
	}
	for _, s := range slots {
		if c.slots[s] == c.myself {
			c.delSlot(s)
			c.addSlot(target, s)
		}
	}
	if target.configEpoch > c.currentEpoch {
		c.currentEpoch = target.configEpoch
	}
	c.configChanged()
	err := c.commitLocked()
	c.unlock()
	return err
}

// FollowAfterHandOver is called once an atomic migration to targetID has
// ended and our copies are gone: a master left without slots becomes the
// target's replica, as one that loses its last slot to a newer epoch does
// (unless cluster-allow-replica-migration is no). The claim's gossip does
// not do it on its own, so that the node stays a master until the
// migration's last step.
func (c *Cluster) FollowAfterHandOver(targetID string) {
	c.mu.Lock()
	me, target := c.myself, c.nodes[targetID]
	if me.isMaster() && me.numSlots == 0 && !c.cfg.NoReplicaMigration && target != nil && target != me && target.isMaster() {
		c.logf("cluster: handed over my last slot, becoming a replica of %s", target.id)
		c.setMyMaster(target)
		c.configChanged()
		if err := c.commitLocked(); err != nil {
			c.logf("cluster: saving the configuration: %v", err)
		}
	}
	c.unlock()
}

// SlotsOwnedBy reports whether every slot is served by the node id in our
// view (how a source learns, from gossip, that a target took them).
func (c *Cluster) SlotsOwnedBy(slots []int, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range slots {
		if n := c.slots[s]; n == nil || n.id != id {
			return false
		}
	}
	return true
}

// ExpectHandOver marks (on) or unmarks slots as being handed over by an
// atomic migration (see Cluster.handOver).
func (c *Cluster) ExpectHandOver(slots []int, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range slots {
		if on {
			c.handOver.set(s)
		} else {
			c.handOver.clear(s)
		}
	}
}
