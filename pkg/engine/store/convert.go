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
	var v rdb.Value
	switch e.kind {
	case KindString:
		// a copy: strings may later be overwritten in place (SetStringCopy)
		v = rdb.Value{Kind: rdb.KindString, Str: append([]byte(nil), e.bytes()...)}
	case KindList:
		l := e.list()
		v = rdb.Value{Kind: rdb.KindList, List: append([][]byte(nil), l.Items()...)}
	case KindHash:
		h := e.hash()
		v = rdb.Value{Kind: rdb.KindHash, Hash: make([]rdb.Field, 0, len(h))}
		for f, val := range h {
			v.Hash = append(v.Hash, rdb.Field{Name: []byte(f), Value: val})
		}
	case KindSet:
		s := e.set()
		v = rdb.Value{Kind: rdb.KindSet, Set: make([][]byte, 0, len(s))}
		for m := range s {
			v.Set = append(v.Set, []byte(m))
		}
	case KindZSet:
		z := e.zset()
		v = rdb.Value{Kind: rdb.KindZSet, ZSet: make([]rdb.ZMember, len(z.sorted))}
		for i, m := range z.sorted {
			v.ZSet[i] = rdb.ZMember{Member: m.Member, Score: m.Score}
		}
	}
	return v, true
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
		h := make(Hash, len(v.Hash))
		for _, f := range v.Hash {
			h[string(f.Name)] = f.Value
		}
		db.put(sd, key, entry{kind: KindHash, ptr: unsafe.Pointer(&h)})
	case rdb.KindSet:
		s := make(Set, len(v.Set))
		for _, m := range v.Set {
			s[string(m)] = struct{}{}
		}
		db.put(sd, key, entry{kind: KindSet, ptr: unsafe.Pointer(&s)})
	case rdb.KindZSet:
		z := NewZSet()
		for _, m := range v.ZSet {
			z.Add(m.Member, m.Score)
		}
		db.put(sd, key, entry{kind: KindZSet, ptr: unsafe.Pointer(z)})
	}
	db.DeleteIfEmpty(key)
}
