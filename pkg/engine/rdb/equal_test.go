package rdb

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestSameDumpsAcrossHashTableOrder: two real Redis nodes holding the same
// large hash and set, built in different orders, DUMP different bytes; the
// values are still the same, and one changed field makes them differ.
func TestSameDumpsAcrossHashTableOrder(t *testing.T) {
	a, b := redistest.Start(t, redistest.Options{}), redistest.Start(t, redistest.Options{})
	ca, cb := a.Client(), b.Client()
	defer ca.Close()
	defer cb.Close()
	ctx := context.Background()
	const n = 3000
	for i := range n {
		ca.HSet(ctx, "h", fmt.Sprint("f", i), i)
		cb.HSet(ctx, "h", fmt.Sprint("f", n-1-i), n-1-i)
		ca.SAdd(ctx, "s", fmt.Sprint("m", i))
		cb.SAdd(ctx, "s", fmt.Sprint("m", n-1-i))
		ca.ZAdd(ctx, "z", redis.Z{Score: float64(i), Member: fmt.Sprint("m", i)})
		cb.ZAdd(ctx, "z", redis.Z{Score: float64(n - 1 - i), Member: fmt.Sprint("m", n-1-i)})
	}
	differentBytes := 0
	for _, key := range []string{"h", "s", "z"} {
		da, db := []byte(ca.Dump(ctx, key).Val()), []byte(cb.Dump(ctx, key).Val())
		if !bytes.Equal(da, db) {
			differentBytes++
		}
		if !SameDumps(da, db) {
			t.Errorf("%s: same value, SameDumps says different", key)
		}
	}
	if differentBytes == 0 {
		t.Fatal("every payload pair was byte-identical: the test no longer exercises decoding")
	}
	cb.HSet(ctx, "h", "f7", "changed")
	cb.SAdd(ctx, "s", "extra")
	cb.ZAdd(ctx, "z", redis.Z{Score: 0.5, Member: "m7"})
	for _, key := range []string{"h", "s", "z"} {
		if SameDumps([]byte(ca.Dump(ctx, key).Val()), []byte(cb.Dump(ctx, key).Val())) {
			t.Errorf("%s: different values, SameDumps says same", key)
		}
	}
	if SameDumps([]byte("garbage"), []byte("other garbage")) {
		t.Error("undecodable payloads are never the same")
	}
}
