package server

import (
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestGetKeysAndFlagsMatchRedisServer: COMMAND GETKEYSANDFLAGS names the
// same keys with the same key-spec flags as redis-server, for commands with
// one spec, several specs by position, keyword-started specs and SORT.
func TestGetKeysAndFlagsMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareArgs(t, real, eng, scriptLines(`
COMMAND GETKEYSANDFLAGS
COMMAND GETKEYSANDFLAGS nosuch k
COMMAND GETKEYSANDFLAGS set k1
COMMAND GETKEYSANDFLAGS ping
COMMAND GETKEYSANDFLAGS set k1 v1
COMMAND GETKEYSANDFLAGS get k1
COMMAND GETKEYSANDFLAGS mset k1 v1 k2 v2
COMMAND GETKEYSANDFLAGS del k1 k2 k3
COMMAND GETKEYSANDFLAGS LMOVE k1 k2 left right
COMMAND GETKEYSANDFLAGS rpoplpush k1 k2
COMMAND GETKEYSANDFLAGS sort k1 store k2
COMMAND GETKEYSANDFLAGS sort k1
COMMAND GETKEYSANDFLAGS zunionstore d 2 a b
COMMAND GETKEYSANDFLAGS zinter 2 a b
COMMAND GETKEYSANDFLAGS xread count 2 streams s1 s2 0 0
COMMAND GETKEYSANDFLAGS xreadgroup group g c streams s1 0
COMMAND GETKEYSANDFLAGS georadius k 0 0 1 km store d
COMMAND GETKEYSANDFLAGS eval x 2 a b
COMMAND GETKEYSANDFLAGS set k v get
COMMAND GETKEYSANDFLAGS bitfield k get u8 0
COMMAND GETKEYSANDFLAGS bitfield k set u8 0 1
COMMAND GETKEYSANDFLAGS bitop and d a b
COMMAND GETKEYSANDFLAGS object encoding k
COMMAND GETKEYSANDFLAGS rename a b
COMMAND GETKEYSANDFLAGS copy a b
COMMAND GETKEYSANDFLAGS smove a b m
COMMAND GETKEYSANDFLAGS blmpop 0 2 a b left
COMMAND GETKEYSANDFLAGS getex k
COMMAND GETKEYSANDFLAGS getdel k
COMMAND GETKEYSANDFLAGS hset h f v
COMMAND GETKEYSANDFLAGS expire k 1
COMMAND GETKEYS mset k1 v1 k2 v2
COMMAND GETKEYS eval x 0
COMMAND GETKEYS eval x 1 key
COMMAND GETKEYS memory usage key
COMMAND GETKEYS config get x
COMMAND GETKEYS get
COMMAND GETKEYS ping
COMMAND GETKEYS lcs key1 key2
COMMAND GETKEYS xgroup create key groupname $
COMMAND GETKEYS zunionstore target 2 a b
COMMAND GETKEYS zunionstore target 0
`))
}
