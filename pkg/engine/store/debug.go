package store

import "github.com/gocluster/gocluster/pkg/engine/rdb"

// What DEBUG reads: Redis's DEBUG DIGEST, DIGEST-VALUE and OBJECT look
// keys up in the main table directly, so a key whose TTL passed but which
// has not been deleted yet still counts, and nothing is expired or
// touched by looking.

// EachStoredEntry calls fn with every key still in the table, expired or
// not, its value and whether it has a TTL. The value shares the store's
// memory: valid only inside fn, with Mu held throughout.
func (db *DB) EachStoredEntry(fn func(key string, v rdb.Value, hasTTL bool)) {
	for i := range db.slots {
		sd := &db.slots[i]
		for k, e := range sd.keys.all() {
			_, has := sd.expires[k]
			fn(k, exportEntry(e, false), has)
		}
	}
}

// StoredEntry is key's value and whether it has a TTL, expired or not,
// without expiring or touching it. The value shares the store's memory.
func (db *DB) StoredEntry(key []byte) (v rdb.Value, hasTTL, ok bool) {
	sd := &db.slots[KeySlot(key)]
	e, ok := sd.keys.get(byteString(key))
	if !ok {
		return rdb.Value{}, false, false
	}
	_, hasTTL = sd.expires[string(key)]
	return exportEntry(e, false), hasTTL, true
}

// StoredIdleSeconds is key's LRU idle time, expired or not, without
// touching it; 0 for a missing key.
func (db *DB) StoredIdleSeconds(key []byte) int64 {
	e, ok := db.slots[KeySlot(key)].keys.get(byteString(key))
	if !ok {
		return 0
	}
	return db.idleSeconds(e)
}

// StoredLRUClock is the 24-bit access clock Redis shows as "lru:" in DEBUG
// OBJECT (under LFU tracking, the counter and minute it keeps instead).
func (db *DB) StoredLRUClock(key []byte) uint32 {
	e, _ := db.slots[KeySlot(key)].keys.get(byteString(key))
	if db.tracking == TrackLFU {
		return uint32(e.clock)<<8 | uint32(e.freq)
	}
	return uint32(e.freq)<<16 | uint32(e.clock)
}
