package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the command reader, as a hostile
// client would. It must never panic or hang; every error is a protocol
// error or the end of input; every command it returns survives a round
// trip through AppendCommand unchanged.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"*1\r\n$4\r\nPING\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
		"PING\r\nSET k \"a\\x41\\n\" 'b\\'c'\r\n",
		"*-1\r\n", "*0\r\n", "*2147483647\r\n$1\r\n", "*9223372036854775807\r\n",
		"*18446744073709551616\r\n", "*1\r\n$-1\r\n", "*1\r\n$536870912\r\n", "*1\r\n$536870913\r\n",
		"*1\r\n$9223372036854775807\r\nx", "*1\r\n$0\r\n\r\n", "*1\r\n$1\r\nab\r\n", "*1\r\n$1\r\n",
		"*1\r\nx", "$3\r\nfoo\r\n", "\"unbalanced\r\n", "'x'y\r\n", "\r\n\r\n", "\n", "*1\n$1\na\r\n",
		"*+1\r\n$1\r\na\r\n", "*1\r\n$+1\r\na\r\n", "*01\r\n$01\r\na\r\n", "*1\r\n$ 1\r\na\r\n",
		"\"\\x\" \"\\xZZ\" \"\\\r\n",
		"*1\r\n$" + strings.Repeat("9", 100) + "\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for n := 0; ; n++ {
			if n > len(data)+1 { // every command consumes at least one byte
				t.Fatalf("more commands than input bytes")
			}
			args, err := r.ReadCommand()
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !IsProtocolError(err) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return
			}
			if len(args) == 0 {
				t.Fatalf("empty command returned")
			}
			total := 0
			for _, a := range args {
				total += len(a)
			}
			if total > len(data) {
				t.Fatalf("arguments hold %d bytes, more than the %d of input", total, len(data))
			}
			again, err := NewReader(bytes.NewReader(AppendCommand(nil, args...))).ReadCommand()
			if err != nil || len(again) != len(args) {
				t.Fatalf("round trip of %q: %q, %v", args, again, err)
			}
			for i := range args {
				if !bytes.Equal(args[i], again[i]) {
					t.Fatalf("round trip of %q: %q", args, again)
				}
			}
		}
	})
}

// FuzzReadReply is the same for the reply parser that tools and
// replication use against servers that may misbehave.
func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{
		"+OK\r\n", "-ERR x\r\n", ":9223372036854775807\r\n", ":-9223372036854775809\r\n", "$-1\r\n",
		"$3\r\nfoo\r\n", "$9223372036854775807\r\n", "*-1\r\n", "*2\r\n:1\r\n$1\r\na\r\n", "*2147483647\r\n",
		"%1\r\n+a\r\n+b\r\n", "~1\r\n_\r\n", ",inf\r\n", ",nan\r\n", "#t\r\n", "(123\r\n", "=5\r\ntxt:a\r\n",
		strings.Repeat("*1\r\n", 2000) + ":1\r\n", ">2\r\n+a\r\n+b\r\n", "|1\r\n+a\r\n+b\r\n+c\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i <= len(data); i++ {
			if _, err := ReadReply(br); err != nil {
				return
			}
		}
	})
}
