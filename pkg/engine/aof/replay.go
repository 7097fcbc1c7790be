package aof

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// ErrTruncated reports a file that ends in the middle of a command (or of
// a MULTI without its EXEC): what a crash leaves behind.
var ErrTruncated = errors.New("unexpected end of file")

// FormatError is a file that is not a sequence of RESP commands.
type FormatError struct {
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("bad file format at byte %d: %s", e.Offset, e.Msg)
}

// maxArgs and maxBulk bound what one command may claim, so a corrupt
// length cannot make the loader allocate without limit.
const (
	maxArgs = 1 << 31
	maxBulk = 1 << 40
)

// Replay calls fn for each command of an append-only file, in order.
// Commands between MULTI and EXEC are passed on at EXEC, so a transaction
// cut short by a crash is never half applied. "#" annotation lines are
// skipped. It returns how many leading bytes hold complete commands: when
// the file ends early the error is ErrTruncated and valid is where a
// repair should cut it.
func Replay(data []byte, fn func(args [][]byte) error) (valid int64, err error) {
	p := parser{data: data}
	var multi [][][]byte
	inMulti, multiStart := false, 0
	for p.pos < len(data) {
		start := p.pos
		if data[p.pos] == '#' {
			if _, ok := p.line(); !ok {
				return int64(cut(inMulti, multiStart, start)), ErrTruncated
			}
			continue
		}
		args, err := p.command()
		if err == ErrTruncated {
			return int64(cut(inMulti, multiStart, start)), err
		}
		if err != nil {
			return int64(start), err
		}
		switch {
		case isWord(args[0], "multi"):
			// A MULTI inside MULTI changes nothing (Redis refuses to nest
			// them): the transaction, and a truncation, start at the first.
			if !inMulti {
				inMulti, multiStart, multi = true, start, multi[:0]
			}
		case isWord(args[0], "exec") && inMulti:
			for _, a := range multi {
				if err := fn(a); err != nil {
					return int64(start), err
				}
			}
			inMulti = false
		case inMulti:
			multi = append(multi, args)
		default:
			if err := fn(args); err != nil {
				return int64(start), err
			}
		}
	}
	if inMulti {
		return int64(multiStart), ErrTruncated
	}
	return int64(len(data)), nil
}

func cut(inMulti bool, multiStart, start int) int {
	if inMulti {
		return multiStart
	}
	return start
}

func isWord(b []byte, w string) bool { return len(b) == len(w) && bytes.EqualFold(b, []byte(w)) }

type parser struct {
	data []byte
	pos  int
}

// line returns the text up to CRLF and moves past it.
func (p *parser) line() ([]byte, bool) {
	i := bytes.IndexByte(p.data[p.pos:], '\n')
	if i < 0 {
		return nil, false
	}
	l := p.data[p.pos : p.pos+i]
	p.pos += i + 1
	return bytes.TrimSuffix(l, []byte("\r")), true
}

func (p *parser) count(prefix byte, limit int64) (int64, error) {
	at := p.pos
	if p.pos >= len(p.data) {
		return 0, ErrTruncated
	}
	if p.data[p.pos] != prefix {
		return 0, &FormatError{int64(at), fmt.Sprintf("expected '%c', got %q", prefix, p.data[p.pos])}
	}
	l, ok := p.line()
	if !ok {
		return 0, ErrTruncated
	}
	n, err := strconv.ParseInt(string(l[1:]), 10, 64)
	if err != nil || n < 1 && prefix == '*' || n < 0 || n > limit {
		return 0, &FormatError{int64(at), fmt.Sprintf("invalid length %q", l)}
	}
	return n, nil
}

func (p *parser) command() ([][]byte, error) {
	n, err := p.count('*', maxArgs)
	if err != nil {
		return nil, err
	}
	args := make([][]byte, 0, min(n, 1024))
	for range n {
		size, err := p.count('$', maxBulk)
		if err != nil {
			return nil, err
		}
		if int64(len(p.data)-p.pos) < size+2 {
			return nil, ErrTruncated
		}
		end := p.pos + int(size)
		if p.data[end] != '\r' || p.data[end+1] != '\n' {
			return nil, &FormatError{int64(end), "bulk string not followed by CRLF"}
		}
		args = append(args, bytes.Clone(p.data[p.pos:end]))
		p.pos = end + 2
	}
	return args, nil
}
