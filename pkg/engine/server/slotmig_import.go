package server

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// replicaCatchUpWait bounds how long a target waits, before it claims the
// slots, for its replicas to acknowledge everything it imported.
const replicaCatchUpWait = 2 * time.Second

// replicaSnapshotWait bounds the wait, outside the pause, for the replicas
// to take the snapshot.
const replicaSnapshotWait = 20 * time.Second

// cmdSyncSlots: CLUSTER SYNCSLOTS, the messages a source sends its target.
// ESTABLISH turns this connection into the job's import link: its commands
// skip routing (they write slots this node does not serve yet) and run
// like any write, so they reach this node's replicas.
func (c *Client) cmdSyncSlots(mc slotMigrationCluster, args [][]byte) {
	sub := string(lower(args[0]))
	switch sub {
	case "establish":
		c.syncSlotsEstablish(mc, args[1:])
		return
	case "request":
		c.syncSlotsRequest(mc, args[1:])
		return
	}
	j := c.importJob
	if j != nil && j.cancelReq.Load() {
		c.endSlotImport("Cancelled due to user request")
		c.w.WriteError("ERR the import was cancelled")
		return
	}
	if j != nil && j.flushed.Load() {
		c.endSlotImport(msgDataFlushed)
		c.w.WriteError("ERR " + msgDataFlushed)
		return
	}
	if j == nil {
		c.w.WriteError("ERR CLUSTER SYNCSLOTS " + printable(args[0], 64) + " should only be used by slot migration clients")
		return
	}
	s := c.srv
	s.slotMig.mu.Lock()
	j.lastAck = time.Now().Unix()
	s.slotMig.mu.Unlock()
	switch sub {
	case "keys":
		if len(args) != 2 {
			c.endSlotImport("Malformed SYNCSLOTS KEYS")
			c.w.WriteError(errSyntax)
			return
		}
		n, err := s.applyKeyBatch(args[1])
		if err != nil {
			c.endSlotImport("Bad key batch: " + err.Error())
			c.w.WriteError("ERR Bad data format")
			return
		}
		c.w.WriteInt(int64(n))
	case "ack":
		c.w.WriteRaw(okReply)
	case "snapshot-eof":
		// Our replicas take the snapshot now, so that the wait for them
		// inside the source's write pause covers only the last writes.
		s.waitReplicasCaughtUp(replicaSnapshotWait)
		s.setJobState(j, stateWaitingPaused, "")
		c.w.WriteRaw(okReply)
	case "paused":
		// Everything the source wrote to the slots is applied: let our
		// replicas catch up, then take the slots.
		s.setJobState(j, stateGranted, "")
		if !s.waitReplicasCaughtUp(replicaCatchUpWait) {
			// Taking the slots now would let the source drop keys that
			// only this node holds: were it to fail, its replica would
			// take over without them. The source keeps them instead.
			c.endSlotImport(msgReplicasBehind)
			c.w.WriteError("ERR " + msgReplicasBehind)
			return
		}
		if j.flushed.Load() { // during the wait
			c.endSlotImport(msgDataFlushed)
			c.w.WriteError("ERR " + msgDataFlushed)
			return
		}
		epoch, err := mc.ClaimSlots(j.slots, j.sourceID)
		if err != nil {
			c.endSlotImport("Could not claim the slots: " + err.Error())
			c.w.WriteError("ERR " + err.Error())
			return
		}
		c.importJob = nil
		s.DB.Mu.Lock()
		s.feedImportMarker("FINISH", "NAME", j.name, "STATE", "success")
		s.DB.Mu.Unlock()
		s.setJobState(j, stateSuccess, "")
		c.w.WriteSimple(claimedReply + " " + strconv.FormatUint(epoch, 10))
	default:
		c.endSlotImport("Unknown SYNCSLOTS subcommand used")
		c.w.WriteError(errSyntax)
	}
}

// syncSlotsEstablish: CLUSTER SYNCSLOTS ESTABLISH SOURCE id NAME name
// SLOTSRANGE start end [start end ...], in any order.
func (c *Client) syncSlotsEstablish(mc slotMigrationCluster, args [][]byte) {
	if msg := canStartMigration(mc); msg != "" {
		c.w.WriteError(msg)
		return
	}
	if c.importJob != nil {
		c.w.WriteError("ERR This connection already carries a slot migration")
		return
	}
	var source, name string
	var ranges [][2]int
	owner := ""
	for i := 0; i < len(args); {
		switch {
		case eq(args[i], "source") && source == "" && i+1 < len(args) && len(args[i+1]) == 40:
			source = string(args[i+1])
			if !mc.KnowsNode(source) {
				c.w.WriteError("ERR Target node does not know the source node")
				return
			}
			if source == c.srv.Cluster.MyID() {
				c.w.WriteError("ERR Source node is target node itself")
				return
			}
			i += 2
		case eq(args[i], "name") && name == "" && i+1 < len(args) && len(args[i+1]) == 40:
			name = string(args[i+1])
			i += 2
		case eq(args[i], "slotsrange") && ranges == nil:
			var used int
			var msg string
			ranges, used, owner, msg = parseSlotRanges(mc, args[i+1:])
			if msg != "" {
				c.w.WriteError(msg)
				return
			}
			for _, sl := range slotsOf(ranges) {
				if c.srv.slotInActiveJob(sl, false) && c.srv.pendingImport(name, source) == nil {
					c.w.WriteError("ERR Slot is already being imported on the target by a different migration")
					return
				}
			}
			i += 1 + used
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	if source == "" || name == "" || ranges == nil {
		c.w.WriteError(errSyntax)
		return
	}
	if owner != source {
		c.w.WriteError("ERR Target node does not agree about current slot ownership")
		return
	}
	// A CLUSTER MIGRATION IMPORT task waiting for this source becomes the
	// job; else the job is new.
	j := c.srv.pendingImport(name, source)
	if j == nil && c.srv.cancelledImport(name) {
		c.w.WriteError("ERR The slot migration was cancelled on the target")
		return
	}
	if j == nil {
		now := time.Now()
		j = &slotJob{name: name, ranges: ranges, slots: slotsOf(ranges), sourceID: source, targetID: c.srv.Cluster.MyID(),
			created: now.Unix(), createdMs: now.UnixMilli(), lastUpdate: now.Unix(), lastAck: now.Unix(), state: stateReceiving}
		c.srv.addJob(j)
	}
	c.srv.slotMig.mu.Lock()
	j.imp = c
	c.srv.slotMig.mu.Unlock()
	// Leftovers of an earlier attempt would mix with the snapshot.
	c.srv.DB.Mu.Lock()
	c.srv.dropSlotKeys(j.slots)
	c.srv.markImportStart(j)
	c.srv.DB.Mu.Unlock()
	c.importJob = j
	c.srv.setJobState(j, stateReceiving, "")
	c.srv.Logger.Printf("slot migration %s: importing %s from %s", name, j.rangesText(), source)
	c.w.WriteRaw(okReply)
}

// endSlotImport fails the import this connection carries, if it has not
// finished: what it brought is deleted (and the deletion replicated), so
// the source remains the only holder of the slots.
func (c *Client) endSlotImport(why string) {
	j := c.importJob
	if j == nil {
		return
	}
	c.importJob = nil
	s := c.srv
	mc, ok := s.migCluster()
	if !ok {
		return
	}
	var notMine []int
	myID := s.Cluster.MyID()
	for _, sl := range j.slots {
		if mc.SlotOwnerID(sl) != myID {
			notMine = append(notMine, sl)
		}
	}
	s.DB.Mu.Lock()
	n := s.dropSlotKeys(notMine)
	s.feedImportMarker("FINISH", "NAME", j.name, "STATE", "failed")
	s.DB.Mu.Unlock()
	state := stateFailed
	switch {
	case j.cancelReq.Load():
		state, why = stateCancelled, "Cancelled due to user request"
	case j.flushed.Load():
		why = msgDataFlushed
		if j.retryable { // Redis 8.4 cancels its tasks on a flush
			state = stateCancelled
		}
	}
	s.setJobState(j, state, fmt.Sprintf("%s (%d imported keys deleted)", why, n))
}

// waitReplicasCaughtUp waits until every replica acknowledged the stream
// up to now, or the time runs out; it reports whether they all did.
func (s *Server) waitReplicasCaughtUp(limit time.Duration) bool {
	s.DB.Mu.Lock()
	want := len(s.replicas)
	off := s.repl.off
	if want > 0 {
		s.replFeed(resp.AppendCommand(nil, []byte("REPLCONF"), []byte("GETACK"), []byte("*")))
	}
	s.DB.Mu.Unlock()
	if want == 0 {
		return true
	}
	deadline := time.Now().Add(limit)
	for s.ackedReplicas(off) < want {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// msgReplicasBehind fails an import whose target's replicas did not
// acknowledge everything it imported within replicaCatchUpWait.
const msgReplicasBehind = "Replicas of the target did not acknowledge the imported data in time"

// An import is recorded in the replication stream and the AOF between two
// markers: CLUSTER SYNCSLOTS ESTABLISH NAME n SLOTSRANGE ... before the
// first imported key and CLUSTER SYNCSLOTS FINISH NAME n STATE s after the
// flip or the cleanup. A replica promoted, or a node restarted from its
// AOF, with an import still open deletes the keys of its slots that it
// does not own: the import never completed (CleanupTrackedMigrations).

func (s *Server) feedImportMarker(words ...string) {
	args := [][]byte{[]byte("CLUSTER"), []byte("SYNCSLOTS")}
	for _, w := range words {
		args = append(args, []byte(w))
	}
	s.feedForms(func(b []byte) []byte { return resp.AppendCommand(b, args...) })
}

func (s *Server) markImportStart(j *slotJob) { s.feedJobMarker("ESTABLISH", j) }

// feedJobMarker feeds CLUSTER SYNCSLOTS <what> NAME n SLOTSRANGE ... for j.
func (s *Server) feedJobMarker(what string, j *slotJob) {
	words := []string{what, "NAME", j.name, "SLOTSRANGE"}
	for _, r := range j.ranges {
		words = append(words, strconv.Itoa(r[0]), strconv.Itoa(r[1]))
	}
	s.feedImportMarker(words...)
}

// applyImportStream applies what a master's stream or an AOF carries of an
// import: key batches, and the markers around them.
func (s *Server) applyImportStream(args [][]byte) {
	if eq(args[0], "keys") && len(args) == 2 {
		if _, err := s.applyKeyBatch(args[1]); err != nil {
			s.Logger.Printf("slot migration: a key batch from the master or the AOF: %v", err)
		}
		return
	}
	if eq(args[0], "drop") {
		var slots []int
		for _, a := range args[1:] {
			if sl, ok := parseSlot(a); ok {
				slots = append(slots, sl)
			}
		}
		s.DB.Mu.Lock()
		s.dropSlotKeys(slots)
		s.DB.Mu.Unlock()
		return
	}
	s.trackImportMarker(args)
	s.DB.Mu.Lock()
	all := append([][]byte{[]byte("CLUSTER"), []byte("SYNCSLOTS")}, args...)
	s.aofFeed(resp.AppendCommand(nil, all...))
	s.DB.Mu.Unlock()
}

// trackImportMarker applies a marker read from a master or an AOF.
func (s *Server) trackImportMarker(args [][]byte) {
	var name string
	var ranges [][2]int
	for i := 1; i+1 < len(args); {
		if !eq(args[i], "slotsrange") {
			if eq(args[i], "name") {
				name = string(args[i+1])
			}
			i += 2
			continue
		}
		for i++; i+1 < len(args); i += 2 {
			a, okA := parseSlot(args[i])
			b, okB := parseSlot(args[i+1])
			if !okA || !okB {
				break
			}
			ranges = append(ranges, [2]int{a, b})
		}
	}
	if name == "" {
		return
	}
	m := &s.slotMig
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case eq(args[0], "establish"):
		if m.tracked == nil {
			m.tracked = map[string][]int{}
		}
		m.tracked[name] = slotsOf(ranges)
	case eq(args[0], "handoff"):
		if m.handoffs == nil {
			m.handoffs = map[string][]int{}
		}
		m.handoffs[name] = slotsOf(ranges)
	case eq(args[0], "finish"):
		delete(m.tracked, name)
		delete(m.handoffs, name)
	}
}

// CleanupTrackedMigrations runs when this node is (or becomes) a master,
// promoted or restarted from its AOF, and deletes (replicating the
// deletion) what unfinished migrations left in slots it does not own:
//   - an import that never completed: its keys;
//   - a hand-off whose target claimed the slots before the old master
//     dropped its copies (it died first, or its DROP never reached us):
//     the stale copies, which the target holds newer. Slots we still own
//     keep their keys: the claim never happened, or gossip will bring it
//     and take the keys with the slot.
func (s *Server) CleanupTrackedMigrations() {
	mc, ok := s.migCluster()
	if !ok || !mc.IsPrimary() {
		return
	}
	m := &s.slotMig
	m.mu.Lock()
	imports, handoffs := m.tracked, m.handoffs
	m.tracked, m.handoffs = nil, nil
	m.mu.Unlock()
	myID := s.Cluster.MyID()
	ownedElsewhere := func(slots []int, unassignedToo bool) []int {
		var out []int
		for _, sl := range slots {
			if owner := mc.SlotOwnerID(sl); owner != myID && (owner != "" || unassignedToo) {
				out = append(out, sl)
			}
		}
		return out
	}
	for name, slots := range imports {
		s.DB.Mu.Lock()
		n := s.dropSlotKeys(ownedElsewhere(slots, true))
		s.feedImportMarker("FINISH", "NAME", name, "STATE", "failed")
		s.DB.Mu.Unlock()
		s.Logger.Printf("slot migration %s: unfinished import cleaned up, %d keys deleted", name, n)
	}
	for name, slots := range handoffs {
		s.DB.Mu.Lock()
		n := s.dropSlotKeys(ownedElsewhere(slots, false))
		s.feedImportMarker("FINISH", "NAME", name, "STATE", "failed")
		s.DB.Mu.Unlock()
		s.Logger.Printf("slot migration %s: unfinished hand-off cleaned up, %d stale keys deleted", name, n)
	}
}

func isImportMarker(args [][]byte) bool {
	return len(args) >= 3 && eq(args[0], "cluster") && eq(args[1], "syncslots")
}
