package engine

import (
	"fmt"
	"testing"

	enginee2e "github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/internal/redistest"
)

// BenchmarkAppendOnlySet: redis-benchmark SET (50 clients, -P 1 and -P 16)
// with appendonly yes on an engine process and on redis-server in the same
// run, for appendfsync everysec and always; best of 3 each.
func BenchmarkAppendOnlySet(b *testing.B) {
	for range b.N {
		for _, fsync := range []string{"everysec", "always"} {
			args := []string{"--appendonly", "yes", "--appendfsync", fsync}
			eng := enginee2e.Start(b, enginee2e.Options{Args: args})
			rs := redistest.Start(b, redistest.Options{Flavor: "redis", Args: args})
			for _, pipeline := range []int{1, 16} {
				best := map[string]float64{}
				for range 3 {
					for _, tg := range []target{{"engine", eng.Addr()}, {"redis-server", rs.Addr()}} {
						best[tg.name] = max(best[tg.name], benchCommand(b, tg.addr, pipeline, "-t", "set"))
					}
				}
				e, r := best["engine"], best["redis-server"]
				fmt.Printf("SET appendfsync %-8s -P %-2d  engine %10.0f rps   redis-server %10.0f rps   ratio %.2f\n", fsync, pipeline, e, r, e/r)
				b.ReportMetric(e/r, fmt.Sprintf("SET-aof-%s-P%d-ratio", fsync, pipeline))
			}
		}
	}
}
