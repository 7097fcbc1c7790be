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
			v.Hash = append(v.Hash, rdb.Field{Name: []byte(f), Value: val})
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
	db.Delete(key)
	sd := &db.slots[KeySlot(key)]
	switch v.Kind {
	case rdb.KindString:
		db.put(sd, key, stringEntry(v.Str))
		return
	case rdb.KindList:
		l := &List{}
		l.Replace(v.List)
		db.put(sd, key, entry{kind: KindList, ptr: unsafe.Pointer(l)})
	case rdb.KindHash:
		h := db.newHash()
		for _, f := range v.Hash {
			h.Set(f.Name, f.Value, &db.limits)
		}
		db.put(sd, key, entry{kind: KindHash, ptr: unsafe.Pointer(h)})
	case rdb.KindSet:
		s := &Set{}
		s.AddAll(v.Set, &db.limits)
		db.put(sd, key, entry{kind: KindSet, ptr: unsafe.Pointer(s)})
	case rdb.KindZSet:
		z := &ZSet{}
		for _, m := range v.ZSet {
			z.Add(m.Member, m.Score, &db.limits)
		}
		db.put(sd, key, entry{kind: KindZSet, ptr: unsafe.Pointer(z)})
	case rdb.KindStream:
		db.put(sd, key, entry{kind: KindStream, ptr: unsafe.Pointer(importStream(v.Stream))})
		return // an empty stream is a value
	}
	db.DeleteIfEmpty(key)
}
