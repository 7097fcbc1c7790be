package store

import (
	"encoding/binary"
	"hash/maphash"
	"iter"
	"math/rand/v2"
	"strings"
	"unsafe"
)

// keyTable is one slot's keys: an open-addressing hash table of pointers
// to records, each record one allocation holding the key's name, its
// access clock and (for a string) its value bytes. A Go map[string]entry
// cost about 100 bytes per short string key (a 32-byte slot at the low
// load factors a per-slot table of ~60 keys lands on, plus separate key
// and value allocations); this costs about 50, below redis-server's 89.
//
// A string record is a plain byte allocation (the GC does not scan it):
//
//	kind freq clock(2) uvarint(len key) uvarint(len value) key value
//
// Any other kind, and a string longer than inlineMax (which SetString then
// keeps without copying, as a 512 MB SETBIT must not be copied again), is
// a collRecord, whose ptr the GC must see. Both start with a kind byte,
// and a collRecord's string kind carries outOfLine, so a record's first
// byte says which it is. A collRecord of a short key holds the key itself
// (collKey16...: one allocation, 16 bytes less per key than a separate
// string), which inlineKey in its kind byte says. A string's kind byte also carries its
// StringForm (rawString, textString).
type keyTable struct {
	recs []unsafe.Pointer
	tags []uint8 // per position: tagEmpty, tagDeleted, or a byte of the key's hash
	live int32   // keys held
	used int32   // positions not empty (live + deleted)
}

type collHead struct {
	kind  Kind
	freq  uint8
	clock uint16
	n     uint32
	ptr   unsafe.Pointer
}

type collRecord struct {
	collHead
	key string
}

// Records with the key inline: its length, then its bytes. The sizes fill
// Go's 32-, 48- and 64-byte size classes.
type (
	collKey16 struct {
		collHead
		klen uint8
		key  [15]byte
	}
	collKey32 struct {
		collHead
		klen uint8
		key  [31]byte
	}
	collKey48 struct {
		collHead
		klen uint8
		key  [47]byte
	}
)

// newCollRecord makes the record of a collection (or long string) entry.
func newCollRecord(key string, head collHead) unsafe.Pointer {
	var p unsafe.Pointer
	switch n := len(key); {
	case n <= 15:
		r := &collKey16{collHead: head, klen: uint8(n)}
		copy(r.key[:], key)
		p = unsafe.Pointer(r)
	case n <= 31:
		r := &collKey32{collHead: head, klen: uint8(n)}
		copy(r.key[:], key)
		p = unsafe.Pointer(r)
	case n <= 47:
		r := &collKey48{collHead: head, klen: uint8(n)}
		copy(r.key[:], key)
		p = unsafe.Pointer(r)
	default:
		return unsafe.Pointer(&collRecord{collHead: head, key: strings.Clone(key)})
	}
	(*collHead)(p).kind |= inlineKey
	return p
}

const (
	inlineMax  = 256
	outOfLine  = 0x80
	rawString  = 0x40
	textString = 0x10
	inlineKey  = 0x20
	tagEmpty   = 0
	tagDeleted = 1
	minTable   = 8
)

var keySeed = maphash.MakeSeed()

func keyHash(key string) (pos uint64, tag uint8) {
	h := maphash.String(keySeed, key)
	return h, uint8(h>>57) + 2 // 2..129: never empty or deleted
}

// byteString views b as a string without copying, for lookups that do not
// keep the key.
func byteString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (t *keyTable) len() int { return int(t.live) }

// recordKey and recordEntry decode a record.
func recordKey(p unsafe.Pointer) string {
	if !inlineRecord(p) {
		if (*collHead)(p).kind&inlineKey != 0 {
			return unsafe.String((*byte)(unsafe.Add(p, unsafe.Sizeof(collHead{})+1)),
				*(*uint8)(unsafe.Add(p, unsafe.Sizeof(collHead{}))))
		}
		return (*collRecord)(p).key
	}
	kl, n1 := readUvarint(p, 4)
	_, n2 := readUvarint(p, 4+n1)
	return unsafe.String((*byte)(unsafe.Add(p, 4+n1+n2)), int(kl))
}

// readUvarint decodes a uvarint at p+off byte by byte (a slice over a
// fixed maximum length could reach past a small record's allocation).
func readUvarint(p unsafe.Pointer, off int) (v uint64, n int) {
	for shift := 0; ; shift += 7 {
		b := *(*byte)(unsafe.Add(p, off+n))
		n++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, n
		}
	}
}

func inlineRecord(p unsafe.Pointer) bool {
	return Kind(*(*uint8)(p)&^(rawString|textString)) == KindString
}

// InlineStringMax is the longest string the store copies into a key's
// record; a longer one it keeps as given.
const InlineStringMax = inlineMax

func inlineEntry(e entry) bool { return e.kind == KindString && e.n <= inlineMax }

func recordEntry(p unsafe.Pointer) entry {
	if !inlineRecord(p) {
		r := (*collHead)(p)
		return entry{ptr: r.ptr, n: r.n, kind: r.kind &^ (outOfLine | rawString | textString | inlineKey), freq: r.freq,
			clock: r.clock, form: formOf(r.kind)}
	}
	b := unsafe.Slice((*byte)(p), 4)
	kl, n1 := readUvarint(p, 4)
	vl, n2 := readUvarint(p, 4+n1)
	e := entry{n: uint32(vl), kind: KindString, freq: b[1], clock: uint16(b[2]) | uint16(b[3])<<8, form: formOf(Kind(b[0]))}
	if vl > 0 {
		e.ptr = unsafe.Add(p, 4+n1+n2+int(kl))
	}
	return e
}

// newRecord makes key's record for e, copying key (the caller's may be a
// view of memory it reuses) and a short string's value bytes.
func newRecord(key string, e entry) unsafe.Pointer {
	if !inlineEntry(e) {
		return newCollRecord(key, collHead{kind: recordKind(e), freq: e.freq, clock: e.clock, n: e.n, ptr: e.ptr})
	}
	var hdr [4 + 2*binary.MaxVarintLen32]byte
	hdr[0], hdr[1], hdr[2], hdr[3] = byte(recordKind(e)), e.freq, byte(e.clock), byte(e.clock>>8)
	h := 4 + binary.PutUvarint(hdr[4:], uint64(len(key)))
	h += binary.PutUvarint(hdr[h:], uint64(e.n))
	b := make([]byte, h+len(key)+int(e.n))
	copy(b, hdr[:h])
	copy(b[h:], key)
	copy(b[h+len(key):], e.bytes())
	return unsafe.Pointer(unsafe.SliceData(b))
}

// updateRecord writes e into p in place when p can hold it (same layout,
// and for a short string the very bytes p already holds), else reports
// false.
func updateRecord(p unsafe.Pointer, e entry) bool {
	if inlineRecord(p) != inlineEntry(e) {
		return false
	}
	if !inlineRecord(p) {
		r := (*collHead)(p)
		r.kind, r.freq, r.clock, r.n, r.ptr = recordKind(e)|r.kind&inlineKey, e.freq, e.clock, e.n, e.ptr
		return true
	}
	cur := recordEntry(p)
	if cur.n != e.n || cur.ptr != e.ptr {
		return false
	}
	b := unsafe.Slice((*byte)(p), 4)
	b[0], b[1], b[2], b[3] = byte(recordKind(e)), e.freq, byte(e.clock), byte(e.clock>>8)
	return true
}

// formOf reads a string's form off its record's kind byte.
func formOf(k Kind) StringForm {
	switch {
	case k&rawString != 0:
		return FormRaw
	case k&textString != 0:
		return FormText
	}
	return FormAuto
}

// recordKind is the kind byte of e's record, with its flags.
func recordKind(e entry) Kind {
	k := e.kind
	switch e.form {
	case FormRaw:
		k |= rawString
	case FormText:
		k |= textString
	}
	if e.kind == KindString && !inlineEntry(e) {
		k |= outOfLine
	}
	return k
}

// find returns key's position, or -1.
func (t *keyTable) find(key string) int {
	if t.live == 0 {
		return -1
	}
	h, tag := keyHash(key)
	mask := uint64(len(t.tags) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch t.tags[i] {
		case tagEmpty:
			return -1
		case tag:
			if recordKey(t.recs[i]) == key {
				return int(i)
			}
		}
	}
}

func (t *keyTable) get(key string) (entry, bool) {
	i := t.find(key)
	if i < 0 {
		return entry{}, false
	}
	return recordEntry(t.recs[i]), true
}

func (t *keyTable) has(key string) bool { return t.find(key) >= 0 }

// set stores e under key, copying key (and a string's value) into the
// table's own record.
func (t *keyTable) set(key string, e entry) {
	if i := t.find(key); i >= 0 {
		if !updateRecord(t.recs[i], e) {
			t.recs[i] = newRecord(key, e)
		}
		return
	}
	if int(t.used+1) > len(t.tags)*13/16 {
		t.rehash(int(t.live) + 1)
	}
	p := newRecord(key, e)
	t.insert(p, recordKey(p))
	t.live++
	t.used++
}

// insert places a record at key's first free position (key is absent).
func (t *keyTable) insert(p unsafe.Pointer, key string) {
	h, tag := keyHash(key)
	mask := uint64(len(t.tags) - 1)
	i := h & mask
	for t.tags[i] > tagDeleted {
		i = (i + 1) & mask
	}
	if t.tags[i] == tagDeleted {
		t.used--
	}
	t.tags[i], t.recs[i] = tag, p
}

func (t *keyTable) del(key string) bool {
	i := t.find(key)
	if i < 0 {
		return false
	}
	t.tags[i], t.recs[i] = tagDeleted, nil
	t.live--
	switch {
	case t.live == 0:
		*t = keyTable{}
	case len(t.tags) > minTable && int(t.live) < len(t.tags)/16:
		t.rehash(int(t.live)) // give back a mostly empty table, as Redis resizes its dicts
	}
	return true
}

// rehash rebuilds the table with room for n keys, dropping deleted
// positions: it grows a full table and shrinks one that mostly emptied.
func (t *keyTable) rehash(n int) {
	size := minTable
	for n > size*13/16*3/4 { // leave room to grow before the next rehash
		size *= 2
	}
	old, oldTags := t.recs, t.tags
	t.recs, t.tags, t.used = make([]unsafe.Pointer, size), make([]uint8, size), 0
	for i, p := range old {
		if oldTags[i] > tagDeleted {
			t.insert(p, recordKey(p))
			t.used++
		}
	}
}

// all yields every key and its entry, starting at a random position (as
// Go's map iteration does, which sampling relies on). It walks the
// positions as they were when it started: a key deleted on the way may
// still be yielded if the deletion shrank the table, and keys added may or
// may not be seen.
func (t *keyTable) all() iter.Seq2[string, entry] {
	return func(yield func(string, entry) bool) {
		recs, tags := t.recs, t.tags
		if len(tags) == 0 {
			return
		}
		start := rand.IntN(len(tags))
		for j := range tags {
			i := (start + j) & (len(tags) - 1)
			if tags[i] <= tagDeleted {
				continue
			}
			p := recs[i]
			if p == nil { // deleted during the iteration
				continue
			}
			if !yield(recordKey(p), recordEntry(p)) {
				return
			}
		}
	}
}
