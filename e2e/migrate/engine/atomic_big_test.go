package engine

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// The big keys: one string value and one hash, in the slot an
// atomic reshard moves.
const (
	bigValueBytes = 50 << 20
	bigHashFields = 1_000_000
)

// tagInSlot returns a hash tag whose keys hash to slot.
func tagInSlot(slot int) string {
	for i := 0; ; i++ {
		if tag := "{big" + strconv.Itoa(i) + "}"; slots.Slot(tag) == slot {
			return tag
		}
	}
}

// slotLoad is a go-redis client writing and reading keys of one slot, and
// adding fields to the big hash, while the slot moves.
type slotLoad struct {
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error
	ops   int
	worst time.Duration
	added int // live fields written to the hash: live:0 .. live:added-1
}

func startSlotLoad(cc *redis.ClusterClient, tag string) *slotLoad {
	l := &slotLoad{stop: make(chan struct{})}
	ctx := context.Background()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			default:
			}
			k := tag + ":probe:" + strconv.Itoa(i%32)
			t0 := time.Now()
			err := cc.Set(ctx, k, i, 0).Err()
			if err == nil {
				err = cc.HSet(ctx, tag+":hash", "live:"+strconv.Itoa(i), i).Err()
			}
			if err == nil {
				var v int
				if v, err = cc.Get(ctx, k).Int(); err == nil && v != i {
					err = fmt.Errorf("GET %s = %d after SET %d", k, v, i)
				}
			}
			d := time.Since(t0)
			l.mu.Lock()
			l.ops++
			l.worst = max(l.worst, d)
			if err != nil {
				l.errs = append(l.errs, err)
			} else {
				l.added = i + 1
			}
			l.mu.Unlock()
			if err != nil {
				return // the hash's live fields must stay contiguous
			}
		}
	}()
	return l
}

func (l *slotLoad) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if len(l.errs) > 0 {
		t.Fatalf("client on the moving slot: %d errors, first: %v", len(l.errs), l.errs[0])
	}
	t.Logf("client on the moving slot: %d operations, 0 errors, slowest SET+HSET+GET %v", l.ops, l.worst)
}

// TestAtomicReshardBigKeys: a 50 MB string and a 1M-field hash in the slot
// an atomic reshard moves, while a go-redis client writes that slot (and
// that hash): 0 client errors; the target, and its replica, hold every
// byte and every field; the source holds none.
func TestAtomicReshardBigKeys(t *testing.T) {
	e := startEngineCluster(t, "--enable-debug-command", "yes")
	ctx := context.Background()
	var source, target *engine.Node
	ms := e.masters(t)
	for _, m := range ms {
		sl, err := m.Client().ClusterSlots(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sl {
			if r.Start == 0 && r.Nodes[0].ID == myID(t, m) {
				source = m
			}
		}
	}
	for _, m := range ms {
		if m != source {
			target = m
			break
		}
	}
	tag := tagInSlot(0) // the source's lowest slot: the one a 1-slot reshard moves

	value := make([]byte, bigValueBytes)
	rng := rand.NewChaCha8([32]byte{14})
	rng.Read(value)
	t0 := time.Now()
	if err := e.cc.Set(ctx, tag+":string", value, 0).Err(); err != nil {
		t.Fatal(err)
	}
	const perCmd, perPipe = 1000, 50
	for base := 0; base < bigHashFields; base += perCmd * perPipe {
		p := e.cc.Pipeline()
		for c := base; c < min(base+perCmd*perPipe, bigHashFields); c += perCmd {
			args := make([]any, 0, 2*perCmd)
			for f := c; f < c+perCmd; f++ {
				args = append(args, "f:"+strconv.Itoa(f), f)
			}
			p.HSet(ctx, tag+":hash", args...)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote the big keys in %v", time.Since(t0))

	load := startSlotLoad(e.cc, tag)
	time.Sleep(100 * time.Millisecond)
	t0 = time.Now()
	r := harness.Run(t, "reshard", e.seed(), "--from", myID(t, source), "--to", target.Addr(), "--slots", "1",
		"--atomic", "always", "--yes", "--json")
	took := time.Since(t0)
	if r.Code != 0 {
		t.Fatalf("reshard --atomic always: exit %d\n%s", r.Code, r.Output())
	}
	if d := doneLine(t, r.Stdout); d["mover"] != migrate.MoverAtomic || d["moved_slots"] != float64(1) {
		t.Fatalf("reshard summary: %v", d)
	}
	time.Sleep(100 * time.Millisecond)
	load.finish(t)
	t.Logf("atomic reshard of the slot took %v", took)

	if n, err := source.Client().Do(ctx, "CLUSTER", "COUNTKEYSINSLOT", 0).Int(); err != nil || n != 0 {
		t.Fatalf("the source still holds %d keys of the moved slot (%v)", n, err)
	}
	if n := source.Client().DBSize(ctx).Val(); n != 0 {
		t.Fatalf("the source holds %d keys, want 0", n)
	}
	t0 = time.Now()
	// Reading the big keys back takes seconds on a loaded machine (race
	// detector, parallel packages): more than a node client's 5 s timeout.
	patient := redis.NewClient(&redis.Options{Addr: target.Addr(), ReadTimeout: time.Minute, MaxRetries: -1})
	defer patient.Close()
	checkBigKeys(t, patient, tag, load.added)
	if !bytes.Equal([]byte(patient.Get(ctx, tag+":string").Val()), value) {
		t.Fatal("the 50 MB value differs on the target")
	}
	// The target's replica holds the same: same digests, computed there.
	replica := replicaOf(t, e, target)
	digest := func(n *engine.Node, key string) string {
		return n.Client().Do(ctx, "DEBUG", "DIGEST-VALUE", key).String()
	}
	for _, key := range []string{tag + ":string", tag + ":hash"} {
		want := digest(target, key)
		waitUntil(t, func() bool { return digest(replica, key) == want })
	}
	t.Logf("checked the target and its replica in %v", time.Since(t0))
}

// checkBigKeys reads the whole hash from c: every preloaded and every
// live field with its value.
func checkBigKeys(t *testing.T, c *redis.Client, tag string, live int) {
	t.Helper()
	ctx := context.Background()
	if n, err := c.StrLen(ctx, tag+":string").Result(); err != nil || n != bigValueBytes {
		t.Fatalf("%s: STRLEN of the big string = %d (%v)", c.Options().Addr, n, err)
	}
	h, err := c.HGetAll(ctx, tag+":hash").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != bigHashFields+live {
		t.Fatalf("%s: the hash has %d fields, want %d", c.Options().Addr, len(h), bigHashFields+live)
	}
	for f := range bigHashFields {
		if v := h["f:"+strconv.Itoa(f)]; v != strconv.Itoa(f) {
			t.Fatalf("%s: field f:%d = %q", c.Options().Addr, f, v)
		}
	}
	for i := range live {
		if v := h["live:"+strconv.Itoa(i)]; v != strconv.Itoa(i) {
			t.Fatalf("%s: field live:%d = %q", c.Options().Addr, i, v)
		}
	}
}

// replicaOf returns the running replica of master m.
func replicaOf(t *testing.T, e *engineCluster, m *engine.Node) *engine.Node {
	t.Helper()
	for _, n := range e.nodes {
		if n.Exited() || n == m {
			continue
		}
		role, err := n.Client().Do(context.Background(), "ROLE").Slice()
		if err != nil || role[0] != "slave" {
			continue
		}
		info := n.Client().Info(context.Background(), "replication").Val()
		if strings.Contains(info, "master_port:"+strconv.Itoa(m.Port)+"\r\n") {
			return n
		}
	}
	t.Fatalf("no replica of %s", m.Addr())
	return nil
}
