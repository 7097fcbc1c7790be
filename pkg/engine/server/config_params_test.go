package server

import (
	"net"
	"sort"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// configNames is CONFIG GET *'s parameter names, sorted.
func configNames(t *testing.T, c *rawConn) []string {
	rep := c.do(t, "CONFIG", "GET", "*")
	var names []string
	for i := 0; i+1 < len(rep.Elems); i += 2 {
		names = append(names, string(rep.Elems[i].Str))
	}
	sort.Strings(names)
	return names
}

// TestConfigParametersMatchRedisServer: CONFIG GET * names exactly what
// redis-server 7.0 names, and the parameters the engine only keeps are
// validated (type, range, enum, immutability) and reported as Redis does.
func TestConfigParametersMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	want, got := configNames(t, real), configNames(t, eng)
	wantSet := map[string]bool{}
	for _, n := range want {
		wantSet[n] = true
	}
	for _, n := range got {
		if !wantSet[n] {
			t.Errorf("engine reports %q, redis-server does not", n)
		}
		delete(wantSet, n)
	}
	for n := range wantSet {
		t.Errorf("redis-server reports %q, the engine does not", n)
	}
	compareArgs(t, real, eng, scriptLines(`
CONFIG GET latency-monitor-threshold
CONFIG SET latency-monitor-threshold 100
CONFIG SET latency-monitor-threshold -1
CONFIG SET latency-monitor-threshold x
CONFIG GET latency-monitor-threshold
CONFIG SET lazyfree-lazy-expire yes
CONFIG SET lazyfree-lazy-server-del maybe
CONFIG GET lazyfree-lazy-expire
CONFIG SET activedefrag no
CONFIG SET active-defrag-cycle-max 100
CONFIG SET active-defrag-cycle-max 50
CONFIG GET active-defrag-cycle-max
CONFIG SET client-query-buffer-limit 1mb
CONFIG SET client-query-buffer-limit 100
CONFIG GET client-query-buffer-limit
CONFIG SET repl-diskless-load swapdb
CONFIG SET repl-diskless-load sometimes
CONFIG GET repl-diskless-load
CONFIG SET oom-score-adj relative
CONFIG GET oom-score-adj
CONFIG SET shutdown-timeout 5
CONFIG SET maxmemory-clients 10%
CONFIG GET maxmemory-clients
CONFIG SET maxmemory-clients 1mb
CONFIG GET maxmemory-clients
CONFIG SET tls-port 70000
CONFIG SET tls-session-cache-size 100
CONFIG GET tls-session-cache-size
CONFIG SET sanitize-dump-payload clients
CONFIG SET latency-tracking-info-percentiles 101
CONFIG SET aclfile /tmp/x
CONFIG SET rdbchecksum no
CONFIG SET supervised no
CONFIG SET unixsocket /tmp/sock
CONFIG SET slave-lazy-flush yes
CONFIG GET replica-lazy-flush
CONFIG GET slaveof
CONFIG SET acl-pubsub-default allchannels
CONFIG GET acl-pubsub-default
`))
	// multi-word values
	compareArgs(t, real, eng, [][]string{
		{"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 30"},
		{"CONFIG", "GET", "client-output-buffer-limit"},
		{"CONFIG", "SET", "client-output-buffer-limit", "replica 0 0 0 normal 1 2 3"},
		{"CONFIG", "GET", "client-output-buffer-limit"},
		{"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb"},
		{"CONFIG", "SET", "client-output-buffer-limit", "nosuchclass 1 1 1"},
		{"CONFIG", "SET", "oom-score-adj-values", "0 100 200"},
		{"CONFIG", "GET", "oom-score-adj-values"},
		{"CONFIG", "SET", "oom-score-adj-values", "0 100"},
		{"CONFIG", "SET", "shutdown-on-sigterm", "nosave force"},
		{"CONFIG", "GET", "shutdown-on-sigterm"},
		{"CONFIG", "SET", "shutdown-on-sigterm", "save nosave"},
		{"CONFIG", "SET", "latency-tracking-info-percentiles", "50 99.99"},
		{"CONFIG", "GET", "latency-tracking-info-percentiles"},
		{"CONFIG", "SET", "latency-tracking-info-percentiles", ""},
		{"CONFIG", "GET", "latency-tracking-info-percentiles"},
	})
}

// CONFIG SET is all or nothing as in Redis 7.0: a duplicate name or an
// invalid value leaves every option as it was; hidden options answer only
// when named; bind changes at run time, and a port taken is refused.
func TestConfigSetAtomicAndBindMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	srv := startServer(t)
	eng := dial(t, srv.Addr().String())
	compareArgs(t, real, eng, [][]string{
		{"CONFIG", "SET", "maxmemory", "10000002"},
		{"CONFIG", "SET", "maxmemory", "10000001", "maxmemory", "10000003"},
		{"CONFIG", "SET", "maxmemory", "10000001", "maxmemory-clients", "200%", "client-query-buffer-limit", "invalid"},
		{"CONFIG", "GET", "maxmemory"},
		{"CONFIG", "GET", "maxmemory-clients"},
		{"CONFIG", "SET", "maxmemory", "0"},
		{"CONFIG", "GET", "key-load-delay"},
		{"CONFIG", "GET", "key-load-*"},
		{"CONFIG", "SET", "rdb-key-save-delay", "100"},
		{"CONFIG", "GET", "rdb-key-save-delay"},
		{"CONFIG", "SET", "rdb-key-save-delay", "0"},
	})
	// A port another process listens on: refused, nothing changes.
	busy := redistest.Start(t, redistest.Options{Flavor: "redis"})
	busyPort := strings.TrimPrefix(busy.Addr(), "127.0.0.1:")
	for _, c := range []*rawConn{real, eng} {
		r := c.do(t, "CONFIG", "SET", "maxmemory", "10000001", "port", busyPort)
		if !strings.HasPrefix(string(r.Str), "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port") {
			t.Errorf("CONFIG SET port taken: %s", show(r))
		}
		if got := show(c.do(t, "CONFIG", "GET", "maxmemory")); !strings.Contains(got, `$"0"`) {
			t.Errorf("maxmemory after a refused CONFIG SET: %s", got)
		}
	}
	// bind to another loopback address: the old one stops accepting.
	if got := show(eng.do(t, "CONFIG", "SET", "bind", "127.0.0.2")); got != `+"OK"` {
		t.Fatalf("CONFIG SET bind 127.0.0.2: %s", got)
	}
	port := strings.TrimPrefix(srv.Addr().String(), "127.0.0.2:")
	if c, err := net.Dial("tcp", "127.0.0.2:"+port); err != nil {
		t.Errorf("not listening on 127.0.0.2:%s: %v", port, err)
	} else {
		c.Close()
	}
	if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
		c.Close()
		t.Errorf("still listening on 127.0.0.1:%s after CONFIG SET bind 127.0.0.2", port)
	}
	if got := show(eng.do(t, "PING")); got != `+"PONG"` { // connections made before stay
		t.Errorf("PING on the old connection: %s", got)
	}
}
