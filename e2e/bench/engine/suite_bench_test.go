package engine

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	enginee2e "github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/internal/redistest"
)

// suiteTests is redis-benchmark's default suite as issue 13 lists it.
const suiteTests = "set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset"

// suiteLine is one line of `redis-benchmark -q`: "NAME: 123.45 requests per second".
var suiteLine = regexp.MustCompile(`(?m)^(.+?): ([0-9.]+) requests per second`)

// BenchmarkCommandSuite: redis-benchmark's default suite (-P 1, 50
// clients), then XADD and PFADD as custom commands, on one engine process
// and one redis-server in the same run, best of 3 each, with the ratio per
// test (target: each >= 0.8x).
func BenchmarkCommandSuite(b *testing.B) {
	eng := enginee2e.Start(b, enginee2e.Options{})
	rs := redistest.Start(b, redistest.Options{})
	targets := []target{{"engine", eng.Addr()}, {"redis-server", rs.Addr()}}
	custom := map[string][]string{
		"XADD":  {"XADD", "stream:__rand_int__", "*", "field", "value"},
		"PFADD": {"PFADD", "hll", "element:__rand_int__"},
	}
	for range b.N {
		best := map[string]map[string]float64{"engine": {}, "redis-server": {}}
		for range 3 {
			for _, tg := range targets {
				for test, v := range benchmarkRPS(b, tg.addr, "-t", suiteTests) {
					best[tg.name][test] = max(best[tg.name][test], v)
				}
				for name, cmd := range custom {
					for _, v := range benchmarkRPS(b, tg.addr, cmd...) {
						best[tg.name][name] = max(best[tg.name][name], v)
					}
				}
			}
		}
		var names []string
		for test := range best["redis-server"] {
			names = append(names, test)
		}
		slices.Sort(names)
		for _, test := range names {
			e, r := best["engine"][test], best["redis-server"][test]
			fmt.Printf("%-36s engine %9.0f rps   redis-server %9.0f rps   ratio %.2f\n", test, e, r, e/r)
			b.ReportMetric(e/r, strings.NewReplacer(" ", "_", "(", "", ")", "").Replace(test)+"-ratio")
		}
	}
}

// benchmarkRPS runs redis-benchmark -q with extra arguments (-t tests, or
// a custom command) and returns requests per second by test name.
func benchmarkRPS(b *testing.B, addr string, extra ...string) map[string]float64 {
	b.Helper()
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"-h", host, "-p", port, "-n", "100000", "-c", "50", "-r", "100000", "-q"}, extra...)
	out, err := exec.CommandContext(ctx, redistest.Binary(b, "redis-benchmark"), args...).CombinedOutput()
	if err != nil {
		b.Fatalf("redis-benchmark %s on %s: %v\n%s", strings.Join(extra, " "), addr, err, out)
	}
	rps := map[string]float64{}
	// Progress lines ("SET: rps=...") end in \r; only final lines match.
	for _, m := range suiteLine.FindAllStringSubmatch(strings.ReplaceAll(string(out), "\r", "\n"), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		rps[strings.TrimSpace(m[1])] = v
	}
	if len(rps) == 0 {
		b.Fatalf("no requests per second in redis-benchmark output:\n%s", out)
	}
	return rps
}
