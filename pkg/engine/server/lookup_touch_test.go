package server

import (
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestLookupTouchMatchesRedisServer: a key restored with a large idle time
// keeps it across the lookups Redis makes with LOOKUP_NOTOUCH (TYPE,
// EXISTS, TTL, PTTL, EXPIRETIME, PEXPIRETIME, OBJECT) and loses it to an
// ordinary read and to TOUCH, on both servers.
func TestLookupTouchMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis"}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	for _, c := range []*rawConn{real, eng} {
		c.do(t, "SET", "src", "v")
	}
	payload := string(real.do(t, "DUMP", "src").Str)
	compareArgs(t, real, eng, [][]string{
		{"RESTORE", "k", "0", payload, "IDLETIME", "1000"}, {"OBJECT", "IDLETIME", "k"},
		{"TYPE", "k"}, {"EXISTS", "k"}, {"TTL", "k"}, {"PTTL", "k"},
		{"EXPIRETIME", "k"}, {"PEXPIRETIME", "k"}, {"OBJECT", "ENCODING", "k"},
		{"OBJECT", "IDLETIME", "k"},
		{"STRLEN", "k"},
		{"OBJECT", "IDLETIME", "k"},
		{"RESTORE", "k", "0", payload, "IDLETIME", "1000", "REPLACE"},
		{"GET", "k"},
		{"OBJECT", "IDLETIME", "k"},
		{"RESTORE", "k", "0", payload, "IDLETIME", "1000", "REPLACE"},
		{"TOUCH", "k", "nosuch"},
		{"OBJECT", "IDLETIME", "k"},
	})
}
