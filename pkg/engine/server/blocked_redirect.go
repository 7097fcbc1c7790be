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
		if w.done || w.unblock != unblockNone {
			continue // served or unblocked meanwhile
		}
		w.unblock, w.redirect = unblockRedirect, why[i]
		close(w.unblocked)
		s.dropWaiter(w)
	}
}
