package cluster

import "strconv"

// Redirection and refusal texts, exactly as Redis sends them.
const (
	errCrossSlot   = "CROSSSLOT Keys in request don't hash to the same slot"
	errClusterDown = "CLUSTERDOWN The cluster is down"
	errUnbound     = "CLUSTERDOWN Hash slot not served"
	errTryAgain    = "TRYAGAIN Multiple keys request during rehashing of slot"
)

// Route decides where a command touching keys in these slots runs, with
// Redis's getNodeByQuery rules. slots has one entry per key (slot -1 or an
// empty list for commands without keys). asking is the client's ASKING flag
// for this command; readonly means the client sent READONLY and the command
// does not write. keysPresent reports whether all / none of the command's
// keys exist locally; it is only called for a slot being migrated or
// imported, and never under the cluster lock.
// It returns "" to run the command here, or the error text to reply with.
func (c *Cluster) Route(slots []int, asking, readonly bool, keysPresent func() (all, none bool)) string {
	return c.route(slots, asking, readonly, false, keysPresent)
}

// RouteMigrate is Route for MIGRATE: while its slot is migrating or importing
// here, MIGRATE always runs locally (it is how the slot gets drained).
func (c *Cluster) RouteMigrate(slots []int) string {
	return c.route(slots, false, false, true, nil)
}

func (c *Cluster) route(slots []int, asking, readonly, isMigrate bool, keysPresent func() (all, none bool)) string {
	if len(slots) == 0 || slots[0] < 0 {
		return ""
	}
	slot := slots[0]
	if slot >= NumSlots {
		return errUnbound
	}
	c.mu.Lock()
	owner := c.slots[slot]
	if owner == nil {
		c.mu.Unlock()
		return errUnbound
	}
	multipleKeys := false
	for _, s := range slots[1:] {
		if s != slot {
			c.mu.Unlock()
			return errCrossSlot
		}
		multipleKeys = true
	}
	me := c.myself
	migratingTo := c.migrating[slot]
	migratingSlot := owner == me && migratingTo != nil
	importingSlot := !migratingSlot && c.importing[slot] != nil
	stateOK := c.stateOK
	replicaOfOwner := me.isSlave() && me.master == owner
	ownerAddr := "" // built only for a redirection: Route runs for every keyed command
	if owner != me {
		ownerAddr = owner.addr()
	}
	askAddr := ""
	if migratingSlot {
		askAddr = migratingTo.addr()
	}
	c.mu.Unlock()

	if !stateOK {
		return errClusterDown
	}
	if (migratingSlot || importingSlot) && isMigrate {
		return ""
	}
	allPresent, nonePresent := true, false
	if (migratingSlot || importingSlot) && keysPresent != nil {
		allPresent, nonePresent = keysPresent()
	}
	if migratingSlot && !allPresent {
		if !nonePresent {
			return errTryAgain
		}
		return "ASK " + strconv.Itoa(slot) + " " + askAddr
	}
	if importingSlot && asking {
		if multipleKeys && !allPresent {
			return errTryAgain
		}
		return ""
	}
	if readonly && replicaOfOwner {
		return ""
	}
	if owner != me {
		return "MOVED " + strconv.Itoa(slot) + " " + ownerAddr
	}
	return ""
}

// BlockedRedirect is Redis's clusterRedirectBlockedClientIfNeeded: the
// error that ends the wait of a client blocked on a key of slot, or "" to
// let it wait. While the cluster is down: CLUSTERDOWN. When the slot is
// served by another node and not being imported here: MOVED to it
// (CLUSTERDOWN Hash slot not served if nobody serves it); a READONLY read
// on a replica of the owner stays.
func (c *Cluster) BlockedRedirect(slot int, readonly bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stateOK {
		return errClusterDown
	}
	if slot < 0 || slot >= NumSlots {
		return ""
	}
	owner, me := c.slots[slot], c.myself
	if owner == me || c.importing[slot] != nil || readonly && me.isSlave() && me.master == owner {
		return ""
	}
	if owner == nil {
		return errUnbound
	}
	return "MOVED " + strconv.Itoa(slot) + " " + owner.addr()
}
