package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// errorKinds name what a client saw, in the report's order.
var errorKinds = []string{"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "READONLY", "timeout", "connection", "other"}

// kindOf classifies a reply or network error.
func kindOf(err error) string {
	var ne net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case strings.HasPrefix(msg, "MOVED"), strings.HasPrefix(msg, "ASK"), strings.HasPrefix(msg, "TRYAGAIN"),
		strings.HasPrefix(msg, "CLUSTERDOWN"), strings.HasPrefix(msg, "LOADING"), strings.HasPrefix(msg, "READONLY"):
		return strings.Fields(msg)[0]
	case strings.Contains(msg, "EOF"), strings.Contains(msg, "refused"), strings.Contains(msg, "reset by peer"),
		strings.Contains(msg, "broken pipe"), strings.Contains(msg, "closed"):
		return "connection"
	}
	otherOnce.Do(func() { firstOther = msg })
	return "other"
}

// firstOther is the first unclassified error, for the log.
var (
	otherOnce  sync.Once
	firstOther string
)

// refused says the server answered without running the command, so a
// retry cannot apply it twice.
func refused(kind string) bool {
	switch kind {
	case "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "READONLY":
		return true
	}
	return false
}

// attempts counts, for one command, the tries a node may have executed.
type attempts struct{ mayHaveRun int }

type attemptsKey struct{}

// errorHook counts every error any node returned to go-redis, including
// the redirects and retries it handles by itself.
type errorHook struct{ counts *sync.Map } // kind -> *atomic.Int64

func (errorHook) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessPipelineHook sees the ASKING + command pairs go-redis sends
// after an ASK redirect.
func (h errorHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			if cmd.Name() != "asking" {
				h.note(ctx, cmd.Err())
			}
		}
		return err
	}
}

func (h errorHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.note(ctx, err)
		return err
	}
}

// note counts one node's answer to one try of a command.
func (h errorHook) note(ctx context.Context, err error) {
	kind := ""
	if err != nil && !errors.Is(err, redis.Nil) {
		kind = kindOf(err)
		count(h.counts, kind)
	}
	if a, ok := ctx.Value(attemptsKey{}).(*attempts); ok && !refused(kind) {
		a.mayHaveRun++
	}
}

func count(m *sync.Map, kind string) {
	v, _ := m.LoadOrStore(kind, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func snapshot(m *sync.Map) map[string]int64 {
	out := map[string]int64{}
	m.Range(func(k, v any) bool { out[k.(string)] = v.(*atomic.Int64).Load(); return true })
	return out
}

// counter is what one INCR key should hold: at least the highest value
// acknowledged, at most the number of INCRs that may have run.
type counter struct {
	acked, mayHaveRun int64
	at                time.Time // when acked was acknowledged
}

// listState is what one RPUSH key should hold: every acknowledged element
// once; an element whose RPUSH may have run more than once (go-redis
// retried it after a lost reply) may appear again.
type listState struct {
	acked   map[string]time.Time // element -> when acknowledged
	pushed  map[string]bool      // every element sent
	retried map[string]bool
}

// checker is the clients of a trial: writers that record every
// acknowledged write, and the verification once the cluster is back.
type checker struct {
	cc      *redis.ClusterClient
	stop    chan struct{}
	wg      sync.WaitGroup
	seen    sync.Map // errors nodes returned, by kind
	appErrs sync.Map // errors that reached the application, by kind

	mu       sync.Mutex
	values   map[string]string // SET key -> its one acknowledged value
	valueAt  map[string]time.Time
	counters map[string]*counter
	lists    map[string]*listState
}

const (
	writers      = 4
	keysPerGroup = 40 // INCR and RPUSH keys per writer
)

// quiet turns off go-redis's CLIENT MAINT_NOTIFICATIONS handshake (and
// DisableIdentity its CLIENT SETINFO), which Redis 7.0 does not know:
// their errors are not the cluster's.
var quiet = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

func newChecker(addrs []string) *checker {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialTimeout: time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRedirects: 8, MaintNotificationsConfig: quiet, DisableIdentity: true})
	c := &checker{cc: cc, stop: make(chan struct{}), values: map[string]string{}, valueAt: map[string]time.Time{},
		counters: map[string]*counter{}, lists: map[string]*listState{}}
	cc.OnNewNode(func(rdb *redis.Client) { rdb.AddHook(errorHook{&c.seen}) })
	return c
}

// start launches the writers; prefix keeps one trial's keys apart.
func (c *checker) start(prefix string) {
	for w := range writers {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-c.stop:
					return
				default:
				}
				c.writeOne(prefix, w, i)
			}
		}()
	}
}

func (c *checker) writeOne(prefix string, w, i int) {
	a := &attempts{}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), attemptsKey{}, a), 5*time.Second)
	defer cancel()
	group := fmt.Sprintf("%s:%d:%d", prefix, w, i%keysPerGroup)
	var key, elem string
	var err error
	var n int64
	switch i % 3 {
	case 0:
		key = fmt.Sprintf("%s:s:%d:%d", prefix, w, i)
		err = c.cc.Set(ctx, key, fmt.Sprint("v", i), 0).Err()
	case 1:
		key = group + ":c"
		n, err = c.cc.Incr(ctx, key).Result()
	case 2:
		key, elem = group+":l", fmt.Sprint(w, ".", i)
		err = c.cc.RPush(ctx, key, elem).Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch i % 3 {
	case 1:
		ct := c.counters[key]
		if ct == nil {
			ct = &counter{}
			c.counters[key] = ct
		}
		ct.mayHaveRun += int64(a.mayHaveRun)
		if err == nil {
			if n > ct.acked {
				ct.acked, ct.at = n, time.Now()
			}
		}
	case 2:
		ls := c.lists[key]
		if ls == nil {
			ls = &listState{acked: map[string]time.Time{}, pushed: map[string]bool{}, retried: map[string]bool{}}
			c.lists[key] = ls
		}
		ls.pushed[elem] = true
		if a.mayHaveRun > 1 {
			ls.retried[elem] = true
		}
		if err == nil {
			ls.acked[elem] = time.Now()
		}
	}
	if err != nil {
		count(&c.appErrs, kindOf(err))
		time.Sleep(20 * time.Millisecond) // do not spin while a node is down
		return
	}
	if i%3 == 0 {
		c.values[key] = fmt.Sprint("v", i)
		c.valueAt[key] = time.Now()
	}
}

// halt stops the writers and waits for them.
func (c *checker) halt() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.wg.Wait()
}

// verdict is what the read-back found.
type verdict struct {
	checked  int      // acknowledged writes read back
	lost     []string // missing or wrong, not explained by a failover
	failover []string // acknowledged less than replicationWindow before its master was killed or frozen and replaced
	retryDup int      // list elements twice after a go-redis retry of a lost reply
	// saved are writes missing under their key's name but present in the
	// copy fix saved when two nodes held different values for the key
	// (<key>:gocluster-conflict:...): kept, for the operator to merge.
	saved []string
}

// replicationWindow is how long before a failover a write may still be
// missing on the replica that takes over (replication on loopback takes
// milliseconds); an older write missing is a loss like any other.
const replicationWindow = time.Second

// verify reads every acknowledged write back through a fresh client;
// replaced are slots whose master was replaced by its replica after a
// fault at faultAt, where Redis's asynchronous replication may drop the
// writes acknowledged just before.
func (c *checker) verify(addrs []string, replaced map[int]bool, faultAt time.Time) (verdict, error) {
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialTimeout: time.Second, ReadTimeout: 5 * time.Second, MaintNotificationsConfig: quiet, DisableIdentity: true})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var v verdict
	savedCopies, err := savedCopiesOf(ctx, rc)
	if err != nil {
		return v, err
	}
	// miss files a write missing under its key: kept aside when one of
	// the key's saved copies holds it (inCopy), else lost.
	miss := func(key string, at time.Time, why string, inCopy func(name string) bool) {
		if slices.ContainsFunc(savedCopies[key], inCopy) {
			v.saved = append(v.saved, key+": "+why)
			return
		}
		if replaced[slots.KeySlot([]byte(key))] && at.After(faultAt.Add(-replicationWindow)) {
			v.failover = append(v.failover, key+": "+why)
		} else {
			v.lost = append(v.lost, key+": "+why)
		}
	}
	for key, want := range c.values {
		got, err := rc.Get(ctx, key).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return v, fmt.Errorf("GET %s: %w", key, err)
		}
		v.checked++
		if got != want {
			miss(key, c.valueAt[key], fmt.Sprintf("SET %q acknowledged, read %q", want, got),
				func(name string) bool { return rc.Get(ctx, name).Val() == want })
		}
	}
	for key, ct := range c.counters {
		got, err := rc.Get(ctx, key).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return v, fmt.Errorf("GET %s: %w", key, err)
		}
		v.checked++
		switch {
		case got < ct.acked:
			miss(key, ct.at, fmt.Sprintf("counter %d, %d acknowledged", got, ct.acked),
				func(name string) bool { n, err := rc.Get(ctx, name).Int64(); return err == nil && n >= ct.acked })
		case got > ct.mayHaveRun:
			v.lost = append(v.lost, fmt.Sprintf("%s: counter %d, only %d INCRs sent", key, got, ct.mayHaveRun))
		}
	}
	for key, ls := range c.lists {
		got, err := rc.LRange(ctx, key, 0, -1).Result()
		if err != nil {
			return v, fmt.Errorf("LRANGE %s: %w", key, err)
		}
		times := map[string]int{}
		for _, e := range got {
			times[e]++
		}
		for e, at := range ls.acked {
			v.checked++
			if times[e] == 0 {
				miss(key, at, "acknowledged element "+e+" missing",
					func(name string) bool { return rc.LPos(ctx, name, e, redis.LPosArgs{}).Err() == nil })
			}
		}
		for e, n := range times {
			switch {
			case !ls.pushed[e]:
				v.lost = append(v.lost, fmt.Sprintf("%s: element %s never pushed", key, e))
			case n > 1 && ls.retried[e]:
				v.retryDup++
			case n > 1:
				v.lost = append(v.lost, fmt.Sprintf("%s: element %s present %d times", key, e, n))
			}
		}
	}
	return v, nil
}

// savedCopiesOf lists the copies fix saved, by the key they belong to.
func savedCopiesOf(ctx context.Context, rc *redis.ClusterClient) (map[string][]string, error) {
	var mu sync.Mutex
	out := map[string][]string{}
	err := rc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		iter := m.Scan(ctx, 0, "*"+conflictMark+"*", 1000).Iterator()
		for iter.Next(ctx) {
			name := iter.Val()
			key := name[:strings.Index(name, conflictMark)]
			if strings.HasPrefix(key, "{") && strings.HasSuffix(key, "}") {
				key = key[1 : len(key)-1]
			}
			mu.Lock()
			out[key] = append(out[key], name)
			mu.Unlock()
		}
		return iter.Err()
	})
	return out, err
}

// conflictMark is in the name of every copy fix saves (pkg/admin).
const conflictMark = ":gocluster-conflict:"

// preload writes n keys through the cluster client, recorded as acknowledged.
func (c *checker) preload(t testing.TB, prefix string, n int) {
	t.Helper()
	c.preloadInto(t, c.cc, prefix, n)
}

// preloadInto writes n keys through w (the cluster, or the source of an
// import): all must be in the cluster at the end.
func (c *checker) preloadInto(t testing.TB, w redis.Cmdable, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += 1000 {
		pipe := w.Pipeline()
		for i := start; i < min(start+1000, n); i++ {
			pipe.Set(ctx, fmt.Sprintf("%s:%d", prefix, i), fmt.Sprint("p", i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("preload %s: %v", prefix, err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for i := range n {
		c.values[fmt.Sprintf("%s:%d", prefix, i)] = fmt.Sprint("p", i)
		c.valueAt[fmt.Sprintf("%s:%d", prefix, i)] = now
	}
}

// preloadSlot writes n keys of one slot straight to its owner and
// returns their names.
func (c *checker) preloadSlot(t testing.TB, owner *redis.Client, slot, n int) []string {
	t.Helper()
	tag := ""
	for i := 0; ; i++ {
		if tag = fmt.Sprint("t", i); slots.KeySlot([]byte(tag)) == slot {
			break
		}
	}
	ctx := context.Background()
	pipe := owner.Pipeline()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("{%s}:k%d", tag, i)
		pipe.Set(ctx, keys[i], fmt.Sprint("o", i), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("preload slot %d: %v", slot, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for i, k := range keys {
		c.values[k] = fmt.Sprint("o", i)
		c.valueAt[k] = now
	}
	return keys
}
