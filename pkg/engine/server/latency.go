package server

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LATENCY and INFO latencystats, as Redis 7.0: the latency monitor keeps,
// per event ("command", "fast-command", "expire-cycle"), the last 160
// seconds in which it took at least latency-monitor-threshold ms; latency
// tracking keeps a histogram of every command's run time (subcommands
// apart, "client|id"), for LATENCY HISTOGRAM and the percentiles of INFO
// latencystats.

func init() {
	def("latency", -2, "admin noscript loading stale", 0, 0, 0, cmdLatency)
}

// latencyHistoryLen is how many samples an event keeps (Redis's
// LATENCY_TS_LEN).
const latencyHistoryLen = 160

type latencySample struct{ at, ms int64 } // unix seconds, milliseconds

type latencyEvent struct {
	samples []latencySample // oldest first, at most latencyHistoryLen
	max     int64
}

// latencyState is the monitor's events and the commands' histograms.
type latencyState struct {
	threshold atomic.Int64 // latency-monitor-threshold in ms, 0 = off
	tracking  atomic.Bool  // latency-tracking
	// slowlogThreshold is slowlog-log-slower-than in µs (< 0: off), read
	// by every command, so not through the config's lock and map
	slowlogThreshold atomic.Int64
	mu               sync.Mutex
	events           map[string]*latencyEvent
	hists            sync.Map // *command or subcommand name ("client|id") -> *latencyHist
}

func (s *Server) applyLatencyConfig() {
	s.latency.threshold.Store(int64(s.Cfg.Int("latency-monitor-threshold")))
	s.latency.tracking.Store(s.Cfg.Bool("latency-tracking"))
	s.latency.slowlogThreshold.Store(int64(s.Cfg.Int("slowlog-log-slower-than")))
}

// noteLatency records an event's duration when it reaches the threshold;
// samples of one second keep the highest.
func (s *Server) noteLatency(event string, d time.Duration) {
	th := s.latency.threshold.Load()
	ms := d.Milliseconds()
	if th <= 0 || ms < th {
		return
	}
	l := &s.latency
	now := time.Now().Unix()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.events == nil {
		l.events = map[string]*latencyEvent{}
	}
	e := l.events[event]
	if e == nil {
		e = &latencyEvent{}
		l.events[event] = e
	}
	e.max = max(e.max, ms)
	if n := len(e.samples); n > 0 && e.samples[n-1].at == now {
		e.samples[n-1].ms = max(e.samples[n-1].ms, ms)
		return
	}
	if len(e.samples) == latencyHistoryLen {
		e.samples = append(e.samples[:0], e.samples[1:]...)
	}
	e.samples = append(e.samples, latencySample{now, ms})
}

// trackedName is the name a command's latency is kept under: a
// subcommand's own ("client|id"), "" for an unknown subcommand (Redis
// refuses those before they run).
func trackedName(cmd *command, args [][]byte) string {
	if !containerCommands[cmd.name] {
		return cmd.name
	}
	if len(args) < 2 {
		return ""
	}
	name := cmd.name + "|" + strings.ToLower(string(args[1]))
	if _, ok := redisACLCategories[name]; !ok {
		return ""
	}
	return name
}

// noteCommandLatency is told of every command that ran and how long (its
// blocked wait left out); histogram is false for a blocking command that
// was not served, which Redis leaves out of LATENCY HISTOGRAM.
func (s *Server) noteCommandLatency(cmd *command, args [][]byte, d time.Duration, histogram bool) {
	if s.latency.threshold.Load() > 0 {
		if cmd.fast {
			s.noteLatency("fast-command", d)
		} else {
			s.noteLatency("command", d)
		}
	}
	if !histogram || !s.latency.tracking.Load() {
		return
	}
	var key any = cmd // a pointer hashes faster than a name, on every command
	if containerCommands[cmd.name] {
		name := trackedName(cmd, args)
		if name == "" {
			return
		}
		key = name
	}
	h, ok := s.latency.hists.Load(key)
	if !ok {
		h, _ = s.latency.hists.LoadOrStore(key, &latencyHist{})
	}
	h.(*latencyHist).add(d)
}

// histName is the name a histogram key stands for.
func histName(key any) string {
	if cmd, ok := key.(*command); ok {
		return cmd.name
	}
	return key.(string)
}

// latencyHist counts durations in buckets of 1/16 of a power of two
// nanoseconds (about 6% wide), like an HDR histogram of that precision.
type latencyHist struct {
	calls  atomic.Int64
	counts [1024]atomic.Int64
}

func histBucket(ns uint64) int {
	if ns < 16 {
		return int(ns)
	}
	e := bits.Len64(ns) - 5
	return (e+1)*16 + int(ns>>e) - 16
}

// bucketTop is the highest duration (ns) bucket i holds.
func bucketTop(i int) uint64 {
	if i < 16 {
		return uint64(i)
	}
	e, v := i/16-1, uint64(i%16+16)
	return (v+1)<<e - 1
}

func (h *latencyHist) add(d time.Duration) {
	h.calls.Add(1)
	h.counts[histBucket(uint64(max(d, 0)))].Add(1)
}

// percentile is the duration in microseconds under which p percent of
// the calls ran.
func (h *latencyHist) percentile(p float64, counts []int64, total int64) float64 {
	rank := int64(math.Ceil(p / 100 * float64(total)))
	rank = max(rank, 1)
	var cum int64
	for i, n := range counts {
		if cum += n; cum >= rank {
			return float64(bucketTop(i)) / 1000
		}
	}
	return 0
}

func (h *latencyHist) snapshot() ([]int64, int64) {
	counts := make([]int64, len(h.counts))
	var total int64
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	return counts, total
}

func (s *Server) resetLatencyHistograms() {
	s.latency.hists.Clear()
}

// latencyStatsInfo writes INFO latencystats.
func (s *Server) latencyStatsInfo(b *strings.Builder) {
	b.WriteString("# Latencystats\r\n")
	var percentiles []float64
	for _, f := range strings.Fields(s.Cfg.Get("latency-tracking-info-percentiles")) {
		if p, err := strconv.ParseFloat(f, 64); err == nil {
			percentiles = append(percentiles, p)
		}
	}
	for _, name := range s.trackedCommands() {
		h := s.histogramOf(name)
		counts, total := h.snapshot()
		if total == 0 {
			continue
		}
		parts := make([]string, len(percentiles))
		for i, p := range percentiles {
			parts[i] = fmt.Sprintf("p%s=%.3f", strconv.FormatFloat(p, 'f', -1, 64), h.percentile(p, counts, total))
		}
		fmt.Fprintf(b, "latency_percentiles_usec_%s:%s\r\n", name, strings.Join(parts, ","))
	}
}

func (s *Server) trackedCommands() []string {
	var names []string
	s.latency.hists.Range(func(k, _ any) bool {
		names = append(names, histName(k))
		return true
	})
	slices.Sort(names)
	return names
}

// histogramOf finds a tracked command's histogram by name.
func (s *Server) histogramOf(name string) *latencyHist {
	var key any = name
	if cmd := commandTable[name]; cmd != nil {
		key = cmd
	}
	if v, ok := s.latency.hists.Load(key); ok {
		return v.(*latencyHist)
	}
	return &latencyHist{}
}

func cmdLatency(c *Client, args [][]byte) {
	s := c.srv
	l := &s.latency
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "latest" && len(args) == 2:
		l.mu.Lock()
		names := sortedKeys(l.events)
		c.w.WriteArrayLen(len(names))
		for _, n := range names {
			e := l.events[n]
			last := e.samples[len(e.samples)-1]
			c.w.WriteArrayLen(4)
			c.w.WriteBulkString(n)
			c.w.WriteInt(last.at)
			c.w.WriteInt(last.ms)
			c.w.WriteInt(e.max)
		}
		l.mu.Unlock()
	case sub == "history" && len(args) == 3:
		l.mu.Lock()
		var samples []latencySample
		if e := l.events[string(args[2])]; e != nil {
			samples = e.samples
		}
		c.w.WriteArrayLen(len(samples))
		for _, smp := range samples {
			c.w.WriteArrayLen(2)
			c.w.WriteInt(smp.at)
			c.w.WriteInt(smp.ms)
		}
		l.mu.Unlock()
	case sub == "reset" && len(args) >= 2:
		l.mu.Lock()
		n := 0
		if len(args) == 2 {
			n = len(l.events)
			l.events = nil
		} else {
			for _, a := range args[2:] {
				if _, ok := l.events[string(a)]; ok {
					delete(l.events, string(a))
					n++
				}
			}
		}
		l.mu.Unlock()
		c.w.WriteInt(int64(n))
	case sub == "graph" && len(args) == 3:
		l.mu.Lock()
		e := l.events[string(args[2])]
		var graph string
		if e != nil {
			graph = latencyGraph(string(args[2]), e)
		}
		l.mu.Unlock()
		if e == nil {
			c.w.WriteError("ERR No samples available for event '" + string(args[2]) + "'")
			return
		}
		c.w.WriteVerbatim(graph)
	case sub == "doctor" && len(args) == 2:
		c.w.WriteVerbatim(s.latencyDoctor())
	case sub == "histogram":
		s.writeLatencyHistogram(c, args[2:])
	case sub == "help" && len(args) == 2:
		c.writeHelp("LATENCY", latencyHelp)
	case sub == "latest" || sub == "history" || sub == "graph" || sub == "doctor" || sub == "help":
		c.w.WriteError("ERR wrong number of arguments for 'latency|" + sub + "' command")
	default:
		c.w.WriteError(unknownSubcommand(args[1], "LATENCY"))
	}
}

// writeLatencyHistogram answers LATENCY HISTOGRAM: per command asked for
// (all that ran, when none is named; a container command names its
// subcommands), its calls and the cumulative count of calls under each
// power-of-two microsecond bound.
func (s *Server) writeLatencyHistogram(c *Client, names [][]byte) {
	all := s.trackedCommands()
	var chosen []string
	if len(names) == 0 {
		chosen = all
	} else {
		seen := map[string]bool{}
		for _, a := range names {
			n := strings.ToLower(string(a))
			for _, t := range all {
				if (t == n || strings.HasPrefix(t, n+"|")) && !seen[t] {
					seen[t] = true
					chosen = append(chosen, t)
				}
			}
		}
	}
	type entry struct {
		name   string
		calls  int64
		bounds []int64
		cums   []int64
	}
	var out []entry
	for _, name := range chosen {
		counts, total := s.histogramOf(name).snapshot()
		if total == 0 {
			continue
		}
		e := entry{name: name, calls: total}
		var cum, prev int64
		i := 0
		for bound := uint64(1024); prev < total; bound <<= 1 {
			for ; i < len(counts) && bucketTop(i) < bound; i++ {
				cum += counts[i]
			}
			if cum > prev {
				e.bounds = append(e.bounds, int64(bound/1000))
				e.cums = append(e.cums, cum)
			}
			prev = cum
			if bound > 1<<62 {
				break
			}
		}
		out = append(out, e)
	}
	c.w.WriteMapLen(len(out))
	for _, e := range out {
		c.w.WriteBulkString(e.name)
		c.w.WriteMapLen(2)
		c.w.WriteBulkString("calls")
		c.w.WriteInt(e.calls)
		c.w.WriteBulkString("histogram_usec")
		c.w.WriteMapLen(len(e.bounds))
		for i := range e.bounds {
			c.w.WriteInt(e.bounds[i])
			c.w.WriteInt(e.cums[i])
		}
	}
}

// latencyGraph draws an event's samples as redis-server does: a header, a
// rule, then per sample (oldest left, 80 to a block) a column four rows
// high whose fill ('_', 'o', '#', and '|' below the top) says where it
// lies between the lowest and highest sample, and under a blank row its
// age ("12s", "3m", "1h", "2d") written downwards.
func latencyGraph(name string, e *latencyEvent) string {
	lo, hi := e.samples[0].ms, e.samples[0].ms
	for _, smp := range e.samples {
		lo, hi = min(lo, smp.ms), max(hi, smp.ms)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s - high %d ms, low %d ms (all time high %d ms)\n", name, hi, lo, e.max)
	b.WriteString(strings.Repeat("-", latencyGraphCols) + "\n")
	now := time.Now().Unix()
	for from := 0; from < len(e.samples); from += latencyGraphCols {
		if from > 0 {
			b.WriteByte('\n')
		}
		drawSamples(&b, e.samples[from:min(from+latencyGraphCols, len(e.samples))], lo, hi, now)
	}
	return b.String()
}

const (
	latencyGraphCols = 80
	latencyGraphRows = 4
	levelsPerRow     = 3 // '_', 'o', '#'
)

func drawSamples(b *strings.Builder, samples []latencySample, lo, hi, now int64) {
	span := float64(hi - lo)
	if span == 0 {
		span = 1
	}
	steps := latencyGraphRows * levelsPerRow
	line := make([]byte, len(samples))
	for row := range latencyGraphRows {
		for i, smp := range samples {
			step := int(float64(int(float64(smp.ms-lo)*float64(steps))) / span)
			step = min(max(step, 0), steps-1)
			switch level := step - (latencyGraphRows-row-1)*levelsPerRow; {
			case level < 0:
				line[i] = ' '
			case level < levelsPerRow:
				line[i] = "_o#"[level]
			default:
				line[i] = '|'
			}
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	labels := make([]string, len(samples))
	longest := 0
	for i, smp := range samples {
		labels[i] = sampleAge(now - smp.at)
		longest = max(longest, len(labels[i]))
	}
	b.WriteString(strings.Repeat(" ", len(samples)) + "\n")
	for k := range longest {
		for i, l := range labels {
			line[i] = ' '
			if k < len(l) {
				line[i] = l[k]
			}
		}
		b.Write(line)
		b.WriteByte('\n')
	}
}

// sampleAge is how long ago a sample was taken, in its largest unit.
func sampleAge(secs int64) string {
	switch {
	case secs < 60:
		return strconv.FormatInt(secs, 10) + "s"
	case secs < 3600:
		return strconv.FormatInt(secs/60, 10) + "m"
	case secs < 86400:
		return strconv.FormatInt(secs/3600, 10) + "h"
	}
	return strconv.FormatInt(secs/86400, 10) + "d"
}

// latencyDoctor reports, in words, what the monitor saw.
func (s *Server) latencyDoctor() string {
	l := &s.latency
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	if s.latency.threshold.Load() <= 0 {
		b.WriteString("The latency monitor is disabled: set latency-monitor-threshold to a number of milliseconds (CONFIG SET latency-monitor-threshold 100) to record events that take that long.\n")
	}
	if len(l.events) == 0 {
		b.WriteString("No latency spike was recorded since the server started or the last LATENCY RESET.\n")
		return b.String()
	}
	b.WriteString("Latency events recorded:\n\n")
	for i, name := range sortedKeys(l.events) {
		e := l.events[name]
		var sum int64
		for _, smp := range e.samples {
			sum += smp.ms
		}
		fmt.Fprintf(&b, "%d. %s: %d latency spikes (average %d ms, worst %d ms, latest %d seconds ago).\n",
			i+1, name, len(e.samples), sum/int64(len(e.samples)), e.max, time.Now().Unix()-e.samples[len(e.samples)-1].at)
	}
	b.WriteString("\nAdvice: \"command\" and \"fast-command\" spikes come from slow commands (see SLOWLOG GET); \"expire-cycle\" from many keys expiring at once.\n")
	return b.String()
}
