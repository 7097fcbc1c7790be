package script

import (
	"fmt"
	"runtime"
	"testing"
)

// refusingHost answers every redis.call with an error: these tests only
// load scripts.
type refusingHost struct{}

func (refusingHost) Call([][]byte, int) []byte      { return []byte("-ERR no server here\r\n") }
func (refusingHost) Log(int, string)                {}
func (refusingHost) ACLCheck([][]byte) (bool, bool) { return false, false }
func (refusingHost) Prepare([]string, bool) string  { return "" }

// TestCachedScriptMemory reports the live heap a cached script costs (the
// compiler's buffers trimmed): 10000 distinct ~100-byte scripts.
func TestCachedScriptMemory(t *testing.T) {
	e := New(refusingHost{})
	defer e.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 10000
	for i := range n {
		if _, msg := e.Load([]byte(fmt.Sprintf("local n = redis.call('incrby', KEYS[1], %d) if n > 100 then return n * 2 end return n -- %08d", i, i))); msg != "" {
			t.Fatal(msg)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("live heap per cached script: %d B", per)
	if count, _ := e.Stats(); count != n {
		t.Fatalf("%d scripts cached, want %d", count, n)
	}
	if per > 4096 {
		t.Errorf("a cached script costs %d B of heap, want under 4 KB", per)
	}
	runtime.KeepAlive(e)
}
