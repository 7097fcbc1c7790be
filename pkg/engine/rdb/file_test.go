package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestReadFileFromRedisSave fills real Redis with every type in several
// encodings, two databases, expiries and a function library, SAVEs, and
// checks ReadFile returns exactly that.
func TestReadFileFromRedisSave(t *testing.T) {
	c, ctx := startRedis(t)
	type key struct {
		db   int
		name string
	}
	want := map[key]Value{}
	for _, tc := range append(stringCases(), collectionCases()...) {
		if err := writeValue(ctx, c, tc.name, tc.v); err != nil {
			t.Fatal(err)
		}
		want[key{0, tc.name}] = tc.v
	}
	expireMS := time.Now().Add(time.Hour).UnixMilli()
	c.Set(ctx, "expiring", "MARKERVALUE", 0)
	c.PExpireAt(ctx, "expiring", time.UnixMilli(expireMS))
	want[key{0, "expiring"}] = Value{Kind: KindString, Str: []byte("MARKERVALUE")}

	db3 := redis.NewClient(&redis.Options{Addr: c.Options().Addr, DB: 3})
	defer db3.Close()
	db3.Set(ctx, "in-db-3", "x", 0)
	db3.RPush(ctx, "list-db-3", "a", "b")
	want[key{3, "in-db-3"}] = Value{Kind: KindString, Str: []byte("x")}
	want[key{3, "list-db-3"}] = Value{Kind: KindList, List: strs("a", "b")}
	lib := "#!lua name=rdbtest\nredis.register_function('one', function() return 1 end)"
	if err := c.FunctionLoad(ctx, lib).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	dir := c.ConfigGet(ctx, "dir").Val()["dir"]
	path := filepath.Join(dir, "dump.rdb")

	info, entries, err := ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if info.Version != 10 || info.Aux["redis-ver"] != "7.0.15" || info.Checksum == 0 || info.Functions != 1 {
		t.Errorf("info = version %d, redis-ver %q, checksum %#x, functions %d", info.Version, info.Aux["redis-ver"], info.Checksum, info.Functions)
	}
	if info.Keys != len(want) || info.KeysPerDB[3] != 2 || len(entries) != len(want) {
		t.Fatalf("read %d keys (%d in db 3), want %d (2)", info.Keys, info.KeysPerDB[3], len(want))
	}
	for _, e := range entries {
		w, ok := want[key{e.DB, string(e.Key)}]
		if !ok {
			t.Errorf("unexpected key %q in db %d", e.Key, e.DB)
			continue
		}
		if d := diffValues(e.Value, w); d != "" {
			t.Errorf("key %q: %s", e.Key, d)
		}
		wantExpire := int64(0)
		if string(e.Key) == "expiring" {
			wantExpire = expireMS
		}
		if e.ExpireAt != wantExpire {
			t.Errorf("key %q expires at %d, want %d", e.Key, e.ExpireAt, wantExpire)
		}
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("damaged byte fails the checksum", func(t *testing.T) {
		i := bytes.Index(raw, []byte("MARKERVALUE"))
		if i < 0 {
			t.Fatal("marker not found in the file")
		}
		bad := bytes.Clone(raw)
		bad[i] = 'N'
		_, err := Scan(bytes.NewReader(bad), -1, func(Entry) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Fatalf("err = %v, want checksum mismatch", err)
		}
	})
	t.Run("truncated files fail", func(t *testing.T) {
		for _, n := range []int{0, 5, 9, 20, len(raw) / 3, len(raw) / 2, len(raw) - 9, len(raw) - 1} {
			_, err := Scan(bytes.NewReader(raw[:n]), int64(n), func(Entry) error { return nil })
			if err == nil {
				t.Errorf("file cut to %d of %d bytes accepted", n, len(raw))
			}
		}
	})
	t.Run("callback error stops the scan", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		_, err := ScanFile(path, func(Entry) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("err = %v after %d calls", err, calls)
		}
	})
	t.Run("checksum disabled", func(t *testing.T) {
		c, ctx := startRedis(t, "--rdbchecksum", "no") // immutable at runtime
		c.Set(ctx, "k", "v", 0)
		if err := c.Save(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(c.ConfigGet(ctx, "dir").Val()["dir"], "dump.rdb")
		info, entries, err := ReadFile(path)
		if err != nil || info.Checksum != 0 || len(entries) != 1 {
			t.Fatalf("checksum-less file: %v, checksum %#x, %d keys", err, info.Checksum, len(entries))
		}
	})
}

// TestScanSkipsOptionalSections reads a hand-built version-12 file with the
// sections real files may carry but the test server cannot produce: module
// aux data, Redis 7.4 SLOT_INFO, seconds expiry, LRU idle and LFU freq.
func TestScanSkipsOptionalSections(t *testing.T) {
	f := []byte("REDIS0012")
	f = append(f, opModuleAux)
	f = appendLen(appendLen(appendLen(f, 12345), moduleOpUInt), 2)
	f = appendLen(appendLen(f, moduleOpSInt), 7)
	f = append(appendLen(f, moduleOpDouble), 0, 0, 0, 0, 0, 0, 0xf0, 0x3f)
	f = append(appendLen(f, moduleOpFloat), 0, 0, 0x80, 0x3f)
	f = appendString(appendLen(f, moduleOpString), []byte("module blob"))
	f = appendLen(f, moduleOpEOF)
	f = appendLen(append(f, opSelectDB), 2)
	f = appendLen(appendLen(appendLen(append(f, opSlotInfo), 100), 1), 0)
	f = binary.LittleEndian.AppendUint32(append(f, opExpireTime), 2000000000)
	f = appendLen(append(f, opIdle), 5)
	f = append(f, opFreq, 3)
	f = appendString(appendString(append(f, typeString), []byte("k")), []byte("v"))
	f = append(f, opEOF)
	f = binary.LittleEndian.AppendUint64(f, CRC64(0, f))

	var got []Entry
	info, err := Scan(bytes.NewReader(f), int64(len(f)), func(e Entry) error { got = append(got, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != 12 || len(got) != 1 || got[0].DB != 2 || string(got[0].Key) != "k" ||
		string(got[0].Value.Str) != "v" || got[0].ExpireAt != 2000000000000 {
		t.Fatalf("info %+v, entries %+v", info, got)
	}
	for _, bad := range []struct{ name, file, want string }{
		{"not rdb", "HELLO0010", "no REDIS signature"},
		{"short", "RED", "header"},
		{"future version", "REDIS0099\xff", "newer than"},
		{"bad version", "REDISabcd\xff", "bad RDB version"},
	} {
		_, err := Scan(strings.NewReader(bad.file), -1, func(Entry) error { return nil })
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v, want %q", bad.name, err, bad.want)
		}
	}
}

// Strings longer than one read chunk are read piecewise from a stream of
// unknown size; a forged length fails at end of input, not by allocating it.
func TestScanLongStringsFromStream(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 200000) // 3.2 MB
	f := []byte("REDIS0010")
	f = appendRawString(appendRawString(append(f, typeString), []byte("big")), big)
	f = append(f, opEOF)
	f = binary.LittleEndian.AppendUint64(f, CRC64(0, f))
	var entries []Entry
	_, err := Scan(bytes.NewReader(f), -1, func(e Entry) error { entries = append(entries, e); return nil })
	if err != nil || len(entries) != 1 || !bytes.Equal(entries[0].Value.Str, big) {
		t.Fatalf("long string: %v, %d entries", err, len(entries))
	}

	forged := appendLen(append(append([]byte("REDIS0010"), typeString), 1, 'k'), 1<<40)
	forged = append(forged, "only a few bytes"...)
	_, err = Scan(bytes.NewReader(forged), -1, func(Entry) error { return nil })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "unexpected end") {
		t.Fatalf("forged length: err = %v", err)
	}
}
