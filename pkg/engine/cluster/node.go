// Package cluster is the Redis Cluster part of the embedded engine: the node
// table, slot ownership, epochs, CLUSTER subcommands with Redis's reply
// formats, MOVED/ASK routing, nodes.conf persistence and a gossip bus between
// engine nodes. It knows nothing about the server; the server gives it a
// Keyspace and calls Command, Route and the INFO helpers.
package cluster

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"net"
	"strconv"
	"time"

	"github.com/gocluster/gocluster/pkg/slots"
)

// NumSlots is the number of hash slots in a Redis Cluster.
const NumSlots = 16384

const idLen = 40

// nodeFlags mirror Redis's CLUSTER_NODE_* flags.
type nodeFlags uint16

const (
	flagMaster nodeFlags = 1 << iota
	flagSlave
	flagPFail
	flagFail
	flagMyself
	flagHandshake
	flagNoAddr
	flagMeet
	flagMigrateTo
	flagNoFailover
)

// flagNames is in the order Redis prints flags (representClusterNodeFlags).
var flagNames = []struct {
	flag nodeFlags
	name string
}{
	{flagMyself, "myself"},
	{flagMaster, "master"},
	{flagSlave, "slave"},
	{flagPFail, "fail?"},
	{flagFail, "fail"},
	{flagHandshake, "handshake"},
	{flagNoAddr, "noaddr"},
	{flagNoFailover, "nofailover"},
}

func (f nodeFlags) String() string { return string(f.appendTo(nil)) }

// appendTo appends the comma-separated flag names, or "noflags".
func (f nodeFlags) appendTo(b []byte) []byte {
	first := true
	for _, fn := range flagNames {
		if f&fn.flag != 0 {
			if !first {
				b = append(b, ',')
			}
			b = append(b, fn.name...)
			first = false
		}
	}
	if first {
		b = append(b, "noflags"...)
	}
	return b
}

// slotBitmap is one bit per slot, the layout Redis uses on its bus.
type slotBitmap [NumSlots / 8]byte

func (b *slotBitmap) has(slot int) bool { return b[slot>>3]&(1<<(slot&7)) != 0 }
func (b *slotBitmap) set(slot int)      { b[slot>>3] |= 1 << (slot & 7) }
func (b *slotBitmap) clear(slot int)    { b[slot>>3] &^= 1 << (slot & 7) }

// word is slots 64i..64i+63, slot 64i+k in bit k.
func (b *slotBitmap) word(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }

const bitmapWords = NumSlots / 64

// eachSetAndNot calls fn for every slot set in b and not in except, in
// order, until fn returns false. Whole words are compared at a time, so a
// bus message that changes a few slots costs 256 word operations, not 16384
// bit tests.
func (b *slotBitmap) eachSetAndNot(except *slotBitmap, fn func(slot int) bool) {
	for i := range bitmapWords {
		w := b.word(i)
		if except != nil {
			w &^= except.word(i)
		}
		for w != 0 {
			k := bits.TrailingZeros64(w)
			if !fn(64*i + k) {
				return
			}
			w &= w - 1
		}
	}
}

// next returns the first slot at or after from whose bit equals want, or
// NumSlots when there is none.
func (b *slotBitmap) next(from int, want bool) int {
	for i := from >> 6; i < bitmapWords; i++ {
		w := b.word(i)
		if !want {
			w = ^w
		}
		if i == from>>6 {
			w &= ^uint64(0) << (from & 63)
		}
		if w != 0 {
			return 64*i + bits.TrailingZeros64(w)
		}
	}
	return NumSlots
}

// eachRange calls fn for every run of consecutive set slots, in order.
func (b *slotBitmap) eachRange(fn func(start, end int)) {
	for start := b.next(0, true); start < NumSlots; {
		end := b.next(start, false)
		fn(start, end-1)
		if end >= NumSlots {
			return
		}
		start = b.next(end, true)
	}
}

func (b *slotBitmap) count() int {
	n := 0
	for _, x := range b {
		for ; x != 0; x &= x - 1 {
			n++
		}
	}
	return n
}

// node is one cluster member as this node sees it. All fields are guarded by
// Cluster.mu.
type node struct {
	id          string
	ip          string
	port, cport int
	hostname    string
	flags       nodeFlags
	master      *node   // for replicas
	replicas    []*node // for masters
	configEpoch uint64
	slots       slotBitmap
	numSlots    int
	replOffset  int64

	ctime     int64 // ms, creation (handshake timeout)
	pingSent  int64 // ms, 0 when no ping is pending
	pongRecv  int64 // ms
	dataRecv  int64 // ms, any packet received
	failTime  int64 // ms, when FAIL was set
	votedTime int64 // ms, last vote given for this master's replicas
	// orphanedSince is when this master was first seen orphaned (slots, no
	// working replica) by replica migration; 0 when it is not.
	orphanedSince int64

	failReports map[*node]int64 // reporter -> ms of the last report

	link       *link // outbound bus link, nil when none
	connecting bool
}

func newNode(id string, flags nodeFlags) *node {
	return &node{id: id, flags: flags, ctime: mstime(), failReports: map[*node]int64{}}
}

func (n *node) isMaster() bool { return n.flags&flagMaster != 0 }
func (n *node) isSlave() bool  { return n.flags&flagSlave != 0 }
func (n *node) failed() bool   { return n.flags&flagFail != 0 }
func (n *node) timedOut() bool { return n.flags&flagPFail != 0 }

// addr is "ip:port" as used in MOVED/ASK replies.
func (n *node) addr() string { return n.ip + ":" + strconv.Itoa(n.port) }

// busAddr is where the node's cluster bus listens.
func (n *node) busAddr() string { return net.JoinHostPort(n.ip, strconv.Itoa(n.cport)) }

// removeReplica forgets r as n's replica; a master left with none is no
// longer a target of replica migration (it may never have had one).
func (n *node) removeReplica(r *node) {
	for i, x := range n.replicas {
		if x == r {
			n.replicas = append(n.replicas[:i], n.replicas[i+1:]...)
			if len(n.replicas) == 0 {
				n.flags &^= flagMigrateTo
			}
			return
		}
	}
}

// addReplica records r as n's replica; a master that had a replica is a
// target of replica migration when it loses them all (flagMigrateTo).
func (n *node) addReplica(r *node) {
	for _, x := range n.replicas {
		if x == r {
			return
		}
	}
	n.replicas = append(n.replicas, r)
	n.flags |= flagMigrateTo
}

// workingReplicas counts n's replicas not flagged as failing (FAIL).
func (n *node) workingReplicas() int {
	ok := 0
	for _, r := range n.replicas {
		if !r.failed() {
			ok++
		}
	}
	return ok
}

// randomID returns a new 40 hex digit node id.
func randomID() string {
	var b [idLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on Linux; fall back to the clock anyway.
		t := time.Now().UnixNano()
		for i := range b {
			b[i] = byte(t >> (8 * (i % 8)))
		}
	}
	return hex.EncodeToString(b[:])
}

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func mstime() int64 { return time.Now().UnixMilli() }

// KeySlot is the hash slot of key, honouring {hash tags} like Redis.
func KeySlot(key []byte) int { return slots.KeySlot(key) }
