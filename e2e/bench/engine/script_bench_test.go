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

var anyRPS = regexp.MustCompile(`: ([0-9.]+) requests per second`)

// BenchmarkEvalsha: redis-benchmark EVALSHA of a script doing one INCR on
// an engine process and a redis-server in the same run (best of 3 each,
// -P 1 and -P 16), then the memory a loaded script costs (RSS growth over
// 20000 SCRIPT LOADs of distinct ~100-byte scripts).
func BenchmarkEvalsha(b *testing.B) {
	eng := enginee2e.Start(b, enginee2e.Options{})
	rs := redistest.Start(b, redistest.Options{})
	targets := []target{{"engine", eng.Addr()}, {"redis-server", rs.Addr()}}
	ctx := context.Background()
	const body = "return redis.call('incr', KEYS[1])"
	for range b.N {
		for _, pipeline := range []int{1, 16} {
			best := map[string]float64{}
			for range 3 {
				for _, tg := range targets {
					c := redis.NewClient(&redis.Options{Addr: tg.addr})
					sha, err := c.ScriptLoad(ctx, body).Result()
					c.Close()
					if err != nil {
						b.Fatal(err)
					}
					best[tg.name] = max(best[tg.name], benchCommand(b, tg.addr, pipeline, "EVALSHA", sha, "1", "counter:__rand_int__"))
				}
			}
			e, r := best["engine"], best["redis-server"]
			fmt.Printf("EVALSHA(INCR) -P %-2d  engine %10.0f rps   redis-server %10.0f rps   ratio %.2f\n", pipeline, e, r, e/r)
			b.ReportMetric(e, fmt.Sprintf("engine-evalsha-P%d-rps", pipeline))
			b.ReportMetric(e/r, fmt.Sprintf("evalsha-P%d-ratio", pipeline))
		}
	}
	for _, tg := range targets {
		per := scriptMemory(b, tg.addr, 20000)
		fmt.Printf("loaded scripts  %-12s %6.0f B of RSS per script\n", tg.name, per)
		b.ReportMetric(per, tg.name+"-B/script")
	}
}

func benchCommand(b *testing.B, addr string, pipeline int, args ...string) float64 {
	b.Helper()
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := append([]string{"-h", host, "-p", port, "-n", "200000", "-c", "50", "-r", "100000", "-q", "-P", strconv.Itoa(pipeline)}, args...)
	out, err := exec.CommandContext(ctx, redistest.Binary(b, "redis-benchmark"), cmd...).CombinedOutput()
	if err != nil {
		b.Fatalf("redis-benchmark on %s: %v\n%s", addr, err, out)
	}
	m := anyRPS.FindAllStringSubmatch(strings.ReplaceAll(string(out), "\r", "\n"), -1)
	if len(m) == 0 {
		b.Fatalf("no requests per second in redis-benchmark output:\n%s", out)
	}
	v, _ := strconv.ParseFloat(m[len(m)-1][1], 64)
	return v
}

// scriptMemory loads n distinct scripts and returns the RSS growth per script.
func scriptMemory(b *testing.B, addr string, n int) float64 {
	b.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: time.Minute})
	defer c.Close()
	ctx := context.Background()
	c.ScriptFlush(ctx)
	pid, err := strconv.Atoi(infoField(b, c, "server", "process_id"))
	if err != nil {
		b.Fatal(err)
	}
	before, err := enginee2e.ProcRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	for from := 0; from < n; from += 1000 {
		p := c.Pipeline()
		for i := from; i < from+1000; i++ {
			p.ScriptLoad(ctx, fmt.Sprintf("local n = redis.call('incrby', KEYS[1], %d) if n > 100 then return n * 2 end return n -- %08d", i, i))
		}
		if _, err := p.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	after, err := enginee2e.ProcRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	c.ScriptFlush(ctx)
	return float64(after-before) / float64(n)
}
