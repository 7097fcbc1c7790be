package server

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Lazy freeing, as Redis 7.0 does it: UNLINK, FLUSHALL/FLUSHDB ASYNC (and
// DEL, FLUSH* under lazyfree-lazy-user-del / lazyfree-lazy-user-flush)
// take a large value out of the keyspace at once and leave freeing its
// memory to the background. In Go the memory comes back when the
// collector runs; a background worker runs it for what was lazily
// dropped, so used_memory falls soon after, as on redis-server, and
// INFO's lazyfree_pending_objects and lazyfreed_objects count the same
// objects Redis counts.

// lazyfreeThreshold is Redis's LAZYFREE_THRESHOLD: a value whose freeing
// takes more allocations than this goes to the background.
const lazyfreeThreshold = 64

// lazyFreer counts lazily freed objects and runs the collector for them.
type lazyFreer struct {
	pending, freed atomic.Int64
	wake           chan struct{}
	start          sync.Once
}

// freeEffort is Redis's estimate of the allocations freeing key's value
// takes: one for a compact encoding, the element count of a hashtable,
// skiplist or list, the nodes and consumer-group state of a stream.
// Called under the store lock.
func (s *Server) freeEffort(key []byte) int {
	db := s.DB
	switch db.TypeNoTouch(key) {
	case store.KindList:
		if l, err := db.List(key, false); err == nil && l != nil {
			return quicklistNodes(l.Items(), s.Cfg.Int("list-max-listpack-size"))
		}
	case store.KindHash, store.KindSet, store.KindZSet:
		switch db.Encoding(key) {
		case "hashtable", "skiplist":
			return s.collectionLen(key)
		}
	case store.KindStream:
		if st, err := db.Stream(key, false); err == nil && st != nil {
			effort := st.Nodes()
			if groups := st.Groups(); len(groups) > 0 {
				effort += len(groups) * (1 + groups[0].PELLen())
			}
			return effort
		}
	}
	return 1
}

// quicklistNodes estimates how many listpack nodes Redis would hold items
// in under list-max-listpack-size (a count when positive, else -1..-5 for
// 4..64 KiB per node). It stops counting past the lazy-free threshold.
func quicklistNodes(items [][]byte, sizeLimit int) int {
	maxBytes, maxCount := 0, 0
	if sizeLimit > 0 {
		maxCount = sizeLimit
	} else {
		maxBytes = 4096 << min(max(-sizeLimit-1, 0), 4)
	}
	nodes, bytes, count := 1, 0, 0
	for _, it := range items {
		size := listpackEntrySize(it)
		if maxCount > 0 && count == maxCount || maxBytes > 0 && bytes+size > maxBytes && count > 0 {
			nodes++
			if nodes > lazyfreeThreshold {
				return nodes
			}
			bytes, count = 0, 0
		}
		bytes += size
		count++
	}
	return nodes
}

// listpackEntrySize is the bytes one element takes in a listpack: integers
// in 1 to 9 bytes by magnitude, strings with a 1, 2 or 5 byte header; plus
// the back-length byte(s).
func listpackEntrySize(b []byte) int {
	if n, ok := canonicalInt(b); ok {
		switch {
		case n >= 0 && n <= 127:
			return 2
		case n >= -4096 && n <= 4095:
			return 3
		case n >= -32768 && n <= 32767:
			return 4
		case n >= -(1<<23) && n < 1<<23:
			return 5
		case n >= -(1<<31) && n < 1<<31:
			return 6
		}
		return 10
	}
	size := len(b) + 1
	switch {
	case len(b) >= 4096:
		size += 4
	case len(b) >= 64:
		size++
	}
	if size > 127 {
		size++ // a two-byte back-length
	}
	return size + 1
}

// canonicalInt parses b when it is an int64 written the one way Redis
// writes it (no plus sign, no leading zeros, no "-0"), without allocating.
func canonicalInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(digits) == 0 || digits[0] == '0' && (len(digits) > 1 || neg) {
		return 0, false
	}
	var u uint64
	for _, d := range digits {
		if d < '0' || d > '9' || u > (1<<63)/10 {
			return 0, false
		}
		u = u*10 + uint64(d-'0')
	}
	switch {
	case !neg && u <= 1<<63-1:
		return int64(u), true
	case neg && u <= 1<<63:
		return -int64(u-1) - 1, true
	}
	return 0, false
}

// collectionLen is the element count of a hash, set or sorted set.
func (s *Server) collectionLen(key []byte) int {
	db := s.DB
	if h, err := db.Hash(key, false); err == nil && h != nil {
		return h.Len()
	}
	if set, err := db.Set(key, false); err == nil && set != nil {
		return set.Len()
	}
	if z, err := db.ZSet(key, false); err == nil && z != nil {
		return z.Len()
	}
	return 1
}

// unlinkLazily deletes key, handing a large value to the background
// freer; it reports whether the key existed. Called under the store lock.
func (s *Server) unlinkLazily(key []byte) bool {
	if s.DB.TypeNoTouch(key) == store.KindNone {
		return false
	}
	lazy := s.freeEffort(key) > lazyfreeThreshold
	if !s.DB.Delete(key) {
		return false
	}
	if lazy {
		s.freeLater(1)
	}
	return true
}

// freeLater counts n objects just dropped from the keyspace as pending and
// wakes the worker that collects them.
func (s *Server) freeLater(n int64) {
	lf := &s.lazyfree
	lf.pending.Add(n)
	lf.start.Do(func() {
		lf.wake = make(chan struct{}, 1)
		s.wg.Add(1)
		go s.lazyfreeWorker()
	})
	select {
	case lf.wake <- struct{}{}:
	default:
	}
}

func (s *Server) lazyfreeWorker() {
	defer s.wg.Done()
	lf := &s.lazyfree
	for {
		select {
		case <-s.done:
			return
		case <-lf.wake:
		}
		n := lf.pending.Load()
		runtime.GC() // what was dropped before the load above is reclaimed now
		lf.pending.Add(-n)
		lf.freed.Add(n)
		select { // at most ten collections a second, however many UNLINKs
		case <-s.done:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// resetTrafficAndFreeStats is CONFIG RESETSTAT's share of the counters
// kept here and in netstats.go.
func (s *Server) resetTrafficAndFreeStats() {
	t := &s.traffic
	for _, n := range []*netCounter{&t.in, &t.out, &t.replIn, &t.replOut} {
		n.bytes.Store(0)
		n.calls.Store(0)
	}
	s.lazyfree.freed.Store(0)
	s.expireCycleNs.Store(0)
}
