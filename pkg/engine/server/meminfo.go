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

// Per-client buffers the engine allocates for every connection: the
// command reader's and the reply writer's (resp.NewReader, resp.NewWriter).
const clientBufferBytes = 32<<10 + 16<<10

func (s *Server) memoryInfo(line func(string, any)) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	used := s.reportedUsedMemory(m.HeapAlloc)
	peak := s.memPeak.note(used)
	resident := rss(m.Sys)
	startup := s.memPeak.startup.Load()

	s.DB.Mu.Lock()
	var backlog, replicaBufs uint64
	if b := s.repl.backlog; b != nil {
		backlog = uint64(b.Size())
	}
	for _, l := range s.replicas {
		l.mu.Lock()
		replicaBufs += uint64(len(l.buf))
		l.mu.Unlock()
	}
	replicas := len(s.replicas)
	s.DB.Mu.Unlock()
	var aofBuf uint64
	if l := s.aof.log.Load(); l != nil {
		aofBuf = uint64(l.Pending())
	}
	clients := uint64(max(s.clientCount()-replicas, 0)) * clientBufferBytes
	replicaClients := uint64(replicas)*clientBufferBytes + replicaBufs
	overhead := startup + backlog + clients + replicaClients + aofBuf
	dataset := uint64(0)
	if used > overhead {
		dataset = used - overhead
	}
	perc := func(part, whole uint64) string {
		if whole == 0 {
			return "0.00%"
		}
		return fmt.Sprintf("%.2f%%", float64(part)*100/float64(whole))
	}
	ratio := func(a, b uint64) string {
		if b == 0 {
			return "0.00"
		}
		return fmt.Sprintf("%.2f", float64(a)/float64(b))
	}
	diff := func(a, b uint64) int64 { return int64(a) - int64(b) }
	allocated, active, heldFromOS := m.HeapAlloc, m.HeapInuse, m.HeapSys-m.HeapReleased
	sys := totalSystemMemory()
	sc := s.scriptMemory()

	line("used_memory", used)
	line("used_memory_human", humanBytes(used))
	line("used_memory_rss", resident)
	line("used_memory_rss_human", humanBytes(resident))
	line("used_memory_peak", peak)
	line("used_memory_peak_human", humanBytes(peak))
	line("used_memory_peak_perc", perc(used, peak))
	line("used_memory_overhead", overhead)
	line("used_memory_startup", startup)
	line("used_memory_dataset", dataset)
	line("used_memory_dataset_perc", perc(dataset, used-min(used, startup)))
	line("allocator_allocated", allocated)
	line("allocator_active", active)
	line("allocator_resident", heldFromOS)
	line("total_system_memory", sys)
	line("total_system_memory_human", humanBytes(sys))
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
	line("allocator_frag_ratio", ratio(active, allocated))
	line("allocator_frag_bytes", diff(active, allocated))
	line("allocator_rss_ratio", ratio(heldFromOS, active))
	line("allocator_rss_bytes", diff(heldFromOS, active))
	line("rss_overhead_ratio", ratio(resident, heldFromOS))
	line("rss_overhead_bytes", diff(resident, heldFromOS))
	line("mem_fragmentation_ratio", ratio(resident, used))
	line("mem_fragmentation_bytes", diff(resident, used))
	line("mem_not_counted_for_evict", aofBuf+replicaBufs)
	line("mem_replication_backlog", backlog)
	line("mem_total_replication_buffers", backlog+replicaBufs)
	line("mem_clients_slaves", replicaClients)
	line("mem_clients_normal", clients)
	line("mem_cluster_links", 0)
	line("mem_aof_buffer", aofBuf)
	line("mem_allocator", "go")
	line("active_defrag_running", 0)
	line("lazyfree_pending_objects", s.lazyfree.pending.Load())
	line("lazyfreed_objects", s.lazyfree.freed.Load())
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
