package admin

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/redis/go-redis/v9"
)

func TestCopyUntilMark(t *testing.T) {
	mark := []byte(strings.Repeat("m", rdbEOFMarkLen))
	payload := []byte("REDIS0011" + strings.Repeat("xyz", 50000))
	stream := func() *bytes.Reader { return bytes.NewReader(append(append([]byte{}, payload...), mark...)) }
	var out bytes.Buffer
	n, err := copyUntilMark(&out, iotest.OneByteReader(stream()), mark)
	if err != nil || n != int64(len(payload)) || !bytes.Equal(out.Bytes(), payload) {
		t.Fatalf("one byte at a time: n=%d err=%v equal=%v", n, err, bytes.Equal(out.Bytes(), payload))
	}
	out.Reset()
	n, err = copyUntilMark(&out, stream(), mark)
	if err != nil || n != int64(len(payload)) || !bytes.Equal(out.Bytes(), payload) {
		t.Fatalf("in big reads: n=%d err=%v", n, err)
	}
	out.Reset()
	if _, err := copyUntilMark(&out, bytes.NewReader(payload), mark); err == nil {
		t.Fatal("a stream cut before the EOF marker must fail")
	}
}

func TestReadSyncHeader(t *testing.T) {
	cases := map[string]string{
		"\n\n\n$1234\r\n":                          "1234",
		"$EOF:" + strings.Repeat("a", 40) + "\r\n": "EOF:" + strings.Repeat("a", 40),
	}
	for in, want := range cases {
		got, err := readSyncHeader(bufio.NewReader(strings.NewReader(in)))
		if err != nil || got != want {
			t.Errorf("readSyncHeader(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"-NOAUTH Authentication required.\r\n", "+OK\r\n", "\n\n"} {
		if _, err := readSyncHeader(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("readSyncHeader(%q) should fail", bad)
		}
	}
}

// TestFetchRDBRestores fetches the RDB of a real, password-protected
// redis-server in both transfer formats (length-prefixed from disk and
// diskless with an EOF marker), loads each file into a fresh redis-server
// and compares the data.
func TestFetchRDBRestores(t *testing.T) {
	ctx := context.Background()
	src := redistest.Start(t, redistest.Options{Password: "s3cret",
		Args: []string{"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}})
	c := src.Client()
	defer c.Close()
	for i := range 300 {
		c.Set(ctx, fmt.Sprintf("str:%d", i), strings.Repeat("v", i), 0)
	}
	c.RPush(ctx, "list", "a", "b", "c")
	c.HSet(ctx, "hash", "f1", "v1", "f2", "v2")
	c.ZAdd(ctx, "zset", redis.Z{Score: 1.5, Member: "one"}, redis.Z{Score: 2.5, Member: "two"})
	c.SAdd(ctx, "set", "x", "y")
	c.Set(ctx, "ttl", "soon", time.Hour)

	opts := conn.Options{Password: "s3cret", DialTimeout: time.Second, CommandTimeout: 5 * time.Second}
	for _, diskless := range []bool{false, true} {
		t.Run(fmt.Sprintf("diskless=%v", diskless), func(t *testing.T) {
			dir := t.TempDir()
			size, err := fetchRDB(ctx, opts, nil, src.Addr(), filepath.Join(dir, "dump.rdb"), diskless)
			if err != nil {
				t.Fatal(err)
			}
			if size < 100 {
				t.Fatalf("RDB of %d bytes is too small", size)
			}
			restored := redistest.Start(t, redistest.Options{Args: []string{"--dir", dir, "--dbfilename", "dump.rdb"}})
			rc := restored.Client()
			defer rc.Close()
			if n := rc.DBSize(ctx).Val(); n != 305 {
				t.Fatalf("restored DBSIZE %d, want 305", n)
			}
			if v := rc.Get(ctx, "str:299").Val(); v != strings.Repeat("v", 299) {
				t.Fatalf("str:299 = %q", v)
			}
			if v := rc.LRange(ctx, "list", 0, -1).Val(); fmt.Sprint(v) != "[a b c]" {
				t.Fatalf("list = %v", v)
			}
			if v := rc.HGet(ctx, "hash", "f2").Val(); v != "v2" {
				t.Fatalf("hash f2 = %q", v)
			}
			if v := rc.ZScore(ctx, "zset", "two").Val(); v != 2.5 {
				t.Fatalf("zset two = %v", v)
			}
			if ttl := rc.TTL(ctx, "ttl").Val(); ttl < 50*time.Minute {
				t.Fatalf("ttl kept %v, want about an hour", ttl)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		bad := opts
		bad.Password = "nope"
		_, err := fetchRDB(ctx, bad, nil, src.Addr(), filepath.Join(t.TempDir(), "x.rdb"), false)
		if err == nil || !strings.Contains(err.Error(), "node "+src.Addr()) || !strings.Contains(err.Error(), "authentication failed") {
			t.Fatalf("want a clear authentication error naming the node, got %v", err)
		}
	})
}
