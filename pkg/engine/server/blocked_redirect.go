package server

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

// blockedSlot is the slot of the running command's first key, or -1
// outside cluster mode or for a command without keys.
func (c *Client) blockedSlot() int {
	cmd := c.lastCmd.Load()
	if c.srv.Cluster == nil || cmd == nil {
		return -1
	}
	var slotBuf [8]int
	var keyBuf [8][]byte
	slots, _ := c.keySlots(cmd, c.curArgs, slotBuf[:0], keyBuf[:0])
	if len(slots) == 0 {
		return -1
	}
	return slots[0]
}

// redirectBlocked ends, with the redirection Redis sends, the wait of
// every client blocked on a slot this node no longer serves. The cluster
// is asked outside the store lock.
func (s *Server) redirectBlocked() {
	r, ok := s.Cluster.(blockedRedirecter)
	if !ok || s.blocked.Load() == 0 {
		return
	}
	type waiting struct {
		w        *blockedClient
		slot     int
		readonly bool
	}
	var ws []waiting
	s.DB.Mu.Lock()
	for _, w := range s.waiters {
		if w.slot >= 0 {
			ws = append(ws, waiting{w, w.slot, w.readonly})
		}
	}
	s.DB.Mu.Unlock()
	var moved []*blockedClient
	var why []string
	for _, x := range ws {
		if msg := r.BlockedRedirect(x.slot, x.readonly); msg != "" {
			moved, why = append(moved, x.w), append(why, msg)
		}
	}
	if len(moved) == 0 {
		return
	}
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	for i, w := range moved {
		if w.done || w.unblock != unblockNone {
			continue // served or unblocked meanwhile
		}
		w.unblock, w.redirect = unblockRedirect, why[i]
		close(w.unblocked)
		s.dropWaiter(w)
	}
}
