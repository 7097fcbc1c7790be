package engine

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	enginee2e "github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

var publishRPS = regexp.MustCompile(`PUBLISH[^:]*: ([0-9.]+) requests per second`)

// BenchmarkPublish: redis-benchmark PUBLISH (50 clients, -P 1 and -P 16)
// while 10 subscribers drain the channel, on an engine process and on a
// redis-server in the same run, best of 3 each.
func BenchmarkPublish(b *testing.B) {
	eng := enginee2e.Start(b, enginee2e.Options{})
	rs := redistest.Start(b, redistest.Options{Flavor: "redis"})
	for range b.N {
		for _, pipeline := range []int{1, 16} {
			best := map[string]float64{}
			for range 3 {
				for _, tg := range []target{{"engine", eng.Addr()}, {"redis-server", rs.Addr()}} {
					best[tg.name] = max(best[tg.name], publishBenchmark(b, tg.addr, pipeline))
				}
			}
			e, r := best["engine"], best["redis-server"]
			fmt.Printf("PUBLISH -P %-2d (10 subscribers)  engine %10.0f rps   redis-server %10.0f rps   ratio %.2f\n", pipeline, e, r, e/r)
			b.ReportMetric(e/r, fmt.Sprintf("PUBLISH-P%d-ratio", pipeline))
		}
	}
}

// publishBenchmark runs redis-benchmark PUBLISH against addr with 10
// subscribers reading every message, and returns requests per second.
func publishBenchmark(b *testing.B, addr string, pipeline int) float64 {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 10 {
		cl := redis.NewClient(&redis.Options{Addr: addr})
		defer cl.Close()
		ps := cl.Subscribe(ctx, "bench")
		defer ps.Close()
		if _, err := ps.Receive(ctx); err != nil {
			b.Fatalf("SUBSCRIBE on %s: %v", addr, err)
		}
		go func() {
			for range ps.Channel(redis.WithChannelSize(10000)) {
			}
		}()
	}
	host, port, _ := strings.Cut(addr, ":")
	runCtx, stop := context.WithTimeout(ctx, 5*time.Minute)
	defer stop()
	out, err := exec.CommandContext(runCtx, redistest.Binary(b, "redis-benchmark"), "-h", host, "-p", port,
		"-n", "200000", "-c", "50", "-q", "-P", strconv.Itoa(pipeline), "PUBLISH", "bench", "hello-subscribers").CombinedOutput()
	if err != nil {
		b.Fatalf("redis-benchmark PUBLISH on %s: %v\n%s", addr, err, out)
	}
	m := publishRPS.FindStringSubmatch(strings.ReplaceAll(string(out), "\r", "\n"))
	if m == nil {
		b.Fatalf("no PUBLISH requests per second in redis-benchmark output:\n%s", out)
	}
	rps, _ := strconv.ParseFloat(m[1], 64)
	return rps
}
