// Package failover benchmarks `gocluster failover`: the time from the
// command to every node agreeing on the new master.
package failover

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
)

// BenchmarkFailover promotes a replica of each master of a 3-master,
// 3-replica redis-server cluster (node timeout 5 s) with `gocluster
// failover <master>`, and reports the median time of the command, which
// returns once every reachable node sees the new master holding the slots.
func BenchmarkFailover(b *testing.B) {
	c := harness.NewCluster(b, harness.ClusterOptions{Masters: 3, Replicas: 1,
		Hosts: []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}, Args: []string{"--cluster-node-timeout", "5000"}})
	var times []time.Duration
	for range b.N {
		// One failover per shard: masters do not vote for a second
		// failover of the same shard within twice the node timeout.
		for shard := range 3 {
			master := ""
			for _, n := range c.Topology(b).Masters() {
				if n.Slots.Has(shard*5461 + 100) {
					master = n.Addr()
				}
			}
			start := time.Now()
			if r := harness.Run(b, "failover", master); r.Code != 0 {
				b.Fatalf("gocluster failover %s: exit %d\n%s", master, r.Code, r.Output())
			}
			times = append(times, time.Since(start))
			c.WaitHealthy(b)
		}
	}
	slices.Sort(times)
	median := times[len(times)/2]
	b.ReportMetric(median.Seconds(), "failover-s")
	fmt.Printf("failover (3 masters, 3 replicas, node timeout 5 s): median %.3fs, fastest %.3fs, slowest %.3fs of %d\n",
		median.Seconds(), times[0].Seconds(), times[len(times)-1].Seconds(), len(times))
}
