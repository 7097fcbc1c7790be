package server

import "slices"

// A client blocked on a key (BLPOP, BZPOPMIN, XREAD BLOCK...) would wait
// for a write that can no longer come once its slot is served elsewhere
// (moved by a reshard or an atomic migration, or this master turned
// replica) or the cluster is down. Redis's clients cron answers such a
// client MOVED or CLUSTERDOWN (clusterRedirectBlockedClientIfNeeded); the
// engine's cron does the same.

// blockedRedirecter is the part of pkg/engine/cluster that decides it.
type blockedRedirecter interface {
	BlockedRedirect(slot int, readonly bool) string
}

// blockedRoute is what redirectBlocked needs of the running command: the
// slot of its first key (-1 outside cluster mode or without keys), and
// whether it is a READONLY read.
func (c *Client) blockedRoute() (slot int, readonly bool) {
	cmd := c.lastCmd.Load()
	if c.srv.Cluster == nil || cmd == nil {
		return -1, false
	}
	var slotBuf [8]int
	var keyBuf [8][]byte
	slots, _ := c.keySlots(cmd, c.curArgs, slotBuf[:0], keyBuf[:0])
	if len(slots) == 0 {
		return -1, false
	}
	return slots[0], c.readonly && !cmd.write
}

// redirectBlocked ends, with the redirection Redis sends, the wait of
// every client blocked on a slot this node no longer serves. The cluster
// is asked outside the store lock (a waiter's slot and readonly never
// change once it waits).
func (s *Server) redirectBlocked() {
	r, ok := s.Cluster.(blockedRedirecter)
	if !ok || s.blocked.Load() == 0 {
		return
	}
	var ws []*blockedClient
	s.DB.Mu.Lock()
	for _, w := range s.waiters {
		if w.slot >= 0 {
			ws = append(ws, w)
		}
	}
	s.DB.Mu.Unlock()
	var moved []*blockedClient
	var why []string
	for _, w := range ws {
		if msg := r.BlockedRedirect(w.slot, w.readonly); msg != "" {
			moved, why = append(moved, w), append(why, msg)
		}
	}
	if len(moved) == 0 {
		return
	}
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	for i, w := range moved {
		s.endWait(w, unblockError, why[i], false) // unless served or unblocked meanwhile
	}
}

// errDemoted is what Redis answers every blocked client when the node
// turns replica or follows another master (disconnectAllBlockedClients in
// replicationSetMaster), before closing their connections.
const errDemoted = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"

// disconnectBlocked ends every blocking command (BLPOP and friends, XREAD
// BLOCK, WAIT) with errDemoted and closes its connection, as Redis does
// when the node gets a new master; a client held by CLIENT PAUSE is not
// blocked in that sense, and runs its command once the pause ends.
// Called under the store lock.
func (s *Server) disconnectBlocked() {
	s.demotions.Add(1) // for WAIT, which is no waiter
	for _, w := range slices.Clone(s.waiters) {
		s.endWait(w, unblockError, errDemoted, true)
	}
}
