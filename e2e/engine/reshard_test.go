package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// keysInSlots returns n distinct keys "prefix:i" whose slots satisfy in.
func keysInSlots(prefix string, n int, in func(slot int) bool) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		if k := fmt.Sprint(prefix, ":", i); in(slots.Slot(k)) {
			out = append(out, k)
		}
	}
	return out
}

// liveWorker hammers its own keys with SET+GET, INCR and RPUSH, checking
// every reply, until stop is closed. It remembers what it was told.
type liveWorker struct {
	keys     []string
	values   map[string]string // last acknowledged SET
	counters map[string]int64  // acknowledged INCRs
	lists    map[string]int64  // acknowledged RPUSHes
	ops      int64
	errs     []string
}

func (w *liveWorker) run(cc *redis.ClusterClient, stop <-chan struct{}, errCount *atomic.Int64) {
	ctx := context.Background()
	fail := func(format string, args ...any) {
		errCount.Add(1)
		if len(w.errs) < 5 {
			w.errs = append(w.errs, fmt.Sprintf(format, args...))
		}
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		k := w.keys[i%len(w.keys)]
		switch i % 3 {
		case 0:
			v := strconv.Itoa(i)
			if err := cc.Set(ctx, k+":s", v, 0).Err(); err != nil {
				fail("SET %s: %v", k, err)
				continue
			}
			w.values[k+":s"] = v
			if got, err := cc.Get(ctx, k+":s").Result(); err != nil || got != v {
				fail("GET %s right after SET %q: %q, %v", k, v, got, err)
			}
		case 1:
			n, err := cc.Incr(ctx, k+":c").Result()
			if err != nil {
				fail("INCR %s: %v", k, err)
				continue
			}
			if w.counters[k+":c"]++; n != w.counters[k+":c"] {
				fail("INCR %s = %d, want %d", k, n, w.counters[k+":c"])
			}
		case 2:
			n, err := cc.RPush(ctx, k+":l", i).Result()
			if err != nil {
				fail("RPUSH %s: %v", k, err)
				continue
			}
			if w.lists[k+":l"]++; n != w.lists[k+":l"] {
				fail("RPUSH %s length %d, want %d", k, n, w.lists[k+":l"])
			}
		}
		w.ops++
	}
}

// TestReshardBetweenEngineProcessesUnderLoad moves 500 slots between engine
// masters with the real `redis-cli --cluster reshard` while go-redis
// ClusterClients keep writing and reading keys in exactly those slots.
// Afterwards no client saw an error, every key has its last acknowledged
// value, the source kept no copy, and redis-cli --cluster check is clean.
func TestReshardBetweenEngineProcessesUnderLoad(t *testing.T) {
	nodes := StartN(t, 6, Options{Cluster: true})
	createCluster(t, nodes, 1)
	var from, to *Node
	for _, m := range masters(t, nodes) {
		if strings.HasPrefix(mySlots(t, m), "0-") {
			from = m
		} else if to == nil {
			to = m
		}
	}
	if from == nil || to == nil {
		t.Fatal("no master owns slot 0")
	}
	cc := clusterClient(t, nodes)
	ctx := context.Background()

	// Data at rest, most of it in the slots that will move (redis-cli takes
	// the source's lowest slots first), of every type.
	moving := func(s int) bool { return s < 500 }
	atRest := append(keysInSlots("rest", 1500, moving), keysInSlots("rest-other", 300, func(s int) bool { return !moving(s) })...)
	want := map[string]string{}
	p := cc.Pipeline()
	for i, k := range atRest {
		switch i % 5 {
		case 0:
			p.Set(ctx, k, "v"+k, 0)
			want[k] = "string:v" + k
		case 1:
			p.RPush(ctx, k, "a", "b", k)
			want[k] = "list:a,b," + k
		case 2:
			p.HSet(ctx, k, "f", k)
			want[k] = "hash:f=" + k
		case 3:
			p.SAdd(ctx, k, "m", "n")
			want[k] = "set:m,n"
		case 4:
			p.ZAdd(ctx, k, redis.Z{Score: 1.5, Member: k})
			want[k] = "zset:" + k + "=1.5"
		}
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatalf("preload: %v", err)
	}

	// Live load: four workers, each with its own keys in the moving slots.
	var errCount atomic.Int64
	workers := make([]*liveWorker, 4)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		w := &liveWorker{keys: keysInSlots(fmt.Sprint("live", i), 100, moving),
			values: map[string]string{}, counters: map[string]int64{}, lists: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() { defer wg.Done(); w.run(cc, stop, &errCount) }()
	}
	time.Sleep(200 * time.Millisecond) // load is running before the first slot opens

	start := time.Now()
	r := redisCLI(t, "--cluster", "reshard", nodes[0].Addr(), "--cluster-from", nodeID(t, from),
		"--cluster-to", nodeID(t, to), "--cluster-slots", "500", "--cluster-yes")
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if r.Code != 0 || strings.Contains(r.Stdout, "[ERR]") {
		t.Fatalf("redis-cli --cluster reshard: exit %d\n%s\nsource log:\n%s", r.Code, lastLines(r.Output(), 20), from.LogTail(10))
	}
	if n := strings.Count(r.Stdout, "Moving slot "); n < 500 {
		t.Fatalf("redis-cli moved keys in only %d slot lines:\n%s", n, lastLines(r.Stdout, 20))
	}
	waitHealthy(t, nodes, 20*time.Second)

	var ops int64
	for _, w := range workers {
		ops += w.ops
		for _, e := range w.errs {
			t.Error("client error during reshard: " + e)
		}
	}
	if errCount.Load() > 0 {
		t.Fatalf("%d client errors during the reshard (%d operations)", errCount.Load(), ops)
	}
	if ops < 100 {
		t.Fatalf("only %d operations ran during a %v reshard: the load was not live", ops, took)
	}

	// Slots 0-499 now belong to the target, with their keys, and nowhere else.
	if s := mySlots(t, to); !strings.Contains(" "+s+" ", " 0-499 ") {
		t.Fatalf("target %s owns %q, want 0-499 among them", to.Addr(), s)
	}
	src := client(t, from)
	leftBehind := 0
	for s := range 500 {
		leftBehind += int(src.ClusterCountKeysInSlot(ctx, s).Val())
	}
	if leftBehind > 0 {
		t.Fatalf("the source still holds %d keys in moved slots", leftBehind)
	}
	lost := 0
	check := func(k, got, want string) {
		if got != want {
			if lost++; lost <= 5 {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	}
	for k, w := range want {
		check(k, readValue(cc, k), w)
	}
	for _, w := range workers {
		for k, v := range w.values {
			check(k, cc.Get(ctx, k).Val(), v)
		}
		for k, n := range w.counters {
			check(k, cc.Get(ctx, k).Val(), strconv.FormatInt(n, 10))
		}
		for k, n := range w.lists {
			check(k, strconv.FormatInt(cc.LLen(ctx, k).Val(), 10), strconv.FormatInt(n, 10))
		}
	}
	if lost > 0 {
		t.Fatalf("%d keys lost or stale after the reshard", lost)
	}
	t.Logf("500 slots resharded in %v under %d live operations, 0 errors, %d keys at rest intact", took.Round(time.Millisecond), ops, len(want))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
