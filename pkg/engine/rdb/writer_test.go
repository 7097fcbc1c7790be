package rdb

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestWriterFileLoadsIntoRedis assembles an RDB file from Values and from
// DUMP payloads of real Redis, then starts a real redis-server on that file
// and checks every key, database and expiry, and reads it back with ReadFile.
func TestWriterFileLoadsIntoRedis(t *testing.T) {
	src, ctx := startRedis(t)
	cases := append(stringCases(), collectionCases()...)
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "backup.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f)
	if err := w.Aux("redis-ver", "7.0.15"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		if err := w.WriteValue(0, []byte("v:"+tc.name), tc.v, 0); err != nil {
			t.Fatal(err)
		}
		if err := writeValue(ctx, src, "k", tc.v); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteDump(1, []byte("d:"+tc.name), []byte(src.Dump(ctx, "k").Val()), 0); err != nil {
			t.Fatalf("%s: WriteDump: %v", tc.name, err)
		}
	}
	expireAt := time.Now().Add(time.Hour).UnixMilli()
	if err := w.WriteValue(0, []byte("expiring"), Value{Kind: KindString, Str: []byte("soon")}, expireAt); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// The 300 KB run of one byte is in the file twice; only compression fits that.
	st, err := os.Stat(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 200000 {
		t.Fatalf("file of %d bytes: strings were not compressed", st.Size())
	}

	info, entries, err := ReadFile(f.Name())
	if err != nil {
		t.Fatalf("ReadFile of the written file: %v", err)
	}
	if info.Keys != 2*len(cases)+1 || info.KeysPerDB[1] != len(cases) || info.Aux["redis-ver"] != "7.0.15" {
		t.Fatalf("ReadFile: %d keys, %d in db 1, aux %v", info.Keys, info.KeysPerDB[1], info.Aux)
	}
	if last := entries[len(entries)-1]; last.DB != 0 || last.ExpireAt != expireAt {
		t.Fatalf("last entry db %d expires %d, want db 0 at %d", last.DB, last.ExpireAt, expireAt)
	}

	dst, ctx := startRedis(t, "--dir", dir, "--dbfilename", "backup.rdb")
	db1 := redis.NewClient(&redis.Options{Addr: dst.Options().Addr, DB: 1})
	defer db1.Close()
	if n := dst.DBSize(ctx).Val(); n != int64(len(cases)+1) {
		t.Fatalf("Redis loaded %d keys into db 0, want %d", n, len(cases)+1)
	}
	for _, tc := range cases {
		for _, r := range []struct {
			c   *redis.Client
			key string
		}{{dst, "v:" + tc.name}, {db1, "d:" + tc.name}} {
			got, err := readValue(ctx, r.c, r.key)
			if err != nil {
				t.Fatalf("%s: %v", r.key, err)
			}
			if d := diffValues(got, tc.v); d != "" {
				t.Errorf("%s: %s", r.key, d)
			}
		}
	}
	if ttl := dst.PTTL(ctx, "expiring").Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("expiring key has TTL %v, want about 1h", ttl)
	}
}

func TestWriterRejectsBadDumps(t *testing.T) {
	w := NewWriter(&strings.Builder{})
	good := EncodeDump(Value{Kind: KindString, Str: []byte("x")})
	bad := append([]byte(nil), good...)
	bad[1] ^= 1
	if err := w.WriteDump(0, []byte("k"), bad, 0); !errors.Is(err, ErrBadFooter) {
		t.Errorf("corrupt payload: err = %v", err)
	}
	v11 := withFooter(good[:len(good)-10], 11)
	if err := w.WriteDump(0, []byte("k"), v11, 0); err == nil || !strings.Contains(err.Error(), "version 11") {
		t.Errorf("version 11 payload: err = %v", err)
	}
	if err := w.WriteDump(0, []byte("k"), good[:5], 0); err == nil {
		t.Error("short payload accepted")
	}
	if err := w.WriteValue(-1, []byte("k"), Value{Kind: KindString}, 0); err == nil {
		t.Error("negative database accepted")
	}
}
