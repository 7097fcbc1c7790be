package server

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Go collects garbage when the heap has grown by GOGC percent (100) since
// the last collection, so right after a burst of writes up to half of the
// heap can be garbage (each command's arguments, replaced values) that the
// process still holds, where Redis's allocator frees every value at once.
// Once the server has been quiet for a moment, a full collection that
// returns the freed memory to the OS costs clients nothing and brings
// used_memory and RSS down to what the data takes.

// idleGCQuietTicks is how many cron ticks (100 ms) without a byte
// received (clients, replication) make the server quiet.
const idleGCQuietTicks = 5

// idleGCInterval spaces the collections out when the heap grows with no
// traffic (loading a snapshot at start).
const idleGCInterval = 5 * time.Second

// idleGCMinGarbage is the least garbage worth a full collection: the
// runtime's own pacing handles small heaps well enough.
const idleGCMinGarbage = 8 << 20

// idleGC is the cron's state for collectWhenIdle.
type idleGC struct {
	lastActivity int64
	quiet        int // consecutive ticks without activity
	last         time.Time
}

var gcSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"}, // live and not yet swept
	{Name: "/gc/heap/live:bytes"},                // marked live by the last collection
	{Name: "/memory/classes/heap/free:bytes"},    // free, still held from the OS
}

// collectWhenIdle runs a full collection, returning free memory to the
// OS, when the server was quiet for idleGCQuietTicks ticks and the garbage
// plus the free heap still held from the OS come to idleGCMinGarbage and a
// tenth of the live heap. Called by the cron, whose goroutine it blocks
// for the collection's time only.
func (s *Server) collectWhenIdle() {
	g := &s.idleGC
	// Every command arrives as bytes: counting them needs no lock, where
	// counting commands walks every client under the server's lock.
	activity := int64(s.traffic.in.bytes.Load()) + int64(s.traffic.replIn.bytes.Load())
	if activity != g.lastActivity {
		g.lastActivity, g.quiet = activity, 0
		return
	}
	g.quiet++
	if g.quiet < idleGCQuietTicks || time.Since(g.last) < idleGCInterval {
		return
	}
	samples := make([]metrics.Sample, len(gcSamples))
	copy(samples, gcSamples)
	metrics.Read(samples)
	for _, sm := range samples {
		if sm.Value.Kind() != metrics.KindUint64 {
			return
		}
	}
	heap, live, free := samples[0].Value.Uint64(), samples[1].Value.Uint64(), samples[2].Value.Uint64()
	if heap-min(heap, live)+free < max(idleGCMinGarbage, live/10) {
		return
	}
	debug.FreeOSMemory()
	g.quiet, g.last = 0, time.Now()
}
