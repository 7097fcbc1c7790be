package server

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// Replication between engine nodes (not with real redis-server): a replica
// sends REPLSYNC to its master, which answers with a snapshot (FLUSHALL and
// one RESTORE ... REPLACE ABSTTL per key) and then streams every write
// command it executes, in execution order. Commands with relative TTLs are
// followed by a PEXPIREAT/PERSIST fix-up, and commands with random effects
// (SPOP) or network effects (MIGRATE) are sent as the resulting key states,
// so the replica converges on the master's exact data.

func init() {
	def("replsync", -1, "admin noscript nolock", 0, 0, 0, cmdReplSync)
}

// maxReplicaBuffer bounds what a slow replica may queue before it is
// dropped (it then reconnects and resyncs).
const maxReplicaBuffer = 256 << 20

// replicaLink is the master's side of one connected replica.
type replicaLink struct {
	addr       string // the replica's announced ip:port
	mu         sync.Mutex
	buf        []byte
	inFlight   bool // a write to the socket is in progress
	overflowed bool
	wake       chan struct{}
}

func (l *replicaLink) push(b []byte) {
	l.mu.Lock()
	if len(l.buf)+len(b) > maxReplicaBuffer {
		l.overflowed = true
	} else {
		l.buf = append(l.buf, b...)
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// drained reports whether everything queued was written to the socket.
func (l *replicaLink) drained() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buf) == 0 && !l.inFlight
}

// cmdReplSync: REPLSYNC [listening-port], the engine-to-engine sync.
func cmdReplSync(c *Client, args [][]byte) {
	port := "0"
	if len(args) > 1 {
		port = string(args[1])
	}
	c.serveReplica(port, c.srv.snapshotCommands)
}

// serveReplica turns this connection into a replication stream: preamble
// (built under the store lock, when the replica is registered, so the
// stream continues exactly where the snapshot ends), then every write.
func (c *Client) serveReplica(port string, preamble func() []byte) {
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	link := &replicaLink{addr: net.JoinHostPort(host, port), wake: make(chan struct{}, 1)}
	s := c.srv
	db := s.DB
	db.Mu.Lock()
	link.buf = preamble()
	s.replicas = append(s.replicas, link)
	s.replicaCount.Store(int64(len(s.replicas)))
	keys := db.DBSize()
	db.Mu.Unlock()
	s.Logger.Printf("replica %s connected, full sync of %d keys", link.addr, keys)

	defer func() {
		db.Mu.Lock()
		for i, l := range s.replicas {
			if l == link {
				s.replicas = append(s.replicas[:i], s.replicas[i+1:]...)
				break
			}
		}
		s.replicaCount.Store(int64(len(s.replicas)))
		db.Mu.Unlock()
		c.closeNow = true
		s.Logger.Printf("replica %s disconnected", link.addr)
	}()
	c.w.Flush()
	gone := make(chan struct{})
	go func() { // replicas only send acknowledgements now: a read ending means it left
		io.Copy(io.Discard, c.r)
		close(gone)
	}()
	defer func() { // the watcher must be done with the reader before serve resumes
		c.conn.Close()
		<-gone
	}()
	ping := time.NewTicker(10 * time.Second)
	defer ping.Stop()
	for {
		link.mu.Lock()
		out, overflowed := link.buf, link.overflowed
		link.buf, link.inFlight = nil, len(out) > 0
		link.mu.Unlock()
		if overflowed {
			return
		}
		if len(out) > 0 {
			c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
			_, err := c.conn.Write(out)
			link.mu.Lock()
			link.inFlight = false
			link.mu.Unlock()
			if err != nil {
				return
			}
			continue
		}
		select {
		case <-link.wake:
		case <-ping.C:
			link.push(replPing)
		case <-gone:
			return
		case <-s.done:
			return
		}
	}
}

// snapshotCommands encodes the whole keyspace as commands; called under the
// store lock so that the live stream continues exactly where it ends.
func (s *Server) snapshotCommands() []byte {
	db := s.DB
	out := resp.AppendCommand(nil, []byte("FLUSHALL"))
	for _, k := range db.Keys([]byte("*")) {
		out = s.appendKeyState(out, k)
	}
	return out
}

// appendKeyState encodes "this key now holds exactly this value (or
// nothing)": RESTORE key abs-ms payload REPLACE ABSTTL, or DEL key.
func (s *Server) appendKeyState(out, key []byte) []byte {
	db := s.DB
	v, ok := db.Export(key)
	if !ok {
		return resp.AppendCommand(out, []byte("DEL"), key)
	}
	at := max(db.Expire(key), 0)
	return resp.AppendCommand(out, []byte("RESTORE"), key, strconv.AppendInt(nil, at, 10),
		rdb.EncodeDump(v), []byte("REPLACE"), []byte("ABSTTL"))
}

// relativeTTL lists write commands whose TTL effect depends on the time
// they run; replicas get the resulting absolute expiry after them.
var relativeTTL = map[string]bool{"set": true, "setex": true, "psetex": true, "getex": true,
	"expire": true, "pexpire": true, "restore": true, "restore-asking": true}

// stateReplicated lists write commands replicated as resulting key states.
var stateReplicated = map[string]bool{"spop": true, "migrate": true}

// propagate queues an executed write command for every replica; called
// under the store lock, so the stream order is the execution order.
func (s *Server) propagate(cmd *command, args [][]byte) {
	var out []byte
	switch {
	case stateReplicated[cmd.name]:
		for _, i := range cmd.keyIndexes(args, nil) {
			out = s.appendKeyState(out, args[i])
		}
	default:
		out = resp.AppendCommand(nil, args...)
		if relativeTTL[cmd.name] && len(args) > 1 {
			switch at := s.DB.Expire(args[1]); {
			case at > 0:
				out = resp.AppendCommand(out, []byte("PEXPIREAT"), args[1], strconv.AppendInt(nil, at, 10))
			case at == -1:
				out = resp.AppendCommand(out, []byte("PERSIST"), args[1])
			}
		}
	}
	for _, l := range s.replicas {
		l.push(out)
	}
}

// ReplicaManager keeps this node replicating from whatever master role()
// names (isReplica, "ip:port"), reconnecting after failures and stopping
// when the node becomes a master. Poke makes it re-check at once (on a
// role change); it also re-checks every second. It stops with the server.
type ReplicaManager struct {
	srv   *Server
	role  func() (bool, string)
	poke  chan struct{}
	state sync.Mutex
	link  *replicaClient
}

// StartReplicaManager starts the manager goroutine.
func (s *Server) StartReplicaManager(role func() (isReplica bool, masterAddr string)) *ReplicaManager {
	m := &ReplicaManager{srv: s, role: role, poke: make(chan struct{}, 1)}
	s.replManager = m
	s.wg.Add(1)
	go m.loop()
	return m
}

// Poke asks for an immediate re-check of the role.
func (m *ReplicaManager) Poke() {
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

func (m *ReplicaManager) loop() {
	defer m.srv.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		m.reconcile()
		select {
		case <-m.srv.done:
			m.setLink(nil)
			return
		case <-m.poke:
		case <-t.C:
		}
	}
}

func (m *ReplicaManager) reconcile() {
	replica, master := m.role()
	_, port := splitHostPort(master)
	m.state.Lock()
	cur := m.link
	m.state.Unlock()
	if !replica || port == 0 {
		m.setLink(nil)
		return
	}
	if cur != nil && cur.addr == master && !cur.isDone() {
		return
	}
	m.setLink(m.srv.dialReplication(master))
}

func (m *ReplicaManager) setLink(l *replicaClient) {
	m.state.Lock()
	old := m.link
	m.link = l
	m.state.Unlock()
	if old != nil && old != l {
		old.stop()
	}
}

// linkUp reports whether the replication link is connected and synced.
func (m *ReplicaManager) linkUp() bool {
	m.state.Lock()
	defer m.state.Unlock()
	return m.link != nil && m.link.isUp()
}

// replicaClient is the replica's side: it applies the master's stream.
type replicaClient struct {
	addr string
	conn net.Conn
	mu   sync.Mutex
	up   bool
	done chan struct{}
}

func (r *replicaClient) isDone() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (r *replicaClient) isUp() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.up
}

func (r *replicaClient) stop() {
	r.conn.Close()
	<-r.done
}

// dialReplication connects to master and starts applying its stream; nil
// when the master cannot be reached (the manager retries).
func (s *Server) dialReplication(master string) *replicaClient {
	conn, err := net.DialTimeout("tcp", master, 2*time.Second)
	if err != nil {
		return nil
	}
	r := &replicaClient{addr: master, conn: conn, done: make(chan struct{})}
	var hello []byte
	if pass := s.Cfg.MasterAuth(); pass != "" {
		if user := s.Cfg.Get("masteruser"); user != "" {
			hello = resp.AppendCommand(hello, []byte("AUTH"), []byte(user), []byte(pass))
		} else {
			hello = resp.AppendCommand(hello, []byte("AUTH"), []byte(pass))
		}
	}
	hello = resp.AppendCommand(hello, []byte("REPLSYNC"), []byte(strconv.Itoa(s.Port())))
	go r.run(s, hello)
	return r
}

func (r *replicaClient) run(s *Server, hello []byte) {
	defer close(r.done)
	defer r.conn.Close()
	if _, err := r.conn.Write(hello); err != nil {
		return
	}
	br := bufio.NewReaderSize(r.conn, 64*1024)
	if s.Cfg.MasterAuth() != "" {
		if rep, err := resp.ReadReply(br); err != nil || rep.Type == '-' {
			s.Logger.Printf("replication from %s: AUTH failed: %s", r.addr, rep.Str)
			return
		}
	}
	s.Logger.Printf("replicating from master %s", r.addr)
	// the stream is plain commands, applied by a client whose replies are discarded
	applier := &Client{srv: s, conn: r.conn, user: "replication", authed: true, w: resp.NewWriter(io.Discard)}
	reader := resp.NewReaderFrom(br)
	for {
		args, err := reader.ReadCommand()
		if err != nil {
			r.mu.Lock()
			r.up = false
			r.mu.Unlock()
			if !s.closing.Load() {
				s.Logger.Printf("replication from %s stopped: %v", r.addr, err)
			}
			return
		}
		r.mu.Lock()
		r.up = true
		r.mu.Unlock()
		cmd := lookupCommand(args[0])
		if cmd == nil || cmd.noLock && cmd.name != "function" { // the stream only carries data commands (and FUNCTION LOAD...)
			continue
		}
		applier.callRecovering(cmd, args)
		applier.w.Reset(io.Discard)
	}
}
