// Package engine benchmarks a `gocluster server` process against a real
// redis-server in the same run: redis-benchmark throughput (SET/GET, -P 1
// and -P 16) and memory for 1M keys. It only runs with `make bench`
// (go test -run '^$' -bench . -benchtime 1x ./e2e/bench/...).
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

// target is one server under test.
type target struct {
	name string
	addr string
}

var rpsLine = regexp.MustCompile(`(SET|GET): ([0-9.]+) requests per second`)

// redisBenchmark runs `redis-benchmark -t set,get -n 200000 -c 50 -q -P p`
// and returns requests per second by test name.
func redisBenchmark(b *testing.B, addr string, pipeline int) map[string]float64 {
	b.Helper()
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, redistest.Binary(b, "redis-benchmark"), "-h", host, "-p", port,
		"-t", "set,get", "-n", "200000", "-c", "50", "-r", "100000", "-q", "-P", strconv.Itoa(pipeline)).CombinedOutput()
	if err != nil {
		b.Fatalf("redis-benchmark on %s: %v\n%s", addr, err, out)
	}
	rps := map[string]float64{}
	for _, m := range rpsLine.FindAllStringSubmatch(strings.ReplaceAll(string(out), "\r", "\n"), -1) {
		rps[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	if rps["SET"] == 0 || rps["GET"] == 0 {
		b.Fatalf("no SET/GET requests per second in redis-benchmark output:\n%s", out)
	}
	return rps
}

// BenchmarkEngineVsRedisServer: throughput of one engine process and one
// redis-server measured alternately (best of 3 each, since the machine is
// shared and the best run is the least disturbed), then memory for 1M keys.
func BenchmarkEngineVsRedisServer(b *testing.B) {
	eng := enginee2e.Start(b, enginee2e.Options{})
	rs := redistest.Start(b, redistest.Options{})
	targets := []target{{"engine", eng.Addr()}, {"redis-server", rs.Addr()}}
	for range b.N {
		for _, pipeline := range []int{1, 16} {
			best := map[string]map[string]float64{"engine": {}, "redis-server": {}}
			for range 3 {
				for _, tg := range targets {
					for test, v := range redisBenchmark(b, tg.addr, pipeline) {
						best[tg.name][test] = max(best[tg.name][test], v)
					}
				}
			}
			for _, test := range []string{"SET", "GET"} {
				e, r := best["engine"][test], best["redis-server"][test]
				fmt.Printf("%s -P %-2d  engine %10.0f rps   redis-server %10.0f rps   ratio %.2f\n", test, pipeline, e, r, e/r)
				b.ReportMetric(e, fmt.Sprintf("engine-%s-P%d-rps", test, pipeline))
				b.ReportMetric(e/r, fmt.Sprintf("%s-P%d-ratio", test, pipeline))
			}
		}
	}

	var mem [2]memory
	for i, tg := range targets {
		mem[i] = loadMillionKeys(b, tg.addr, fillMillionKeys)
	}
	reportMemory(b, "1M keys", "1Mkeys", targets, mem)
	smallCollectionsMemory(b)
}

// BenchmarkSmallCollectionsMemory is the collections part of
// BenchmarkEngineVsRedisServer alone: 1M small hashes, sets and sorted
// sets, used_memory and RSS against redis-server.
func BenchmarkSmallCollectionsMemory(b *testing.B) {
	for range b.N {
		smallCollectionsMemory(b)
	}
}

// smallCollectionsMemory loads each kind on a fresh pair of servers, so
// that memory the previous load left behind does not count: hashes of 4
// short fields, sets of 5 integers, sorted sets of 5 short members.
func smallCollectionsMemory(b *testing.B) {
	for _, d := range []struct {
		name, metric string
		add          func(p redis.Pipeliner, key string, i int)
	}{
		{"1M hashes", "1Mhashes", func(p redis.Pipeliner, key string, i int) {
			p.HSet(context.Background(), key, "name", "user:"+strconv.Itoa(i), "age", i%100, "city", "c"+strconv.Itoa(i%50), "visits", i)
		}},
		{"1M sets", "1Msets", func(p redis.Pipeliner, key string, i int) {
			p.SAdd(context.Background(), key, i, i+1, i+2, i+3, i+4)
		}},
		{"1M zsets", "1Mzsets", func(p redis.Pipeliner, key string, i int) {
			p.ZAdd(context.Background(), key, redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2, Member: "b"},
				redis.Z{Score: float64(i), Member: "c"}, redis.Z{Score: 4, Member: "d"}, redis.Z{Score: 5.5, Member: "e"})
		}},
	} {
		fresh := []target{{"engine", enginee2e.Start(b, enginee2e.Options{}).Addr()}, {"redis-server", redistest.Start(b, redistest.Options{}).Addr()}}
		fill := func(b *testing.B, c *redis.Client) { fillMillion(b, c, d.add) }
		var mem [2]memory
		for i, tg := range fresh {
			mem[i] = loadMillionKeys(b, tg.addr, fill)
		}
		reportMemory(b, d.name, d.metric, fresh, mem)
	}
}

// reportMemory prints and reports one dataset's memory on both servers:
// right after loading, and after MEMORY PURGE (on the engine a full GC that
// returns free memory to the OS, so garbage the load left is gone; on
// redis-server jemalloc's purge).
func reportMemory(b *testing.B, name, metric string, targets []target, mem [2]memory) {
	for i, tg := range targets {
		fmt.Printf("%-10s %-12s used_memory %7.1f MB   VmRSS %7.1f MB (%.1f MB before load)   %.0f B/key by RSS;  quiet %v: used_memory %7.1f MB   VmRSS %7.1f MB;  after MEMORY PURGE: used_memory %7.1f MB   VmRSS %7.1f MB\n",
			name, tg.name, mem[i].used/1e6, mem[i].rss/1e6, mem[i].rssBefore/1e6, (mem[i].rss-mem[i].rssBefore)/1e6,
			quietWait, mem[i].usedQuiet/1e6, mem[i].rssQuiet/1e6, mem[i].usedPurged/1e6, mem[i].rssPurged/1e6)
	}
	fmt.Printf("%-10s engine/redis-server: used_memory %.2fx, VmRSS %.2fx;  quiet %v: used_memory %.2fx, VmRSS %.2fx;  after MEMORY PURGE: used_memory %.2fx, VmRSS %.2fx\n", name,
		mem[0].used/mem[1].used, mem[0].rss/mem[1].rss, quietWait, mem[0].usedQuiet/mem[1].usedQuiet, mem[0].rssQuiet/mem[1].rssQuiet,
		mem[0].usedPurged/mem[1].usedPurged, mem[0].rssPurged/mem[1].rssPurged)
	b.ReportMetric(mem[0].rss/1e6, "engine-"+metric+"-rss-MB")
	b.ReportMetric(mem[0].rss/mem[1].rss, metric+"-rss-ratio")
	b.ReportMetric(mem[0].used/mem[1].used, metric+"-used_memory-ratio")
	b.ReportMetric(mem[0].rssQuiet/mem[1].rssQuiet, metric+"-quiet-rss-ratio")
	b.ReportMetric(mem[0].usedQuiet/mem[1].usedQuiet, metric+"-quiet-used_memory-ratio")
	b.ReportMetric(mem[0].rssPurged/mem[1].rssPurged, metric+"-purged-rss-ratio")
	b.ReportMetric(mem[0].usedPurged/mem[1].usedPurged, metric+"-purged-used_memory-ratio")
}

// memory is what a server reports and what the kernel sees, in bytes.
type memory struct {
	used, rss, rssBefore  float64 // right after the load
	usedQuiet, rssQuiet   float64 // after quietWait with no command
	usedPurged, rssPurged float64 // after MEMORY PURGE
}

// quietWait is how long both servers sit idle before the second reading:
// the engine runs a full collection once quiet for 0.5 s (idlegc.go),
// redis-server finishes its incremental rehashing in its cron.
const quietWait = 1500 * time.Millisecond

// loadMillionKeys fills the server with fill and measures INFO
// used_memory and the process's VmRSS (found through INFO's process_id).
func loadMillionKeys(b *testing.B, addr string, fill func(*testing.B, *redis.Client)) memory {
	b.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: time.Minute})
	defer c.Close()
	ctx := context.Background()
	pid, err := strconv.Atoi(infoField(b, c, "server", "process_id"))
	if err != nil {
		b.Fatalf("INFO server process_id on %s: %v", addr, err)
	}
	var m memory
	before, err := enginee2e.ProcRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	m.rssBefore = float64(before)
	fill(b, c)
	m.used, _ = strconv.ParseFloat(infoField(b, c, "memory", "used_memory"), 64)
	rss, err := enginee2e.ProcRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	m.rss = float64(rss)
	time.Sleep(quietWait)
	m.usedQuiet, _ = strconv.ParseFloat(infoField(b, c, "memory", "used_memory"), 64)
	if rss, err = enginee2e.ProcRSS(pid); err != nil {
		b.Fatal(err)
	}
	m.rssQuiet = float64(rss)
	if err := c.Do(ctx, "MEMORY", "PURGE").Err(); err != nil {
		b.Fatalf("MEMORY PURGE on %s: %v", addr, err)
	}
	m.usedPurged, _ = strconv.ParseFloat(infoField(b, c, "memory", "used_memory"), 64)
	if rss, err = enginee2e.ProcRSS(pid); err != nil {
		b.Fatal(err)
	}
	m.rssPurged = float64(rss)
	c.FlushAll(ctx)
	return m
}

func infoField(b *testing.B, c *redis.Client, section, field string) string {
	b.Helper()
	info, err := c.Info(context.Background(), section).Result()
	if err != nil {
		b.Fatalf("INFO %s: %v", section, err)
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	b.Fatalf("INFO %s has no %s", section, field)
	return ""
}
