package server

import (
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// maxmemory, its eviction policies, and min-replicas-to-write: the checks
// Redis makes before it runs a command.

const errOOM = "OOM command not allowed when used memory > 'maxmemory'."
const errNoReplicas = "NOREPLICAS Not enough good replicas to write."

// baseMemory stands for what an empty node uses besides its keys (Redis
// reports a little under 1 MB): with it, a maxmemory below it refuses
// every write, as on redis-server.
const baseMemory = 1 << 20

// evictionsPerCommand bounds the work one command does evicting; what is
// left is done before the next command.
const evictionsPerCommand = 2000

// memoryLimits are the config values the command path reads, cached as
// atomics by applyMemoryConfig.
type memoryLimits struct {
	maxmemory   atomic.Int64
	policy      atomic.Int32 // store.EvictionPolicy, or -1 for noeviction
	samples     atomic.Int32
	minReplicas atomic.Int32
	maxLag      atomic.Int32
	// goodReplicas is refreshGoodReplicas's count
	goodReplicas atomic.Int32
	evicted      atomic.Int64
}

// applyMemoryConfig makes maxmemory, maxmemory-policy, maxmemory-samples,
// lfu-*, and min-replicas-* take effect.
func (s *Server) applyMemoryConfig() {
	cfg := s.Cfg
	m := &s.memory
	max := int64(cfg.Int("maxmemory"))
	policy := int32(-1)
	if p, ok := store.ParseEvictionPolicy(cfg.Get("maxmemory-policy")); ok {
		policy = int32(p)
	}
	m.samples.Store(int32(cfg.Int("maxmemory-samples")))
	m.minReplicas.Store(int32(cfg.Int("min-replicas-to-write")))
	m.maxLag.Store(int32(cfg.Int("min-replicas-max-lag")))
	tracking := store.TrackLRU
	if p := cfg.Get("maxmemory-policy"); p == "allkeys-lfu" || p == "volatile-lfu" {
		tracking = store.TrackLFU
	}
	s.DB.Mu.Lock()
	s.refreshGoodReplicas()
	s.DB.SetAccounting(max > 0)
	s.DB.SetTracking(tracking, cfg.Int("lfu-log-factor"), cfg.Int("lfu-decay-time"))
	s.DB.Mu.Unlock()
	m.policy.Store(policy)
	m.maxmemory.Store(max)
	// Like Redis, a lower limit evicts at once, not at the next command.
	s.outOfMemory()
}

// denyOOMSubcommand: FUNCTION LOAD and FUNCTION RESTORE add code, so they
// are refused out of memory although FUNCTION itself is not deny-oom.
func denyOOMSubcommand(cmd *command, args [][]byte) bool {
	return cmd.name == "function" && len(args) > 1 && (eq(args[1], "load") || eq(args[1], "restore"))
}

// usedMemory is what maxmemory is compared with; with accounting on, also
// what INFO reports as used_memory. Called with the store lock held.
func (s *Server) usedMemory() int64 { return baseMemory + s.DB.UsedMemory() }

// outOfMemory evicts keys by the policy until the node is under maxmemory
// and reports whether it is still over (nothing left to evict, or
// noeviction). Replicas do not evict (replica-ignore-maxmemory): their
// master's DELs do.
func (s *Server) outOfMemory() bool {
	max := s.memory.maxmemory.Load()
	if max <= 0 {
		return false
	}
	if s.isReplica() && s.Cfg.Bool("replica-ignore-maxmemory") {
		return false
	}
	if s.usedMemory() <= max { // the common case, without the store lock
		return false
	}
	db := s.DB
	db.Mu.Lock()
	defer db.Mu.Unlock()
	defer func(start time.Time) { s.noteLatency("eviction-cycle", time.Since(start)) }(time.Now())
	policy := s.memory.policy.Load()
	for n := 0; s.usedMemory() > max; n++ {
		if policy < 0 {
			return true
		}
		if n == evictionsPerCommand {
			return false // still evicting: Redis lets the command run too
		}
		start := time.Now()
		key := db.EvictOne(store.EvictionPolicy(policy), int(s.memory.samples.Load()))
		if key == nil {
			return true
		}
		s.noteLatency("eviction-del", time.Since(start))
		s.memory.evicted.Add(1)
		s.notifyKeyspace(config.NotifyEvicted, "evicted", key)
		if s.propagating() {
			s.propagate(commandTable["del"], [][]byte{[]byte("DEL"), key})
		}
	}
	return false
}

// isReplica reports whether this node follows a master, without the store
// lock (scripts run holding it).
func (s *Server) isReplica() bool {
	if s.Cluster != nil {
		replica, _ := s.Cluster.Role()
		return replica
	}
	return s.repl.ro.Load()
}

// enoughReplicas is min-replicas-to-write's test: that many replicas
// acknowledged within min-replicas-max-lag seconds. locked says the caller
// holds the store lock (a script's commands).
func (s *Server) enoughReplicas() bool {
	want := s.memory.minReplicas.Load()
	if want <= 0 || s.memory.maxLag.Load() <= 0 { // Redis checks only with both set
		return true
	}
	if s.isReplica() {
		return true // a replica applies what its master sends
	}
	return s.memory.goodReplicas.Load() >= want
}

// refreshGoodReplicas counts the replicas that are online and acknowledged
// within min-replicas-max-lag seconds, for enoughReplicas to read without
// the store lock. As Redis (refreshGoodSlavesCount), it runs once a second,
// when a replica comes online or leaves, and when the settings change;
// called under the store lock.
func (s *Server) refreshGoodReplicas() {
	maxLag := int64(s.memory.maxLag.Load())
	now := time.Now().Unix()
	good := int32(0)
	for _, l := range s.replicas {
		if l.online.Load() && now-l.ackTime.Load() <= maxLag {
			good++
		}
	}
	s.memory.goodReplicas.Store(good)
}

// admit makes Redis's pre-command checks that depend on memory and
// replicas: "" lets the command run, else the error to answer (for EXEC,
// its queued commands count). It records, for scripts, whether the node was out of
// memory when the command began.
func (c *Client) admit(cmd *command, args [][]byte) string {
	s := c.srv
	c.oomAtStart = false
	if s.memory.maxmemory.Load() <= 0 && s.memory.minReplicas.Load() <= 0 {
		return ""
	}
	denyOOM := cmd.denyOOM || denyOOMSubcommand(cmd, args)
	write := cmd.write
	if cmd.name == "exec" && c.multi != nil {
		for _, q := range *c.multi {
			if qc := lookupCommand(q[0]); qc != nil {
				denyOOM = denyOOM || qc.denyOOM || denyOOMSubcommand(qc, q)
				write = write || qc.write
			}
		}
	}
	if s.memory.maxmemory.Load() > 0 {
		oom := s.outOfMemory()
		c.oomAtStart = oom
		// Inside MULTI, queueing itself takes memory: everything but EXEC,
		// DISCARD, QUIT and RESET is refused.
		inMulti := c.multi != nil && !inMultiAllowed(cmd.name)
		if oom && (denyOOM || inMulti) {
			return errOOM
		}
	}
	if write && !s.enoughReplicas() {
		return errNoReplicas
	}
	return ""
}

const errMasterDown = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."

// staleRefusal is replica-serve-stale-data no: while a replica's link to
// its master is down, only commands flagged stale run (for EXEC, every
// queued command must be).
func (c *Client) staleRefusal(cmd *command) string {
	s := c.srv
	if s.Cluster != nil || !s.repl.ro.Load() || s.Cfg.Bool("replica-serve-stale-data") || s.masterLinkUp() {
		return ""
	}
	stale := hasFlag(cmd, "stale")
	if cmd.name == "exec" && c.multi != nil {
		for _, q := range *c.multi {
			if qc := lookupCommand(q[0]); qc != nil && !hasFlag(qc, "stale") {
				stale = false
			}
		}
	}
	if stale {
		return ""
	}
	return errMasterDown
}

// Prepare is what a script's flags decide before it runs (Redis's
// scriptPrepareForRun); flagged says it has a shebang or is a function,
// else its commands are checked one by one (scriptCommandGate). A script
// that may write needs enough replicas, and one without allow-oom or
// no-writes may not start out of memory.
func (h *scriptHost) Prepare(flags []string, flagged bool) string {
	noWrites, allowOOM := false, false
	for _, f := range flags {
		switch f {
		case "no-writes":
			noWrites = true
		case "allow-oom":
			allowOOM = true
		}
	}
	h.flagged, h.allowOOM = flagged, allowOOM || noWrites
	c := h.caller
	if !flagged || noWrites || c == nil {
		return ""
	}
	if !h.srv.enoughReplicas() {
		return errNoReplicas
	}
	if c.oomAtStart && !allowOOM {
		return errOOM
	}
	return ""
}

// scriptCommandGate refuses a deny-oom command of a script that began out
// of memory (unless allow-oom), and, for a script without flags, a write
// when min-replicas-to-write is not met.
func (h *scriptHost) scriptCommandGate(cmd *command) []byte {
	c := h.caller
	if c == nil {
		return nil
	}
	if cmd.denyOOM && c.oomAtStart && !h.allowOOM {
		return []byte("-" + errOOM + "\r\n")
	}
	if !h.flagged && cmd.write && !h.srv.enoughReplicas() {
		return []byte("-" + errNoReplicas + "\r\n")
	}
	return nil
}

// reportedUsedMemory is INFO's used_memory: the accounted dataset while
// maxmemory is set (what eviction compares), else the Go heap.
func (s *Server) reportedUsedMemory(heap uint64) uint64 {
	if s.memory.maxmemory.Load() <= 0 {
		return heap
	}
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	return uint64(s.usedMemory())
}
