package server

import (
	"sync"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// TestAOFRewriteRacesStop: rewrites (BGREWRITEAOF, a replica's full
// resync) may start while CONFIG SET appendonly no or shutdown closes the
// AOF; neither order may crash the node (a nil log once did).
func TestAOFRewriteRacesStop(t *testing.T) {
	cfg := config.Default()
	if err := cfg.ParseArgs([]string{"--port", "0", "--bind", "127.0.0.1", "--dir", t.TempDir(), "--appendonly", "yes"}); err != nil {
		t.Fatal(err)
	}
	s := New(cfg, store.New(), nil)
	if err := s.LoadData(); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); s.rewriteAOF(false) }()
		go func() { defer wg.Done(); s.stopAOF() }()
		wg.Wait()
		for s.aof.rewriting.Load() {
			time.Sleep(time.Millisecond)
		}
		if s.aof.log.Load() == nil {
			if err := s.rewriteAOF(true); err != nil { // CONFIG SET appendonly yes
				t.Fatal(err)
			}
		}
	}
	s.stopAOF()
}
