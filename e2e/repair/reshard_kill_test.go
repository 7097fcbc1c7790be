package repair

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

var realMove = regexp.MustCompile(`Moving slot \d+ from \S+ to \S+:`)

// TestFixAfterKilledReshard kills a real `redis-cli --cluster reshard`
// with SIGKILL while a slot is open, then runs gocluster fix --yes:
// redis-cli --cluster check must be clean and every key readable with its
// value.
func TestFixAfterKilledReshard(t *testing.T) {
	ctx := context.Background()
	e := newFixEnv(t, "pw") // fix's MIGRATE must authenticate to the target
	// Keys everywhere, and 150 in each of the first 300 slots (the ones
	// the reshard moves first) so that a slot stays open long enough to
	// be caught mid-way with pipeline 1.
	pipe := e.cc.Pipeline()
	put := func(k, v string) {
		pipe.Set(ctx, k, v, 0)
		e.written[k] = v
		if pipe.Len() == 1000 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 10000 {
		put(fmt.Sprintf("key:%d", i), fmt.Sprintf("value:%d", i))
	}
	for slot := range 300 {
		for j := range 150 {
			put(key(slot, j), fmt.Sprintf("heavy:%d:%d", slot, j))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	src := e.ownerOf(0)
	dst := (src + 1) % 3
	srcNode := e.node(src)

	cmd := exec.Command(redistest.CLIBinary(t), "--cluster", "reshard", e.c.Addr(),
		"--cluster-from", e.id(src), "--cluster-to", e.id(dst), "--cluster-slots", "3000",
		"--cluster-yes", "--cluster-pipeline", "1", "-a", "pw", "--no-auth-warning")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })

	// Wait until slots have moved, then freeze redis-cli with SIGSTOP and
	// look: if a slot is open it stays open, and SIGKILL lands right there.
	// (Checking while it runs raced a fast server finishing the slot.)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("redis-cli reshard ended before it could be killed mid-way:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no open slot seen after 60s of reshard:\n%s", out.String())
		}
		// Plan lines also say "Moving slot N from <id>"; real moves name both addresses.
		if len(realMove.FindAllString(out.String(), -1)) <= 20 {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(srcNode.ClusterNodes(ctx).Val(), "->-") {
			break
		}
		if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	if rc := e.c.RedisCheck(t); !strings.Contains(rc.Stdout, "slots are open") {
		t.Fatalf("killing the reshard left no open slot; the test proves nothing:\n%s", rc.Stdout)
	}

	r := e.mustFix()
	want(t, r.Stdout, "Fixing open slot", "[OK] All 16384 slots covered.")
	if n := e.cc.DBSize(ctx).Val(); n != int64(len(e.written)) {
		t.Fatalf("cluster holds %d keys, want %d", n, len(e.written))
	}
	// The cluster stays usable: a fresh redis-cli check agrees with gocluster.
	if g := harness.Run(t, "check", e.c.Addr(), "-a", "pw"); g.Code != 0 {
		t.Fatalf("gocluster check after fix: exit %d\n%s", g.Code, g.Output())
	}
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
