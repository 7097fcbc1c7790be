package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/topology"
)

// replicaSyncWait bounds how long a migration waits for its targets'
// replicas to finish their first sync.
const replicaSyncWait = 15 * time.Second

// waitTargetReplicasOnline waits until every replica the cluster lists
// for a migration target is online in the target's INFO replication: its
// initial sync done and the stream flowing. MIGRATE deletes a key on the
// source as soon as the target has it; a replica still loading its first
// snapshot would trail by seconds, and a target that dies then takes those
// keys with it when the replica is promoted. It returns a description of
// what is still not in sync when the wait ends ("" when all are).
func waitTargetReplicasOnline(ctx context.Context, pool *conn.Pool, c *topology.Cluster, job migrate.Job, wait time.Duration) string {
	targets := map[string]string{} // id -> addr
	for _, m := range job.Moves {
		targets[m.Target.ID] = m.Target.Addr
	}
	want := map[string]int{}
	for _, n := range c.Nodes {
		if n.IsReplica() && !n.Failing() && targets[n.MasterID] != "" {
			want[n.MasterID]++
		}
	}
	deadline := time.Now().Add(wait)
	pause := 5 * time.Millisecond
	for {
		var behind []string
		for id, n := range want {
			addr := targets[id]
			info, err := pool.Get(addr).Info(ctx, "replication").Result()
			if err != nil {
				return conn.NodeError(addr, "INFO replication", err).Error()
			}
			online := 0
			for _, l := range conn.ConnectedReplicas(conn.InfoFields(info)) {
				if l.State == "online" {
					online++
				}
			}
			if online < n {
				behind = append(behind, fmt.Sprintf("%s has %d of its %d replica(s) in sync", addr, online, n))
			}
		}
		if len(behind) == 0 {
			return ""
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return strings.Join(behind, "; ")
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}
