package server

import (
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/resp"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// How stream writes leave the node. A stream handler says itself what its
// write becomes for replicas and the AOF (Redis rewrites XADD's ID and
// approximate trims, turns XREADGROUP, XCLAIM and XAUTOCLAIM into XCLAIM
// and XGROUP SETID forms, and propagates nothing when nothing changed), and
// which keyspace events it caused, in Redis's order. Both are kept here
// (under the store lock) until the command is done.

type streamState struct {
	forms  [][][]byte
	set    bool // the handler decided what to propagate
	events []keyedEvent
}

// streamBegin forgets what an earlier stream command left.
func (s *Server) streamBegin() {
	s.streams.forms = s.streams.forms[:0]
	s.streams.set = false
	s.streams.events = s.streams.events[:0]
}

// streamPropagate adds the commands the running write is propagated as
// (none: it changed nothing).
func (s *Server) streamPropagate(forms ...[][]byte) {
	s.streams.set = true
	s.streams.forms = append(s.streams.forms, forms...)
}

// streamEvent records a keyspace event of the stream class.
func (s *Server) streamEvent(name string, key []byte) {
	if s.notifyFlags.Load() == 0 {
		return
	}
	s.streams.events = append(s.streams.events, keyedEvent{keyEvent{class: config.NotifyStream, name: name}, copyBytes(key)})
}

// takeStreamEvents hands the recorded events to callNotifying.
func (s *Server) takeStreamEvents() []keyedEvent {
	ev := append([]keyedEvent(nil), s.streams.events...)
	s.streams.events = s.streams.events[:0]
	return ev
}

// publishStreamEvents publishes the recorded events at once (a blocked
// XREADGROUP served by another client's write).
func (s *Server) publishStreamEvents() {
	for _, ev := range s.takeStreamEvents() {
		s.notifyKeyspace(ev.class, ev.name, ev.key)
	}
}

// appendStreamForms appends what a stream write recorded; ok is false for
// other commands.
func (s *Server) appendStreamForms(out []byte, cmd *command) ([]byte, int, bool) {
	if !s.streams.set || !streamWrites[cmd.name] {
		return out, 0, false
	}
	for _, f := range s.streams.forms {
		out = resp.AppendCommand(out, f...)
	}
	n := len(s.streams.forms)
	s.streams.forms = s.streams.forms[:0]
	s.streams.set = false
	return out, n, true
}

var streamWrites = map[string]bool{"xadd": true, "xdel": true, "xtrim": true, "xsetid": true, "xgroup": true,
	"xreadgroup": true, "xack": true, "xclaim": true, "xautoclaim": true}

// xclaimForm is how Redis propagates a delivery or claim of one pending
// entry (streamPropagateXCLAIM): an idempotent XCLAIM that forces the
// entry into the consumer's PEL with its delivery time and count, and
// moves the group's last ID.
func xclaimForm(key []byte, g *store.StreamGroup, id store.StreamID, n *store.StreamNACK) [][]byte {
	consumer := ""
	if n.Consumer != nil {
		consumer = n.Consumer.Name
	}
	return [][]byte{[]byte("XCLAIM"), key, []byte(g.Name), []byte(consumer), []byte("0"), formatID(id),
		[]byte("TIME"), strconv.AppendInt(nil, n.DeliveryTime, 10),
		[]byte("RETRYCOUNT"), strconv.AppendUint(nil, n.DeliveryCount, 10),
		[]byte("FORCE"), []byte("JUSTID"), []byte("LASTID"), formatID(g.LastID)}
}

// setIDForm is streamPropagateGroupID: XGROUP SETID with ENTRIESREAD.
func setIDForm(key []byte, g *store.StreamGroup) [][]byte {
	return [][]byte{[]byte("XGROUP"), []byte("SETID"), key, []byte(g.Name), formatID(g.LastID),
		[]byte("ENTRIESREAD"), strconv.AppendInt(nil, g.EntriesRead, 10)}
}

// createConsumerForm is streamPropagateConsumerCreation.
func createConsumerForm(key []byte, g *store.StreamGroup, name []byte) [][]byte {
	return [][]byte{[]byte("XGROUP"), []byte("CREATECONSUMER"), key, []byte(g.Name), name}
}

// appendStreamRewrite is the AOF rewrite of a stream, as Redis's
// rewriteStreamObject writes it: XADDs of the live entries (XADD MAXLEN 0
// of a dummy entry for an empty stream), XSETID with the metadata, then per
// group XGROUP CREATE with ENTRIESREAD, XCLAIM ... JUSTID FORCE for each
// pending entry and XGROUP CREATECONSUMER for consumers without any.
func appendStreamRewrite(out, key []byte, s *store.Stream) []byte {
	if s.Length > 0 {
		s.Range(store.StreamID{}, store.MaxStreamID, false, func(id store.StreamID, fields [][]byte) bool {
			args := append([][]byte{[]byte("XADD"), key, formatID(id)}, fields...)
			out = resp.AppendCommand(out, args...)
			return true
		})
	} else {
		out = resp.AppendCommand(out, []byte("XADD"), key, []byte("MAXLEN"), []byte("0"), []byte("0-1"), []byte("x"), []byte("y"))
	}
	out = resp.AppendCommand(out, []byte("XSETID"), key, formatID(s.LastID),
		[]byte("ENTRIESADDED"), strconv.AppendUint(nil, s.EntriesAdded, 10),
		[]byte("MAXDELETEDID"), formatID(s.MaxDeletedID))
	for _, g := range s.Groups() {
		out = resp.AppendCommand(out, []byte("XGROUP"), []byte("CREATE"), key, []byte(g.Name), formatID(g.LastID),
			[]byte("ENTRIESREAD"), strconv.AppendInt(nil, g.EntriesRead, 10))
		for _, c := range g.Consumers() {
			if c.PELLen() == 0 {
				out = resp.AppendCommand(out, []byte("XGROUP"), []byte("CREATECONSUMER"), key, []byte(g.Name), []byte(c.Name))
				continue
			}
			c.AscendPEL(store.StreamID{}, func(n *store.StreamNACK) bool {
				out = resp.AppendCommand(out, []byte("XCLAIM"), key, []byte(g.Name), []byte(c.Name), []byte("0"), formatID(n.ID),
					[]byte("TIME"), strconv.AppendInt(nil, n.DeliveryTime, 10),
					[]byte("RETRYCOUNT"), strconv.AppendUint(nil, n.DeliveryCount, 10),
					[]byte("JUSTID"), []byte("FORCE"))
				return true
			})
		}
	}
	return out
}
