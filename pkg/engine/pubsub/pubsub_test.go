package pubsub

import (
	"strings"
	"testing"
)

func TestPublishCountsEveryDelivery(t *testing.T) {
	h := NewHub()
	a, b := NewSub(2), NewSub(3)
	h.Add(a, Channel, "news")
	h.Add(a, Pattern, "n*")
	h.Add(b, Pattern, "n*")
	h.Add(b, Pattern, "*s")
	if n := h.Publish([]byte("news"), []byte("hi")); n != 4 {
		t.Fatalf("Publish reached %d, want 4 (a by channel and pattern, b by two patterns)", n)
	}
	got, _ := a.Take()
	if want := "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"; string(got) != want {
		t.Fatalf("RESP2 pushes %q, want %q", got, want)
	}
	got, _ = b.Take()
	if !strings.HasPrefix(string(got), ">4\r\n$8\r\npmessage\r\n") || strings.Count(string(got), "pmessage") != 2 {
		t.Fatalf("RESP3 pushes %q", got)
	}
	if h.Add(a, Channel, "news") {
		t.Fatal("a second SUBSCRIBE to the same channel counted as new")
	}
	if ch, pat, sh := h.Count(a); ch != 1 || pat != 1 || sh != 0 {
		t.Fatalf("Count = %d %d %d", ch, pat, sh)
	}
	h.RemoveAll(a)
	if n := h.Publish([]byte("news"), []byte("x")); n != 2 || h.NumSub(Channel, "news") != 0 {
		t.Fatalf("after RemoveAll: %d deliveries, %d subscribers", n, h.NumSub(Channel, "news"))
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	h := NewHub()
	s := NewSub(2)
	s.limit = 100
	h.Add(s, Channel, "c")
	if n := h.Publish([]byte("c"), []byte(strings.Repeat("x", 50))); n != 1 {
		t.Fatalf("first message delivered to %d", n)
	}
	if n := h.Publish([]byte("c"), []byte(strings.Repeat("x", 50))); n != 0 {
		t.Fatalf("a message past the queue limit counted as delivered (%d)", n)
	}
	if out, dead := s.Take(); !dead || out != nil {
		t.Fatalf("over its limit the subscriber should be dead with nothing to write: dead=%v, %d bytes", dead, len(out))
	}
}

func TestDropShardChannels(t *testing.T) {
	h := NewHub()
	a := NewSub(2)
	h.Add(a, Shard, "x")
	h.Add(a, Shard, "y")
	h.Add(a, Channel, "plain")
	h.DropShardChannels(func(ch string) bool { return ch == "x" })
	out, _ := a.Take()
	if want := "*3\r\n$12\r\nsunsubscribe\r\n$1\r\nx\r\n:1\r\n"; string(out) != want {
		t.Fatalf("push %q, want %q", out, want)
	}
	if got := h.Active(Shard, nil); len(got) != 1 || got[0] != "y" {
		t.Fatalf("shard channels left: %v", got)
	}
	if n := h.SPublish([]byte("x"), []byte("m")); n != 0 {
		t.Fatalf("SPUBLISH to a dropped channel reached %d", n)
	}
}

func TestReplyNullName(t *testing.T) {
	if got := string(Reply(2, "unsubscribe", nil, 0)); got != "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n" {
		t.Fatalf("RESP2 %q", got)
	}
	if got := string(Reply(3, "unsubscribe", nil, 0)); got != ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n" {
		t.Fatalf("RESP3 %q", got)
	}
}

// A lagging subscriber's queue spans many chunks (and a push bigger than a
// chunk gets its own); what is taken is every push, in order, once; the
// writer is woken by the first push after each take, not by every push.
func TestQueueKeepsOrderAcrossChunks(t *testing.T) {
	s := NewSub(2)
	var want strings.Builder
	for i := range 5000 {
		msg := []byte(strings.Repeat("x", i%97))
		if i == 2500 {
			msg = []byte(strings.Repeat("big", queueChunk))
		}
		want.Write(msg)
		if !s.Push(msg) {
			t.Fatalf("push %d refused", i)
		}
	}
	wakes := 0
	for {
		select {
		case <-s.Wake():
			wakes++
			continue
		default:
		}
		break
	}
	if wakes != 1 {
		t.Fatalf("%d wakes for one batch, want 1", wakes)
	}
	chunks, dead := s.TakeChunks()
	if dead || len(chunks) < 10 {
		t.Fatalf("dead %v, %d chunks", dead, len(chunks))
	}
	var got strings.Builder
	for _, c := range chunks {
		got.Write(c)
	}
	if got.String() != want.String() {
		t.Fatalf("taken %d bytes differ from the %d pushed", got.Len(), want.Len())
	}
	s.Recycle(chunks)
	s.Push([]byte("after"))
	select {
	case <-s.Wake():
	default:
		t.Fatal("the first push after a take did not wake the writer")
	}
	if out, _ := s.Take(); string(out) != "after" {
		t.Fatalf("Take after recycling = %q", out)
	}
}
