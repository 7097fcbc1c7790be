package enginetest

import (
	"context"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestBlockingListCommands(t *testing.T) {
	n := startEngine(t)
	ctx := context.Background()
	pusher := client(t, n.Addr())
	waiter := client(t, n.Addr(), func(o *redis.Options) { o.ReadTimeout = 10 * time.Second })

	got := make(chan []string, 1)
	go func() { got <- waiter.BLPop(ctx, 5*time.Second, "q1", "q2").Val() }()
	time.Sleep(100 * time.Millisecond)
	pusher.RPush(ctx, "q2", "job")
	select {
	case v := <-got:
		if !reflect.DeepEqual(v, []string{"q2", "job"}) {
			t.Fatalf("BLPOP got %v", v)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("BLPOP not woken by RPUSH")
	}
	start := time.Now()
	if err := waiter.Do(ctx, "BRPOP", "empty", "0.15").Err(); err != redis.Nil {
		t.Fatalf("BRPOP timeout: %v", err)
	}
	if took := time.Since(start); took < 140*time.Millisecond || took > 2*time.Second {
		t.Fatalf("BRPOP timed out after %v", took)
	}
	moved := make(chan string, 1)
	go func() { moved <- waiter.BLMove(ctx, "src", "dst", "LEFT", "RIGHT", 5*time.Second).Val() }()
	time.Sleep(50 * time.Millisecond)
	pusher.LPush(ctx, "src", "m")
	if v := <-moved; v != "m" || pusher.LIndex(ctx, "dst", -1).Val() != "m" {
		t.Fatalf("BLMOVE got %q", v)
	}
	pusher.Set(ctx, "str", "x", 0)
	if err := waiter.BLPop(ctx, time.Second, "str").Err(); err == nil || err.Error()[:9] != "WRONGTYPE" {
		t.Fatalf("BLPOP on a string: %v", err)
	}

	// a client that disconnects while blocked must not swallow a later push
	conn, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("BLPOP ghost 0\r\n"))
	time.Sleep(100 * time.Millisecond)
	conn.Close()
	time.Sleep(100 * time.Millisecond)
	pusher.RPush(ctx, "ghost", "keep")
	time.Sleep(100 * time.Millisecond)
	if v := pusher.LRange(ctx, "ghost", 0, -1).Val(); !reflect.DeepEqual(v, []string{"keep"}) {
		t.Fatalf("value pushed after a blocked client left: %v", v)
	}
	// inside MULTI a blocking pop does not wait
	pipe := waiter.TxPipeline()
	res := pipe.BLPop(ctx, 0, "nothing")
	pipe.Exec(ctx)
	if res.Err() != redis.Nil {
		t.Fatalf("BLPOP in MULTI: %v", res.Err())
	}
}
