package enginetest

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkVsRedisServer runs redis-benchmark (SET/GET, -P 1 and -P 16)
// against an engine node and a real redis-server in the same run, prints
// requests/s and the engine/redis ratio, then loads 1M keys into each and
// compares memory. Run it alone, without -race:
//
//	go test -run '^$' -bench VsRedisServer -benchtime 1x ./pkg/engine/enginetest/
func BenchmarkVsRedisServer(b *testing.B) {
	eng := startEngineB(b)
	rs := redistest.Start(b, redistest.Options{})
	bin := redistest.Binary(b, "redis-benchmark")
	for range b.N {
		for _, pipeline := range []string{"1", "16"} {
			for _, test := range []string{"set", "get"} {
				// best of 3 alternating runs: the machine is shared, so the
				// best run is the least disturbed measure of each server
				var e, r float64
				for range 3 {
					e = max(e, runRedisBenchmark(b, bin, eng.Addr(), test, pipeline))
					r = max(r, runRedisBenchmark(b, bin, rs.Addr(), test, pipeline))
				}
				fmt.Printf("%-4s -P %-2s engine %10.0f rps   redis-server %10.0f rps   ratio %.2f\n", test, pipeline, e, r, e/r)
			}
		}
	}
	em := loadAndMeasure(b, eng.Addr())
	rm := loadAndMeasure(b, rs.Addr())
	fmt.Printf("1M keys: engine used_memory %.1f MB rss %.1f MB;  redis-server used_memory %.1f MB rss %.1f MB\n",
		em[0]/1e6, em[1]/1e6, rm[0]/1e6, rm[1]/1e6)
}

var rpsLine = regexp.MustCompile(`([A-Z]+): ([0-9.]+) requests per second`)

func runRedisBenchmark(b *testing.B, bin, addr, test, pipeline string) float64 {
	h, p := hostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-h", h, "-p", p, "-q", "-n", "200000", "-c", "50",
		"-P", pipeline, "-t", test, "-r", "100000").CombinedOutput()
	if err != nil {
		b.Fatalf("redis-benchmark: %v\n%s", err, out)
	}
	m := rpsLine.FindStringSubmatch(strings.ReplaceAll(string(out), "\r", "\n"))
	if m == nil {
		b.Fatalf("no requests per second in redis-benchmark output:\n%s", out)
	}
	v, _ := strconv.ParseFloat(m[2], 64)
	return v
}

// loadAndMeasure writes 1M small string keys and returns used_memory and
// used_memory_rss after the load.
func loadAndMeasure(b *testing.B, addr string) [2]float64 {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx := context.Background()
	c.FlushAll(ctx)
	for i := 0; i < 1_000_000; i += 10_000 {
		p := c.Pipeline()
		for j := i; j < i+10_000; j++ {
			p.Set(ctx, "key:"+strconv.Itoa(j), "value:"+strconv.Itoa(j), 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if n := c.DBSize(ctx).Val(); n != 1_000_000 {
		b.Fatalf("dbsize %d after loading 1M keys", n)
	}
	// settle both allocators first: Go's heap counts unswept garbage
	// until a GC, jemalloc keeps dirty pages until purged
	if err := c.Do(ctx, "MEMORY", "PURGE").Err(); err != nil {
		b.Fatal(err)
	}
	info := c.Info(ctx, "memory").Val()
	var out [2]float64
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			out[0], _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(l, "used_memory_rss:"); ok {
			out[1], _ = strconv.ParseFloat(v, 64)
		}
	}
	return out
}
