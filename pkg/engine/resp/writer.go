// Package resp reads and writes the Redis serialization protocol (RESP2 and
// RESP3), including inline commands, with Redis's own limits and error texts.
package resp

import (
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// autoFlushSize is where Write* calls flush early when auto-flush is on.
const autoFlushSize = 64 * 1024

// Writer buffers replies for one connection. It speaks RESP2 by default and
// RESP3 after SetProto(3); type-specific methods degrade to the RESP2 form.
// The first write error sticks and is returned by Flush.
type Writer struct {
	w         io.Writer
	buf       []byte
	proto     int
	err       error
	autoFlush bool
	flushes   uint64 // buffers sent so far, so that Rewind knows what left
	// beforeFlush runs before buffered replies leave; an error drops them
	// (see SetBeforeFlush).
	beforeFlush func() error
	chunks      net.Buffers // WriteChunks's scratch: writing consumes it
	// sentBytes and sentCalls, when set, count what reached the writer.
	sentBytes, sentCalls *atomic.Int64
	// rbSize and rbPeak: the reply buffer's size and peak use (replybuf.go);
	// peakResetAt is the cron's own.
	rbSize, rbPeak atomic.Int64
	peakResetAt    time.Time
}

// CountInto makes the writer add the bytes it writes, and its write calls,
// to the given counters (INFO's total_net_output_bytes and
// total_writes_processed).
func (w *Writer) CountInto(bytes, calls *atomic.Int64) { w.sentBytes, w.sentCalls = bytes, calls }

func (w *Writer) count(n int64) {
	if w.sentBytes != nil && n > 0 {
		w.sentBytes.Add(n)
		w.sentCalls.Add(1)
	}
}

// NewWriter returns a RESP2 writer on w.
func NewWriter(w io.Writer) *Writer {
	wr := &Writer{w: w, buf: make([]byte, 0, replyChunkBytes), proto: 2}
	wr.rbSize.Store(replyChunkBytes)
	return wr
}

// SetProto selects RESP2 (2) or RESP3 (3).
func (w *Writer) SetProto(p int) {
	if p == 3 {
		w.proto = 3
	} else {
		w.proto = 2
	}
}

// Proto is the protocol version in use (2 or 3).
func (w *Writer) Proto() int { return w.proto }

// Buffered is the number of bytes waiting for Flush.
func (w *Writer) Buffered() int { return len(w.buf) }

// Mark is a position in the reply stream (see Rewind).
type Mark struct {
	flushes uint64
	n       int
}

// Mark remembers the current end of the reply stream.
func (w *Writer) Mark() Mark { return Mark{flushes: w.flushes, n: len(w.buf)} }

// Rewind drops what was written since m, when all of it is still buffered,
// and reports whether it could: a command that failed half way through its
// reply can then answer an error instead. False means part of the reply
// already left and the stream cannot be repaired.
func (w *Writer) Rewind(m Mark) bool {
	if w.flushes != m.flushes || len(w.buf) < m.n {
		return false
	}
	w.buf = w.buf[:m.n]
	return true
}

// Since returns what was written after m, when all of it is still
// buffered (false once part of it was flushed).
func (w *Writer) Since(m Mark) ([]byte, bool) {
	if w.flushes != m.flushes || len(w.buf) < m.n {
		return nil, false
	}
	return w.buf[m.n:], true
}

// Flush sends the buffered replies.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	if w.beforeFlush != nil {
		if err := w.beforeFlush(); err != nil {
			w.err = err
			w.buf = w.buf[:0]
			return err
		}
	}
	w.notePeak()
	n, err := w.w.Write(w.buf)
	w.err = err
	w.count(int64(n))
	w.flushes++
	// A buffer grown by a big reply is not kept beyond twice the reply
	// buffer's size (Redis frees such replies once written).
	if size := int(w.rbSize.Load()); cap(w.buf) > 2*size && cap(w.buf) > replyChunkBytes {
		w.buf = make([]byte, 0, size)
	} else {
		w.buf = w.buf[:0]
	}
	return w.err
}

// SetBeforeFlush installs fn to run whenever buffered replies are about to
// be sent. The cluster layer uses it to write nodes.conf once per batch of
// pipelined commands, before their replies go out (Redis saves in
// beforeSleep for the same reason). When fn fails, the buffered replies are
// dropped and the error sticks, so the connection closes without claiming
// success.
func (w *Writer) SetBeforeFlush(fn func() error) { w.beforeFlush = fn }

// SetAutoFlush makes writes flush by themselves once 64 KB are buffered, so
// a huge reply streams. It is off by default: the server builds replies
// while holding the store lock and must not block on a slow client then.
func (w *Writer) SetAutoFlush(on bool) { w.autoFlush = on }

// WriteChunks flushes what is buffered, then writes chunks straight to the
// underlying writer (one writev on a socket) without copying them.
func (w *Writer) WriteChunks(chunks [][]byte) error {
	if err := w.Flush(); err != nil || len(chunks) == 0 {
		return err
	}
	w.chunks = append(w.chunks[:0], chunks...)
	n, err := w.chunks.WriteTo(w.w)
	w.err = err
	w.count(n)
	w.chunks = w.chunks[:0]
	if w.err == nil {
		w.flushes++
	}
	return w.err
}

func (w *Writer) maybeFlush() {
	if w.autoFlush && len(w.buf) >= autoFlushSize {
		w.Flush()
	}
}

// Bytes returns the buffered, not yet flushed output (useful in tests and to
// capture a reply). It is only valid until the next write.
func (w *Writer) Bytes() []byte { return w.buf }

// Reset drops any buffered output and the sticky error, and targets out.
func (w *Writer) Reset(out io.Writer) {
	w.w = out
	w.buf = w.buf[:0]
	w.err = nil
}

// WriteRaw appends already-encoded RESP bytes.
func (w *Writer) WriteRaw(b []byte) {
	w.buf = append(w.buf, b...)
	w.maybeFlush()
}

// WriteSimple writes a status reply: +s.
func (w *Writer) WriteSimple(s string) {
	w.buf = append(w.buf, '+')
	w.buf = appendLine(w.buf, s)
	w.buf = append(w.buf, '\r', '\n')
	w.maybeFlush()
}

// WriteError writes an error reply; s is the full message including its code,
// e.g. "MOVED 3999 127.0.0.1:7002" or "ERR syntax error". A message without an
// upper-case code word gets "ERR " in front, as Redis does.
func (w *Writer) WriteError(s string) {
	w.buf = append(w.buf, '-')
	if s == "" || !hasErrorCode(s) {
		w.buf = append(w.buf, "ERR "...)
	}
	w.buf = appendLine(w.buf, s)
	w.buf = append(w.buf, '\r', '\n')
	w.maybeFlush()
}

// hasErrorCode reports whether s starts with an upper-case word such as ERR,
// WRONGTYPE, MOVED or NOAUTH.
func hasErrorCode(s string) bool {
	i := 0
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] == '_' || s[i] >= '0' && s[i] <= '9' && i > 0) {
		i++
	}
	return i > 0 && (i == len(s) || s[i] == ' ')
}

// appendLine appends s with CR and LF replaced by spaces, so a status or
// error can never break the framing.
func appendLine(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "\r\n") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// WriteInt writes an integer reply.
func (w *Writer) WriteInt(n int64) {
	w.buf = append(w.buf, ':')
	w.buf = strconv.AppendInt(w.buf, n, 10)
	w.buf = append(w.buf, '\r', '\n')
	w.maybeFlush()
}

// WriteBulk writes a bulk string; a nil slice is still an empty string (use
// WriteNull for a null reply).
func (w *Writer) WriteBulk(b []byte) {
	w.buf = append(w.buf, '$')
	w.buf = strconv.AppendInt(w.buf, int64(len(b)), 10)
	w.buf = append(w.buf, '\r', '\n')
	w.buf = append(w.buf, b...)
	w.buf = append(w.buf, '\r', '\n')
	w.maybeFlush()
}

// WriteBulkString writes a bulk string.
func (w *Writer) WriteBulkString(s string) {
	w.buf = append(w.buf, '$')
	w.buf = strconv.AppendInt(w.buf, int64(len(s)), 10)
	w.buf = append(w.buf, '\r', '\n')
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
	w.maybeFlush()
}

// WriteNull writes a null: "$-1" in RESP2, "_" in RESP3.
func (w *Writer) WriteNull() {
	if w.proto == 3 {
		w.buf = append(w.buf, "_\r\n"...)
	} else {
		w.buf = append(w.buf, "$-1\r\n"...)
	}
}

// WriteNullArray writes a null array: "*-1" in RESP2, "_" in RESP3 (BLPOP
// timeouts, EXEC aborts).
func (w *Writer) WriteNullArray() {
	if w.proto == 3 {
		w.buf = append(w.buf, "_\r\n"...)
	} else {
		w.buf = append(w.buf, "*-1\r\n"...)
	}
}

func (w *Writer) writeLen(prefix byte, n int) {
	w.buf = append(w.buf, prefix)
	w.buf = strconv.AppendInt(w.buf, int64(n), 10)
	w.buf = append(w.buf, '\r', '\n')
}

// WriteArrayLen starts an array of n elements.
func (w *Writer) WriteArrayLen(n int) { w.writeLen('*', n) }

// WriteMapLen starts a map of n key/value pairs (RESP2: an array of 2n).
func (w *Writer) WriteMapLen(n int) {
	if w.proto == 3 {
		w.writeLen('%', n)
	} else {
		w.writeLen('*', 2*n)
	}
}

// WriteSetLen starts a set of n elements (RESP2: an array).
func (w *Writer) WriteSetLen(n int) {
	if w.proto == 3 {
		w.writeLen('~', n)
	} else {
		w.writeLen('*', n)
	}
}

// WriteVerbatim writes a verbatim text reply (RESP2: a bulk string).
func (w *Writer) WriteVerbatim(s string) {
	if w.proto != 3 {
		w.WriteBulkString(s)
		return
	}
	w.writeLen('=', len(s)+4)
	w.buf = append(w.buf, "txt:"...)
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
	w.maybeFlush()
}

// WriteDouble writes a double (RESP2: a bulk string), formatted the shortest
// way that parses back to the same value, with inf/-inf/nan as Redis spells them.
func (w *Writer) WriteDouble(f float64) {
	var tmp [32]byte
	s := AppendFloat(tmp[:0], f)
	if w.proto == 3 {
		w.buf = append(w.buf, ',')
		w.buf = append(w.buf, s...)
		w.buf = append(w.buf, '\r', '\n')
		return
	}
	w.WriteBulk(s)
}

// WriteBool writes a boolean (RESP2: integer 1 or 0).
func (w *Writer) WriteBool(b bool) {
	if w.proto == 3 {
		if b {
			w.buf = append(w.buf, "#t\r\n"...)
		} else {
			w.buf = append(w.buf, "#f\r\n"...)
		}
		return
	}
	if b {
		w.buf = append(w.buf, ":1\r\n"...)
	} else {
		w.buf = append(w.buf, ":0\r\n"...)
	}
}

// AppendFloat formats f the way Redis 7.0 replies with scores: %.17g
// (1.1 is "1.1000000000000001"), integers without a fraction.
func AppendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case math.IsNaN(f):
		return append(b, "nan"...)
	}
	if f == 0 && math.Signbit(f) {
		return append(b, "-0"...) // %.17g keeps the sign of zero
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e17 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', 17, 64)
}

// AppendFloatPlain formats f the way INCRBYFLOAT stores it: plain decimal
// notation, no exponent, the shortest digits that read back the same.
func AppendFloatPlain(b []byte, f float64) []byte {
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}
