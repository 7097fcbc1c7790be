package resp

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string) ([][]string, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	var out [][]string
	for {
		args, err := r.ReadCommand()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		var cmd []string
		for _, a := range args {
			cmd = append(cmd, string(a))
		}
		out = append(out, cmd)
	}
}

func TestReadCommands(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // commands joined by | and args by ,
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "GET,k"},
		{"pipeline", "*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$0\r\n\r\n", "PING|SET,a,"},
		{"binary bulk", "*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", "ECHO,a\r\nb"},
		{"inline", "set  k   v\r\nPING\n", "set,k,v|PING"},
		{"inline quotes", `set "a b" 'c d' "\x41\n"` + "\r\n", "set,a b,c d,A\n"},
		{"empty lines and *0 skipped", "\r\n*0\r\n*-1\r\nPING\r\n", "PING"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(t, c.in)
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, cmd := range got {
				parts = append(parts, strings.Join(cmd, ","))
			}
			if s := strings.Join(parts, "|"); s != c.want {
				t.Fatalf("got %q want %q", s, c.want)
			}
		})
	}
}

func TestProtocolErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"huge bulk", "*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"},
		{"negative bulk", "*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"},
		{"garbage bulk len", "*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"},
		{"huge multibulk", "*2147483648\r\n", "ERR Protocol error: invalid multibulk length"},
		{"garbage multibulk", "*x\r\n", "ERR Protocol error: invalid multibulk length"},
		{"missing dollar", "*1\r\n:5\r\n", "ERR Protocol error: expected '$', got ':'"},
		{"unbalanced quotes", "set \"abc\r\n", "ERR Protocol error: unbalanced quotes in request"},
		{"quote then text", "set \"a\"b\r\n", "ERR Protocol error: unbalanced quotes in request"},
		{"bad bulk terminator", "*1\r\n$1\r\nabc\r\n", "ERR Protocol error: invalid bulk format"},
		{"inline too long", strings.Repeat("a", MaxInlineLen+10), "ERR Protocol error: too big inline request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(t, c.in)
			if err == nil || err.Error() != c.want || !IsProtocolError(err) {
				t.Fatalf("got %v want %q", err, c.want)
			}
		})
	}
}

// A client that claims a 500MB bulk and sends 10 bytes must not make the
// reader allocate 500MB.
func TestClaimedLengthNotAllocated(t *testing.T) {
	r := NewReader(strings.NewReader("*1\r\n$524288000\r\n0123456789"))
	_, err := r.ReadCommand()
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v, want unexpected EOF", err)
	}
	if cap(r.arena) > 1<<20 {
		t.Fatalf("arena grew to %d bytes for 10 bytes of data", cap(r.arena))
	}
}

func TestLargeBulkRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("xyz"), 300000)
	in := AppendCommand(nil, []byte("SET"), []byte("k"), big)
	r := NewReader(bytes.NewReader(in))
	args, err := r.ReadCommand()
	if err != nil || len(args) != 3 || !bytes.Equal(args[2], big) {
		t.Fatalf("large bulk mangled: err=%v", err)
	}
}

func TestWriterRESP2AndRESP3(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	write := func() {
		w.WriteMapLen(1)
		w.WriteBulkString("k")
		w.WriteDouble(1.5)
		w.WriteNull()
		w.WriteSetLen(1)
		w.WriteInt(-7)
		w.WriteBool(true)
		w.WriteVerbatim("hi")
		w.WriteError("MOVED 1 127.0.0.1:7000")
		w.WriteError("no code here")
		w.WriteSimple("OK\r\nINJECT")
	}
	write()
	w.SetProto(3)
	write()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "*2\r\n$1\r\nk\r\n$3\r\n1.5\r\n$-1\r\n*1\r\n:-7\r\n:1\r\n$2\r\nhi\r\n-MOVED 1 127.0.0.1:7000\r\n-ERR no code here\r\n+OK  INJECT\r\n" +
		"%1\r\n$1\r\nk\r\n,1.5\r\n_\r\n~1\r\n:-7\r\n#t\r\n=6\r\ntxt:hi\r\n-MOVED 1 127.0.0.1:7000\r\n-ERR no code here\r\n+OK  INJECT\r\n"
	if out.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", out.String(), want)
	}
	// what the writer produced must parse back with the reply reader
	br := bufio.NewReader(bytes.NewReader(out.Bytes()))
	for i := 0; i < 16; i++ {
		if _, err := ReadReply(br); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	if _, err := ReadReply(br); err != io.EOF {
		t.Fatalf("trailing data after 16 replies: %v", err)
	}
}

func TestParseInt(t *testing.T) {
	good := map[string]int64{"0": 0, "-1": -1, "9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63}
	for s, want := range good {
		if n, ok := ParseInt([]byte(s)); !ok || n != want {
			t.Errorf("ParseInt(%q) = %d,%v", s, n, ok)
		}
	}
	for _, s := range []string{"", "-", "01", "-0", "+1", " 1", "1a", "9223372036854775808", "99999999999999999999"} {
		if _, ok := ParseInt([]byte(s)); ok {
			t.Errorf("ParseInt(%q) accepted", s)
		}
	}
}

// Redis 7.0 accepts up to INT_MAX elements; more than a million must not be
// refused (the data just has to arrive).
func TestMillionPlusElementsAccepted(t *testing.T) {
	r := NewReader(strings.NewReader("*1048577\r\n$4\r\nSADD\r\n"))
	if _, err := r.ReadCommand(); err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v, want unexpected EOF (not a protocol error)", err)
	}
}

func TestBeforeFlushRunsOncePerBatchAndAnErrorDropsReplies(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	calls := 0
	var fail error
	w.SetBeforeFlush(func() error { calls++; return fail })
	if err := w.Flush(); err != nil || calls != 0 {
		t.Fatalf("empty flush: err %v, hook ran %d times; want nil and 0", err, calls)
	}
	w.WriteSimple("OK")
	w.WriteSimple("OK")
	if calls != 0 {
		t.Fatalf("hook ran %d times before any flush", calls)
	}
	if err := w.Flush(); err != nil || calls != 1 || out.String() != "+OK\r\n+OK\r\n" {
		t.Fatalf("flush: err %v, hook ran %d times, sent %q", err, calls, out.String())
	}
	fail = io.ErrClosedPipe
	w.WriteSimple("OK")
	if err := w.Flush(); err != fail {
		t.Fatalf("flush with failing hook: %v, want %v", err, fail)
	}
	if out.String() != "+OK\r\n+OK\r\n" || w.Buffered() != 0 {
		t.Fatalf("failing hook: sent %q and kept %d bytes; the reply must be dropped", out.String(), w.Buffered())
	}
	fail = nil
	w.WriteSimple("OK")
	if err := w.Flush(); err != io.ErrClosedPipe {
		t.Fatalf("after a hook failure Flush returned %v; the error must stick", err)
	}
}

// TestLongErrorLineReply: Redis quotes what it refuses, so an error line
// can be longer than the reader's buffer (XPENDING of a 1 MB group name);
// it is read whole, and the stream stays in step.
func TestLongErrorLineReply(t *testing.T) {
	long := "NOGROUP No such key 'k' or consumer group '" + strings.Repeat("g", 1<<20) + "'"
	br := bufio.NewReaderSize(strings.NewReader("-"+long+"\r\n+PONG\r\n"), 4096)
	r, err := ReadReply(br)
	if err != nil || r.Type != '-' || string(r.Str) != long {
		t.Fatalf("long error line: type %q, %d bytes, %v", r.Type, len(r.Str), err)
	}
	if r, err = ReadReply(br); err != nil || string(r.Str) != "PONG" {
		t.Fatalf("reply after the long line: %q, %v", r.Str, err)
	}
	tooLong := bufio.NewReaderSize(strings.NewReader("+"+strings.Repeat("x", maxReplyLine+8192)+"\r\n"), 4096)
	if _, err := ReadReply(tooLong); err == nil || !strings.Contains(err.Error(), "reply line too long") {
		t.Fatalf("a line over %d bytes: %v", maxReplyLine, err)
	}
}
