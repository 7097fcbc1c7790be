package server

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
)

// INFO memory: redis-server 7.0's fields in its order, from what the Go
// runtime and the engine measure. The allocator figures map onto Go's
// heap: allocated is the live heap, active the heap in use by spans,
// resident what the heap holds from the OS.

// memoryPeak is used_memory's highest value seen (sampled by the cron and
// at every INFO).
type memoryPeak struct{ peak, startup atomic.Uint64 }

func (p *memoryPeak) note(used uint64) uint64 {
	for {
		old := p.peak.Load()
		if used <= old {
			return old
		}
		if p.peak.CompareAndSwap(old, used) {
			return used
		}
	}
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// liveHeapBytes is the heap's live and not yet swept objects, read without
// stopping the world (runtime.ReadMemStats would).
func liveHeapBytes() uint64 {
	s := []metrics.Sample{heapSample[0]}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return s[0].Value.Uint64()
	}
	return 0
}

// notePeakMemory samples used_memory for its peak; called by the cron.
func (s *Server) notePeakMemory() {
	if s.memory.maxmemory.Load() > 0 { // used_memory is the engine's own estimate then
		s.DB.Mu.Lock()
		used := uint64(s.usedMemory())
		s.DB.Mu.Unlock()
		s.memPeak.note(used)
		return
	}
	s.memPeak.note(liveHeapBytes())
}

// replyBufferBytes is the reply buffer every connection has
// (resp.NewWriter); query buffers are measured (resp.Reader.QueryBuf).
const replyBufferBytes = 16 << 10

// memoryFigures is one measurement of the server's memory.
type memoryFigures struct {
	used, peak, resident, startup              uint64
	backlog, replicaBufs, aofBuf               uint64
	clients, replicaClients, overhead, dataset uint64
	allocated, active, heldFromOS, system      uint64
	notCountedForEvict                         uint64
	keys                                       int
	scripts                                    scriptStats
}

func (s *Server) measureMemory() memoryFigures {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	f := memoryFigures{used: s.reportedUsedMemory(m.HeapAlloc), resident: rss(m.Sys), startup: s.memPeak.startup.Load(),
		allocated: m.HeapAlloc, active: m.HeapInuse, heldFromOS: m.HeapSys - m.HeapReleased, system: totalSystemMemory()}
	f.peak = s.memPeak.note(f.used)
	s.DB.Mu.Lock()
	if b := s.repl.backlog; b != nil {
		f.backlog = uint64(b.Size())
	}
	for _, l := range s.replicas {
		l.mu.Lock()
		f.replicaBufs += uint64(l.unsent + l.queued)
		l.mu.Unlock()
	}
	replicas := len(s.replicas)
	f.keys = s.DB.DBSize()
	accounted := uint64(s.usedMemory())
	s.DB.Mu.Unlock()
	if l := s.aof.log.Load(); l != nil {
		f.aofBuf = uint64(l.Pending())
	}
	// Eviction compares maxmemory with the engine's account of its data,
	// not with the Go heap that used_memory shows while maxmemory is 0: the
	// rest of that heap is memory not counted for eviction, so that
	// used_memory - mem_not_counted_for_evict is what eviction sees, as
	// tools (and Redis's tests) compute it before setting a maxmemory.
	f.notCountedForEvict = f.aofBuf + f.replicaBufs
	if f.used > accounted+f.notCountedForEvict {
		f.notCountedForEvict = f.used - accounted
	}
	f.clients = uint64(max(s.clientCount()-replicas, 0))*replyBufferBytes + s.queryBufferBytes()
	f.replicaClients = uint64(replicas)*replyBufferBytes + f.replicaBufs
	f.scripts = s.scriptMemory()
	f.overhead = f.startup + f.backlog + f.clients + f.replicaClients + f.aofBuf + uint64(f.scripts.evalBytes)
	if f.used > f.overhead {
		f.dataset = f.used - f.overhead
	}
	return f
}

func percentOf(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) * 100 / float64(whole)
}

func ratioOf(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (s *Server) memoryInfo(line func(string, any)) {
	f := s.measureMemory()
	perc := func(part, whole uint64) string { return fmt.Sprintf("%.2f%%", percentOf(part, whole)) }
	ratio := func(a, b uint64) string { return fmt.Sprintf("%.2f", ratioOf(a, b)) }
	diff := func(a, b uint64) int64 { return int64(a) - int64(b) }
	sc := f.scripts
	line("used_memory", f.used)
	line("used_memory_human", humanBytes(f.used))
	line("used_memory_rss", f.resident)
	line("used_memory_rss_human", humanBytes(f.resident))
	line("used_memory_peak", f.peak)
	line("used_memory_peak_human", humanBytes(f.peak))
	line("used_memory_peak_perc", perc(f.used, f.peak))
	line("used_memory_overhead", f.overhead)
	line("used_memory_startup", f.startup)
	line("used_memory_dataset", f.dataset)
	line("used_memory_dataset_perc", perc(f.dataset, f.used-min(f.used, f.startup)))
	line("allocator_allocated", f.allocated)
	line("allocator_active", f.active)
	line("allocator_resident", f.heldFromOS)
	line("total_system_memory", f.system)
	line("total_system_memory_human", humanBytes(f.system))
	line("used_memory_lua", sc.evalBytes)
	line("used_memory_vm_eval", sc.evalBytes)
	line("used_memory_lua_human", humanBytes(uint64(sc.evalBytes)))
	line("used_memory_scripts_eval", sc.evalBytes)
	line("number_of_cached_scripts", sc.scripts)
	line("number_of_functions", sc.functions)
	line("number_of_libraries", sc.libraries)
	line("used_memory_vm_functions", 0) // functions run in the scripts' Lua states
	line("used_memory_vm_total", sc.evalBytes)
	line("used_memory_vm_total_human", humanBytes(uint64(sc.evalBytes)))
	line("used_memory_functions", 0)
	line("used_memory_scripts", sc.evalBytes)
	line("used_memory_scripts_human", humanBytes(uint64(sc.evalBytes)))
	line("maxmemory", s.Cfg.Int("maxmemory"))
	line("maxmemory_human", humanBytes(uint64(s.Cfg.Int("maxmemory"))))
	line("maxmemory_policy", s.Cfg.Get("maxmemory-policy"))
	line("allocator_frag_ratio", ratio(f.active, f.allocated))
	line("allocator_frag_bytes", diff(f.active, f.allocated))
	line("allocator_rss_ratio", ratio(f.heldFromOS, f.active))
	line("allocator_rss_bytes", diff(f.heldFromOS, f.active))
	line("rss_overhead_ratio", ratio(f.resident, f.heldFromOS))
	line("rss_overhead_bytes", diff(f.resident, f.heldFromOS))
	line("mem_fragmentation_ratio", ratio(f.resident, f.used))
	line("mem_fragmentation_bytes", diff(f.resident, f.used))
	line("mem_not_counted_for_evict", f.notCountedForEvict)
	line("mem_replication_backlog", f.backlog)
	line("mem_total_replication_buffers", f.backlog+f.replicaBufs)
	line("mem_clients_slaves", f.replicaClients)
	line("mem_clients_normal", f.clients)
	line("mem_cluster_links", 0)
	line("mem_aof_buffer", f.aofBuf)
	line("mem_allocator", "go")
	line("active_defrag_running", 0)
	line("lazyfree_pending_objects", s.lazyfree.pending.Load())
	line("lazyfreed_objects", s.lazyfree.freed.Load())
}

// writeMemoryStats answers MEMORY STATS: redis-server 7.0's fields in its
// order, from the same measurement as INFO memory.
func (s *Server) writeMemoryStats(c *Client) {
	f := s.measureMemory()
	num := func(name string, v uint64) { c.w.WriteBulkString(name); c.w.WriteInt(int64(v)) }
	dbl := func(name string, v float64) { c.w.WriteBulkString(name); c.w.WriteDouble(v) }
	dbs := 0 // Redis lists the databases that hold keys
	if f.keys > 0 {
		dbs = 1
	}
	c.w.WriteMapLen(27 + dbs)
	num("peak.allocated", f.peak)
	num("total.allocated", f.used)
	num("startup.allocated", f.startup)
	num("replication.backlog", f.backlog)
	num("clients.slaves", f.replicaClients)
	num("clients.normal", f.clients)
	num("cluster.links", 0)
	num("aof.buffer", f.aofBuf)
	num("lua.caches", uint64(f.scripts.evalBytes))
	num("functions.caches", 0)
	if f.keys > 0 {
		c.w.WriteBulkString("db.0")
		c.w.WriteMapLen(3)
		num("overhead.hashtable.main", 0) // the key table's cost is in the values' accounting
		num("overhead.hashtable.expires", 0)
		num("overhead.hashtable.slot-to-keys", 0)
	}
	num("overhead.total", f.overhead)
	num("keys.count", uint64(f.keys))
	perKey := uint64(0)
	if f.keys > 0 {
		perKey = (f.used - min(f.used, f.startup)) / uint64(f.keys)
	}
	num("keys.bytes-per-key", perKey)
	num("dataset.bytes", f.dataset)
	dbl("dataset.percentage", percentOf(f.dataset, f.used-min(f.used, f.startup)))
	dbl("peak.percentage", percentOf(f.used, f.peak))
	num("allocator.allocated", f.allocated)
	num("allocator.active", f.active)
	num("allocator.resident", f.heldFromOS)
	dbl("allocator-fragmentation.ratio", ratioOf(f.active, f.allocated))
	num("allocator-fragmentation.bytes", f.active-min(f.active, f.allocated))
	dbl("allocator-rss.ratio", ratioOf(f.heldFromOS, f.active))
	num("allocator-rss.bytes", f.heldFromOS-min(f.heldFromOS, f.active))
	dbl("rss-overhead.ratio", ratioOf(f.resident, f.heldFromOS))
	num("rss-overhead.bytes", f.resident-min(f.resident, f.heldFromOS))
	dbl("fragmentation", ratioOf(f.resident, f.used))
	num("fragmentation.bytes", f.resident-min(f.resident, f.used))
}

// memoryDoctor reports memory problems in words, from the same figures.
func (s *Server) memoryDoctor() string {
	f := s.measureMemory()
	if f.used < 5<<20 {
		return "This instance holds very little data (under 5 MB): there is nothing to diagnose yet.\n"
	}
	var issues []string
	if f.peak > f.used*3/2 {
		issues = append(issues, fmt.Sprintf("Peak memory: the peak (%s) is more than 150%% of what is used now (%s): memory was freed, and the process may still hold it from the OS (MEMORY PURGE returns what it can).", humanBytes(f.peak), humanBytes(f.used)))
	}
	if r := ratioOf(f.resident, f.used); r > 1.4 && f.resident-f.used > 10<<20 {
		issues = append(issues, fmt.Sprintf("High fragmentation: the process's resident memory is %.2f times what the data uses (%s more); Go's collector returns freed memory gradually (MEMORY PURGE does it at once).", r, humanBytes(f.resident-f.used)))
	}
	if f.clients > f.used/2 {
		issues = append(issues, fmt.Sprintf("Client buffers take %s, more than half of the memory in use: many connections (INFO clients).", humanBytes(f.clients)))
	}
	if len(issues) == 0 {
		return "No memory problem found: peak, fragmentation and client buffers are within normal bounds.\n"
	}
	return "Memory problems found:\n\n * " + strings.Join(issues, "\n\n * ") + "\n"
}

// totalSystemMemory is the machine's memory (MemTotal), 0 when unknown.
func totalSystemMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				if kb, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// goMallocStats is MEMORY MALLOC-STATS: the Go runtime's allocator
// statistics, where redis-server prints jemalloc's.
func goMallocStats() string {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	var b strings.Builder
	b.WriteString("___ Begin Go runtime allocator statistics ___\n")
	for _, kv := range []struct {
		name string
		v    uint64
	}{{"heap_alloc", m.HeapAlloc}, {"heap_inuse", m.HeapInuse}, {"heap_idle", m.HeapIdle}, {"heap_released", m.HeapReleased},
		{"heap_sys", m.HeapSys}, {"heap_objects", m.HeapObjects}, {"stack_inuse", m.StackInuse}, {"sys", m.Sys},
		{"mallocs", m.Mallocs}, {"frees", m.Frees}, {"gc_cycles", uint64(m.NumGC)}, {"next_gc", m.NextGC}} {
		fmt.Fprintf(&b, "%s: %d\n", kv.name, kv.v)
	}
	b.WriteString("--- End Go runtime allocator statistics ---\n")
	return b.String()
}
