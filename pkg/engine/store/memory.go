package store

import (
	"math"
	"math/rand/v2"
)

// Memory accounting and access tracking, for maxmemory and its eviction
// policies. Go gives no cheap, exact "bytes held by this key", and the heap
// counts garbage until the next GC, so the store keeps an estimate: each
// key costs a fixed overhead, its name and its value, where a collection's
// value is its length times the average size of a few sampled elements
// (MEMORY USAGE's own method in Redis). The estimate of a collection is
// kept in its entry's n (unused for collections otherwise) and refreshed by
// Resize after every write to the key.

// Per-item overheads: a Go map slot with its string header and entry, a
// list or sorted-set slot, measured roughly on 64-bit Go.
const (
	keyOverhead     = 64
	hashItemCost    = 48
	setItemCost     = 40
	listItemCost    = 24
	zsetItemCost    = 72
	collectionBase  = 48
	stringBase      = 16
	accountSamples  = 5
	lfuInitialValue = 5 // a new key's LFU counter, as Redis's LFU_INIT_VAL
)

// Tracking says what a key's clock records on access: its last access in
// seconds (LRU, as Redis does by default) or an LFU counter and the minute
// it was last decayed.
type Tracking uint8

// Access tracking modes.
const (
	TrackLRU Tracking = iota
	TrackLFU
)

// SetAccounting turns memory accounting on or off. Turning it on sizes
// every key once, which is O(keys).
func (db *DB) SetAccounting(on bool) {
	if on == db.accounting {
		return
	}
	db.accounting = on
	db.used.Store(0)
	if !on {
		return
	}
	for i := range db.slots {
		sd := &db.slots[i]
		for k, e := range sd.keys.all() {
			if e.kind != KindString {
				e.n = estimateValue(e)
				sd.keys.set(k, e)
			}
			db.used.Add(entryCost(len(k), e))
		}
	}
}

// Accounting reports whether memory accounting is on.
func (db *DB) Accounting() bool { return db.accounting }

// UsedMemory is the estimated size of the dataset in bytes (0 while
// accounting is off).
func (db *DB) UsedMemory() int64 { return db.used.Load() }

// Resize refreshes the size estimate of key's collection after a write.
func (db *DB) Resize(key []byte) {
	if !db.accounting {
		return
	}
	sd := &db.slots[KeySlot(key)]
	e, ok := sd.keys.get(byteString(key))
	if !ok || e.kind == KindString {
		return
	}
	if n := estimateValue(e); n != e.n {
		db.used.Add(int64(n) - int64(e.n))
		e.n = n
		sd.keys.set(byteString(key), e)
	}
}

// MemoryUsage is MEMORY USAGE's estimate for key, sampling up to samples
// elements of a collection (0: all of them), and false when key is missing.
func (db *DB) MemoryUsage(key []byte, samples int) (int64, bool) {
	e, _, ok := db.lookup(key)
	if !ok {
		return 0, false
	}
	if e.kind != KindString {
		if samples <= 0 {
			samples = math.MaxInt
		}
		e.n = estimateSampled(e, samples)
	}
	return entryCost(len(key), e), true
}

func entryCost(keyLen int, e entry) int64 {
	if e.kind == KindString {
		return int64(keyOverhead + keyLen + stringBase + int(e.n))
	}
	return int64(keyOverhead + keyLen + int(e.n))
}

func estimateValue(e entry) uint32 { return estimateSampled(e, accountSamples) }

// estimateSampled is a collection's size: its length times the mean cost of
// up to samples elements, capped to what an entry's n holds.
func estimateSampled(e entry, samples int) uint32 {
	var count, sampled, bytes int
	switch e.kind {
	case KindHash:
		h := e.hash()
		count = h.Len()
		for f, v := range h.All() {
			if sampled == samples {
				break
			}
			bytes += len(f) + len(v) + hashItemCost
			sampled++
		}
	case KindSet:
		s := e.set()
		if s.Intset() {
			return uint32(collectionBase + s.ints.size())
		}
		count = s.Len()
		for m := range s.All() {
			if sampled == samples {
				break
			}
			bytes += len(m) + setItemCost
			sampled++
		}
	case KindList:
		l := e.list()
		count = l.Len()
		for sampled < min(samples, count) {
			bytes += len(l.Index(sampled)) + listItemCost
			sampled++
		}
	case KindZSet:
		z := e.zset()
		if z.Compact() {
			return uint32(collectionBase + z.pack.size())
		}
		count = z.Len()
		for m := range z.All() {
			if sampled == samples {
				break
			}
			bytes += len(m.Member) + zsetItemCost
			sampled++
		}
	case KindStream:
		return uint32(min(collectionBase+e.stream().memory(), math.MaxUint32))
	default:
		return collectionBase
	}
	total := collectionBase
	if sampled > 0 {
		total += int(float64(bytes) / float64(sampled) * float64(count))
	}
	return uint32(min(total, math.MaxUint32))
}

// SetTracking chooses what key clocks record; the LFU parameters are
// lfu-log-factor and lfu-decay-time.
func (db *DB) SetTracking(t Tracking, logFactor, decayMinutes int) {
	db.tracking, db.lfuLogFactor, db.lfuDecay = t, logFactor, decayMinutes
}

// SetClock sets the store's notion of now for access tracking, in unix
// milliseconds; the server's cron advances it, so lookups need not read
// the time.
func (db *DB) SetClock(ms int64) { db.clockSec = uint32(ms / 1000) }

// touched returns e with its access clock updated, and whether it changed.
func (db *DB) touched(e entry) (entry, bool) {
	if db.tracking == TrackLFU {
		counter := db.lfuDecayed(e)
		counter = lfuIncrement(counter, db.lfuLogFactor)
		minutes := uint16(db.clockSec / 60)
		if counter == e.freq && minutes == e.clock {
			return e, false
		}
		e.freq, e.clock = counter, minutes
		return e, true
	}
	// 24 bits of seconds, as Redis's LRU clock: the low 16 in clock, the
	// high 8 in freq.
	lo, hi := uint16(db.clockSec), uint8(db.clockSec>>16)
	if e.clock == lo && e.freq == hi {
		return e, false
	}
	e.clock, e.freq = lo, hi
	return e, true
}

// stamp is touched for a new key: LFU starts at lfuInitialValue.
func (db *DB) stamp(e entry) entry {
	if db.tracking == TrackLFU {
		e.freq, e.clock = lfuInitialValue, uint16(db.clockSec/60)
		return e
	}
	e, _ = db.touched(e)
	return e
}

const lruClockMax = 1<<24 - 1

// idleSeconds is how long ago e was accessed (LRU tracking).
func (db *DB) idleSeconds(e entry) int64 {
	last := uint32(e.freq)<<16 | uint32(e.clock)
	now := db.clockSec & lruClockMax
	if now >= last {
		return int64(now - last)
	}
	return int64(now + lruClockMax + 1 - last) // the 24-bit clock wrapped
}

// lfuDecayed is e's LFU counter after one decrement per lfu-decay-time
// minutes since it was last decayed.
func (db *DB) lfuDecayed(e entry) uint8 {
	if db.lfuDecay <= 0 {
		return e.freq
	}
	now := uint16(db.clockSec / 60)
	elapsed := int(now - e.clock) // uint16 arithmetic wraps as Redis's does
	periods := elapsed / db.lfuDecay
	if periods >= int(e.freq) {
		return 0
	}
	return e.freq - uint8(periods)
}

// lfuIncrement raises a logarithmic counter: the higher it is, the less
// likely one more access counts.
func lfuIncrement(counter uint8, logFactor int) uint8 {
	if counter == 255 {
		return counter
	}
	base := float64(int(counter) - lfuInitialValue)
	if base < 0 {
		base = 0
	}
	if rand.Float64() < 1/(base*float64(logFactor)+1) {
		counter++
	}
	return counter
}

// IdleTime is OBJECT IDLETIME: seconds since key was last accessed.
func (db *DB) IdleTime(key []byte) (int64, bool) {
	e, ok := db.peek(key)
	if !ok {
		return 0, false
	}
	return db.idleSeconds(e), true
}

// Frequency is OBJECT FREQ: key's LFU counter, decayed.
func (db *DB) Frequency(key []byte) (int, bool) {
	e, ok := db.peek(key)
	if !ok {
		return 0, false
	}
	return int(db.lfuDecayed(e)), true
}

// Touch updates key's access clock, as reading it would (TOUCH).
func (db *DB) TouchAccess(key []byte) bool {
	_, _, ok := db.lookup(key)
	return ok
}

// peek returns key's live entry without counting an access.
func (db *DB) peek(key []byte) (entry, bool) {
	sd := &db.slots[KeySlot(key)]
	e, ok := sd.keys.get(byteString(key))
	if !ok {
		return e, false
	}
	if at, has := sd.expires[string(key)]; has && at <= db.Now() {
		return e, false
	}
	return e, true
}

// SetAccessHints applies RESTORE's IDLETIME and FREQ (-1 when absent), as
// Redis does: the idle time under LRU tracking, the counter under LFU.
func (db *DB) SetAccessHints(key []byte, idleSeconds int64, freq int) {
	sd := &db.slots[KeySlot(key)]
	e, ok := sd.keys.get(byteString(key))
	if !ok {
		return
	}
	switch {
	case db.tracking == TrackLFU && freq >= 0:
		e.freq, e.clock = uint8(freq), uint16(db.clockSec/60)
	case db.tracking != TrackLFU && idleSeconds >= 0:
		last := (int64(db.clockSec) - idleSeconds) & lruClockMax // the 24-bit clock wraps
		e.freq, e.clock = uint8(last>>16), uint16(last)
	default:
		return
	}
	sd.keys.set(byteString(key), e)
}
