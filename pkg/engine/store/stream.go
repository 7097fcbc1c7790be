package store

import (
	"math"
	"sort"
	"unsafe"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
)

// StreamID is a stream entry ID (milliseconds-sequence).
type StreamID = rdb.StreamID

// MaxStreamID is the largest ID, "+" in a range.
var MaxStreamID = StreamID{Ms: math.MaxUint64, Seq: math.MaxUint64}

// streamMaxListpack is Redis's STREAM_LISTPACK_MAX_SIZE: no node, and no
// entry, grows past 1 GB whatever stream-node-max-bytes says.
const streamMaxListpack = 1 << 30

// Stream is a stream value laid out as Redis lays it out: a sequence of
// nodes (the listpacks of Redis's radix tree), each filled up to
// stream-node-max-entries entries or stream-node-max-bytes bytes, whose
// deleted entries stay as tombstones until the whole node goes. The node
// sizes are computed exactly as a listpack would hold them, so that which
// XADD opens a new node, what an approximate trim can remove, and XINFO's
// radix-tree counts are the ones redis-server shows. Nodes are a slice
// sorted by ID: appends and head trims are O(1), lookups binary searches.
type Stream struct {
	nodes        []*streamNode
	Length       uint64
	LastID       StreamID
	FirstID      StreamID // first live entry, 0-0 when empty
	MaxDeletedID StreamID
	EntriesAdded uint64
	groups       map[string]*StreamGroup
	// Signals counts the writes that wake readers blocked on the stream
	// (XADD, XGROUP DESTROY: Redis's signalKeyAsReady); a blocked reader
	// looks again only after one.
	Signals uint64
}

type streamNode struct {
	master       StreamID
	masterFields [][]byte
	entries      []streamEntry
	live         int
	deleted      int
	body         int // listpack bytes less the live and deleted counters
}

type streamEntry struct {
	id      StreamID
	fields  [][]byte // field, value, field, value...
	deleted bool
	same    bool // fields are the node's master fields: only values are stored
}

// lpBytes is the node's listpack size, what Redis compares with
// stream-node-max-bytes.
func (n *streamNode) lpBytes() int {
	return n.body + rdb.ListpackIntSize(int64(n.live)) + rdb.ListpackIntSize(int64(n.deleted))
}

func (n *streamNode) entrySize(e *streamEntry) int {
	size := 2 + rdb.ListpackIntSize(int64(e.id.Ms-n.master.Ms)) + rdb.ListpackIntSize(int64(e.id.Seq-n.master.Seq))
	pairs := len(e.fields) / 2
	count := pairs + 3
	if !e.same {
		size += rdb.ListpackIntSize(int64(pairs))
		count += pairs + 1
	}
	for i := 0; i+1 < len(e.fields); i += 2 {
		if !e.same {
			size += rdb.ListpackStringSize(e.fields[i])
		}
		size += rdb.ListpackStringSize(e.fields[i+1])
	}
	return size + rdb.ListpackIntSize(int64(count))
}

func newStreamNode(master StreamID, fields [][]byte) *streamNode {
	n := &streamNode{master: master}
	n.body = 6 + 1 + rdb.ListpackIntSize(int64(len(fields)/2)) + 2 // header, end, field count, terminator
	for i := 0; i < len(fields); i += 2 {
		n.masterFields = append(n.masterFields, fields[i])
		n.body += rdb.ListpackStringSize(fields[i])
	}
	return n
}

func (n *streamNode) sameFields(fields [][]byte) bool {
	if len(fields) != 2*len(n.masterFields) {
		return false
	}
	for i, f := range n.masterFields {
		if string(fields[2*i]) != string(f) {
			return false
		}
	}
	return true
}

func (n *streamNode) add(e streamEntry) {
	e.same = n.sameFields(e.fields)
	n.body += n.entrySize(&e)
	n.entries = append(n.entries, e)
	if e.deleted {
		n.deleted++
	} else {
		n.live++
	}
}

// NewStream returns an empty stream.
func NewStream() *Stream { return &Stream{} }

// StreamElementsSize is the total size of an entry's fields and values,
// which Redis caps at 1 GB ("Elements are too large to be stored").
func StreamElementsSize(fields [][]byte) int {
	n := 0
	for _, f := range fields {
		n += len(f)
	}
	return n
}

// Append adds an entry with an ID the caller checked is above LastID; the
// fields slice and its elements are kept. maxBytes and maxEntries are
// stream-node-max-bytes and stream-node-max-entries.
func (s *Stream) Append(id StreamID, fields [][]byte, maxBytes, maxEntries int) {
	var tail *streamNode
	if len(s.nodes) > 0 {
		tail = s.nodes[len(s.nodes)-1]
		limit := maxBytes
		if limit <= 0 || limit > streamMaxListpack {
			limit = streamMaxListpack
		}
		if tail.lpBytes()+StreamElementsSize(fields) >= limit ||
			maxEntries > 0 && tail.live+tail.deleted >= maxEntries {
			tail = nil
		}
	}
	if tail == nil {
		tail = newStreamNode(id, fields)
		s.nodes = append(s.nodes, tail)
	}
	tail.add(streamEntry{id: id, fields: fields})
	s.Length++
	s.EntriesAdded++
	s.LastID = id
	if s.Length == 1 {
		s.FirstID = id
	}
}

// firstNodeFor is the index of the node holding id if any is: the last
// whose master ID is not above it (0 when none is).
func (s *Stream) firstNodeFor(id StreamID) int {
	i := sort.Search(len(s.nodes), func(i int) bool { return s.nodes[i].master.Compare(id) > 0 })
	return max(i-1, 0)
}

// Range calls fn with the live entries from start to end (both included),
// in ID order or, rev, in reverse, until fn returns false. The fields
// slice belongs to the stream.
func (s *Stream) Range(start, end StreamID, rev bool, fn func(id StreamID, fields [][]byte) bool) {
	if start.Compare(end) > 0 || len(s.nodes) == 0 {
		return
	}
	if !rev {
		for ni := s.firstNodeFor(start); ni < len(s.nodes); ni++ {
			n := s.nodes[ni]
			ei := sort.Search(len(n.entries), func(i int) bool { return n.entries[i].id.Compare(start) >= 0 })
			for ; ei < len(n.entries); ei++ {
				e := &n.entries[ei]
				if e.id.Compare(end) > 0 {
					return
				}
				if !e.deleted && !fn(e.id, e.fields) {
					return
				}
			}
		}
		return
	}
	for ni := s.firstNodeFor(end); ni >= 0; ni-- {
		n := s.nodes[ni]
		ei := sort.Search(len(n.entries), func(i int) bool { return n.entries[i].id.Compare(end) > 0 }) - 1
		for ; ei >= 0; ei-- {
			e := &n.entries[ei]
			if e.id.Compare(start) < 0 {
				return
			}
			if !e.deleted && !fn(e.id, e.fields) {
				return
			}
		}
	}
}

// Get returns the fields of the live entry id.
func (s *Stream) Get(id StreamID) ([][]byte, bool) {
	var out [][]byte
	found := false
	s.Range(id, id, false, func(_ StreamID, f [][]byte) bool {
		out, found = f, true
		return false
	})
	return out, found
}

// locate finds the entry id, tombstone or not.
func (s *Stream) locate(id StreamID) (ni, ei int, ok bool) {
	if len(s.nodes) == 0 {
		return 0, 0, false
	}
	ni = s.firstNodeFor(id)
	n := s.nodes[ni]
	ei = sort.Search(len(n.entries), func(i int) bool { return n.entries[i].id.Compare(id) >= 0 })
	return ni, ei, ei < len(n.entries) && n.entries[ei].id == id
}

// Delete turns the live entry id into a tombstone (its node goes with its
// last live entry) and reports whether there was one. Like Redis's
// streamDeleteItem it leaves FirstID and MaxDeletedID to the caller.
func (s *Stream) Delete(id StreamID) bool {
	ni, ei, ok := s.locate(id)
	if !ok || s.nodes[ni].entries[ei].deleted {
		return false
	}
	n := s.nodes[ni]
	if n.live == 1 {
		s.removeNode(ni)
	} else {
		n.entries[ei].deleted = true
		n.live--
		n.deleted++
	}
	s.Length--
	return true
}

func (s *Stream) removeNode(i int) {
	if i == 0 {
		s.nodes[0] = nil
		s.nodes = s.nodes[1:]
		return
	}
	s.nodes = append(s.nodes[:i], s.nodes[i+1:]...)
	s.nodes[len(s.nodes):cap(s.nodes)][0] = nil
}

// EdgeID is the first (or last) entry's ID, tombstones included unless
// skipTombstones; an empty stream gives MaxStreamID as first and 0-0 as last.
func (s *Stream) EdgeID(first, skipTombstones bool) StreamID {
	if first {
		for _, n := range s.nodes {
			for _, e := range n.entries {
				if !skipTombstones || !e.deleted {
					return e.id
				}
			}
		}
		return MaxStreamID
	}
	for i := len(s.nodes) - 1; i >= 0; i-- {
		n := s.nodes[i]
		for j := len(n.entries) - 1; j >= 0; j-- {
			if !skipTombstones || !n.entries[j].deleted {
				return n.entries[j].id
			}
		}
	}
	return StreamID{}
}

// LastValidID is the last live entry's ID (0-0 when empty).
func (s *Stream) LastValidID() StreamID { return s.EdgeID(false, true) }

// Trim strategies of XADD and XTRIM.
const (
	TrimNone = iota
	TrimMaxLen
	TrimMinID
)

// TrimArgs is what to trim: keep at most MaxLen entries, or none below
// MinID; Approx removes whole nodes only; Limit (when not 0) caps the
// entries removed.
type TrimArgs struct {
	Strategy int
	MaxLen   int64
	MinID    StreamID
	Approx   bool
	Limit    int64
}

// Trim removes entries from the head as Redis's streamTrim does, whole
// nodes first and then, unless Approx, entries of the next node (marked
// deleted); it returns how many entries it removed.
func (s *Stream) Trim(a TrimArgs) int64 {
	if a.Strategy == TrimNone {
		return 0
	}
	maxlen := uint64(max(a.MaxLen, 0))
	var deleted int64
	for len(s.nodes) > 0 {
		if a.Strategy == TrimMaxLen && s.Length <= maxlen {
			break
		}
		n := s.nodes[0]
		entries := int64(n.live)
		if a.Limit != 0 && deleted+entries > a.Limit {
			break
		}
		var remove bool
		if a.Strategy == TrimMaxLen {
			remove = s.Length-uint64(entries) >= maxlen
		} else {
			remove = n.entries[len(n.entries)-1].id.Compare(a.MinID) < 0
		}
		if remove {
			s.removeNode(0)
			s.Length -= uint64(entries)
			deleted += entries
			continue
		}
		if a.Approx {
			break
		}
		for i := range n.entries {
			e := &n.entries[i]
			if a.Strategy == TrimMaxLen && s.Length <= maxlen || a.Strategy == TrimMinID && e.id.Compare(a.MinID) >= 0 {
				break
			}
			if !e.deleted {
				e.deleted = true
				n.live--
				n.deleted++
				s.Length--
				deleted++
			}
		}
		break
	}
	if s.Length == 0 {
		s.FirstID = StreamID{}
	} else if deleted > 0 {
		s.FirstID = s.EdgeID(true, true)
	}
	return deleted
}

// Nodes is the number of nodes (XINFO's radix-tree-keys).
func (s *Stream) Nodes() int { return len(s.nodes) }

// RaxNodes is how many nodes Redis's radix tree holding the stream's node
// keys has (XINFO's radix-tree-nodes): a compressed radix tree over the
// 16-byte big-endian keys, counted the way rax counts its nodes.
func (s *Stream) RaxNodes() int {
	keys := make([][16]byte, len(s.nodes))
	for i, n := range s.nodes {
		keys[i] = encodeStreamID(n.master)
	}
	if len(keys) == 0 {
		return 1 // the empty head
	}
	return raxCount(keys, 0)
}

func encodeStreamID(id StreamID) [16]byte {
	var k [16]byte
	for i := range 8 {
		k[i] = byte(id.Ms >> (56 - 8*i))
		k[8+i] = byte(id.Seq >> (56 - 8*i))
	}
	return k
}

// raxCount counts the nodes of the subtree of sorted, distinct keys that
// share their first depth bytes: a compressed node for a longer common
// prefix, a branching node where they differ, a leaf where a key ends.
func raxCount(keys [][16]byte, depth int) int {
	if depth == 16 {
		return 1
	}
	if len(keys) == 1 {
		return 2 // the rest of the key in one compressed node, and the leaf
	}
	first, last := keys[0], keys[len(keys)-1]
	common := depth
	for common < 16 && first[common] == last[common] {
		common++
	}
	n := 0
	if common > depth {
		n++ // compressed node for the shared bytes
	}
	n++ // the branching node
	for i := 0; i < len(keys); {
		j := i
		for j < len(keys) && keys[j][common] == keys[i][common] {
			j++
		}
		n += raxCount(keys[i:j], common+1)
		i = j
	}
	return n
}

// memory is an estimate of the stream's size in bytes, as Redis's
// MEMORY USAGE estimates it: the mean size of the first few nodes for all
// but the last, the last one's own size, the radix tree, and the groups'
// pending entries and consumers. It costs O(groups), whatever the length,
// because memory accounting asks after every write.
func (s *Stream) memory() int {
	total := 64 + len(s.nodes)*(16+48)
	if n := len(s.nodes); n > 0 {
		sampled, bytes := 0, 0
		for _, node := range s.nodes[:min(n, 5)] {
			bytes += node.lpBytes()
			sampled++
		}
		if n <= sampled {
			total += bytes
		} else {
			total += bytes/sampled*(n-1) + s.nodes[n-1].lpBytes()
		}
	}
	for _, g := range s.groups {
		total += 96 + len(g.Name) + g.pel.Len()*64 + len(g.consumers)*80
	}
	return total
}

func (e entry) stream() *Stream { return (*Stream)(e.ptr) }

// Stream returns the stream at key (nil if missing and !create).
func (db *DB) Stream(key []byte, create bool) (*Stream, error) {
	var mk func() unsafe.Pointer
	if create {
		mk = func() unsafe.Pointer { return unsafe.Pointer(NewStream()) }
	}
	p, err := db.collection(key, KindStream, mk)
	return (*Stream)(p), err
}
