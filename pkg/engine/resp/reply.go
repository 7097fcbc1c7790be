package resp

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Reply is one parsed server reply, for the client side (MIGRATE, tests).
// Type is the RESP type byte: '+', '-', ':', '$', '*', '_', ',', '#', '%', '~', '='.
// Null bulk strings and arrays have Null set.
type Reply struct {
	Type  byte
	Str   []byte  // simple, error, bulk, verbatim, double text
	Int   int64   // integer, boolean (1/0)
	Elems []Reply // array, set, map (flattened key, value, ...)
	Null  bool
}

// Err returns the error text of an error reply as an error, or nil.
func (r Reply) Err() error {
	if r.Type == '-' {
		return fmt.Errorf("%s", r.Str)
	}
	return nil
}

// ReadReply parses one reply from br, with the same size limits as commands.
func ReadReply(br *bufio.Reader) (Reply, error) {
	return readReply(br, 0)
}

// maxReplyLine bounds a simple or error reply line. Redis writes an error
// line as long as what it quotes (XPENDING of a 1 MB group name answers a
// 1 MB NOGROUP line), longer than any bufio buffer.
const maxReplyLine = 64 << 20

// readReplyLine reads one reply line, longer than br's buffer if need be.
func readReplyLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	long := append([]byte(nil), line...)
	for err == bufio.ErrBufferFull {
		if len(long) > maxReplyLine {
			return nil, protoErr("reply line too long")
		}
		line, err = br.ReadSlice('\n')
		long = append(long, line...)
	}
	return long, err
}

func readReply(br *bufio.Reader, depth int) (Reply, error) {
	if depth > 64 {
		return Reply{}, protoErr("reply nested too deeply")
	}
	line, err := readReplyLine(br)
	if err != nil {
		return Reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return Reply{}, protoErr("malformed reply line")
	}
	t, body := line[0], line[1:len(line)-2]
	r := Reply{Type: t}
	switch t {
	case '+', '-', ',':
		r.Str = append([]byte(nil), body...)
	case ':':
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			return r, protoErr("invalid integer reply")
		}
		r.Int = n
	case '#':
		r.Int = map[bool]int64{true: 1}[len(body) == 1 && body[0] == 't']
	case '_':
		r.Null = true
	case '$', '=':
		n, ok := parseInt(body)
		if !ok || n > MaxBulkLen {
			return r, protoErr("invalid bulk length")
		}
		if n < 0 {
			r.Null = true
			return r, nil
		}
		buf := make([]byte, 0, min(n+2, readChunk))
		for int64(len(buf)) < n+2 {
			step := min(n+2-int64(len(buf)), readChunk)
			start := len(buf)
			buf = append(buf, make([]byte, step)...)
			if _, err := io.ReadFull(br, buf[start:]); err != nil {
				return r, unexpectedEOF(err)
			}
		}
		r.Str = buf[:n]
	case '*', '~', '%', '>':
		n, ok := parseInt(body)
		if !ok || n > MaxMultibulkLen {
			return r, protoErr("invalid multibulk length")
		}
		if n < 0 {
			r.Null = true
			return r, nil
		}
		if t == '%' {
			n *= 2
		}
		r.Elems = make([]Reply, 0, min(n, 1024))
		for i := int64(0); i < n; i++ {
			e, err := readReply(br, depth+1)
			if err != nil {
				return r, err
			}
			r.Elems = append(r.Elems, e)
		}
	default:
		return r, protoErr("unknown reply type '" + string(rune(t)) + "'")
	}
	return r, nil
}

// AppendCommand appends args encoded as a RESP multibulk command to b.
func AppendCommand(b []byte, args ...[]byte) []byte {
	need := 16
	for _, a := range args {
		need += len(a) + 16
	}
	b = slices.Grow(b, need) // one growth, not one per big argument
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}
