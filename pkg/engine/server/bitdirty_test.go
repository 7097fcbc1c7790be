package server

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

var changesLine = regexp.MustCompile(`rdb_changes_since_last_save:(\d+)`)

// TestBitWritesCountChangesAsRedis: SETBIT and BITFIELD count toward
// rdb_changes_since_last_save only when they create the key, grow it or
// flip bits (BITFIELD once per changing write), on both servers alike.
func TestBitWritesCountChangesAsRedis(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	changes := func(c *rawConn) int {
		m := changesLine.FindStringSubmatch(show(c.do(t, "INFO", "persistence")))
		if m == nil {
			t.Fatal("INFO has no rdb_changes_since_last_save")
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	for _, cmd := range [][]string{
		{"SETBIT", "foo", "0", "0"}, {"SETBIT", "foo", "0", "0"}, {"SETBIT", "foo", "0", "1"}, {"SETBIT", "foo", "0", "1"},
		{"SETBIT", "foo", "90", "0"}, {"BITFIELD", "bf", "SET", "i5", "0", "0"}, {"BITFIELD", "bf", "SET", "i5", "0", "0"},
		{"BITFIELD", "bf", "SET", "i5", "0", "1", "SET", "i5", "0", "1", "SET", "u4", "8", "3"},
		{"BITFIELD", "bf", "INCRBY", "i5", "0", "1"}, {"BITFIELD", "bf", "INCRBY", "i5", "0", "0"},
		{"BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"}, {"BITFIELD", "bf", "SET", "i5", "90", "0"},
		{"SET", "i", "1"}, {"SETBIT", "i", "2", "1"}, {"OBJECT", "ENCODING", "i"},
	} {
		before := [2]int{changes(real), changes(eng)}
		both(t, real, eng, cmd...)
		if dr, de := changes(real)-before[0], changes(eng)-before[1]; dr != de {
			t.Errorf("%q: redis-server counted %d changes, engine %d", cmd, dr, de)
		}
	}
}
