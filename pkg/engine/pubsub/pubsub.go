// Package pubsub is the engine's publish/subscribe registry: channels,
// patterns and shard channels, with each subscriber's messages queued for
// its connection to write. A publisher never waits for a subscriber's
// socket: messages are encoded once per protocol and appended to the
// subscriber's queue, and a subscriber whose queue grows past the limit
// is dropped, as Redis's client-output-buffer-limit for pub/sub does.
package pubsub

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Kind tells the three namespaces apart.
type Kind int

const (
	Channel Kind = iota // SUBSCRIBE / PUBLISH
	Pattern             // PSUBSCRIBE
	Shard               // SSUBSCRIBE / SPUBLISH
)

// DefaultQueueLimit is how many bytes may wait for a slow subscriber
// before it is dropped (Redis: client-output-buffer-limit pubsub 32mb).
const DefaultQueueLimit = 32 << 20

// Sub is one client's subscriptions and its queue of pushes.
type Sub struct {
	proto atomic.Int32 // 2 or 3: how pushes are encoded
	limit int

	qmu     sync.Mutex
	pending [][]byte // queued pushes, in chunks of queueChunk bytes (or one bigger push)
	queued  int      // bytes in pending
	dead    bool
	wake    chan struct{}

	// guarded by the Hub's mutex
	names [3]map[string]struct{}
}

// NewSub makes a subscriber whose pushes use protocol proto (2 or 3).
func NewSub(proto int) *Sub {
	s := &Sub{limit: DefaultQueueLimit, wake: make(chan struct{}, 1)}
	s.SetProto(proto)
	return s
}

// SetProto switches how later pushes are encoded (HELLO 2/3).
func (s *Sub) SetProto(p int) { s.proto.Store(int32(p)) }

// Wake is signalled when pushes are queued.
func (s *Sub) Wake() <-chan struct{} { return s.wake }

// Take returns what is queued as one slice and clears the queue, and
// whether the subscriber was dropped for a full queue (its connection
// should be closed).
func (s *Sub) Take() (out []byte, dead bool) {
	chunks, dead := s.TakeChunks()
	for _, c := range chunks {
		out = append(out, c...)
	}
	s.Recycle(chunks)
	return out, dead
}

// TakeChunks returns and clears what is queued, in the chunks it was
// queued in (for one writev); hand them back with Recycle once written.
func (s *Sub) TakeChunks() (chunks [][]byte, dead bool) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	chunks, s.pending, s.queued = s.pending, nil, 0
	return chunks, s.dead
}

// queueChunk is the size of the chunks a subscriber's queue is made of: a
// lagging subscriber's queue grows a chunk at a time, never copied.
const queueChunk = 16 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, queueChunk); return &b }}

// Recycle returns written chunks for later pushes.
func (s *Sub) Recycle(chunks [][]byte) {
	for _, c := range chunks {
		if cap(c) == queueChunk {
			c = c[:0]
			chunkPool.Put(&c)
		}
	}
}

// Push queues an encoded push for the subscriber's connection; false when
// the subscriber is over its limit (and now dead).
func (s *Sub) Push(b []byte) bool { return s.push(b) }

// push queues an encoded message; false when the subscriber is over its
// limit (and now dead).
func (s *Sub) push(b []byte) bool {
	s.qmu.Lock()
	if s.dead {
		s.qmu.Unlock()
		return false
	}
	// Only a push onto an empty queue wakes the writer: it takes everything
	// queued when it runs, so one wake per batch is enough.
	wake := s.queued == 0
	if s.queued+len(b) > s.limit {
		s.dead, s.pending, s.queued, wake = true, nil, 0, true
	} else {
		s.queued += len(b)
		last := len(s.pending) - 1
		if last < 0 || len(s.pending[last])+len(b) > cap(s.pending[last]) {
			var c []byte
			if len(b) <= queueChunk {
				c = *chunkPool.Get().(*[]byte)
			}
			s.pending = append(s.pending, c)
			last++
		}
		s.pending[last] = append(s.pending[last], b...)
	}
	dead := s.dead
	s.qmu.Unlock()
	if wake {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return !dead
}

// Count is how many channels, patterns and shard channels s listens to.
func (h *Hub) Count(s *Sub) (channels, patterns, shard int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(s.names[Channel]), len(s.names[Pattern]), len(s.names[Shard])
}

// Hub is the registry of one node.
type Hub struct {
	mu    sync.RWMutex
	names [3]map[string]map[*Sub]struct{} // kind -> name -> subscribers
}

// NewHub makes an empty registry.
func NewHub() *Hub {
	h := &Hub{}
	for k := range h.names {
		h.names[k] = map[string]map[*Sub]struct{}{}
	}
	return h
}

// Add subscribes s to name; false when it already was.
func (h *Hub) Add(s *Sub, kind Kind, name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.names[kind] == nil {
		s.names[kind] = map[string]struct{}{}
	}
	if _, ok := s.names[kind][name]; ok {
		return false
	}
	s.names[kind][name] = struct{}{}
	subs := h.names[kind][name]
	if subs == nil {
		subs = map[*Sub]struct{}{}
		h.names[kind][name] = subs
	}
	subs[s] = struct{}{}
	return true
}

// Remove unsubscribes s from name; false when it was not subscribed.
func (h *Hub) Remove(s *Sub, kind Kind, name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.removeLocked(s, kind, name)
}

func (h *Hub) removeLocked(s *Sub, kind Kind, name string) bool {
	if _, ok := s.names[kind][name]; !ok {
		return false
	}
	delete(s.names[kind], name)
	if subs := h.names[kind][name]; subs != nil {
		delete(subs, s)
		if len(subs) == 0 {
			delete(h.names[kind], name)
		}
	}
	return true
}

// Names lists what s is subscribed to in kind, sorted.
func (h *Hub) Names(s *Sub, kind Kind) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]string, 0, len(s.names[kind]))
	for n := range s.names[kind] {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// RemoveAll drops every subscription of s (the client disconnected).
func (h *Hub) RemoveAll(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range s.names {
		for n := range s.names[k] {
			h.removeLocked(s, Kind(k), n)
		}
	}
}

// Publish delivers message to the subscribers of channel and of every
// pattern matching it, and returns how many received it.
func (h *Hub) Publish(channel, message []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var enc encoded
	n := 0
	for s := range h.names[Channel][string(channel)] {
		if s.push(enc.get(s, "message", nil, channel, message)) {
			n++
		}
	}
	for pat, subs := range h.names[Pattern] {
		if !store.Match([]byte(pat), channel) {
			continue
		}
		var penc encoded
		for s := range subs {
			if s.push(penc.get(s, "pmessage", []byte(pat), channel, message)) {
				n++
			}
		}
	}
	return n
}

// SPublish delivers message to the subscribers of shard channel channel.
func (h *Hub) SPublish(channel, message []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var enc encoded
	n := 0
	for s := range h.names[Shard][string(channel)] {
		if s.push(enc.get(s, "smessage", nil, channel, message)) {
			n++
		}
	}
	return n
}

// DropShardChannels unsubscribes everyone from the shard channels for
// which inSlot is true (their slot moved away) and tells each subscriber
// with an sunsubscribe push, as Redis 7 does, so no one stays deaf.
func (h *Hub) DropShardChannels(inSlot func(channel string) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, subs := range h.names[Shard] {
		if !inSlot(name) {
			continue
		}
		for s := range subs {
			delete(s.names[Shard], name)
			s.push(Reply(int(s.proto.Load()), "sunsubscribe", []byte(name), int64(len(s.names[Shard]))))
		}
		delete(h.names[Shard], name)
	}
}

// Active lists the channels (or shard channels) with subscribers that
// match pattern (nil for all), sorted.
func (h *Hub) Active(kind Kind, pattern []byte) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []string
	for n := range h.names[kind] {
		if pattern == nil || store.Match(pattern, []byte(n)) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// NumSub is how many clients subscribe to name.
func (h *Hub) NumSub(kind Kind, name string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.names[kind][name])
}

// NumChannels is how many channels have subscribers (INFO pubsub_channels).
func (h *Hub) NumChannels() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.names[Channel])
}

// NumShardChannels is how many shard channels have subscribers (INFO
// pubsubshard_channels).
func (h *Hub) NumShardChannels() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.names[Shard])
}

// NumPat is how many patterns have subscribers (PUBSUB NUMPAT).
func (h *Hub) NumPat() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.names[Pattern])
}

// encoded caches one message's encoding per protocol while it is
// delivered to many subscribers.
type encoded [2][]byte

func (e *encoded) get(s *Sub, kind string, pattern, channel, message []byte) []byte {
	p := int(s.proto.Load())
	i := 0
	if p == 3 {
		i = 1
	}
	if e[i] == nil {
		e[i] = Message(p, kind, pattern, channel, message)
	}
	return e[i]
}

// Message encodes a message, pmessage or smessage push.
func Message(proto int, kind string, pattern, channel, message []byte) []byte {
	parts := [][]byte{[]byte(kind)}
	if pattern != nil {
		parts = append(parts, pattern)
	}
	parts = append(parts, channel, message)
	b := header(nil, proto, len(parts))
	for _, p := range parts {
		b = bulk(b, p)
	}
	return b
}

// Reply encodes a (un)subscribe confirmation: kind, name (nil for a null
// bulk, when unsubscribing from nothing) and the subscription count.
func Reply(proto int, kind string, name []byte, count int64) []byte {
	b := header(nil, proto, 3)
	b = bulk(b, []byte(kind))
	if name == nil {
		if proto == 3 {
			b = append(b, "_\r\n"...)
		} else {
			b = append(b, "$-1\r\n"...)
		}
	} else {
		b = bulk(b, name)
	}
	b = append(b, ':')
	b = strconv.AppendInt(b, count, 10)
	return append(b, '\r', '\n')
}

func header(b []byte, proto, n int) []byte {
	if proto == 3 {
		b = append(b, '>')
	} else {
		b = append(b, '*')
	}
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

func bulk(b, s []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '\r', '\n')
	b = append(b, s...)
	return append(b, '\r', '\n')
}
