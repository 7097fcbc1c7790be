package server

import (
	"math"
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Streams: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM and XSETID here;
// reading (XREAD, XREADGROUP) in cmd_stream_read.go, consumer groups in
// cmd_stream_group.go and cmd_stream_claim.go, XINFO in cmd_stream_info.go,
// IDs in stream_id.go, and how stream writes
// reach replicas, the AOF and keyspace notifications in stream_prop.go.
// Replies and errors are redis-server 7.0's (src/t_stream.c).

func init() {
	def("xadd", -5, "write denyoom fast", 1, 1, 1, cmdXAdd)
	def("xlen", 2, "readonly fast", 1, 1, 1, cmdXLen)
	def("xrange", -4, "readonly", 1, 1, 1, cmdXRange)
	def("xrevrange", -4, "readonly", 1, 1, 1, cmdXRange)
	def("xdel", -3, "write fast", 1, 1, 1, cmdXDel)
	def("xtrim", -4, "write", 1, 1, 1, cmdXTrim)
	def("xsetid", -3, "write denyoom fast", 1, 1, 1, cmdXSetID)
	for _, name := range []string{"xadd", "xdel", "xtrim", "xsetid", "xgroup", "xreadgroup", "xack", "xclaim", "xautoclaim"} {
		selfTouching[name] = true // stream handlers touch what they change
	}
}

const (
	errStreamID        = "ERR Invalid stream ID specified as stream command argument"
	errStreamIDSmaller = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
)

// stream fetches key's stream, writing WRONGTYPE on error; s is nil when
// the key is missing (and !create).
func (c *Client) stream(key []byte, create bool) (s *store.Stream, ok bool) {
	s, err := c.srv.DB.Stream(key, create)
	if err != nil {
		c.w.WriteError(errWrongType)
		return nil, false
	}
	return s, true
}

// streamConfig is stream-node-max-bytes and stream-node-max-entries.
func (c *Client) streamConfig() (maxBytes, maxEntries int) {
	cfg := c.srv.Cfg
	if cfg == nil {
		return 4096, 100
	}
	return cfg.Int("stream-node-max-bytes"), cfg.Int("stream-node-max-entries")
}

// longLongOrReply reads an integer argument as getLongLongFromObjectOrReply.
func (c *Client) longLongOrReply(arg []byte, msg string) (int64, bool) {
	n, ok := parseInt(arg)
	if !ok {
		if msg == "" {
			msg = errNotInt
		} else {
			msg = "ERR " + msg
		}
		c.w.WriteError(msg)
	}
	return n, ok
}

// addTrimArgs are XADD's and XTRIM's options.
type addTrimArgs struct {
	store.TrimArgs
	id                 store.StreamID
	idGiven, seqGiven  bool
	noMkStream         bool
	trimArgIdx         int // where the MAXLEN/MINID value is, for rewriting
	limitGiven, strict bool
}

// parseAddTrim parses XADD's or XTRIM's options (Redis's
// streamParseAddOrTrimArgsOrReply); for XADD it returns where the ID is.
func (c *Client) parseAddTrim(args [][]byte, xadd bool) (a addTrimArgs, idPos int, ok bool) {
	i := 2
	for ; i < len(args); i++ {
		more := len(args) - 1 - i
		opt := args[i]
		switch {
		case xadd && len(opt) == 1 && opt[0] == '*':
			goto parsed
		case (eq(opt, "maxlen") || eq(opt, "minid")) && more > 0:
			if a.Strategy != store.TrimNone {
				c.w.WriteError("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
				return a, 0, false
			}
			a.Approx = false
			if next := args[i+1]; more >= 2 && len(next) == 1 && (next[0] == '~' || next[0] == '=') {
				a.Approx = next[0] == '~'
				i++
			}
			if eq(opt, "maxlen") {
				n, good := c.longLongOrReply(args[i+1], "")
				if !good {
					return a, 0, false
				}
				if n < 0 {
					c.w.WriteError("ERR The MAXLEN argument must be >= 0.")
					return a, 0, false
				}
				a.Strategy, a.MaxLen = store.TrimMaxLen, n
			} else {
				id, good := c.streamIDOrReply(args[i+1], 0, true)
				if !good {
					return a, 0, false
				}
				a.Strategy, a.MinID = store.TrimMinID, id
			}
			i++
			a.trimArgIdx = i
		case eq(opt, "limit") && more > 0:
			n, good := c.longLongOrReply(args[i+1], "")
			if !good {
				return a, 0, false
			}
			if n < 0 {
				c.w.WriteError("ERR The LIMIT argument must be >= 0.")
				return a, 0, false
			}
			a.Limit, a.limitGiven = n, true
			i++
		case xadd && eq(opt, "nomkstream"):
			a.noMkStream = true
		case xadd:
			id, seqGiven, good := parseStreamID(opt, 0, true, true)
			if !good {
				c.w.WriteError(errStreamID)
				return a, 0, false
			}
			a.id, a.idGiven, a.seqGiven = id, true, seqGiven
			goto parsed
		default:
			c.w.WriteError(errSyntax)
			return a, 0, false
		}
	}
parsed:
	if a.Limit != 0 && a.Strategy == store.TrimNone {
		c.w.WriteError("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
		return a, 0, false
	}
	if !xadd && a.Strategy == store.TrimNone {
		c.w.WriteError("ERR syntax error, XTRIM must be called with a trimming strategy")
		return a, 0, false
	}
	if c.obeysMaster() {
		// what a master or the AOF sends was rewritten to be exact
		a.Limit = 0
	} else if a.limitGiven {
		if !a.Approx {
			c.w.WriteError("ERR syntax error, LIMIT cannot be used without the special ~ option")
			return a, 0, false
		}
	} else if a.Approx {
		_, maxEntries := c.streamConfig()
		a.Limit = 100 * int64(maxEntries)
		if a.Limit <= 0 {
			a.Limit = 10000
		}
		a.Limit = min(a.Limit, 1000000)
	} else {
		a.Limit = 0
	}
	return a, i, true
}

// obeysMaster: the client applies a master's stream or an AOF, whose
// commands are exact and must not be limited.
func (c *Client) obeysMaster() bool { return c.user == "aof" || c.user == "replication" }

func cmdXAdd(c *Client, args [][]byte) {
	c.srv.streamBegin()
	a, idPos, ok := c.parseAddTrim(args, true)
	if !ok {
		return
	}
	fieldPos := idPos + 1
	if n := len(args) - fieldPos; n < 2 || n%2 == 1 {
		c.w.WriteError("ERR wrong number of arguments for 'xadd' command")
		return
	}
	if a.idGiven && a.seqGiven && a.id == (store.StreamID{}) {
		c.w.WriteError("ERR The ID specified in XADD must be greater than 0-0")
		return
	}
	key := args[1]
	s, ok := c.stream(key, !a.noMkStream)
	if !ok {
		return
	}
	if s == nil {
		c.w.WriteNull()
		c.srv.streamPropagate() // nothing
		return
	}
	if s.LastID == store.MaxStreamID {
		c.w.WriteError("ERR The stream has exhausted the last possible ID, unable to add more items")
		return
	}
	id, msg := nextStreamID(s, a, c.srv.DB.Now())
	fields := args[fieldPos:]
	if msg == "" && store.StreamElementsSize(fields) > 1<<30 {
		msg = "ERR Elements are too large to be stored"
	}
	if msg != "" {
		c.w.WriteError(msg) // a stream created for this XADD stays, empty, as in Redis
		return
	}
	stored := make([][]byte, len(fields))
	for i, f := range fields {
		stored[i] = copyBytes(f)
	}
	maxBytes, maxEntries := c.streamConfig()
	s.Append(id, stored, maxBytes, maxEntries)
	s.Signals++
	idText := formatID(id)
	c.w.WriteBulk(idText)
	c.srv.DB.Touch(key)
	c.srv.streamEvent("xadd", key)
	form := append([][]byte(nil), args...)
	if a.Strategy != store.TrimNone {
		if s.Trim(a.TrimArgs) > 0 {
			c.srv.streamEvent("xtrim", key)
		}
		if a.Approx {
			rewriteTrim(form, s, a)
		}
	}
	if !a.idGiven || !a.seqGiven {
		form[idPos] = idText
	}
	c.srv.streamPropagate(form)
}

// nextStreamID is the ID XADD gives the new entry, or its error.
func nextStreamID(s *store.Stream, a addTrimArgs, now int64) (store.StreamID, string) {
	var id store.StreamID
	switch {
	case !a.idGiven:
		if uint64(now) > s.LastID.Ms {
			id = store.StreamID{Ms: uint64(now)}
		} else {
			id, _ = incrID(s.LastID)
		}
	case a.seqGiven:
		id = a.id
	case s.LastID.Ms == a.id.Ms:
		if s.LastID.Seq == math.MaxUint64 {
			// Redis 7.0 fails here without saying why: its reply is the
			// size error
			return id, "ERR Elements are too large to be stored"
		}
		id = store.StreamID{Ms: a.id.Ms, Seq: s.LastID.Seq + 1}
	default:
		id = a.id
	}
	if id.Compare(s.LastID) <= 0 {
		return id, errStreamIDSmaller
	}
	return id, ""
}

// rewriteTrim makes an approximate trim exact for replicas and the AOF:
// "~" becomes "=" and the count the resulting length (or the ID the first
// first entry, tombstones included), as Redis's streamRewriteTrimArgument.
func rewriteTrim(form [][]byte, s *store.Stream, a addTrimArgs) {
	form[a.trimArgIdx-1] = []byte("=")
	if a.Strategy == store.TrimMaxLen {
		form[a.trimArgIdx] = strconv.AppendUint(nil, s.Length, 10)
	} else {
		form[a.trimArgIdx] = formatID(s.EdgeID(true, false))
	}
}

func cmdXLen(c *Client, args [][]byte) {
	s, ok := c.stream(args[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.w.WriteInt(0)
		return
	}
	c.w.WriteInt(int64(s.Length))
}

// cmdXRange: XRANGE key start end [COUNT n] and XREVRANGE key end start [COUNT n].
func cmdXRange(c *Client, args [][]byte) {
	rev := eq(args[0], "xrevrange")
	startArg, endArg := args[2], args[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, ok := c.intervalIDOrReply(startArg, 0, true)
	if !ok {
		return
	}
	end, ok := c.intervalIDOrReply(endArg, math.MaxUint64, false)
	if !ok {
		return
	}
	count := int64(-1)
	for j := 4; j < len(args); j++ {
		if eq(args[j], "count") && j+1 < len(args) {
			n, good := c.longLongOrReply(args[j+1], "")
			if !good {
				return
			}
			count = max(n, 0)
			j++
			continue
		}
		c.w.WriteError(errSyntax)
		return
	}
	s, ok := c.stream(args[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.w.WriteArrayLen(0)
		return
	}
	if count == 0 {
		c.w.WriteNullArray()
		return
	}
	c.writeEntries(collectRange(s, start, end, rev, count))
}

// streamItem is an entry to reply with.
type streamItem struct {
	id     store.StreamID
	fields [][]byte // nil for a pending entry whose message is gone
}

// collectRange gathers up to count (< 0: all) live entries of a range.
func collectRange(s *store.Stream, start, end store.StreamID, rev bool, count int64) []streamItem {
	var out []streamItem
	s.Range(start, end, rev, func(id store.StreamID, fields [][]byte) bool {
		out = append(out, streamItem{id, fields})
		return count < 0 || int64(len(out)) < count
	})
	return out
}

func (c *Client) writeEntries(items []streamItem) {
	c.w.WriteArrayLen(len(items))
	for _, it := range items {
		c.writeEntry(it)
	}
}

// writeEntry writes [id, [field, value...]], or [id, nil] for a pending
// entry whose message was deleted.
func (c *Client) writeEntry(it streamItem) {
	c.w.WriteArrayLen(2)
	c.writeID(it.id)
	if it.fields == nil {
		c.w.WriteNullArray()
		return
	}
	c.w.WriteArrayLen(len(it.fields))
	for _, f := range it.fields {
		c.w.WriteBulk(f)
	}
}

func cmdXDel(c *Client, args [][]byte) {
	c.srv.streamBegin()
	s, ok := c.stream(args[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.w.WriteInt(0)
		c.srv.streamPropagate()
		return
	}
	ids := make([]store.StreamID, 0, len(args)-2)
	for _, a := range args[2:] {
		id, good := c.streamIDOrReply(a, 0, true)
		if !good {
			return
		}
		ids = append(ids, id)
	}
	deleted, first := 0, false
	for _, id := range ids {
		if !s.Delete(id) {
			continue
		}
		first = first || id == s.FirstID
		if id.Compare(s.MaxDeletedID) > 0 {
			s.MaxDeletedID = id
		}
		deleted++
	}
	if deleted > 0 {
		if s.Length == 0 {
			s.FirstID = store.StreamID{}
		} else if first {
			s.FirstID = s.EdgeID(true, true)
		}
		c.srv.DB.Touch(args[1])
		c.srv.streamEvent("xdel", args[1])
		c.srv.streamPropagate(args)
	} else {
		c.srv.streamPropagate()
	}
	c.w.WriteInt(int64(deleted))
}

func cmdXTrim(c *Client, args [][]byte) {
	c.srv.streamBegin()
	a, _, ok := c.parseAddTrim(args, false)
	if !ok {
		return
	}
	s, ok := c.stream(args[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.w.WriteInt(0)
		c.srv.streamPropagate()
		return
	}
	deleted := s.Trim(a.TrimArgs)
	if deleted > 0 {
		form := append([][]byte(nil), args...)
		if a.Approx {
			rewriteTrim(form, s, a)
		}
		c.srv.DB.Touch(args[1])
		c.srv.streamEvent("xtrim", args[1])
		c.srv.streamPropagate(form)
	} else {
		c.srv.streamPropagate()
	}
	c.w.WriteInt(deleted)
}

// cmdXSetID: XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id].
func cmdXSetID(c *Client, args [][]byte) {
	c.srv.streamBegin()
	id, ok := c.streamIDOrReply(args[2], 0, true)
	if !ok {
		return
	}
	entriesAdded := int64(-1)
	var maxDeleted store.StreamID
	for i := 3; i < len(args); i += 2 {
		more := len(args) - 1 - i
		switch {
		case eq(args[i], "entriesadded") && more > 0:
			n, good := c.longLongOrReply(args[i+1], "")
			if !good {
				return
			}
			if n < 0 {
				c.w.WriteError("ERR entries_added must be positive")
				return
			}
			entriesAdded = n
		case eq(args[i], "maxdeletedid") && more > 0:
			md, good := c.streamIDOrReply(args[i+1], 0, true)
			if !good {
				return
			}
			if id.Compare(md) < 0 {
				c.w.WriteError("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
				return
			}
			maxDeleted = md
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	s, ok := c.stream(args[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.w.WriteError(errNoSuchKey)
		return
	}
	if s.Length > 0 {
		if id.Compare(s.LastValidID()) < 0 {
			c.w.WriteError("ERR The ID specified in XSETID is smaller than the target stream top item")
			return
		}
		if entriesAdded != -1 && s.Length > uint64(entriesAdded) {
			c.w.WriteError("ERR The entries_added specified in XSETID is smaller than the target stream length")
			return
		}
	}
	s.LastID = id
	if entriesAdded != -1 {
		s.EntriesAdded = uint64(entriesAdded)
	}
	if maxDeleted != (store.StreamID{}) {
		s.MaxDeletedID = maxDeleted
	}
	c.w.WriteRaw(okReply) // Redis does not signal XSETID to WATCH
	c.srv.streamEvent("xsetid", args[1])
	c.srv.streamPropagate(args)
}
