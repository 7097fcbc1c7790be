package server

import (
	"math"
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Stream IDs as clients write them, parsed and printed as Redis does.

// parseStreamID reads an ID as Redis's streamGenericParseIDOrReply does:
// <ms>-<seq>, or <ms> alone (the sequence is missingSeq), "-" and "+"
// unless strict, and <ms>-* when star (seqGiven is then false). Numbers
// are read as C's strtoull reads them, leading blanks and a sign included.
func parseStreamID(arg []byte, missingSeq uint64, strict, star bool) (id store.StreamID, seqGiven, ok bool) {
	if len(arg) > 127 {
		return id, false, false
	}
	for i, ch := range arg { // Redis works on a C string
		if ch == 0 {
			arg = arg[:i]
			break
		}
	}
	s := string(arg)
	if s == "-" || s == "+" {
		if strict {
			return id, false, false
		}
		if s == "+" {
			return store.MaxStreamID, true, true
		}
		return id, true, true
	}
	msPart, seqPart, hasSeq := s, "", false
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			msPart, seqPart, hasSeq = s[:i], s[i+1:], true
			break
		}
	}
	ms, good := string2ull(msPart)
	if !good {
		return id, false, false
	}
	seq := missingSeq
	seqGiven = true
	if hasSeq {
		if star && seqPart == "*" {
			seq, seqGiven = 0, false
		} else if seq, good = string2ull(seqPart); !good {
			return id, false, false
		}
	}
	return store.StreamID{Ms: ms, Seq: seq}, seqGiven, true
}

// string2ull is Redis's: a canonical integer, else what strtoull accepts.
func string2ull(s string) (uint64, bool) {
	if v, ok := parseInt([]byte(s)); ok {
		return uint64(v), v >= 0
	}
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	overflow := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			overflow = true
		}
		v = v*10 + d
	}
	if i == start || i != len(s) || overflow {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// streamIDOrReply parses an ID, answering Redis's error when it is not one.
func (c *Client) streamIDOrReply(arg []byte, missingSeq uint64, strict bool) (store.StreamID, bool) {
	id, _, ok := parseStreamID(arg, missingSeq, strict, false)
	if !ok {
		c.w.WriteError(errStreamID)
	}
	return id, ok
}

// intervalIDOrReply parses a range bound; "(" makes it exclusive, which
// moves it one ID inwards (up for a start, down for an end).
func (c *Client) intervalIDOrReply(arg []byte, missingSeq uint64, start bool) (store.StreamID, bool) {
	if len(arg) > 1 && arg[0] == '(' {
		id, ok := c.streamIDOrReply(arg[1:], missingSeq, true)
		if !ok {
			return id, false
		}
		if start {
			if id, ok = incrID(id); !ok {
				c.w.WriteError("ERR invalid start ID for the interval")
			}
		} else if id, ok = decrID(id); !ok {
			c.w.WriteError("ERR invalid end ID for the interval")
		}
		return id, ok
	}
	return c.streamIDOrReply(arg, missingSeq, false)
}

// incrID is the next ID; false (and 0-0) past the last possible one.
func incrID(id store.StreamID) (store.StreamID, bool) {
	switch {
	case id.Seq < math.MaxUint64:
		id.Seq++
	case id.Ms < math.MaxUint64:
		id.Ms, id.Seq = id.Ms+1, 0
	default:
		return store.StreamID{}, false
	}
	return id, true
}

// decrID is the previous ID; false (and the largest ID) before 0-0.
func decrID(id store.StreamID) (store.StreamID, bool) {
	switch {
	case id.Seq > 0:
		id.Seq--
	case id.Ms > 0:
		id.Ms, id.Seq = id.Ms-1, math.MaxUint64
	default:
		return store.MaxStreamID, false
	}
	return id, true
}

func formatID(id store.StreamID) []byte {
	b := strconv.AppendUint(make([]byte, 0, 41), id.Ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, id.Seq, 10)
}

func (c *Client) writeID(id store.StreamID) { c.w.WriteBulk(formatID(id)) }
