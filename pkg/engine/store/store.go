// Package store is the engine's keyspace: one database of strings, lists,
// hashes, sets and sorted sets with millisecond TTLs, sharded by cluster hash
// slot so that per-slot counts and key listings are cheap.
//
// A DB is not safe for concurrent use; the server serializes access with
// DB.Mu (one lock, held for the duration of one command).
package store

import (
	"errors"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Kind is the type of a stored value.
type Kind uint8

// Value kinds, named as the TYPE command reports them.
const (
	KindNone Kind = iota
	KindString
	KindList
	KindHash
	KindSet
	KindZSet
	KindStream
)

func (k Kind) String() string {
	return [...]string{"none", "string", "list", "hash", "set", "zset", "stream"}[k]
}

// ErrWrongType is Redis's WRONGTYPE error.
var ErrWrongType = errors.New("WRONGTYPE Operation against a key holding the wrong kind of value")

// entry is one key's value as lookups hand it out; the slot tables keep it
// packed in a record (keytable.go). ptr is the string's bytes for
// KindString, else a *List, *Hash, *Set or *ZSet.
type entry struct {
	ptr  unsafe.Pointer
	n    uint32 // string length; a collection's size estimate (memory.go)
	kind Kind
	// the access clock (memory.go): LRU seconds in freq:clock, or an LFU
	// counter in freq and its last decay minute in clock
	freq  uint8
	clock uint16
	form  StringForm // a string's, for OBJECT ENCODING
}

func stringEntry(b []byte) entry {
	return entry{ptr: unsafe.Pointer(unsafe.SliceData(b)), n: uint32(len(b)), kind: KindString}
}

func (e entry) bytes() []byte {
	if e.ptr == nil {
		return []byte{}
	}
	return unsafe.Slice((*byte)(e.ptr), e.n)
}

func (e entry) list() *List { return (*List)(e.ptr) }
func (e entry) hash() *Hash { return (*Hash)(e.ptr) }
func (e entry) set() *Set   { return (*Set)(e.ptr) }
func (e entry) zset() *ZSet { return (*ZSet)(e.ptr) }

type slotData struct {
	keys    keyTable
	expires map[string]int64 // unix milliseconds
}

// DB is one keyspace.
type DB struct {
	Mu       sync.Mutex
	slots    [SlotCount]slotData
	keyCount int
	expCount int
	// slotSizeHint sizes a slot's table when its first key arrives (see
	// ExpectKeys): growing 16384 tables step by step dominated loading.
	slotSizeHint int
	// Now returns the current time in unix milliseconds; tests may replace it.
	Now       func() int64
	sweepSlot int // where active expiry resumes
	Expired   int64
	nonEmpty  int // slots holding at least one key (for fast RandomKey)
	// OnExpired, when set, is told of every key deleted because its TTL
	// passed (lazily on access or by active expiry), with Mu held.
	OnExpired func(key []byte)
	// OnModified, when set, is told of every key Touch reports modified
	// (client-side caching invalidates it), with Mu held.
	OnModified func(key []byte)
	// OnFlush, when set, is told that every key is gone (Flush), with Mu held.
	OnFlush func()
	watched map[string][]*watchedKey // WATCHed keys and their watchers (watch.go)

	// memory accounting and access tracking (memory.go)
	accounting   bool
	used         atomic.Int64 // estimated bytes; written under Mu, read without it (maxmemory checks)
	tracking     Tracking
	lfuLogFactor int
	lfuDecay     int
	clockSec     uint32

	limits EncodingLimits // when hashes and sets leave their compact forms
	// KeepExpired: a key past its TTL reads as missing but stays (CLIENT
	// PAUSE holds expiry back, as Redis does).
	KeepExpired bool
	// expiring is set while the hooks hear of a key deleted for its TTL.
	expiring bool
}

// New returns an empty database.
func New() *DB {
	db := &DB{Now: func() int64 { return time.Now().UnixMilli() }, lfuLogFactor: 10, lfuDecay: 1,
		limits: EncodingLimits{HashEntries: 128, HashValue: 64, SetIntsetEntries: 512, ZSetEntries: 128, ZSetValue: 64}}
	db.SetClock(db.Now())
	return db
}

// lookup returns the live entry for key, deleting it first if it expired,
// and counts an access (the LRU clock or LFU counter).
func (db *DB) lookup(key []byte) (entry, *slotData, bool) {
	e, sd, ok := db.lookupNoTouch(key)
	if ok {
		if t, changed := db.touched(e); changed {
			e = t
			sd.keys.set(byteString(key), e)
		}
	}
	return e, sd, ok
}

// lookupNoTouch is lookup without counting an access, as Redis's
// LOOKUP_NOTOUCH: an expired key is still deleted.
func (db *DB) lookupNoTouch(key []byte) (entry, *slotData, bool) {
	sd := &db.slots[KeySlot(key)]
	e, ok := sd.keys.get(byteString(key))
	if !ok {
		return e, sd, false
	}
	if len(sd.expires) > 0 {
		if at, has := sd.expires[string(key)]; has && at <= db.Now() {
			if db.KeepExpired {
				return entry{}, sd, false
			}
			db.remove(sd, key)
			db.expired(key)
			return entry{}, sd, false
		}
	}
	return e, sd, true
}

// Expiring reports whether the change being reported (OnModified) is a
// key deleted because its TTL passed, rather than a client's write.
func (db *DB) Expiring() bool { return db.expiring }

// Inspect is what TYPE, EXISTS and TTL (and its kin) ask about key: its
// kind (KindNone when missing) and its expiry in Unix ms (-1 for none).
// Like Redis's LOOKUP_NOTOUCH lookups it leaves the key's access clock
// alone, so OBJECT IDLETIME is not reset by them.
func (db *DB) Inspect(key []byte) (Kind, int64) {
	e, sd, ok := db.lookupNoTouch(key)
	if !ok {
		return KindNone, -1
	}
	if at, has := sd.expires[string(key)]; has {
		return e.kind, at
	}
	return e.kind, -1
}

// expired counts a key deleted for its TTL and reports it.
func (db *DB) expired(key []byte) {
	db.Expired++
	db.expiring = true
	db.Touch(key)
	db.expiring = false
	if db.OnExpired != nil {
		db.OnExpired(key)
	}
}

func (db *DB) remove(sd *slotData, key []byte) {
	if db.accounting {
		old, _ := sd.keys.get(byteString(key))
		db.used.Add(-entryCost(len(key), old))
	}
	sd.keys.del(byteString(key))
	db.keyCount--
	if sd.keys.len() == 0 {
		db.nonEmpty--
	}
	if _, has := sd.expires[string(key)]; has {
		delete(sd.expires, string(key))
		db.expCount--
	}
}

func (db *DB) put(sd *slotData, key []byte, e entry) {
	if sd.keys.len() == 0 && db.slotSizeHint > 0 {
		sd.keys.rehash(db.slotSizeHint)
	}
	n := sd.keys.len()
	e = db.stamp(e)
	if db.accounting {
		if old, had := sd.keys.get(byteString(key)); had {
			db.used.Add(-entryCost(len(key), old))
		}
		if e.kind != KindString {
			e.n = estimateValue(e)
		}
		db.used.Add(entryCost(len(key), e))
	}
	sd.keys.set(byteString(key), e)
	if sd.keys.len() > n {
		db.keyCount++
		if n == 0 {
			db.nonEmpty++
		}
	}
}

// Type returns the kind of key, KindNone if missing.
func (db *DB) Type(key []byte) Kind {
	e, _, ok := db.lookup(key)
	if !ok {
		return KindNone
	}
	return e.kind
}

// TypeNoTouch is Type without counting an access (OBJECT, as Redis's
// LOOKUP_NOTOUCH), so OBJECT IDLETIME and FREQ report the key's clock.
func (db *DB) TypeNoTouch(key []byte) Kind {
	e, ok := db.peek(key)
	if !ok {
		return KindNone
	}
	return e.kind
}

// StringNoTouch is a string value read without counting an access (nil,
// false for a missing key or another type).
func (db *DB) StringNoTouch(key []byte) ([]byte, bool) {
	e, ok := db.peek(key)
	if !ok || e.kind != KindString {
		return nil, false
	}
	return e.bytes(), true
}

// Exists reports whether key exists.
func (db *DB) Exists(key []byte) bool {
	_, _, ok := db.lookup(key)
	return ok
}

// Delete removes key and reports whether it existed.
func (db *DB) Delete(key []byte) bool {
	_, sd, ok := db.lookup(key)
	if ok {
		db.remove(sd, key)
	}
	return ok
}

// GetString returns a string value; found is false for a missing key.
func (db *DB) GetString(key []byte) (val []byte, found bool, err error) {
	e, _, ok := db.lookup(key)
	if !ok {
		return nil, false, nil
	}
	if e.kind != KindString {
		return nil, true, ErrWrongType
	}
	return e.bytes(), true, nil
}

// SetString stores val: a short one is copied into the key's record, a
// long one kept (keytable.go), so callers pass a slice they own.
// Unless keepTTL, any TTL is cleared, as SET does.
func (db *DB) SetString(key, val []byte, keepTTL bool) {
	sd := &db.slots[KeySlot(key)]
	if !keepTTL && len(sd.expires) > 0 {
		if _, has := sd.expires[string(key)]; has {
			delete(sd.expires, string(key))
			db.expCount--
		}
	}
	db.put(sd, key, stringEntry(val))
}

// StringForm is how Redis made a string value, which its OBJECT ENCODING
// shows.
type StringForm uint8

// String forms.
const (
	FormAuto StringForm = iota // judged by what it holds: int, embstr or raw (SET and the like)
	FormRaw                    // edited in place (APPEND, SETRANGE, SETBIT...): raw whatever it holds
	FormText                   // made as text (INCRBYFLOAT): never int
)

// SetStringForm is SetString, keeping any TTL, for a value of the given
// form.
func (db *DB) SetStringForm(key, val []byte, form StringForm) {
	e := stringEntry(val)
	e.form = form
	db.put(&db.slots[KeySlot(key)], key, e)
}

// SetStringCopy is SetString for a value the caller does not own; it
// overwrites an existing string of the same length in place (no allocation, no table write: the common
// SET-overwrite case).
func (db *DB) SetStringCopy(key, val []byte, keepTTL bool) {
	sd := &db.slots[KeySlot(key)]
	if e, ok := sd.keys.get(byteString(key)); ok && e.kind == KindString && int(e.n) == len(val) && e.ptr != nil && e.form == FormAuto {
		if !keepTTL && len(sd.expires) > 0 {
			if _, has := sd.expires[string(key)]; has {
				delete(sd.expires, string(key))
				db.expCount--
			}
		}
		copy(e.bytes(), val)
		return
	}
	if len(val) > inlineMax {
		val = append([]byte(nil), val...)
	}
	db.SetString(key, val, keepTTL)
}

// collection returns key's collection pointer of the wanted kind, creating
// an empty one with mk when missing and mk is not nil.
func (db *DB) collection(key []byte, want Kind, mk func() unsafe.Pointer) (unsafe.Pointer, error) {
	e, sd, ok := db.lookup(key)
	if ok {
		if e.kind != want {
			return nil, ErrWrongType
		}
		return e.ptr, nil
	}
	if mk == nil {
		return nil, nil
	}
	p := mk()
	db.put(sd, key, entry{kind: want, ptr: p})
	return p, nil
}

// List returns the list at key (nil if missing and !create).
func (db *DB) List(key []byte, create bool) (*List, error) {
	var mk func() unsafe.Pointer
	if create {
		mk = func() unsafe.Pointer { return unsafe.Pointer(&List{}) }
	}
	p, err := db.collection(key, KindList, mk)
	return (*List)(p), err
}

// Hash returns the hash at key (nil if missing and !create).
func (db *DB) Hash(key []byte, create bool) (*Hash, error) {
	var mk func() unsafe.Pointer
	if create {
		mk = func() unsafe.Pointer { return unsafe.Pointer(db.newHash()) }
	}
	p, err := db.collection(key, KindHash, mk)
	return (*Hash)(p), err
}

func (db *DB) newHash() *Hash { return &Hash{} }

// Limits are the encoding limits Hash.Set follows.
func (db *DB) Limits() *EncodingLimits { return &db.limits }

// SetEncodingLimits sets the thresholds (hash-max-listpack-*,
// set-max-intset-entries) past which a hash or set leaves its compact form.
func (db *DB) SetEncodingLimits(lim EncodingLimits) { db.limits = lim }

// Set returns the set at key (nil if missing and !create).
func (db *DB) Set(key []byte, create bool) (*Set, error) {
	var mk func() unsafe.Pointer
	if create {
		mk = func() unsafe.Pointer { return unsafe.Pointer(&Set{}) }
	}
	p, err := db.collection(key, KindSet, mk)
	return (*Set)(p), err
}

// ZSet returns the sorted set at key (nil if missing and !create).
func (db *DB) ZSet(key []byte, create bool) (*ZSet, error) {
	var mk func() unsafe.Pointer
	if create {
		mk = func() unsafe.Pointer { return unsafe.Pointer(&ZSet{}) }
	}
	p, err := db.collection(key, KindZSet, mk)
	return (*ZSet)(p), err
}

// DeleteIfEmpty removes key when its collection has no elements left, as
// Redis never keeps empty lists, hashes, sets or sorted sets.
func (db *DB) DeleteIfEmpty(key []byte) {
	e, sd, ok := db.lookup(key)
	if !ok {
		return
	}
	empty := false
	switch e.kind {
	case KindList:
		empty = e.list().Len() == 0
	case KindHash:
		empty = e.hash().Len() == 0
	case KindSet:
		empty = e.set().Len() == 0
	case KindZSet:
		empty = e.zset().Len() == 0
	}
	if empty {
		db.remove(sd, key)
	}
}

// SetExpire sets key's absolute expiry (unix ms). A time in the past deletes
// the key (EXPIRE, GETEX). It reports whether the key exists.
func (db *DB) SetExpire(key []byte, atMs int64) bool { return db.setExpire(key, atMs, true) }

// SetTTL sets key's absolute expiry even when it is already past, as
// Redis 7.0's SET, SETEX and PSETEX do: the key stays until it is next
// looked up or met by active expiry (SET k v PX 1 must not lose its key
// because a millisecond went by between reading the time and setting it).
func (db *DB) SetTTL(key []byte, atMs int64) bool { return db.setExpire(key, atMs, false) }

func (db *DB) setExpire(key []byte, atMs int64, deletePast bool) bool {
	_, sd, ok := db.lookup(key)
	if !ok {
		return false
	}
	if deletePast && atMs <= db.Now() {
		db.remove(sd, key)
		return true
	}
	if sd.expires == nil {
		sd.expires = make(map[string]int64)
	}
	if _, has := sd.expires[string(key)]; !has {
		db.expCount++
	}
	sd.expires[string(key)] = atMs
	return true
}

// Expire returns key's absolute expiry in unix ms: -1 without TTL, -2 if
// the key does not exist.
func (db *DB) Expire(key []byte) int64 {
	_, sd, ok := db.lookupNoTouch(key) // reading a TTL is no access (Redis's getExpire)
	if !ok {
		return -2
	}
	if at, has := sd.expires[string(key)]; has {
		return at
	}
	return -1
}

// Persist removes key's TTL and reports whether it had one.
func (db *DB) Persist(key []byte) bool {
	_, sd, ok := db.lookup(key)
	if !ok {
		return false
	}
	if _, has := sd.expires[string(key)]; has {
		delete(sd.expires, string(key))
		db.expCount--
		return true
	}
	return false
}

// Rename moves src to dst (overwriting dst), keeping src's TTL. It reports
// false when src does not exist.
func (db *DB) Rename(src, dst []byte) bool {
	e, sd, ok := db.lookup(src)
	if !ok {
		return false
	}
	if string(src) == string(dst) {
		return true
	}
	at, hasTTL := sd.expires[string(src)]
	db.remove(sd, src)
	db.Delete(dst)
	dsd := &db.slots[KeySlot(dst)]
	db.put(dsd, dst, e)
	if hasTTL {
		db.SetExpire(dst, at)
	}
	return true
}

// Copy duplicates src into dst (used by COPY-like commands and tests).
func (db *DB) Copy(src, dst []byte) bool {
	v, ok := db.Export(src)
	if !ok {
		return false
	}
	at := db.Expire(src)
	db.Delete(dst)
	db.Import(dst, v)
	if e, ok := db.peek(src); ok && e.form != FormAuto { // Redis's copy keeps the encoding
		db.SetStringForm(dst, v.Str, e.form)
	}
	if at > 0 {
		db.SetExpire(dst, at)
	}
	return true
}

// DBSize is the number of keys, counting ones that expired but were not yet
// reclaimed, as Redis does.
func (db *DB) DBSize() int { return db.keyCount }

// ExpiresCount is the number of keys with a TTL.
func (db *DB) ExpiresCount() int { return db.expCount }

// ExpectKeys says about n keys are coming (an RDB file's RESIZEDB), so slot
// tables made from now on start at their expected size; ExpectKeys(0) ends
// that, so later small datasets do not pay for large empty tables.
func (db *DB) ExpectKeys(n int) {
	db.slotSizeHint = min(n/SlotCount*9/8, 1<<16)
}

// Flush removes every key.
func (db *DB) Flush() {
	db.touchExisting(-1)
	if db.OnFlush != nil {
		db.OnFlush()
	}
	db.slots = [SlotCount]slotData{}
	db.keyCount, db.expCount, db.nonEmpty = 0, 0, 0
	db.used.Store(0)
}

// CountKeysInSlot is the number of keys in slot.
func (db *DB) CountKeysInSlot(slot int) int {
	if slot < 0 || slot >= SlotCount {
		return 0
	}
	return db.slots[slot].keys.len()
}

// KeysInSlot returns up to count keys of slot, sorted so that repeated calls
// while keys are migrated away see a stable order.
func (db *DB) KeysInSlot(slot, count int) [][]byte {
	if slot < 0 || slot >= SlotCount || count <= 0 {
		return nil
	}
	keys := make([]string, 0, min(count, db.slots[slot].keys.len()))
	for k := range db.slots[slot].keys.all() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > count {
		keys = keys[:count]
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = []byte(k)
	}
	return out
}

// Keys returns every live key matching pattern.
func (db *DB) Keys(pattern []byte) [][]byte {
	var out [][]byte
	all := len(pattern) == 1 && pattern[0] == '*'
	now := db.Now()
	for i := range db.slots {
		sd := &db.slots[i]
		for k := range sd.keys.all() {
			if at, has := sd.expires[k]; has && at <= now {
				continue
			}
			if all || Match(pattern, []byte(k)) {
				out = append(out, []byte(k))
			}
		}
	}
	return out
}

// Scan returns live keys from whole slots starting at cursor (a slot number)
// until at least count keys were visited, and the next cursor (0 when done).
// Working in whole slots keeps SCAN's guarantee: a key present for the whole
// iteration is returned at least once.
func (db *DB) Scan(cursor uint64, count int, pattern []byte, kind Kind) ([][]byte, uint64) {
	if count <= 0 {
		count = 10
	}
	if cursor >= SlotCount { // no such position: the iteration is over
		return nil, 0
	}
	var out [][]byte
	now := db.Now()
	visited := 0
	slot := int(cursor)
	for ; slot < SlotCount && visited < count; slot++ {
		sd := &db.slots[slot]
		var expired [][]byte
		for k, e := range sd.keys.all() {
			visited++
			if at, has := sd.expires[k]; has && at <= now {
				if !db.KeepExpired {
					expired = append(expired, []byte(k))
				}
				continue
			}
			if pattern != nil && !(len(pattern) == 1 && pattern[0] == '*') && !Match(pattern, []byte(k)) {
				continue
			}
			if kind != KindNone && e.kind != kind {
				continue
			}
			out = append(out, []byte(k))
		}
		// Redis's SCAN expires what it meets, like any lookup; after the
		// walk, as deleting may reorganize the slot's table
		for _, key := range expired {
			db.remove(sd, key)
			db.expired(key)
		}
	}
	if slot >= SlotCount {
		return out, 0
	}
	return out, uint64(slot)
}

// RandomKey returns a live key chosen about uniformly, or nil when the
// database is empty: the n-th key counting slot by slot (expired keys
// are skipped, as Redis retries past them).
func (db *DB) RandomKey() []byte {
	for range 100 {
		if db.keyCount == 0 {
			return nil
		}
		n := rand.IntN(db.keyCount)
		for i := range db.slots {
			sd := &db.slots[i]
			if n >= sd.keys.len() {
				n -= sd.keys.len()
				continue
			}
			// Go's iteration start is random but not uniform: skip n keys
			// (bounded, for a slot holding a huge hash-tagged set).
			n %= 1024
			for k := range sd.keys.all() {
				if n > 0 {
					n--
					continue
				}
				if _, ok := db.lookupString(k); ok { // lookup deletes an expired key
					return []byte(k)
				}
				break
			}
			break
		}
	}
	return nil
}

func (db *DB) lookupString(k string) (entry, bool) {
	e, _, ok := db.lookup([]byte(k))
	return e, ok
}

// ActiveExpire deletes expired keys, visiting at most budget TTL entries,
// resuming where the previous call stopped. It returns the number deleted.
func (db *DB) ActiveExpire(budget int) int {
	if db.expCount == 0 {
		return 0
	}
	now := db.Now()
	deleted := 0
	for visitedSlots := 0; budget > 0 && visitedSlots < SlotCount; visitedSlots++ {
		sd := &db.slots[db.sweepSlot]
		db.sweepSlot = (db.sweepSlot + 1) & (SlotCount - 1)
		for k, at := range sd.expires {
			budget--
			if at <= now {
				db.remove(sd, []byte(k))
				db.expired([]byte(k))
				deleted++
			}
		}
	}
	return deleted
}

// DeleteKeysInSlot removes every key of slot and returns how many there were.
func (db *DB) DeleteKeysInSlot(slot int) int {
	if slot < 0 || slot >= SlotCount {
		return 0
	}
	db.touchExisting(slot)
	sd := &db.slots[slot]
	n := sd.keys.len()
	if n > 0 {
		db.nonEmpty--
	}
	db.keyCount -= n
	db.expCount -= len(sd.expires)
	if db.accounting {
		for k, e := range sd.keys.all() {
			db.used.Add(-entryCost(len(k), e))
		}
	}
	*sd = slotData{}
	return n
}
