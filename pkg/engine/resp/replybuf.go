package resp

import "time"

// The reply buffer, as Redis 7.0 keeps it and CLIENT LIST shows it (rbs,
// rbp): every client starts with 16 KB; the clients cron shrinks it to
// just above the peak use once the peak stays under half of it, and
// doubles it (up to 16 KB) while replies fill it. The peak is reset every
// few seconds, so an idle client's buffer shrinks to 1 KB. Here the size
// also bounds what a writer keeps allocated between flushes.

const (
	replyChunkBytes = 16 * 1024 // Redis's PROTO_REPLY_CHUNK_BYTES
	replyMinBytes   = 1024      // Redis's PROTO_REPLY_MIN_BYTES
)

// ReplyBuffer reports the reply buffer's size and its peak use since the
// last reset (CLIENT LIST's rbs and rbp).
func (w *Writer) ReplyBuffer() (size, peak int) {
	return int(w.rbSize.Load()), int(w.rbPeak.Load())
}

// notePeak records how much of the buffer the replies about to be sent
// use (a reply beyond the buffer's size is counted as filling it).
func (w *Writer) notePeak() {
	used := min(int64(len(w.buf)), w.rbSize.Load())
	if used > w.rbPeak.Load() {
		w.rbPeak.Store(used)
	}
}

// ResizeResult says what TidyReplyBuffer did.
type ResizeResult int

const (
	Kept ResizeResult = iota
	Shrunk
	Expanded
)

// TidyReplyBuffer is the clients cron's reply buffer upkeep
// (clientsCronResizeOutputBuffer): resize when resizing, then reset the
// peak if resetEvery (negative: never) has passed since the last reset.
// Only the cron calls it.
func (w *Writer) TidyReplyBuffer(now time.Time, resizing bool, resetEvery time.Duration) ResizeResult {
	size, peak := w.rbSize.Load(), w.rbPeak.Load()
	result := Kept
	switch {
	case !resizing:
	case size/2 >= replyMinBytes && peak < size/2:
		w.rbSize.Store(max(replyMinBytes, peak+1))
		result = Shrunk
	case size*2 < replyChunkBytes*2 && peak == size:
		w.rbSize.Store(min(replyChunkBytes, size*2))
		result = Expanded
	}
	if w.peakResetAt.IsZero() {
		w.peakResetAt = now
	}
	if resetEvery >= 0 && now.Sub(w.peakResetAt) >= resetEvery {
		w.rbPeak.Store(0) // replies leave at once: nothing is pending between commands
		w.peakResetAt = now
	}
	return result
}
