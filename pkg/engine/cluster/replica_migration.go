package cluster

// Replica migration (Redis's clusterHandleSlaveMigration): a replica of a
// master with more working replicas than cluster-migration-barrier moves
// to a master left without any, so that one more failure does not cost
// the cluster its slots.

// replicaMigrationDelay is how long a master stays orphaned before a
// replica moves to it (CLUSTER_SLAVE_MIGRATION_DELAY): during a failover
// the new master's own replicas get the time to announce their switch.
const replicaMigrationDelay = 5000 // ms

// mastersHaveReplicas reports whether any master has a replica.
func (c *Cluster) mastersHaveReplicas() bool {
	for _, n := range c.nodes {
		if n.isMaster() && len(n.replicas) > 0 {
			return true
		}
	}
	return false
}

// orphaned: a working master serving slots, with no working replica,
// that had replicas (or took over from a master that had them).
func orphaned(n *node) bool {
	return n.isMaster() && !n.failed() && n.flags&flagMigrateTo != 0 && n.numSlots > 0 && n.workingReplicas() == 0
}

// replicaMigrationCron runs the checks of clusterCron that decide whether
// this replica considers migrating (mu held).
func (c *Cluster) replicaMigrationCron(now int64) {
	me := c.myself
	if !me.isSlave() || c.cfg.NoReplicaMigration {
		return
	}
	orphans, maxReplicas, mine := 0, 0, 0
	for _, n := range c.nodes {
		if n == me || n.flags&(flagNoAddr|flagHandshake) != 0 || !n.isMaster() || n.failed() {
			continue
		}
		ok := n.workingReplicas()
		if orphaned(n) {
			orphans++
		}
		maxReplicas = max(maxReplicas, ok)
		if me.master == n {
			mine = ok
		}
	}
	// Only a replica of one of the masters with the most working replicas
	// moves, and only when some master has two or more.
	if orphans > 0 && maxReplicas >= 2 && mine == maxReplicas {
		c.migrateToOrphan(now, maxReplicas)
	}
}

// migrateToOrphan moves myself to an orphaned master when my master keeps
// more than the barrier's working replicas, I am the replica with the
// smallest id among those of the best-served masters, and the orphan has
// been one for replicaMigrationDelay (mu held).
func (c *Cluster) migrateToOrphan(now int64, maxReplicas int) {
	me := c.myself
	if !c.stateOK || me.master == nil {
		return
	}
	keeping := 0
	for _, r := range me.master.replicas {
		if !r.failed() && !r.timedOut() {
			keeping++
		}
	}
	if keeping <= c.cfg.MigrationBarrier {
		return
	}
	var target *node
	candidate := me
	for _, n := range c.nodes {
		if orphaned(n) {
			if target == nil {
				target = n
			}
			if n.orphanedSince == 0 {
				n.orphanedSince = now
			}
		} else {
			n.orphanedSince = 0
		}
		if n.isMaster() && n.workingReplicas() == maxReplicas {
			for _, r := range n.replicas {
				if r.id < candidate.id {
					candidate = r
				}
			}
		}
	}
	if target == nil || candidate != me || now-target.orphanedSince <= replicaMigrationDelay {
		return
	}
	c.logf("cluster: migrating to orphaned master %s", target.id)
	c.setMyMaster(target)
	c.configChanged()
}
