package clustertest

import (
	"context"
	"fmt"
	"testing"
)

func TestStartServesClusterClients(t *testing.T) {
	c := Start(t, 3, 1)
	client := c.Client(t)
	ctx := context.Background()
	for i := range 200 {
		if err := client.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET k%d: %v", i, err)
		}
	}
	for i := range 200 {
		v, err := client.Get(ctx, fmt.Sprintf("k%d", i)).Int()
		if err != nil || v != i {
			t.Fatalf("GET k%d = %d, %v", i, v, err)
		}
	}
	shards, err := client.ClusterShards(ctx).Result()
	if err != nil || len(shards) != 3 {
		t.Fatalf("CLUSTER SHARDS: %d shards, %v", len(shards), err)
	}
}
