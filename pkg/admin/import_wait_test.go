package admin

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/conn"
)

// TestRestoreWaitsForReplicas: a batch that the owner's replicas do not
// confirm does not count as imported, so import keeps it on the source;
// deleting it would lose it to a failover of the owner right after
// (fault campaign, seed 6010: 4 keys lost). The owner here is a real
// redis-server told it has a replica it does not have, so WAIT times out.
func TestRestoreWaitsForReplicas(t *testing.T) {
	ctx := context.Background()
	owner := redistest.Start(t, redistest.Options{})
	pool, err := conn.NewPool(conn.Options{DialTimeout: time.Second, CommandTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	src := owner.Client()
	defer src.Close()
	if err := src.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	payload, err := src.Dump(ctx, "k").Result()
	if err != nil {
		t.Fatal(err)
	}
	src.Del(ctx, "k")
	ds := []dumped{{key: "k", payload: payload}}
	var mu sync.Mutex

	res := &ImportResult{}
	ok, err := restoreOn(ctx, pool, owner.Addr(), 1, ds, false, res, &mu)
	if err != nil {
		t.Fatal(err)
	}
	if len(ok) != 0 || res.Imported != 0 || res.Failed != 1 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "kept on the source") {
		t.Fatalf("unconfirmed batch: ok %d, imported %d, failed %d %q", len(ok), res.Imported, res.Failed, res.Errors)
	}

	// Without replicas there is nothing to wait for: the key counts, and
	// a second run finds the cluster's copy equal to the source's.
	res = &ImportResult{}
	if ok, err = restoreOn(ctx, pool, owner.Addr(), 0, ds, false, res, &mu); err != nil || len(ok) != 1 || res.Imported != 1 {
		t.Fatalf("no replicas: ok %d, imported %d, err %v", len(ok), res.Imported, err)
	}
}
