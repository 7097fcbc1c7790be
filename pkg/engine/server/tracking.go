package server

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gocluster/gocluster/pkg/engine/pubsub"
)

// Client-side caching (CLIENT TRACKING), with Redis 7.0's semantics. In the
// default mode the tracking table remembers which clients read which keys;
// a write to such a key sends those clients an invalidation and forgets the
// key. In BCAST mode clients subscribe to key prefixes instead, and the
// keys modified under a prefix are sent in one message once the writing
// command's batch is done. FLUSHALL and FLUSHDB send a null ("everything").
//
// Writes report the keys they modify through the store's Touch, the same
// signal WATCH uses, so every write path (commands, EXEC, scripts, expiry,
// eviction) is covered. Invalidations are queued on the receiving
// connection and written by it under its wmu: before the reply of its
// next command, and after the reply of the command that caused them.
//
// Everything here is guarded by DB.Mu unless it is an atomic.

// Tracking flags of a client (clientTracking.flags).
const (
	trackOn uint32 = 1 << iota
	trackBcast
	trackOptin
	trackOptout
	trackCaching // CLIENT CACHING yes (OPTIN) or no (OPTOUT) for the next command
	trackNoloop
	trackBrokenRedir // the redirect client went away
)

// invalidateChannel is where a RESP2 redirect client receives invalidations.
const invalidateChannel = "__redis__:invalidate"

// clientTracking is one connection's tracking state. flags and redirect are
// atomics so that CLIENT LIST can show them without the store lock.
type clientTracking struct {
	flags    atomic.Uint32
	redirect atomic.Int64
	prefixes []string // BCAST prefixes, sorted
	closed   bool     // the connection ended: nothing more is queued for it
	queue    atomic.Pointer[pushQueue]
}

// pushQueue holds invalidations waiting to be written to a connection.
type pushQueue struct {
	sub  *pubsub.Sub // used as a byte queue only: it subscribes to nothing
	stop chan struct{}
}

// trackingState is the server side: the tracking table and BCAST prefixes.
type trackingState struct {
	// active: some client tracks, or the table still holds keys; writes then
	// report the keys they modify (one atomic load on the hot path).
	active     atomic.Bool
	numClients atomic.Int64 // INFO tracking_clients
	tableKeys  atomic.Int64 // len(table), for the limit check without the lock
	maxKeys    atomic.Int64 // tracking-table-max-keys

	clients  map[int64]*Client             // clients with tracking on
	table    map[string]map[int64]struct{} // key -> ids of the clients that read it
	items    int                           // ids in table, summed over keys
	prefixes map[string]*bcastPrefix
	// bcastPending: some prefix has modified keys to broadcast
	bcastPending atomic.Bool
	limitTries   int // rounds the table stayed over its limit (eviction effort grows)

	// caller is the client whose command runs (a script's caller), modifier
	// the client that runs the write (a script's own client), as Redis's
	// current_client and the client passed to signalModifiedKey; cmd and
	// args are the caller's command (a script's declared keys are tracked).
	caller, modifier *Client
	cmd              *command
	args             [][]byte
}

// bcastPrefix is one BCAST prefix: its subscribers and the keys modified
// under it since the last broadcast, each with the client that modified it
// last (for NOLOOP).
type bcastPrefix struct {
	clients map[*Client]struct{}
	keys    map[string]*Client
}

// initTracking installs the store hooks; called once by New.
func (s *Server) initTracking() {
	t := &s.tracking
	t.clients = map[int64]*Client{}
	t.table = map[string]map[int64]struct{}{}
	t.prefixes = map[string]*bcastPrefix{}
	t.maxKeys.Store(int64(s.Cfg.Int("tracking-table-max-keys")))
	s.DB.OnModified = s.trackingKeyModified
	s.DB.OnFlush = s.trackingFlushed
}

func (t *trackingState) refreshActive() {
	t.active.Store(len(t.clients) > 0 || len(t.table) > 0 || len(t.prefixes) > 0)
	t.tableKeys.Store(int64(len(t.table)))
}

// enableTracking turns tracking on for c (CLIENT TRACKING ON, options checked).
func (s *Server) enableTracking(c *Client, redirect int64, opts uint32, prefixes []string) {
	t := &s.tracking
	if c.track.flags.Load()&trackOn == 0 {
		t.clients[c.id] = c
		t.numClients.Add(1)
	}
	c.track.flags.And(^(trackBrokenRedir | trackBcast | trackOptin | trackOptout | trackNoloop))
	c.track.flags.Or(trackOn | opts&(trackBcast|trackOptin|trackOptout|trackNoloop))
	c.track.redirect.Store(redirect)
	if opts&trackBcast != 0 {
		if len(prefixes) == 0 {
			prefixes = []string{""}
		}
		for _, p := range prefixes {
			bp := t.prefixes[p]
			if bp == nil {
				bp = &bcastPrefix{clients: map[*Client]struct{}{}, keys: map[string]*Client{}}
				t.prefixes[p] = bp
			}
			if _, ok := bp.clients[c]; !ok {
				bp.clients[c] = struct{}{}
				i, _ := slices.BinarySearch(c.track.prefixes, p)
				c.track.prefixes = slices.Insert(c.track.prefixes, i, p)
			}
		}
	}
	t.refreshActive()
}

// disableTracking turns tracking off for c. Its keys stay in the table
// until they are modified, as in Redis (cleaning them up would cost a
// disconnecting client a walk of the whole table).
func (s *Server) disableTracking(c *Client) {
	t := &s.tracking
	for _, p := range c.track.prefixes {
		if bp := t.prefixes[p]; bp != nil {
			delete(bp.clients, c)
			if len(bp.clients) == 0 {
				delete(t.prefixes, p)
			}
		}
	}
	c.track.prefixes = nil
	if c.track.flags.Load()&trackOn != 0 {
		delete(t.clients, c.id)
		t.numClients.Add(-1)
		c.track.flags.Store(0)
	}
	t.refreshActive()
}

// endTracking forgets a closing connection: tracking off, no more pushes.
func (c *Client) endTracking() {
	db := c.srv.DB
	db.Mu.Lock()
	c.srv.disableTracking(c)
	c.track.closed = true
	if q := c.track.queue.Load(); q != nil {
		close(q.stop)
	}
	db.Mu.Unlock()
}

// trackingBegin and trackingEnd bracket a command run under the store lock
// while tracking is active: they say who writes, and remember the keys a
// read-only command of a tracking client read.
func (s *Server) trackingBegin(c *Client, cmd *command, args [][]byte) {
	t := &s.tracking
	t.modifier = c
	if !c.scriptClient {
		t.caller, t.cmd, t.args = c, cmd, args
	}
}

func (s *Server) trackingEnd(c *Client, cmd *command) {
	t := &s.tracking
	// Scripts' read-only variants track nothing themselves: the reads
	// their scripts run do (Redis's call()).
	scriptRO := cmd.name == "eval_ro" || cmd.name == "evalsha_ro" || cmd.name == "fcall_ro"
	if cmd.readonly && !scriptRO && t.caller != nil {
		s.rememberTrackedKeys(t.caller, t.cmd, t.args)
	}
	if c.scriptClient {
		t.modifier = t.caller
	} else {
		t.caller, t.modifier, t.cmd, t.args = nil, nil, nil, nil
	}
}

// rememberTrackedKeys adds c to the table entries of the keys of its
// command (a script's declared keys when the read ran in a script).
func (s *Server) rememberTrackedKeys(c *Client, cmd *command, args [][]byte) {
	f := c.track.flags.Load()
	if f&trackOn == 0 || f&trackBcast != 0 || cmd == nil || cmd.shardChannel {
		return
	}
	caching := f&trackCaching != 0
	if f&trackOptin != 0 && !caching || f&trackOptout != 0 && caching {
		return
	}
	t := &s.tracking
	for _, i := range cmd.keyIndexes(args, nil) {
		ids := t.table[string(args[i])]
		if ids == nil {
			ids = map[int64]struct{}{}
			t.table[string(args[i])] = ids
		}
		if _, ok := ids[c.id]; !ok {
			ids[c.id] = struct{}{}
			t.items++
		}
	}
	t.refreshActive()
}

// trackingKeyModified is the store's OnModified hook: a write changed key.
func (s *Server) trackingKeyModified(key []byte) {
	t := &s.tracking
	if !t.active.Load() {
		return
	}
	modifier := t.modifier
	if s.DB.Expiring() { // a key deleted for its TTL is no client's write: NOLOOP does not apply
		modifier = nil
		saved := t.caller
		t.caller = nil
		defer func() { t.caller = saved }()
	}
	if len(t.prefixes) > 0 {
		for p, bp := range t.prefixes {
			if strings.HasPrefix(string(key), p) {
				// As Redis: a key changed by two different clients (or by
				// a client and the server) in one batch reaches everyone.
				if old, seen := bp.keys[string(key)]; seen && old != modifier {
					modifier = nil
				}
				bp.keys[string(key)] = modifier
				t.bcastPending.Store(true)
			}
		}
	}
	s.invalidateTrackedKey(string(key))
}

// invalidateTrackedKey tells the clients that read key that it changed,
// and forgets it.
func (s *Server) invalidateTrackedKey(key string) {
	t := &s.tracking
	ids := t.table[key]
	if ids == nil {
		return
	}
	var msg []byte
	for _, id := range idsInTableOrder(ids) {
		target := t.clients[id]
		if target == nil {
			continue
		}
		f := target.track.flags.Load()
		if f&trackBcast != 0 || f&trackNoloop != 0 && target == t.caller {
			continue
		}
		if msg == nil {
			msg = appendBulkArray(nil, []string{key})
		}
		s.sendTrackingMessage(target, msg)
	}
	t.items -= len(ids)
	delete(t.table, key)
	t.refreshActive()
}

// idsInTableOrder lists ids in the order Redis's radix tree of raw
// (little-endian) ids walks them, which decides who hears first when
// several clients redirect to one connection.
func idsInTableOrder(ids map[int64]struct{}) []int64 {
	out := make([]int64, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b int64) int {
		var x, y [8]byte
		binary.LittleEndian.PutUint64(x[:], uint64(a))
		binary.LittleEndian.PutUint64(y[:], uint64(b))
		return strings.Compare(string(x[:]), string(y[:]))
	})
	return out
}

// trackingFlushed is the store's OnFlush hook: every tracking client is
// told that everything changed, and the table is emptied.
func (s *Server) trackingFlushed() {
	t := &s.tracking
	if !t.active.Load() {
		return
	}
	ids := make([]int64, 0, len(t.clients))
	for id := range t.clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := t.clients[id]
		// The null is in the tracking client's protocol, even when a
		// connection of the other protocol receives it (as Redis does).
		null := []byte("$-1\r\n")
		if c.proto() == 3 {
			null = []byte("_\r\n")
		}
		s.sendTrackingMessage(c, null)
	}
	clear(t.table)
	t.items = 0
	t.refreshActive()
}

// trackingBeforeCommand runs before each command of a connection (wmu
// held): it keeps the table within tracking-table-max-keys, and writes the
// invalidations queued for this connection, so they precede the reply as
// they do on redis-server.
func (c *Client) trackingBeforeCommand() {
	s := c.srv
	if s.tracking.active.Load() {
		if max := s.tracking.maxKeys.Load(); max > 0 && s.tracking.tableKeys.Load() > max && s.DB.Mu.TryLock() {
			s.limitTrackingTable()
			s.DB.Mu.Unlock()
		}
		if s.memory.maxmemory.Load() > 0 {
			// Keys evicted for this command are invalidated before its reply.
			s.outOfMemory()
		}
	}
	if c.track.queue.Load() != nil {
		c.writePendingPushes()
	}
}

// trackingAfterCommand runs after each command (wmu held): CLIENT CACHING
// lasts for one command (or one transaction), and BCAST invalidations go
// out once the connection has run what it read, as Redis sends them before
// it sleeps.
func (c *Client) trackingAfterCommand(cmd *command) {
	if f := c.track.flags.Load(); f&trackCaching != 0 && c.multi == nil && (cmd == nil || cmd.name != "client") {
		c.track.flags.And(^trackCaching)
	}
	s := c.srv
	if s.tracking.bcastPending.Load() && c.r.Buffered() == 0 && s.DB.Mu.TryLock() {
		s.broadcastInvalidations()
		s.DB.Mu.Unlock()
	}
}

// trackingCron enforces the table limit and sends BCAST invalidations left
// by writes outside connections (active expiry); called by cron.
func (s *Server) trackingCron() {
	t := &s.tracking
	if !t.active.Load() {
		return
	}
	s.DB.Mu.Lock()
	s.limitTrackingTable()
	s.broadcastInvalidations()
	s.DB.Mu.Unlock()
}

// limitTrackingTable invalidates keys until the table is within
// tracking-table-max-keys, with an effort that grows each round it stays
// over (Redis's trackingLimitUsedSlots).
func (s *Server) limitTrackingTable() {
	t := &s.tracking
	max := int(t.maxKeys.Load())
	if max == 0 {
		return
	}
	if len(t.table) <= max {
		t.limitTries = 0
		return
	}
	effort := 100 * (t.limitTries + 1)
	for key := range t.table { // map order is random, like Redis's random walk
		saved := t.caller
		t.caller = nil // evicting is no client's write: NOLOOP does not apply
		s.invalidateTrackedKey(key)
		t.caller = saved
		if len(t.table) <= max {
			t.limitTries = 0
			return
		}
		if effort--; effort == 0 {
			break
		}
	}
	t.limitTries++
}

// broadcastInvalidations sends each BCAST prefix's modified keys to its
// subscribers, one message per prefix, leaving out for a NOLOOP client the
// keys it modified itself.
func (s *Server) broadcastInvalidations() {
	t := &s.tracking
	if !t.bcastPending.Swap(false) {
		return
	}
	for _, p := range sortedKeys(t.prefixes) {
		bp := t.prefixes[p]
		if len(bp.keys) == 0 {
			continue
		}
		keys := sortedKeys(bp.keys)
		all := appendBulkArray(nil, keys)
		subs := make([]*Client, 0, len(bp.clients))
		for c := range bp.clients {
			subs = append(subs, c)
		}
		slices.SortFunc(subs, func(a, b *Client) int { return int(a.id - b.id) })
		for _, c := range subs {
			if c.track.flags.Load()&trackNoloop == 0 {
				s.sendTrackingMessage(c, all)
				continue
			}
			var others []string
			for _, k := range keys {
				if bp.keys[k] != c {
					others = append(others, k)
				}
			}
			if len(others) > 0 {
				s.sendTrackingMessage(c, appendBulkArray(nil, others))
			}
		}
		clear(bp.keys)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// appendBulkArray appends a RESP array of bulk strings.
func appendBulkArray(b []byte, items []string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(items)), 10)
	b = append(b, '\r', '\n')
	for _, it := range items {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(it)), 10)
		b = append(b, '\r', '\n')
		b = append(b, it...)
		b = append(b, '\r', '\n')
	}
	return b
}

// trackingInfo is INFO's tracking_total_keys, _items and _prefixes.
func (s *Server) trackingInfo() (keys, items, prefixes int) {
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	return len(s.tracking.table), s.tracking.items, len(s.tracking.prefixes)
}
