package store

import (
	"unsafe"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
)

// Export returns a copy of key's value in the rdb package's representation,
// for DUMP and MIGRATE.
func (db *DB) Export(key []byte) (rdb.Value, bool) {
	e, _, ok := db.lookup(key)
	if !ok {
		return rdb.Value{}, false
	}
	return exportEntry(e, true), true
}

// EachInSlot is EachEntry for the keys of one slot.
func (db *DB) EachInSlot(slot int, fn func(key string, v rdb.Value, expireAt int64)) {
	if slot < 0 || slot >= SlotCount {
		return
	}
	now := db.Now()
	sd := &db.slots[slot]
	for k, e := range sd.keys.all() {
		at, has := sd.expires[k]
		if has && at <= now {
			continue
		}
		fn(k, exportEntry(e, false), at)
	}
}

// EachEntry calls fn with every live key, its value and its expiry (unix
// milliseconds, 0 for none), for snapshots. The value shares the store's
// memory, so it is valid only inside fn, with Mu held throughout.
func (db *DB) EachEntry(fn func(key string, v rdb.Value, expireAt int64)) {
	for i := range db.slots {
		db.EachInSlot(i, fn)
	}
}

// exportEntry converts e; copyStr copies a string's bytes, which SETRANGE
// and friends may later overwrite in place (SetStringCopy).
func exportEntry(e entry, copyStr bool) rdb.Value {
	switch e.kind {
	case KindString:
		if copyStr {
			return rdb.Value{Kind: rdb.KindString, Str: append([]byte(nil), e.bytes()...)}
		}
		return rdb.Value{Kind: rdb.KindString, Str: e.bytes()}
	case KindList:
		return rdb.Value{Kind: rdb.KindList, List: append([][]byte(nil), e.list().Items()...)}
	case KindHash:
		h := e.hash()
		v := rdb.Value{Kind: rdb.KindHash, Hash: make([]rdb.Field, 0, h.Len()), Compact: h.Compact()}
		for f, val := range h.All() {
			// a field name is never written in place (see Hash): a view
			v.Hash = append(v.Hash, rdb.Field{Name: unsafe.Slice(unsafe.StringData(f), len(f)), Value: val})
		}
		return v
	case KindSet:
		s := e.set()
		v := rdb.Value{Kind: rdb.KindSet, Set: make([][]byte, 0, s.Len())}
		for m := range s.All() {
			v.Set = append(v.Set, []byte(m))
		}
		return v
	case KindZSet:
		z := e.zset()
		v := rdb.Value{Kind: rdb.KindZSet, ZSet: make([]rdb.ZMember, 0, z.Len())}
		for m := range z.All() {
			v.ZSet = append(v.ZSet, rdb.ZMember{Member: m.Member, Score: m.Score})
		}
		return v
	case KindStream:
		return rdb.Value{Kind: rdb.KindStream, Stream: e.stream().export()}
	}
	return rdb.Value{}
}

// Import stores v at key, replacing any value and clearing any TTL. The
// value's slices are kept, so callers pass freshly decoded data.
func (db *DB) Import(key []byte, v rdb.Value) {
	db.ImportPrepared(key, Prepare(v, &db.limits))
}

// Prepared is a decoded value already built into the store's form, so
// that a big value costs its holder of Mu only the insertion.
type Prepared struct {
	e     entry
	empty bool // an empty collection, which is no value
}

// Prepare builds v's stored form under the encoding limits lim. It
// touches no database, so it runs without Mu (with a copy of Limits).
// The value's slices are kept.
func Prepare(v rdb.Value, lim *EncodingLimits) Prepared {
	switch v.Kind {
	case rdb.KindString:
		return Prepared{e: stringEntry(v.Str)}
	case rdb.KindList:
		l := &List{}
		l.Replace(v.List)
		return Prepared{e: entry{kind: KindList, ptr: unsafe.Pointer(l)}, empty: len(v.List) == 0}
	case rdb.KindHash:
		return Prepared{e: entry{kind: KindHash, ptr: unsafe.Pointer(importHash(v.Hash, lim))}, empty: len(v.Hash) == 0}
	case rdb.KindSet:
		s := &Set{}
		s.AddAll(v.Set, lim)
		return Prepared{e: entry{kind: KindSet, ptr: unsafe.Pointer(s)}, empty: s.Len() == 0}
	case rdb.KindZSet:
		z := &ZSet{}
		for _, m := range v.ZSet {
			z.Add(m.Member, m.Score, lim)
		}
		return Prepared{e: entry{kind: KindZSet, ptr: unsafe.Pointer(z)}, empty: z.Len() == 0}
	case rdb.KindStream:
		return Prepared{e: entry{kind: KindStream, ptr: unsafe.Pointer(importStream(v.Stream))}}
	}
	return Prepared{empty: true}
}

// ImportPrepared stores p at key, replacing any value and clearing any TTL
// (Mu held).
func (db *DB) ImportPrepared(key []byte, p Prepared) {
	db.Delete(key)
	if p.empty {
		return
	}
	db.put(&db.slots[KeySlot(key)], key, p.e)
}
