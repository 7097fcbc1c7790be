package store

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"math/rand/v2"
	"unsafe"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
)

// Hash is a hash value. While it has at most hash-max-listpack-entries
// fields and no field or value longer than hash-max-listpack-value, it is
// one byte buffer of field/value pairs in insertion order, as Redis's
// listpack (so HGETALL answers in redis-server's order, and a small hash
// costs about what it does there). Past a limit it becomes a map, one way:
// it stays one after shrinking, as Redis's hashtable encoding does.
//
// The buffer is uvarint(len field) field uvarint(len value) value, per
// pair. It is only appended to in place; any other change builds a new
// one, so values handed out by Get or All stay as they were.
//
// At 32 bytes plus the buffer (which grows to the exact size, as Redis
// reallocates a listpack), a 4-field hash costs about what it does there.
type Hash struct {
	buf   []byte
	table map[string][]byte // nil while compact
}

// Compact reports whether h is in its listpack form (a missing hash, nil,
// counts as one).
func (h *Hash) Compact() bool { return h == nil || h.table == nil }

// Len is the number of fields. Len, Get, Delete, All and Fields take a
// nil hash (a missing key) as empty.
func (h *Hash) Len() int {
	if h == nil {
		return 0
	}
	if h.table != nil {
		return len(h.table)
	}
	n := 0
	for off := 0; off < len(h.buf); n++ {
		_, _, off = h.pair(off)
	}
	return n
}

// pair decodes the pair at off: field, value and the offset past them.
func (h *Hash) pair(off int) (field, value []byte, next int) {
	fl, k := binary.Uvarint(h.buf[off:])
	off += k
	field = h.buf[off : off+int(fl) : off+int(fl)]
	off += int(fl)
	vl, k := binary.Uvarint(h.buf[off:])
	off += k
	value = h.buf[off : off+int(vl) : off+int(vl)]
	return field, value, off + int(vl)
}

// find returns the offsets where field's pair starts and ends, or -1.
func (h *Hash) find(field []byte) (start, end int) {
	for off := 0; off < len(h.buf); {
		f, _, next := h.pair(off)
		if string(f) == string(field) {
			return off, next
		}
		off = next
	}
	return -1, -1
}

// Get returns field's value.
func (h *Hash) Get(field []byte) ([]byte, bool) {
	if h == nil {
		return nil, false
	}
	if h.table != nil {
		v, ok := h.table[string(field)]
		return v, ok
	}
	if start, _ := h.find(field); start >= 0 {
		_, v, _ := h.pair(start)
		return v, true
	}
	return nil, false
}

func uvarintLen(n int) int { return (bits.Len64(uint64(n)|1) + 6) / 7 }

func appendPair(buf, field, value []byte) []byte {
	if need := len(buf) + uvarintLen(len(field)) + len(field) + uvarintLen(len(value)) + len(value); need > cap(buf) {
		buf = append(make([]byte, 0, need), buf...) // exact, not append's doubling
	}
	buf = binary.AppendUvarint(buf, uint64(len(field)))
	buf = append(buf, field...)
	buf = binary.AppendUvarint(buf, uint64(len(value)))
	return append(buf, value...)
}

// Set stores a copy of value under field and reports whether the field is
// new. Like Redis's hashTypeSet it converts to the map first when field or
// value is too long, and after adding when there are too many fields (the
// database's Limits).
func (h *Hash) Set(field, value []byte, lim *EncodingLimits) bool {
	if h.table == nil && (len(field) > lim.HashValue || len(value) > lim.HashValue) {
		h.convert()
	}
	if h.table != nil {
		_, had := h.table[string(field)]
		h.table[string(field)] = append([]byte(nil), value...)
		return !had
	}
	if start, end := h.find(field); start >= 0 { // the pair keeps its place
		buf := make([]byte, 0, len(h.buf)-(end-start)+len(field)+len(value)+2*binary.MaxVarintLen32)
		buf = appendPair(append(buf, h.buf[:start]...), field, value)
		h.buf = append(buf, h.buf[end:]...)
		return false
	}
	h.buf = appendPair(h.buf, field, value)
	if h.Len() > lim.HashEntries {
		h.convert()
	}
	return true
}

// Delete removes field and reports whether it was there.
func (h *Hash) Delete(field []byte) bool {
	if h == nil {
		return false
	}
	if h.table != nil {
		_, had := h.table[string(field)]
		delete(h.table, string(field))
		return had
	}
	start, end := h.find(field)
	if start < 0 {
		return false
	}
	buf := make([]byte, 0, len(h.buf)-(end-start))
	h.buf = append(append(buf, h.buf[:start]...), h.buf[end:]...)
	return true
}

// importHash builds a hash from decoded fields (distinct, as DecodeDump
// checks), keeping their values. A hash past the compact limits is built
// as a map at once, sized for its fields, not converted as it grows.
func importHash(fields []rdb.Field, lim *EncodingLimits) *Hash {
	h := &Hash{}
	big := len(fields) > lim.HashEntries
	for _, f := range fields {
		big = big || len(f.Name) > lim.HashValue || len(f.Value) > lim.HashValue
	}
	if !big {
		for _, f := range fields {
			h.Set(f.Name, f.Value, lim)
		}
		return h
	}
	h.table = make(map[string][]byte, len(fields))
	for _, f := range fields {
		h.table[string(f.Name)] = f.Value
	}
	return h
}

func (h *Hash) convert() {
	h.table = make(map[string][]byte, h.Len())
	for off := 0; off < len(h.buf); {
		f, v, next := h.pair(off)
		h.table[string(f)] = v // the buffer is never written again
		off = next
	}
	h.buf = nil
}

// All yields every field and value: in insertion order while compact.
func (h *Hash) All() iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		if h == nil {
			return
		}
		if h.table != nil {
			for f, v := range h.table {
				if !yield(f, v) {
					return
				}
			}
			return
		}
		for off := 0; off < len(h.buf); {
			f, v, next := h.pair(off)
			// the bytes are never overwritten (see Hash): a view is safe
			if !yield(unsafe.String(unsafe.SliceData(f), len(f)), v) {
				return
			}
			off = next
		}
	}
}

// Fields lists the fields in All's order.
func (h *Hash) Fields() []string {
	out := make([]string, 0, h.Len())
	for f := range h.All() {
		out = append(out, f)
	}
	return out
}

// RandomField picks a field of a non-empty hash about uniformly (a map is
// walked from Go's random start plus a bounded random number of steps).
func (h *Hash) RandomField() string {
	if h.table == nil {
		skip := rand.IntN(h.Len())
		for f := range h.All() {
			if skip == 0 {
				return f
			}
			skip--
		}
	}
	const spread = 64
	skip := rand.IntN(min(len(h.table), spread))
	for f := range h.table {
		if skip == 0 {
			return f
		}
		skip--
	}
	panic("RandomField: the hash changed under the walk")
}
