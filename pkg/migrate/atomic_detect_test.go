package migrate

import (
	"context"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/engine"
	"github.com/gocluster/gocluster/pkg/engine/config"
)

// startSurfaceEngine starts an in-process engine node presenting surface
// (engine-atomic-surface) and returns its address.
func startSurfaceEngine(t *testing.T, surface string) string {
	t.Helper()
	cfg := config.Default()
	if err := cfg.ParseArgs([]string{"--port", "0", "--bind", "127.0.0.1", "--dir", t.TempDir(), "--loglevel", "nothing",
		"--engine-atomic-surface", surface}); err != nil {
		t.Fatal(err)
	}
	n, err := engine.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n.Addr()
}

// TestChooseMoverBySurface: detection keys on the commands a node serves,
// not on what it is: engine nodes presenting only Redis 8.4's surface get
// the Redis 8.4 mover, Valkey's wins when every node has it, nodes sharing
// neither fall back (auto) or are refused in one line naming the reason
// (always), and redis-server 7.0 has neither.
func TestChooseMoverBySurface(t *testing.T) {
	both, valkey := startSurfaceEngine(t, "both"), startSurfaceEngine(t, "valkey")
	r84a, r84b := startSurfaceEngine(t, "redis84"), startSurfaceEngine(t, "redis84")
	redis7 := redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr()
	pool, err := conn.NewPool(conn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ctx := context.Background()

	for addr, want := range map[string]AtomicSurfaces{
		both: {Valkey: true, Redis84: true}, valkey: {Valkey: true}, r84a: {Redis84: true}, redis7: {},
	} {
		got, why, err := AtomicSupport(ctx, pool, addr)
		if err != nil || got != want || (why == "") != want.Any() {
			t.Errorf("AtomicSupport(%s) = %+v, %q, %v; want %+v", addr, got, why, err, want)
		}
	}
	job := func(src, dst string) Job {
		return Job{Moves: []Move{{Slot: 1, Source: Node{ID: "s", Addr: src}, Target: Node{ID: "t", Addr: dst}}}}
	}
	for _, tc := range []struct {
		src, dst string
		mode     AtomicMode
		want     string // mover, or "error: <text>"
	}{
		{both, both, AtomicAuto, MoverAtomic},
		{both, valkey, AtomicAlways, MoverAtomic},
		{r84a, r84b, AtomicAlways, MoverAtomic84},
		{both, r84a, AtomicAuto, MoverAtomic84},
		{r84a, both, AtomicNever, MoverMigrate},
		{valkey, r84a, AtomicAuto, MoverMigrate},
		{valkey, r84a, AtomicAlways, "error: the nodes share no atomic slot migration"},
		{r84a, redis7, AtomicAuto, MoverMigrate},
		{r84a, redis7, AtomicAlways, "error: " + redis7 + " runs redis 7.0.15, which has no atomic slot migration"},
	} {
		got, err := ChooseMover(ctx, pool, job(tc.src, tc.dst), tc.mode)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(tc.want, "error: ") || !strings.Contains(msg, strings.TrimPrefix(tc.want, "error: ")) ||
				strings.Contains(msg, "\n") || !strings.Contains(msg, "nothing was changed") {
				t.Errorf("ChooseMover(%s -> %s, %s): %v; want %s", tc.src, tc.dst, tc.mode, err, tc.want)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("ChooseMover(%s -> %s, %s) = %s; want %s", tc.src, tc.dst, tc.mode, got, tc.want)
		}
	}
}
