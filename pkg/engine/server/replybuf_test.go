package server

import (
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/internal/redistest"
)

// The reply buffer as unit/replybufsize checks it, compared with
// redis-server 7.0.15: 16 KB for a new client; with the peak reset every
// 100 ms an idle client's shrinks to 1-2 KB; with the peak kept, a client
// reading a 32 KB value sees it double back to 16 KB; INFO counts both
// kinds of resize, and DEBUG REPLYBUFFER RESIZING 0 stops them.
func TestReplyBufferMatchesRedisServer(t *testing.T) {
	addrs := map[string]string{
		"redis":  redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--enable-debug-command", "yes"}}).Addr(),
		"engine": startServerArgs(t, "--enable-debug-command", "yes").Addr().String(),
	}
	for name, addr := range addrs {
		admin, client := dial(t, addr), dial(t, addr)
		client.do(t, "CLIENT", "SETNAME", "rb")
		rbs := func() int { return clientListFields(t, admin, "rb", "rbs")[0] }
		if got := rbs(); got != 16384 {
			t.Errorf("%s: a new client's rbs=%d, want 16384", name, got)
		}
		admin.do(t, "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
		if !waitFor(func() bool { n := rbs(); return n >= 1024 && n < 2046 }) {
			t.Errorf("%s: an idle client's rbs=%d, want 1024-2045", name, rbs())
		}
		admin.do(t, "SET", "bigval", strings.Repeat("x", 32768))
		admin.do(t, "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "NEVER")
		if !waitFor(func() bool { client.do(t, "GET", "bigval"); n := rbs(); return n >= 16384 && n < 32768 }) {
			t.Errorf("%s: a busy client's rbs=%d, want 16384-32767", name, rbs())
		}
		if shrinks, expands := infoIntField(t, admin, "stats", "reply_buffer_shrinks"),
			infoIntField(t, admin, "stats", "reply_buffer_expands"); shrinks < 1 || expands < 1 {
			t.Errorf("%s: reply_buffer_shrinks=%d reply_buffer_expands=%d, want both > 0", name, shrinks, expands)
		}
		admin.do(t, "DEBUG", "REPLYBUFFER", "RESIZING", "0")
		admin.do(t, "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
		time.Sleep(400 * time.Millisecond)
		if got := rbs(); got != 16384 {
			t.Errorf("%s: with resizing off rbs=%d, want it kept at 16384", name, got)
		}
		admin.do(t, "DEBUG", "REPLYBUFFER", "RESIZING", "1")
		admin.do(t, "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "RESET")
	}
}

// waitFor polls cond for up to two seconds.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
