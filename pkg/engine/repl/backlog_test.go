package repl

import (
	"bytes"
	"testing"
)

func TestBacklogRing(t *testing.T) {
	b := NewBacklog(10, 100)
	if b.FirstByte() != 101 || b.HistLen() != 0 {
		t.Fatalf("empty: first %d hist %d", b.FirstByte(), b.HistLen())
	}
	if got, ok := b.From(101); !ok || len(got) != 0 {
		t.Fatalf("From(end+1) = %q %v", got, ok)
	}
	var all []byte
	for i := 0; i < 7; i++ {
		p := bytes.Repeat([]byte{byte('a' + i)}, i+1)
		b.Feed(p)
		all = append(all, p...)
		if b.Offset() != 100+int64(len(all)) {
			t.Fatalf("offset %d", b.Offset())
		}
		held := all[max(0, len(all)-10):]
		if b.HistLen() != len(held) || b.FirstByte() != b.Offset()-int64(len(held))+1 {
			t.Fatalf("hist %d first %d", b.HistLen(), b.FirstByte())
		}
		for k := 0; k <= len(held); k++ {
			got, ok := b.From(b.FirstByte() + int64(k))
			if !ok || !bytes.Equal(got, held[k:]) {
				t.Fatalf("From(+%d) = %q %v, want %q", k, got, ok, held[k:])
			}
		}
		if _, ok := b.From(b.FirstByte() - 1); ok && b.HistLen() == 10 {
			t.Fatal("byte before the backlog served")
		}
		if _, ok := b.From(b.Offset() + 2); ok {
			t.Fatal("future offset served")
		}
	}
	b.Feed(bytes.Repeat([]byte("z"), 25))
	if got, _ := b.From(b.FirstByte()); string(got) != "zzzzzzzzzz" {
		t.Fatalf("after a big feed: %q", got)
	}
	b.Feed([]byte("0123"))
	b.Resize(6)
	if got, _ := b.From(b.FirstByte()); string(got) != "zz0123" || b.Offset() != 100+28+25+4 {
		t.Fatalf("after resize: %q offset %d", got, b.Offset())
	}
	if len(NewID()) != 40 {
		t.Fatal("replid length")
	}
}
