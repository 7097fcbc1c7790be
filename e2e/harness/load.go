package harness

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Preload writes n keys "pre:<i>" = "v<i>" with pipelines.
func Preload(t testing.TB, cc *redis.ClusterClient, n int) {
	t.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += 5000 {
		pipe := cc.Pipeline()
		for i := start; i < min(start+5000, n); i++ {
			pipe.Set(ctx, fmt.Sprintf("pre:%d", i), fmt.Sprintf("v%d", i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("preload: %v", err)
		}
	}
}

// VerifyPreload checks every preloaded key still has its value.
func VerifyPreload(t testing.TB, cc *redis.ClusterClient, n int) {
	t.Helper()
	ctx := context.Background()
	bad := 0
	for start := 0; start < n; start += 5000 {
		pipe := cc.Pipeline()
		cmds := map[int]*redis.StringCmd{}
		for i := start; i < min(start+5000, n); i++ {
			cmds[i] = pipe.Get(ctx, fmt.Sprintf("pre:%d", i))
		}
		_, _ = pipe.Exec(ctx)
		for i, cmd := range cmds {
			if v, err := cmd.Result(); err != nil || v != fmt.Sprintf("v%d", i) {
				if bad++; bad < 5 {
					t.Errorf("pre:%d = %q, %v", i, v, err)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d preloaded keys lost or changed", bad, n)
	}
}

// LiveLoad is a go-redis ClusterClient writing and reading all the time:
// writers overwrite their own keys with increasing values (each key's last
// acknowledged value is remembered), readers check preloaded keys.
type LiveLoad struct {
	cc      *redis.ClusterClient
	preN    int
	stop    chan struct{}
	halt    sync.Once
	wg      sync.WaitGroup
	ops     atomic.Int64
	errs    atomic.Int64
	mu      sync.Mutex
	lastErr []string
	written sync.Map // key -> last acknowledged value
}

// StartLoad starts writers and readers on cc; readers check the keys
// Preload wrote. The load stops at Finish, or when the test ends.
func StartLoad(t testing.TB, cc *redis.ClusterClient, preN, writers, readers int) *LiveLoad {
	l := &LiveLoad{cc: cc, preN: preN, stop: make(chan struct{})}
	t.Cleanup(l.stopAndWait)
	ctx := context.Background()
	for w := range writers {
		l.loop(func(i int) {
			key, val := fmt.Sprintf("live:%d:%d", w, i%3000), fmt.Sprintf("%d", i)
			if err := cc.Set(ctx, key, val, 0).Err(); err != nil {
				l.fail(fmt.Sprintf("SET %s: %v", key, err))
				return
			}
			l.written.Store(key, val)
			l.ops.Add(1)
		})
	}
	for r := range readers {
		l.loop(func(i int) {
			k := (r*7919 + i*13) % preN
			v, err := cc.Get(ctx, fmt.Sprintf("pre:%d", k)).Result()
			if err != nil || v != fmt.Sprintf("v%d", k) {
				l.fail(fmt.Sprintf("GET pre:%d = %q, %v", k, v, err))
				return
			}
			l.ops.Add(1)
		})
	}
	return l
}

// loop runs step(0), step(1), ... in a goroutine until the load stops.
func (l *LiveLoad) loop(step func(i int)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			default:
			}
			step(i)
		}
	}()
}

func (l *LiveLoad) fail(msg string) {
	l.errs.Add(1)
	l.mu.Lock()
	if len(l.lastErr) < 5 {
		l.lastErr = append(l.lastErr, msg)
	}
	l.mu.Unlock()
}

// stopAndWait stops the load and waits for it, once.
func (l *LiveLoad) stopAndWait() {
	l.halt.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// Finish stops the load and fails the test on any client error or any
// written key whose last acknowledged value is not what the cluster holds.
func (l *LiveLoad) Finish(t testing.TB) {
	t.Helper()
	l.stopAndWait()
	if n := l.errs.Load(); n > 0 {
		t.Fatalf("%d client errors during the operation (of %d ops); first: %s", n, l.ops.Load(), strings.Join(l.lastErr, "; "))
	}
	if l.ops.Load() < 100 {
		t.Fatalf("the load made only %d operations: it did not really run", l.ops.Load())
	}
	ctx := context.Background()
	checked := 0
	l.written.Range(func(k, v any) bool {
		got, err := l.cc.Get(ctx, k.(string)).Result()
		if err != nil || got != v.(string) {
			t.Errorf("written key %s = %q, %v; want %q", k, got, err, v)
			return false
		}
		checked++
		return true
	})
	VerifyPreload(t, l.cc, l.preN)
	t.Logf("live load: %d ops, 0 errors, %d written keys verified", l.ops.Load(), checked)
}

// AddMultiKeyWriters adds n writers of hash-tagged key pairs: MSET of
// both keys, then MGET, which must return what the MSET wrote (each tag
// has one writer). Multi-key commands on a slot being moved are what ASK
// redirections break (TRYAGAIN) and atomic migration keeps working.
func (l *LiveLoad) AddMultiKeyWriters(n int) {
	ctx := context.Background()
	for w := range n {
		l.loop(func(i int) {
			tag := fmt.Sprintf("{mk:%d:%d}", w, i%2000)
			k1, k2, val := "a"+tag, "b"+tag, fmt.Sprintf("%d", i)
			if err := l.cc.MSet(ctx, k1, val, k2, val).Err(); err != nil {
				l.fail(fmt.Sprintf("MSET %s %s: %v", k1, k2, err))
				return
			}
			l.written.Store(k1, val)
			l.written.Store(k2, val)
			got, err := l.cc.MGet(ctx, k1, k2).Result()
			if err != nil || len(got) != 2 || got[0] != val || got[1] != val {
				l.fail(fmt.Sprintf("MGET %s %s = %v, %v; want %s twice", k1, k2, got, err, val))
				return
			}
			l.ops.Add(2)
		})
	}
}
