package store

import "math/rand/v2"

// EvictionPolicy is maxmemory-policy, less noeviction.
type EvictionPolicy uint8

// Eviction policies, named as maxmemory-policy spells them.
const (
	AllKeysLRU EvictionPolicy = iota
	AllKeysLFU
	AllKeysRandom
	VolatileLRU
	VolatileLFU
	VolatileRandom
	VolatileTTL
)

// ParseEvictionPolicy maps a maxmemory-policy value to a policy; ok is
// false for noeviction (and anything unknown).
func ParseEvictionPolicy(name string) (p EvictionPolicy, ok bool) {
	switch name {
	case "allkeys-lru":
		return AllKeysLRU, true
	case "allkeys-lfu":
		return AllKeysLFU, true
	case "allkeys-random":
		return AllKeysRandom, true
	case "volatile-lru":
		return VolatileLRU, true
	case "volatile-lfu":
		return VolatileLFU, true
	case "volatile-random":
		return VolatileRandom, true
	case "volatile-ttl":
		return VolatileTTL, true
	}
	return 0, false
}

func (p EvictionPolicy) volatile() bool { return p >= VolatileLRU }

// EvictOne deletes the best key to evict among samples sampled keys (keys
// with a TTL only, for the volatile policies): the longest idle, the least
// frequently used, any, or the nearest to expire. It returns the key, or
// nil when there is none to evict. Like Redis it approximates: the best of
// a sample, not of the whole keyspace.
func (db *DB) EvictOne(p EvictionPolicy, samples int) []byte {
	if db.keyCount == 0 || p.volatile() && db.expCount == 0 {
		return nil
	}
	samples = max(samples, 1)
	var best string
	var bestSlot *slotData
	bestScore := int64(-1 << 63)
	for range samples {
		sd, key, ok := db.sampleKey(p.volatile())
		if !ok {
			break
		}
		var score int64
		switch p {
		case AllKeysLRU, VolatileLRU:
			e, _ := sd.keys.get(key)
			score = db.idleSeconds(e)
		case AllKeysLFU, VolatileLFU:
			e, _ := sd.keys.get(key)
			score = 255 - int64(db.lfuDecayed(e))
		case VolatileTTL:
			score = -sd.expires[key]
		default:
			score = 0
		}
		if bestSlot == nil || score > bestScore {
			best, bestSlot, bestScore = key, sd, score
		}
		if p == AllKeysRandom || p == VolatileRandom {
			break
		}
	}
	if bestSlot == nil {
		return nil
	}
	k := []byte(best)
	db.remove(bestSlot, k)
	db.Touch(k)
	return k
}

// sampleKey picks a key from a random non-empty slot (with a TTL, if
// volatile); Go's map iteration starts at a random element.
func (db *DB) sampleKey(volatile bool) (*slotData, string, bool) {
	start := rand.IntN(SlotCount)
	for i := range SlotCount {
		sd := &db.slots[(start+i)&(SlotCount-1)]
		if volatile {
			for k := range sd.expires {
				if sd.keys.has(k) {
					return sd, k, true
				}
			}
			continue
		}
		for k := range sd.keys.all() {
			return sd, k, true
		}
	}
	return nil, "", false
}
