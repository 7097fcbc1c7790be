package store

import (
	"iter"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"unsafe"
)

// Set is a set value. While every member is an integer (written the one
// way Redis writes it back) and there are at most set-max-intset-entries
// of them, it is an intset (intset.go), as in Redis 7.0, which answers
// SMEMBERS in ascending order; otherwise a map. The conversion is one way:
// a set stays a map after it shrinks, as Redis's hashtable encoding does.
type Set struct {
	ints  intset
	table map[string]struct{} // nil while an intset
}

// Intset reports whether s is in its intset form (a missing set, nil,
// counts as one).
func (s *Set) Intset() bool { return s == nil || s.table == nil }

// Len is the number of members. Len, Has, All and Members take a nil set
// (a missing key) as empty.
func (s *Set) Len() int {
	switch {
	case s == nil:
		return 0
	case s.table != nil:
		return len(s.table)
	}
	return s.ints.Len()
}

// setInt parses m as Redis's string2ll does: canonical decimal int64s only.
func setInt(m []byte) (int64, bool) {
	if len(m) == 0 || len(m) > 20 || !isCanonicalInt(m) {
		return 0, false
	}
	v, err := strconv.ParseInt(string(m), 10, 64)
	return v, err == nil
}

// Has reports whether m is a member.
func (s *Set) Has(m []byte) bool {
	if s == nil {
		return false
	}
	if s.table != nil {
		_, ok := s.table[string(m)]
		return ok
	}
	v, ok := setInt(m)
	return ok && s.ints.Has(v)
}

// Add adds m and reports whether it is new. As Redis's setTypeAdd, a
// member that is no integer turns the set into a map first, and passing
// set-max-intset-entries turns it after adding.
func (s *Set) Add(m []byte, lim *EncodingLimits) bool {
	if s.table == nil {
		v, ok := setInt(m)
		if ok {
			var added bool
			s.ints, added = s.ints.with(v)
			if added && s.ints.Len() > min(lim.SetIntsetEntries, 1<<30) {
				s.convert()
			}
			return added
		}
		s.convert()
	}
	if _, had := s.table[string(m)]; had {
		return false
	}
	s.table[string(m)] = struct{}{}
	return true
}

// AddAll is Add for each member, in order, and counts the new ones; an
// intset is rebuilt once for all of them, not once per member.
func (s *Set) AddAll(members [][]byte, lim *EncodingLimits) int {
	if s.table != nil {
		n := 0
		for _, m := range members {
			if s.Add(m, lim) {
				n++
			}
		}
		return n
	}
	var small [16]int64 // SADD's usual few members need no heap slice
	vals := small[:0]
	rest := members[len(members):]
	for i, m := range members {
		v, ok := setInt(m)
		if !ok { // the set turns into a map here: the rest one by one
			rest = members[i:]
			break
		}
		vals = append(vals, v)
	}
	var n int
	s.ints, n = s.ints.union(vals)
	if s.ints.Len() > min(lim.SetIntsetEntries, 1<<30) {
		s.convert()
	}
	for _, m := range rest {
		if s.Add(m, lim) {
			n++
		}
	}
	return n
}

// Remove deletes m and reports whether it was a member.
func (s *Set) Remove(m []byte) bool {
	if s == nil {
		return false
	}
	if s.table != nil {
		_, had := s.table[string(m)]
		delete(s.table, string(m))
		return had
	}
	v, ok := setInt(m)
	if !ok {
		return false
	}
	var removed bool
	s.ints, removed = s.ints.without(v)
	return removed
}

func (s *Set) convert() {
	s.table = make(map[string]struct{}, s.ints.Len()+1)
	for i := range s.ints.Len() {
		s.table[strconv.FormatInt(s.ints.At(i), 10)] = struct{}{}
	}
	s.ints = intset{}
}

// All yields every member: ascending while an intset, else in no order.
func (s *Set) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		if s == nil {
			return
		}
		if s.table != nil {
			for m := range s.table {
				if !yield(m) {
					return
				}
			}
			return
		}
		for i := range s.ints.Len() {
			if !yield(strconv.FormatInt(s.ints.At(i), 10)) {
				return
			}
		}
	}
}

// Members lists the members in a stable order: an intset's ascending
// order (what Redis replies), a map's sorted numerically when every member
// is an integer and bytewise otherwise.
func (s *Set) Members() []string {
	out := slices.AppendSeq(make([]string, 0, s.Len()), s.All())
	if s.Intset() {
		return out
	}
	ints := make([]int64, len(out))
	for i, m := range out {
		v, ok := setInt([]byte(m))
		if !ok {
			sort.Strings(out)
			return out
		}
		ints[i] = v
	}
	sort.Sort(byInt{out, ints})
	return out
}

type byInt struct {
	members []string
	values  []int64
}

func (b byInt) Len() int           { return len(b.members) }
func (b byInt) Less(i, j int) bool { return b.values[i] < b.values[j] }
func (b byInt) Swap(i, j int) {
	b.members[i], b.members[j] = b.members[j], b.members[i]
	b.values[i], b.values[j] = b.values[j], b.values[i]
}

// Random picks a member of a non-empty set about uniformly (a map is
// walked from Go's random start plus a bounded random number of steps).
func (s *Set) Random() string {
	if s.table == nil {
		return strconv.FormatInt(s.ints.At(rand.IntN(s.ints.Len())), 10)
	}
	const spread = 64
	skip := rand.IntN(min(len(s.table), spread))
	if len(s.table) <= spread {
		skip = rand.IntN(len(s.table))
	}
	for m := range s.table {
		if skip == 0 {
			return m
		}
		skip--
	}
	panic("Random: the set changed under the walk")
}

// PutSet stores s at key, which must not exist.
func (db *DB) PutSet(key []byte, s *Set) {
	_, sd, _ := db.lookup(key)
	db.put(sd, key, entry{kind: KindSet, ptr: unsafe.Pointer(s)})
}
