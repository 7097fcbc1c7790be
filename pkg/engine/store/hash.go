package store

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"math/rand/v2"
	"slices"
	"unsafe"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
)

// Hash is a hash value. While it has at most hash-max-listpack-entries
// fields and no field or value longer than hash-max-listpack-value, it is
// its field/value pairs in insertion order in one packed allocation
// (packed.go), as Redis's listpack (so HGETALL answers in redis-server's
// order, and a small hash costs about what it does there). Past a limit it
// becomes a map, one way: it stays one after shrinking, as Redis's
// hashtable encoding does.
//
// The packed body is uvarint(len field) field uvarint(len value) value,
// per pair. Every change builds a new one, so values handed out by Get or
// All stay as they were.
type Hash struct {
	pairs packed
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
	return h.pairs.Len()
}

// hashPair decodes the pair at off of a packed body: field, value and the
// offset past them.
func hashPair(b []byte, off int) (field, value []byte, next int) {
	fl, k := binary.Uvarint(b[off:])
	off += k
	field = b[off : off+int(fl) : off+int(fl)]
	off += int(fl)
	vl, k := binary.Uvarint(b[off:])
	off += k
	value = b[off : off+int(vl) : off+int(vl)]
	return field, value, off + int(vl)
}

// findPair returns the offsets in body where field's pair starts and ends, or
// -1.
func findPair(body, field []byte) (start, end int) {
	for off := 0; off < len(body); {
		f, _, next := hashPair(body, off)
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
	body := h.pairs.body()
	if start, _ := findPair(body, field); start >= 0 {
		_, v, _ := hashPair(body, start)
		return v, true
	}
	return nil, false
}

func uvarintLen(n int) int { return (bits.Len64(uint64(n)|1) + 6) / 7 }

func appendPair(buf, field, value []byte) []byte {
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
	body, n := h.pairs.body(), h.pairs.Len()
	var tmp [128]byte // a short pair is encoded on the stack
	p := appendPair(tmp[:0], field, value)
	if start, end := findPair(body, field); start >= 0 { // the pair keeps its place
		h.pairs = buildPacked(n, body[:start], p, body[end:])
		return false
	}
	h.pairs = buildPacked(n+1, body, p)
	if n+1 > lim.HashEntries {
		h.convert()
	}
	return true
}

// SetPairs stores HSET's alternating field/value arguments as Set would one
// pair at a time and reports how many fields are new. A compact hash is
// rebuilt once for the whole command: one packed allocation per pair would
// leave the intermediate ones as garbage scattered among live hashes,
// which a bulk load then pays for in RSS.
func (h *Hash) SetPairs(pairs [][]byte, lim *EncodingLimits) int {
	if h.table == nil && slices.ContainsFunc(pairs, func(b []byte) bool { return len(b) > lim.HashValue }) {
		h.convert()
	}
	added := 0
	if h.table != nil {
		for i := 0; i+1 < len(pairs); i += 2 {
			if h.Set(pairs[i], pairs[i+1], lim) {
				added++
			}
		}
		return added
	}
	var bodyTmp [256]byte
	var pairTmp [128]byte
	body, n := append(bodyTmp[:0], h.pairs.body()...), h.pairs.Len()
	for i := 0; i+1 < len(pairs); i += 2 {
		p := appendPair(pairTmp[:0], pairs[i], pairs[i+1])
		if start, end := findPair(body, pairs[i]); start >= 0 { // the pair keeps its place
			body = slices.Replace(body, start, end, p...)
			continue
		}
		body = append(body, p...)
		n++
		added++
	}
	h.pairs = buildPacked(n, body)
	if n > lim.HashEntries {
		h.convert()
	}
	return added
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
	body := h.pairs.body()
	start, end := findPair(body, field)
	if start < 0 {
		return false
	}
	h.pairs = buildPacked(h.pairs.Len()-1, body[:start], body[end:])
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
	body := h.pairs.body()
	for off := 0; off < len(body); {
		f, v, next := hashPair(body, off)
		h.table[string(f)] = v // the body is never written again
		off = next
	}
	h.pairs = packed{}
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
		body := h.pairs.body()
		for off := 0; off < len(body); {
			f, v, next := hashPair(body, off)
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
