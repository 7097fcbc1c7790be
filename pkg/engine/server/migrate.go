package server

import (
	"bufio"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

func init() {
	cmd := def("migrate", -6, "write movablekeys noroute", 3, 3, 1, cmdMigrate)
	cmd.movable = migrateKeys
}

// migrateKeys finds MIGRATE's keys: the key argument, or the list after KEYS.
func migrateKeys(args [][]byte) []int {
	for i := 6; i < len(args); i++ {
		switch {
		case eq(args[i], "keys") && len(args[3]) == 0:
			var out []int
			for j := i + 1; j < len(args); j++ {
				out = append(out, j)
			}
			return out
		case eq(args[i], "auth"):
			i++
		case eq(args[i], "auth2"):
			i += 2
		}
	}
	if len(args) > 3 && len(args[3]) > 0 {
		return []int{3}
	}
	return nil
}

// migrateConn is a cached connection to a MIGRATE target; like Redis, the
// engine keeps it for reuse and drops it after 10 s idle.
type migrateConn struct {
	conn     net.Conn
	br       *bufio.Reader
	lastDB   int64
	lastUsed time.Time
}

type migrateConns struct {
	mu    sync.Mutex
	conns map[string]*migrateConn
}

const migrateIdle = 10 * time.Second

func (m *migrateConns) get(addr string, timeout time.Duration) (*migrateConn, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.pruneLocked(now)
	if mc, ok := m.conns[addr]; ok {
		mc.lastUsed = now
		return mc, true, nil
	}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, false, err
	}
	mc := &migrateConn{conn: conn, br: bufio.NewReader(conn), lastDB: -1, lastUsed: now}
	if m.conns == nil {
		m.conns = map[string]*migrateConn{}
	}
	m.conns[addr] = mc
	return mc, false, nil
}

func (m *migrateConns) pruneLocked(now time.Time) {
	for a, mc := range m.conns {
		if now.Sub(mc.lastUsed) > migrateIdle {
			mc.conn.Close()
			delete(m.conns, a)
		}
	}
}

// cached closes the connections idle for too long, as Redis's cron does,
// and returns how many stay open (INFO migrate_cached_sockets).
func (m *migrateConns) cached() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked(time.Now())
	return len(m.conns)
}

func (m *migrateConns) drop(addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mc, ok := m.conns[addr]; ok {
		mc.conn.Close()
		delete(m.conns, addr)
	}
}

func (m *migrateConns) closeAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for a, mc := range m.conns {
		mc.conn.Close()
		delete(m.conns, a)
	}
}

// cmdMigrate: MIGRATE host port key|"" db timeout [COPY] [REPLACE]
// [AUTH pass] [AUTH2 user pass] [KEYS key...]. It runs under the store
// lock for its whole duration, as Redis blocks, so no write can slip in
// between sending a key and deleting it.
func cmdMigrate(c *Client, args [][]byte) {
	port, okPort := parseInt(args[2])
	dbid, okDB := parseInt(args[4])
	timeoutMs, okTimeout := parseInt(args[5])
	if !okPort || !okDB || !okTimeout {
		c.w.WriteError(errNotInt)
		return
	}
	if timeoutMs <= 0 {
		timeoutMs = 1000
	}
	var copyKeys, replace bool
	var authArgs [][]byte
	keys := [][]byte{args[3]}
	for i := 6; i < len(args); i++ {
		switch {
		case eq(args[i], "copy"):
			copyKeys = true
		case eq(args[i], "replace"):
			replace = true
		case eq(args[i], "auth") && i+1 < len(args):
			authArgs = [][]byte{[]byte("AUTH"), args[i+1]}
			i++
		case eq(args[i], "auth2") && i+2 < len(args):
			authArgs = [][]byte{[]byte("AUTH"), args[i+1], args[i+2]}
			i += 2
		case eq(args[i], "keys"):
			if len(args[3]) != 0 {
				c.w.WriteError("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
				return
			}
			keys = args[i+1:]
			i = len(args)
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	db := c.srv.DB
	type item struct {
		key     []byte
		ttl     int64
		payload []byte
	}
	var items []item
	now := db.Now()
	for _, k := range keys {
		v, ok := db.Export(k)
		if !ok {
			continue
		}
		ttl := int64(0)
		if at := db.Expire(k); at > 0 {
			ttl = max(at-now, 1)
		}
		items = append(items, item{key: k, ttl: ttl, payload: rdb.EncodeDump(v)})
	}
	if len(items) == 0 {
		c.w.WriteSimple("NOKEY")
		return
	}
	restore := []byte("RESTORE")
	if c.srv.Cluster != nil {
		restore = []byte("RESTORE-ASKING")
	}
	addr := net.JoinHostPort(string(args[1]), strconv.FormatInt(port, 10))
	timeout := time.Duration(timeoutMs) * time.Millisecond
	for attempt := 0; ; attempt++ {
		mc, cached, err := c.srv.migrate.get(addr, timeout)
		if err != nil {
			c.w.WriteError("IOERR error or timeout connecting to the client")
			return
		}
		var buf []byte
		expect := 0
		if authArgs != nil {
			buf = resp.AppendCommand(buf, authArgs...)
			expect++
		}
		selecting := mc.lastDB != dbid
		if selecting {
			buf = resp.AppendCommand(buf, []byte("SELECT"), args[4])
			expect++
		}
		for _, it := range items {
			cmd := [][]byte{restore, it.key, strconv.AppendInt(nil, it.ttl, 10), it.payload}
			if replace {
				cmd = append(cmd, []byte("REPLACE"))
			}
			buf = resp.AppendCommand(buf, cmd...)
		}
		mc.conn.SetDeadline(time.Now().Add(timeout))
		if _, err := mc.conn.Write(buf); err != nil {
			c.srv.migrate.drop(addr)
			if cached && attempt == 0 { // a stale cached socket: retry once on a fresh one
				continue
			}
			c.w.WriteError("IOERR error or timeout writing to target instance")
			return
		}
		var firstErr string
		readErr := false
		for i := 0; i < expect; i++ {
			r, err := resp.ReadReply(mc.br)
			if err != nil {
				readErr = true
				break
			}
			if r.Type == '-' && firstErr == "" {
				firstErr = string(r.Str)
			}
		}
		if readErr || firstErr != "" {
			c.srv.migrate.drop(addr)
			if readErr && cached && attempt == 0 {
				continue
			}
			if readErr {
				c.w.WriteError("IOERR error or timeout reading to target instance")
			} else {
				c.w.WriteError("ERR Target instance replied with error: " + firstErr)
			}
			return
		}
		if selecting {
			mc.lastDB = dbid
		}
		for _, it := range items {
			r, err := resp.ReadReply(mc.br)
			if err != nil {
				c.srv.migrate.drop(addr)
				c.w.WriteError("IOERR error or timeout reading to target instance")
				return
			}
			if r.Type == '-' {
				if firstErr == "" {
					firstErr = string(r.Str)
				}
				continue
			}
			if !copyKeys {
				// Only the keys that left are touched: a COPY changes
				// nothing here, and a WATCH on the keys must survive it
				// (gocluster copies under WATCH, then deletes in EXEC).
				db.Delete(it.key)
				db.Touch(it.key)
			}
		}
		mc.conn.SetDeadline(time.Time{})
		if firstErr != "" {
			c.w.WriteError("ERR Target instance replied with error: " + firstErr)
			return
		}
		c.w.WriteRaw(okReply)
		return
	}
}
