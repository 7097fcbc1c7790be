package rdb

import (
	"encoding/binary"
	"fmt"
)

// EncodeFunctions serializes function libraries (their code, as FUNCTION
// LOAD got it) as a FUNCTION DUMP payload, the way Redis 7.0 does: one
// RDB_OPCODE_FUNCTION2 entry with the (LZF-compressed when worth it) code
// per library, then the RDB version and a CRC64 of everything before it.
func EncodeFunctions(codes [][]byte) []byte {
	var buf []byte
	for _, code := range codes {
		buf = append(buf, opFunction2)
		buf = appendMaybeCompressed(buf, code, appendRawString)
	}
	buf = binary.LittleEndian.AppendUint16(buf, Version)
	return binary.LittleEndian.AppendUint64(buf, CRC64(0, buf))
}

// DecodeFunctions verifies a FUNCTION DUMP payload (version and CRC64, as
// for DUMP) and returns the library codes in it. Payloads of redis-server
// 7.0 and later (FUNCTION2 entries) are understood.
func DecodeFunctions(payload []byte) ([][]byte, error) {
	if len(payload) < 10 {
		return nil, fmt.Errorf("%w: %w: payload too short", ErrCorrupt, ErrBadFooter)
	}
	version := binary.LittleEndian.Uint16(payload[len(payload)-10:])
	if version > MaxVersion {
		return nil, fmt.Errorf("%w: %w: RDB version %d is newer than %d", ErrCorrupt, ErrBadFooter, version, MaxVersion)
	}
	if got := CRC64(0, payload[:len(payload)-8]); got != binary.LittleEndian.Uint64(payload[len(payload)-8:]) {
		return nil, fmt.Errorf("%w: %w: CRC64 mismatch", ErrCorrupt, ErrBadFooter)
	}
	s := &bytesSource{b: payload[:len(payload)-10]}
	var codes [][]byte
	for s.pos < len(s.b) {
		t, err := s.readByte()
		if err != nil {
			return nil, err
		}
		if t != opFunction2 {
			return nil, fmt.Errorf("%w: given type is not a function", ErrCorrupt)
		}
		code, err := readString(s)
		if err != nil {
			return nil, err
		}
		codes = append(codes, append([]byte(nil), code...))
	}
	return codes, nil
}

// Function writes one function library (its code) to the file, as Redis
// 7.0 saves FUNCTION LOAD libraries ahead of the keys.
func (w *Writer) Function(code []byte) error {
	w.buf = appendMaybeCompressed(append(w.buf[:0], opFunction2), code, appendRawString)
	w.write(w.buf)
	return w.err
}
