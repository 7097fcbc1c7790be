package enginetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestClusterModeRefusalsMatchRedisServer: a cluster node refuses what
// works on one database only (MOVE, SWAPDB, SELECT of another database)
// with redis-server's errors.
func TestClusterModeRefusalsMatchRedisServer(t *testing.T) {
	n := startLoneClusterNode(t)
	real := client(t, redistest.Start(t, redistest.Options{Flavor: "redis", Cluster: true}).Addr())
	eng := client(t, n.Addr())
	ctx := context.Background()
	for _, args := range [][]any{{"MOVE", "k", "0"}, {"MOVE", "k", "1"}, {"SWAPDB", "0", "1"}, {"SELECT", "1"}, {"SELECT", "0"}} {
		want := fmt.Sprint(real.Do(ctx, args...).Result())
		got := fmt.Sprint(eng.Do(ctx, args...).Result())
		if want != got {
			t.Errorf("%v: redis-server %s, engine %s", args, want, got)
		}
	}
}

// FAILOVER (the standalone planned failover) is refused on a cluster node
// with redis-server's error, which names CLUSTER FAILOVER instead.
func TestFailoverRefusedInClusterMode(t *testing.T) {
	real := client(t, redistest.Start(t, redistest.Options{Flavor: "redis", Cluster: true}).Addr())
	eng := client(t, startLoneClusterNode(t).Addr())
	ctx := context.Background()
	for _, args := range [][]any{{"FAILOVER"}, {"FAILOVER", "ABORT"}, {"FAILOVER", "TO", "127.0.0.1", "1"}} {
		want, got := real.Do(ctx, args...).Err(), eng.Do(ctx, args...).Err()
		if want == nil || got == nil || want.Error() != got.Error() {
			t.Errorf("%v: redis-server %v, engine %v", args, want, got)
		}
	}
}
