package server

import (
	"bytes"
	"math"
	"slices"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("sort", -2, "write denyoom movablekeys", 0, 0, 0, cmdSort).movable = sortKeys
	def("sort_ro", -2, "readonly movablekeys", 1, 1, 1, cmdSort)
}

// sortKeys: the sorted key and a STORE destination, skipping the
// arguments of LIMIT, GET and BY as Redis's sortGetKeys does.
func sortKeys(args [][]byte) []int {
	keys := []int{1}
	store := 0
	skip := map[string]int{"limit": 2, "get": 1, "by": 1}
	for j := 2; j < len(args); j++ {
		name := string(lower(args[j]))
		if n, ok := skip[name]; ok {
			j += n
			continue
		}
		if name == "store" && j+1 < len(args) {
			store = j + 1 // the last STORE wins, for the keys as for SORT itself
			j++
		}
	}
	if store > 0 {
		keys = append(keys, store)
	}
	return keys
}

type sortItem struct {
	obj   []byte
	score float64
	cmp   []byte // the BY value for ALPHA, nil when missing
}

// cmdSort: SORT / SORT_RO key [BY pattern] [LIMIT offset count] [GET
// pattern ...] [ASC|DESC] [ALPHA] [STORE destination], as Redis's
// sortCommandGeneric (BY with a pattern and GET are refused in cluster mode).
func cmdSort(c *Client, args [][]byte) {
	readonly := eq(args[0], "sort_ro")
	var desc, alpha, dontsort bool
	var limitStart, limitCount int64 = 0, -1
	var sortBy, storeKey []byte
	var gets [][]byte
	cluster := c.srv.Cluster != nil
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		switch {
		case eq(args[j], "asc"):
			desc = false
		case eq(args[j], "desc"):
			desc = true
		case eq(args[j], "alpha"):
			alpha = true
		case eq(args[j], "limit") && left >= 2:
			s, ok1 := parseInt(args[j+1])
			n, ok2 := parseInt(args[j+2])
			if !ok1 || !ok2 {
				c.w.WriteError(errNotInt)
				return
			}
			limitStart, limitCount = s, n
			j += 2
		case !readonly && eq(args[j], "store") && left >= 1:
			storeKey = args[j+1]
			j++
		case eq(args[j], "by") && left >= 1:
			sortBy = args[j+1]
			if bytes.IndexByte(sortBy, '*') < 0 {
				dontsort = true
			} else if cluster {
				c.w.WriteError("ERR BY option of SORT denied in Cluster mode.")
				return
			} else if !c.readsAnyKey(args) {
				c.w.WriteError("ERR BY option of SORT denied due to insufficient ACL permissions.")
				return
			}
			j++
		case eq(args[j], "get") && left >= 1:
			if cluster {
				c.w.WriteError("ERR GET option of SORT denied in Cluster mode.")
				return
			}
			if !c.readsAnyKey(args) {
				c.w.WriteError("ERR GET option of SORT denied due to insufficient ACL permissions.")
				return
			}
			gets = append(gets, args[j+1])
			j++
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	db := c.srv.DB
	kind := db.Type(args[1])
	if kind != store.KindNone && kind != store.KindList && kind != store.KindSet && kind != store.KindZSet {
		c.w.WriteError(errWrongType)
		return
	}
	if dontsort && kind == store.KindSet && storeKey != nil {
		// a set's order is arbitrary: sort it so that what is stored
		// (and replicated) is deterministic
		dontsort, alpha, sortBy = false, true, nil
	}
	var elems [][]byte
	switch kind {
	case store.KindList:
		l, _ := db.List(args[1], false)
		elems = l.Items()
	case store.KindSet:
		s, _ := db.Set(args[1], false)
		for _, m := range s.Members() {
			elems = append(elems, []byte(m))
		}
	case store.KindZSet:
		z, _ := db.ZSet(args[1], false)
		for m := range z.All() {
			elems = append(elems, m.Member)
		}
	}
	n := int64(len(elems))
	start := min(max(limitStart, 0), n)
	limitCount = min(max(limitCount, -1), n)
	end := n - 1
	if limitCount >= 0 {
		end = start + limitCount - 1
	}
	if start >= n {
		start, end = n-1, n-2
	}
	end = min(end, n-1)
	items := make([]sortItem, 0, len(elems))
	if dontsort && (kind == store.KindList || kind == store.KindZSet) {
		// no sorting: the range is taken in the stored order (reversed by DESC)
		if end >= start {
			for i := start; i <= end; i++ {
				idx := i
				if desc {
					idx = n - 1 - i
				}
				items = append(items, sortItem{obj: elems[idx]})
			}
			end -= start
			start = 0
		} else {
			start, end = 0, -1
		}
	} else {
		for _, e := range elems {
			items = append(items, sortItem{obj: e})
		}
	}
	if !dontsort {
		convErr := false
		for i := range items {
			by := items[i].obj
			if sortBy != nil {
				v, ok := c.lookupByPattern(sortBy, items[i].obj)
				if !ok {
					continue
				}
				by = v
			}
			if alpha {
				if sortBy != nil {
					items[i].cmp = by
				}
				continue
			}
			f, used, outOfRange := strtod(by)
			if used != len(by) || outOfRange || math.IsNaN(f) {
				convErr = true
			}
			items[i].score = f
		}
		if convErr {
			c.w.WriteError("ERR One or more scores can't be converted into double")
			return
		}
		slices.SortFunc(items, func(a, b sortItem) int {
			var cmp int
			switch {
			case !alpha:
				switch {
				case a.score > b.score:
					cmp = 1
				case a.score < b.score:
					cmp = -1
				default:
					cmp = bytes.Compare(a.obj, b.obj)
				}
			case sortBy != nil:
				switch {
				case a.cmp == nil && b.cmp == nil:
					cmp = 0
				case a.cmp == nil:
					cmp = -1
				case b.cmp == nil:
					cmp = 1
				default:
					cmp = bytes.Compare(a.cmp, b.cmp)
				}
			default:
				cmp = bytes.Compare(a.obj, b.obj)
			}
			if desc {
				return -cmp
			}
			return cmp
		})
	}
	var out [][]byte
	var missing []bool // GET values that do not exist
	for i := start; i <= end; i++ {
		if len(gets) == 0 {
			out = append(out, items[i].obj)
			missing = append(missing, false)
			continue
		}
		for _, g := range gets {
			v, ok := c.lookupByPattern(g, items[i].obj)
			out = append(out, v)
			missing = append(missing, !ok)
		}
	}
	if storeKey == nil {
		c.w.WriteArrayLen(len(out))
		for i, v := range out {
			if missing[i] {
				c.w.WriteNull()
			} else {
				c.w.WriteBulk(v)
			}
		}
		return
	}
	copied := make([][]byte, len(out))
	for i, v := range out {
		copied[i] = copyBytes(v) // a missing GET value is stored as ""
	}
	if db.Delete(storeKey) || len(copied) > 0 {
		db.Touch(storeKey)
	}
	if len(copied) > 0 {
		l, _ := db.List(storeKey, true)
		for _, v := range copied {
			l.PushBack(v)
		}
	}
	c.w.WriteInt(int64(len(copied)))
}

// lookupByPattern is Redis's lookupKeyByPattern: "#" is the element
// itself; otherwise the first '*' of pattern is replaced by it, and a
// "->field" suffix reads a hash field instead of a string.
func (c *Client) lookupByPattern(pattern, subst []byte) ([]byte, bool) {
	if len(pattern) == 1 && pattern[0] == '#' {
		return subst, true
	}
	p := bytes.IndexByte(pattern, '*')
	if p < 0 {
		return nil, false
	}
	var field []byte
	keyPat := pattern
	if f := bytes.Index(pattern[p+1:], []byte("->")); f >= 0 && p+1+f+2 < len(pattern) {
		field = pattern[p+1+f+2:]
		keyPat = pattern[:p+1+f]
	}
	key := make([]byte, 0, len(keyPat)+len(subst))
	key = append(append(append(key, keyPat[:p]...), subst...), keyPat[p+1:]...)
	db := c.srv.DB
	if field != nil {
		h, err := db.Hash(key, false)
		if err != nil || h == nil {
			return nil, false
		}
		v, ok := h.Get(field)
		return v, ok
	}
	v, found, err := db.GetString(key)
	if !found || err != nil {
		return nil, false
	}
	return v, true
}
