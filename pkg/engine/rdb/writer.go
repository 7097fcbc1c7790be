package rdb

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
)

// Writer writes an RDB file (version 10) that Redis 7.0 and later load: a
// header, aux fields, then keys per database, then EOF and the CRC64. It
// lets a backup be assembled from DUMP payloads of any node.
type Writer struct {
	w   *bufio.Writer
	crc uint64
	err error
	buf []byte
	db  int
}

// NewWriter writes the file header to w. Call Close to finish the file.
func NewWriter(w io.Writer) *Writer {
	wr := &Writer{w: bufio.NewWriterSize(w, 64<<10), db: -1}
	wr.write([]byte("REDIS00" + strconv.Itoa(Version)))
	return wr
}

func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	w.crc = CRC64(w.crc, p)
	_, w.err = w.w.Write(p)
}

// Aux records a metadata field, like redis-ver or ctime. Redis ignores
// fields it does not know.
func (w *Writer) Aux(key, value string) error {
	b := appendRawString(append(w.buf[:0], opAux), []byte(key))
	w.buf = appendRawString(b, []byte(value))
	w.write(w.buf)
	return w.err
}

func (w *Writer) selectDB(db int) {
	if db != w.db {
		w.buf = appendLen(append(w.buf[:0], opSelectDB), uint64(db))
		w.write(w.buf)
		w.db = db
	}
}

// keyHeader writes the database switch, the expiry and the key's type byte
// and name.
func (w *Writer) keyHeader(db int, key []byte, expireAtMs int64, typ byte) {
	if db < 0 && w.err == nil {
		w.err = fmt.Errorf("rdb: negative database number %d", db)
	}
	w.selectDB(db)
	b := w.buf[:0]
	if expireAtMs > 0 {
		b = binary.LittleEndian.AppendUint64(append(b, opExpireTimeMS), uint64(expireAtMs))
	}
	w.buf = appendRawString(append(b, typ), key)
	w.write(w.buf)
}

// WriteValue writes one key of database db. expireAtMs is a Unix time in
// milliseconds, or 0 for no expiry.
func (w *Writer) WriteValue(db int, key []byte, v Value, expireAtMs int64) error {
	obj := appendObject(nil, nil, v, true)
	w.keyHeader(db, key, expireAtMs, obj[0])
	w.write(obj[1:])
	return w.err
}

// WriteDump writes one key from a DUMP payload without decoding it. The
// payload's checksum is verified, and its RDB version must not be newer than
// the file's, or Redis could not load the file.
func (w *Writer) WriteDump(db int, key, payload []byte, expireAtMs int64) error {
	if len(payload) < 11 {
		return corrupt("DUMP payload too short (%d bytes)", len(payload))
	}
	if v := binary.LittleEndian.Uint16(payload[len(payload)-10:]); v > Version {
		return fmt.Errorf("%w: RDB version %d cannot go in a version %d file", ErrBadFooter, v, Version)
	}
	if CRC64(0, payload[:len(payload)-8]) != binary.LittleEndian.Uint64(payload[len(payload)-8:]) {
		return fmt.Errorf("%w: %w: CRC64 mismatch", ErrCorrupt, ErrBadFooter)
	}
	w.keyHeader(db, key, expireAtMs, payload[0])
	w.write(payload[1 : len(payload)-10])
	return w.err
}

// Close writes EOF and the checksum and flushes. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	w.write([]byte{opEOF})
	if w.err != nil {
		return w.err
	}
	if _, err := w.w.Write(binary.LittleEndian.AppendUint64(nil, w.crc)); err != nil {
		return err
	}
	return w.w.Flush()
}
