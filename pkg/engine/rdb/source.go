package rdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
)

// source is where the object decoder reads from: a DUMP payload in memory or
// an RDB file stream. Slices returned by read are owned by the caller.
type source interface {
	readByte() (byte, error)
	read(n uint64) ([]byte, error)
	// remaining is how many bytes are left, or -1 when unknown. Decoders use
	// it to refuse element counts that cannot fit before allocating for them.
	remaining() int64
}

var errTruncated = corrupt("unexpected end of data")

// bytesSource reads a payload already in memory. Its buffer must be private
// to the decoder: read hands out sub-slices of it (capacity capped), which
// saves an allocation per element.
type bytesSource struct {
	b   []byte
	pos int
}

func (s *bytesSource) readByte() (byte, error) {
	if s.pos >= len(s.b) {
		return 0, errTruncated
	}
	c := s.b[s.pos]
	s.pos++
	return c, nil
}

func (s *bytesSource) read(n uint64) ([]byte, error) {
	if n > uint64(len(s.b)-s.pos) {
		return nil, errTruncated
	}
	end := s.pos + int(n)
	out := s.b[s.pos:end:end]
	s.pos = end
	return out, nil
}

func (s *bytesSource) remaining() int64 { return int64(len(s.b) - s.pos) }

// streamSource reads an RDB file and keeps the running CRC64 of what it read.
type streamSource struct {
	r      *bufio.Reader
	crc    uint64
	offset int64
	size   int64 // total size when known, else -1
}

func (s *streamSource) readByte() (byte, error) {
	c, err := s.r.ReadByte()
	if err != nil {
		return 0, streamErr(err)
	}
	s.crc = jonesTable[byte(s.crc)^c] ^ s.crc>>8 // one CRC64 step, no allocation
	s.offset++
	return c, nil
}

// readChunk bounds each allocation while reading a long string, so a forged
// length fails at end of input instead of allocating it all up front.
const readChunk = 1 << 20

func (s *streamSource) read(n uint64) ([]byte, error) {
	if s.size >= 0 && n > uint64(s.size-s.offset) {
		return nil, errTruncated
	}
	var out []byte
	if n <= readChunk {
		out = make([]byte, n)
		if _, err := io.ReadFull(s.r, out); err != nil {
			return nil, streamErr(err)
		}
	} else {
		out = make([]byte, 0, readChunk)
		for left := n; left > 0; {
			step := min(left, readChunk)
			start := len(out)
			out = append(out, make([]byte, step)...)
			if _, err := io.ReadFull(s.r, out[start:]); err != nil {
				return nil, streamErr(err)
			}
			left -= step
		}
		out = out[:len(out):len(out)]
	}
	s.crc = CRC64(s.crc, out)
	s.offset += int64(n)
	return out, nil
}

func (s *streamSource) remaining() int64 {
	if s.size < 0 {
		return -1
	}
	return s.size - s.offset
}

func streamErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	return err
}

func readUint64LE(s source) (uint64, error) {
	b, err := s.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}
