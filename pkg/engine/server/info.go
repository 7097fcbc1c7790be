package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

var defaultInfoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"}

// everythingInfoSections is INFO ALL / EVERYTHING, in redis-server's order.
var everythingInfoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
	"commandstats", "errorstats", "latencystats", "cluster", "keyspace"}

func cmdInfo(c *Client, args [][]byte) {
	sections := defaultInfoSections
	if len(args) > 1 {
		sections = nil
		for _, a := range args[1:] {
			s := strings.ToLower(string(a))
			if s == "default" {
				sections = defaultInfoSections
				break
			}
			if s == "all" || s == "everything" { // default plus commandstats, as Redis
				sections = everythingInfoSections
				break
			}
			sections = append(sections, s)
		}
	}
	var b strings.Builder
	for _, s := range sections {
		text := c.srv.infoSection(s)
		if text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString(text)
	}
	c.w.WriteVerbatim(b.String())
}

// infoSection renders one INFO section ("" for unknown ones, like Redis).
func (s *Server) infoSection(name string) string {
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%s:%v\r\n", k, v) }
	switch name {
	case "server":
		b.WriteString("# Server\r\n")
		mode := "standalone"
		if s.Cluster != nil {
			mode = "cluster"
		}
		up := time.Since(s.startTime)
		exe, _ := os.Executable()
		line("redis_version", Version)
		line("redis_git_sha1", "00000000")
		line("redis_git_dirty", 0)
		line("redis_build_id", "0")
		line("redis_mode", mode)
		line("os", runtime.GOOS+" "+runtime.GOARCH)
		line("arch_bits", strconv.IntSize)
		line("monotonic_clock", "POSIX clock_gettime")
		line("multiplexing_api", "go")
		line("atomicvar_api", "go sync/atomic")
		line("gcc_version", "0.0.0")
		line("process_id", os.Getpid())
		line("process_supervised", "no")
		line("run_id", s.runID)
		line("tcp_port", s.Port())
		line("server_time_usec", time.Now().UnixMicro())
		line("uptime_in_seconds", int64(up.Seconds()))
		line("uptime_in_days", int64(up.Hours()/24))
		line("hz", s.Cfg.Int("hz"))
		line("configured_hz", s.Cfg.Int("hz"))
		line("lru_clock", time.Now().Unix()&(1<<24-1)) // Redis's 24-bit LRU clock, in seconds
		line("executable", exe)
		line("config_file", s.Cfg.File)
		line("io_threads_active", 0)
		line("engine", "gocluster "+runtime.Version())
	case "clients":
		b.WriteString("# Clients\r\n")
		line("connected_clients", s.clientCount())
		line("cluster_connections", 0)
		line("maxclients", s.Cfg.Int("maxclients"))
		line("client_recent_max_input_buffer", 0)
		line("client_recent_max_output_buffer", 0)
		line("blocked_clients", s.blocked.Load())
		line("tracking_clients", s.tracking.numClients.Load())
		line("clients_in_timeout_table", 0)
	case "memory":
		b.WriteString("# Memory\r\n")
		s.memoryInfo(line)
	case "persistence":
		b.WriteString("# Persistence\r\n")
		p := &s.persist
		line("loading", 0)
		line("async_loading", 0)
		// The engine does not fork: no copy-on-write, no child progress.
		for _, k := range []string{"current_cow_peak", "current_cow_size", "current_cow_size_age"} {
			line(k, 0)
		}
		line("current_fork_perc", "0.00")
		line("current_save_keys_processed", 0)
		line("current_save_keys_total", 0)
		line("rdb_changes_since_last_save", p.dirty.Load())
		line("rdb_bgsave_in_progress", boolInt(p.saving.Load()))
		line("rdb_last_save_time", p.lastTime.Load())
		line("rdb_last_bgsave_status", okErr(p.failed.Load()))
		line("rdb_last_bgsave_time_sec", p.bgLast.Load())
		current := int64(-1)
		if p.saving.Load() {
			current = int64(time.Since(time.Unix(0, p.bgStart.Load())).Seconds())
		}
		line("rdb_current_bgsave_time_sec", current)
		line("rdb_saves", p.saves.Load())
		line("rdb_last_cow_size", 0)
		line("rdb_last_load_keys_expired", p.loadedExpired.Load())
		line("rdb_last_load_keys_loaded", p.loadedKeys.Load())
		s.aofInfo(line)
	case "stats":
		b.WriteString("# Stats\r\n")
		s.DB.Mu.Lock()
		expired := s.DB.Expired
		s.DB.Mu.Unlock()
		line("total_connections_received", s.totalConns.Load())
		line("total_commands_processed", s.commandsProcessed())
		s.trafficInfo(line)
		line("rejected_connections", s.rejectedConns.Load())
		full, pok, perr := s.replicationStats()
		line("sync_full", full)
		line("sync_partial_ok", pok)
		line("sync_partial_err", perr)
		line("expired_keys", expired)
		line("expired_stale_perc", "0.00")
		line("expired_time_cap_reached_count", 0)
		line("expire_cycle_cpu_milliseconds", s.expireCycleNs.Load()/int64(time.Millisecond))
		line("evicted_keys", s.memory.evicted.Load())
		line("evicted_clients", 0)
		line("total_eviction_exceeded_time", 0)
		line("current_eviction_exceeded_time", 0)
		line("keyspace_hits", s.stats.hits.Load())
		line("keyspace_misses", s.stats.misses.Load())
		line("pubsub_channels", s.PubSub.NumChannels())
		line("pubsub_patterns", s.PubSub.NumPat())
		line("pubsubshard_channels", s.PubSub.NumShardChannels())
		line("latest_fork_usec", 0)
		line("total_forks", 0)
		line("migrate_cached_sockets", s.migrate.cached())
		line("slave_expires_tracked_keys", 0)
		for _, k := range []string{"active_defrag_hits", "active_defrag_misses", "active_defrag_key_hits",
			"active_defrag_key_misses", "total_active_defrag_time", "current_active_defrag_time"} {
			line(k, 0) // Go's allocator compacts nothing on request
		}
		keys, items, prefixes := s.trackingInfo()
		line("tracking_total_keys", keys)
		line("tracking_total_items", items)
		line("tracking_total_prefixes", prefixes)
		line("unexpected_error_replies", 0)
		line("total_error_replies", s.stats.totalErrors.Load())
		line("dump_payload_sanitizations", 0)
		t := &s.traffic
		line("total_reads_processed", t.in.calls.Load()+t.replIn.calls.Load())
		line("total_writes_processed", t.out.calls.Load()+t.replOut.calls.Load())
		line("io_threaded_reads_processed", 0)
		line("io_threaded_writes_processed", 0)
		line("reply_buffer_shrinks", s.replyBufShrinks.Load())
		line("reply_buffer_expands", s.replyBufExpands.Load())
	case "replication":
		s.replicationInfo(&b)
	case "cpu":
		b.WriteString("# CPU\r\n")
		cpuInfo(line)
	case "modules":
		b.WriteString("# Modules\r\n")
	case "errorstats":
		s.stats.errorStatsInfo(&b)
	case "commandstats":
		s.stats.commandStatsInfo(&b)
	case "latencystats":
		s.latencyStatsInfo(&b)
	case "cluster":
		b.WriteString("# Cluster\r\n")
		if s.Cluster != nil {
			b.WriteString(s.Cluster.InfoSection())
		} else {
			line("cluster_enabled", 0)
		}
	case "keyspace":
		b.WriteString("# Keyspace\r\n")
		s.DB.Mu.Lock()
		keys, expires := s.DB.DBSize(), s.DB.ExpiresCount()
		s.DB.Mu.Unlock()
		if keys > 0 {
			fmt.Fprintf(&b, "db0:keys=%d,expires=%d,avg_ttl=0\r\n", keys, expires)
		}
	default:
		return ""
	}
	return b.String()
}

// rss is the resident set size from /proc when available, else what the Go
// runtime obtained from the OS.
func rss(fallback uint64) uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err == nil {
		f := strings.Fields(string(data))
		if len(f) > 1 {
			if pages, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				return pages * uint64(os.Getpagesize())
			}
		}
	}
	return fallback
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func init() {
	def("memory", -2, "readonly nolock", 0, 0, 0, cmdMemory)
}

// cmdMemory: MEMORY PURGE (a full GC returning free memory to the OS, the
// engine's counterpart of jemalloc purging), MEMORY USAGE key (an estimate
// from the DUMP size), MEMORY STATS and DOCTOR (meminfo.go), MALLOC-STATS
// (Go's allocator statistics) and MEMORY HELP.
func cmdMemory(c *Client, args [][]byte) {
	switch sub := string(lower(args[1])); {
	case sub == "purge" && len(args) == 2:
		runtime.GC()
		debug.FreeOSMemory()
		c.w.WriteRaw(okReply)
	case sub == "usage" && (len(args) == 3 || len(args) == 5):
		samples := int64(5) // Redis's default; 0 means every element
		if len(args) == 5 {
			if !eq(args[3], "samples") {
				c.w.WriteError(errSyntax)
				return
			}
			n, ok := parseInt(args[4])
			if !ok {
				c.w.WriteError(errNotInt)
				return
			} else if n < 0 {
				c.w.WriteError(errSyntax)
				return
			}
			samples = n
		}
		db := c.srv.DB
		db.Mu.Lock()
		size, ok := db.MemoryUsage(args[2], int(min(samples, 1<<30)))
		db.Mu.Unlock()
		if !ok {
			c.w.WriteNull()
			return
		}
		c.w.WriteInt(size)
	case sub == "stats" && len(args) == 2:
		c.srv.writeMemoryStats(c)
	case sub == "doctor" && len(args) == 2:
		c.w.WriteVerbatim(c.srv.memoryDoctor())
	case sub == "malloc-stats" && len(args) == 2:
		c.w.WriteVerbatim(goMallocStats())
	case sub == "help" && len(args) == 2:
		c.writeHelp("MEMORY", memoryHelp)
	case sub == "stats" || sub == "doctor" || sub == "malloc-stats" || sub == "purge" || sub == "help":
		c.w.WriteError("ERR wrong number of arguments for 'memory|" + sub + "' command")
	default:
		c.w.WriteError(unknownSubcommand(args[1], "MEMORY"))
	}
}
