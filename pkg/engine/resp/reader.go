package resp

import (
	"bufio"
	"errors"
	"io"
	"math"
	"strconv"
)

// Limits, the same as Redis's defaults.
const (
	MaxBulkLen      = 512 * 1024 * 1024  // proto-max-bulk-len
	MaxMultibulkLen = math.MaxInt32      // elements in one command (Redis 7.0 allows INT_MAX)
	MaxInlineLen    = 64 * 1024          // an inline command line, and any header line
	MaxQueryLen     = 1024 * 1024 * 1024 // all arguments of one command (client-query-buffer-limit)
	readChunk       = 64 * 1024          // large bulks grow in steps of this as data arrives
)

// ProtocolError is a malformed request. The server replies with Error() and
// closes the connection, as Redis does.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "ERR Protocol error: " + e.Msg }

func protoErr(msg string) error { return &ProtocolError{Msg: msg} }

// IsProtocolError reports whether err is a *ProtocolError.
func IsProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// Reader parses client commands: RESP multibulk arrays or inline lines.
type Reader struct {
	br    *bufio.Reader
	arena []byte // bytes of the current command's arguments
	offs  []int  // end offset of each argument in arena
	args  [][]byte
	// The query buffer's upkeep (querybuf.go); src is nil for a reader
	// made by NewReaderFrom.
	src        *source
	qb         queryBuf
	atBoundary bool // reading a command's first byte
	peak       int  // the largest arena since the last Tidy
}

// NewReader returns a command reader on r. If r has SetReadDeadline, Tidy
// can free an idle client's buffers.
func NewReader(r io.Reader) *Reader {
	rd := &Reader{}
	rd.src = &source{in: r, r: rd, pending: -1}
	rd.src.dl, _ = r.(readDeadliner)
	rd.br = bufio.NewReaderSize(rd.src, ioBufLen)
	rd.qb.free = ioBufLen
	return rd
}

// NewReaderFrom returns a command reader on an existing buffered reader
// (a replication stream that follows other replies on the same connection).
func NewReaderFrom(br *bufio.Reader) *Reader { return &Reader{br: br} }

// WaitReadable blocks until more input is available or the connection
// fails; the input stays buffered for the next ReadCommand. Interrupt it
// with a read deadline (its timeout error is consumed, not kept).
func (r *Reader) WaitReadable() error {
	_, err := r.br.Peek(1)
	return err
}

// Read reads raw bytes (what is buffered first), for a connection that
// stops carrying commands.
func (r *Reader) Read(p []byte) (int, error) { return r.br.Read(p) }

// Buffered is the number of bytes already read from the connection and not
// yet parsed; zero means the pipeline batch is over and replies should flush.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// ReadCommand returns the next command's arguments. The slices are valid
// until the next call. Empty commands (blank inline lines, "*0") are skipped.
// Errors are I/O errors (io.EOF at a clean end) or *ProtocolError.
func (r *Reader) ReadCommand() ([][]byte, error) {
	for {
		// The previous command's arguments are done with: do not pin the
		// memory of a huge one (Tidy trims the arena of a NewReader's).
		if r.src == nil && cap(r.arena) > 256<<10 {
			r.arena = nil
		}
		if cap(r.offs) > 4096 {
			r.offs, r.args = nil, nil
		}
		r.arena = r.arena[:0]
		r.offs = r.offs[:0]
		r.atBoundary = true
		c, err := r.br.ReadByte()
		r.atBoundary = false
		if err == errIdle {
			c, err = r.wake()
		}
		if err != nil {
			return nil, err
		}
		if c == '*' {
			err = r.readMultibulk()
		} else {
			r.br.UnreadByte()
			err = r.readInline()
		}
		if err != nil {
			return nil, err
		}
		if len(r.offs) == 0 {
			continue
		}
		r.peak = max(r.peak, len(r.arena))
		r.args = r.args[:0]
		start := 0
		for _, end := range r.offs {
			r.args = append(r.args, r.arena[start:end:end])
			start = end
		}
		return r.args, nil
	}
}

// readLine returns one CRLF (or LF) terminated line without its terminator.
// The slice is only valid until the next read.
func (r *Reader) readLine(tooLong string) ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// longer than the buffer: accumulate, within the limit
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			buf = append(buf, line...)
			if len(buf) > MaxInlineLen+2 {
				return nil, protoErr(tooLong)
			}
		}
		line = buf
	}
	if err != nil {
		return nil, err
	}
	if len(line) > MaxInlineLen+2 {
		return nil, protoErr(tooLong)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func (r *Reader) readMultibulk() error {
	line, err := r.readLine("too big mbulk count string")
	if err != nil {
		return err
	}
	n, ok := parseInt(line)
	if !ok || n > MaxMultibulkLen {
		return protoErr("invalid multibulk length")
	}
	for i := int64(0); i < n; i++ {
		c, err := r.br.ReadByte()
		if err != nil {
			return unexpectedEOF(err) // the command was cut short
		}
		if c != '$' {
			return protoErr("expected '$', got '" + string(rune(c)) + "'")
		}
		line, err := r.readLine("too big bulk count string")
		if err != nil {
			return unexpectedEOF(err)
		}
		size, ok := parseInt(line)
		if !ok || size < 0 || size > MaxBulkLen {
			return protoErr("invalid bulk length")
		}
		if int64(len(r.arena))+size > MaxQueryLen {
			return protoErr("query buffer limit reached")
		}
		if err := r.readBulkBody(int(size)); err != nil {
			return err
		}
	}
	return nil
}

// readBulkBody appends size bytes plus CRLF to the arena. Memory grows with
// the data actually received, never with the length a client merely claims.
func (r *Reader) readBulkBody(size int) error {
	for remaining := size; remaining > 0; {
		step := min(remaining, readChunk)
		if cap(r.arena)-len(r.arena) < step {
			grown := make([]byte, len(r.arena), max(2*cap(r.arena), len(r.arena)+step))
			copy(grown, r.arena)
			r.arena = grown
		}
		// Read by read, so that the arena's length counts what arrived
		// (the query buffer of a client that sent part of a value).
		n, err := r.br.Read(r.arena[len(r.arena) : len(r.arena)+step])
		r.arena = r.arena[:len(r.arena)+n]
		if err != nil {
			return unexpectedEOF(err)
		}
		remaining -= n
	}
	// Byte by byte: a [2]byte handed to io.ReadFull would be allocated on
	// the heap, three times per SET.
	cr, err := r.br.ReadByte()
	if err != nil {
		return unexpectedEOF(err)
	}
	lf, err := r.br.ReadByte()
	if err != nil {
		return unexpectedEOF(err)
	}
	if cr != '\r' || lf != '\n' {
		return protoErr("invalid bulk format")
	}
	r.offs = append(r.offs, len(r.arena))
	return nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *Reader) readInline() error {
	line, err := r.readLine("too big inline request")
	if err != nil {
		return err
	}
	return r.splitInline(line)
}

// SplitArgs splits line into words as an inline command is split (Redis's
// sdssplitargs, which also reads config files); an unbalanced quote is an
// error.
func SplitArgs(line []byte) ([][]byte, error) {
	var r Reader
	if err := r.splitInline(line); err != nil {
		return nil, err
	}
	out := make([][]byte, len(r.offs))
	start := 0
	for i, end := range r.offs {
		out[i] = r.arena[start:end:end]
		start = end
	}
	return out, nil
}

// splitInline splits an inline command like redis-cli's argument syntax:
// spaces separate, "double quotes" allow \n \r \t \b \a \\ \" and \xHH
// escapes, 'single quotes' allow only \'. A closing quote must be followed
// by a space or the end of the line.
func (r *Reader) splitInline(line []byte) error {
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return nil
		}
		inDouble, inSingle := false, false
		for done := false; !done; {
			switch {
			case inDouble:
				if i >= len(line) {
					return protoErr("unbalanced quotes in request")
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					r.arena = append(r.arena, hexVal(line[i+2])<<4|hexVal(line[i+3]))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					r.arena = append(r.arena, unescape(line[i]))
				case c == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return protoErr("unbalanced quotes in request")
					}
					done = true
				default:
					r.arena = append(r.arena, c)
				}
				i++
			case inSingle:
				if i >= len(line) {
					return protoErr("unbalanced quotes in request")
				}
				c := line[i]
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					r.arena = append(r.arena, '\'')
				case c == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return protoErr("unbalanced quotes in request")
					}
					done = true
				default:
					r.arena = append(r.arena, c)
				}
				i++
			default:
				if i >= len(line) {
					done = true
					break
				}
				switch c := line[i]; c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					r.arena = append(r.arena, c)
				}
				i++
			}
		}
		r.offs = append(r.offs, len(r.arena))
		if len(r.offs) > MaxMultibulkLen {
			return protoErr("invalid multibulk length")
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}

// parseInt parses a signed decimal integer with no leading '+' or spaces.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}

// ParseInt parses a decimal integer argument strictly, as Redis's string2ll.
func ParseInt(b []byte) (int64, bool) {
	if len(b) > 1 && b[0] == '0' || len(b) >= 2 && b[0] == '-' && b[1] == '0' {
		return 0, false
	}
	if len(b) == 20 && b[0] == '-' { // strconv handles the int64 minimum exactly
		n, err := strconv.ParseInt(string(b), 10, 64)
		return n, err == nil
	}
	return parseInt(b)
}
