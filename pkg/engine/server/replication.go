package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/repl"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// Replication as Redis does it, both roles, with engine nodes and real
// redis-server alike. The master keeps a replication ID and an offset
// counting every byte of its replication stream, plus a circular backlog
// of the last repl-backlog-size bytes. A replica sends PSYNC <replid>
// <offset+1>: when the master still holds that history it answers
// +CONTINUE and the missing bytes, otherwise +FULLRESYNC <replid> <offset>
// and an RDB file, then the live stream of write commands. Replicas ACK
// their offset every second (REPLCONF ACK), which WAIT counts.
//
// Writes are propagated in a form any replica replays exactly: commands
// with relative TTLs are followed by PEXPIREAT/PERSIST, commands with
// random or network effects (SPOP, MIGRATE) are sent as the resulting key
// states, and keys deleted by expiry are sent as DEL.

// maxReplicaBuffer bounds what a slow replica may queue before it is
// dropped (it then reconnects and resyncs).
const maxReplicaBuffer = 256 << 20

// replState is the node's replication history and role (guarded by DB.Mu).
type replState struct {
	id, id2   string
	secondOff int64           // first offset not shared with id2's history; -1 = none
	off       int64           // master_repl_offset
	backlog   *repl.Backlog   // nil until a replica first attached
	selected  bool            // SELECT 0 was fed since the last full sync
	following bool            // this node is a replica: it only relays its master's stream
	master    string          // REPLICAOF's ip:port ("" = none); cluster mode uses the cluster's role
	pinging   bool            // the ping goroutine runs
	stats     [3]atomic.Int64 // sync_full, sync_partial_ok, sync_partial_err
	ro        atomic.Bool     // following, for the write path
}

func (s *Server) initRepl() {
	if s.repl.id == "" {
		s.repl.id, s.repl.id2, s.repl.secondOff = repl.NewID(), repl.ZeroID, -1
	}
}

// feedingOn keeps replicaCount, which tells the write path to propagate,
// in step with the state: a master with a backlog feeds it.
func (s *Server) feedingOn() {
	on := int64(0)
	if s.repl.backlog != nil && !s.repl.following {
		on = 1
	}
	s.replicaCount.Store(on)
	s.repl.ro.Store(s.repl.following)
}

// ensureBacklog creates the backlog when the first replica attaches.
func (s *Server) ensureBacklog() {
	s.initRepl()
	if s.repl.backlog == nil {
		s.repl.backlog = repl.NewBacklog(s.backlogSize(), s.repl.off)
	}
	if !s.repl.pinging {
		s.repl.pinging = true
		s.wg.Add(1)
		go s.pingReplicas()
	}
	s.feedingOn()
}

func (s *Server) backlogSize() int {
	n, err := strconv.ParseInt(s.Cfg.Get("repl-backlog-size"), 10, 64)
	if err != nil || n <= 0 {
		return 1 << 20
	}
	return int(min(n, 1<<34))
}

// replFeed appends p to the replication stream (backlog and every
// replica); called under the store lock.
func (s *Server) replFeed(p []byte) {
	r := &s.repl
	if r.backlog == nil || r.following {
		return
	}
	if !r.selected {
		r.selected = true
		s.replFeedRaw(resp.AppendCommand(nil, []byte("SELECT"), []byte("0")))
	}
	s.replFeedRaw(p)
}

// replFeedRaw adds bytes to the stream as they are (a replica relays its
// master's stream this way).
func (s *Server) replFeedRaw(p []byte) {
	r := &s.repl
	if r.backlog == nil || len(p) == 0 {
		return
	}
	r.backlog.Feed(p)
	r.off += int64(len(p))
	for _, l := range s.replicas {
		l.push(p)
	}
}

// pingReplicas sends PING in the stream every repl-ping-replica-period
// seconds, so replicas can tell a silent master from a dead one.
func (s *Server) pingReplicas() {
	defer s.wg.Done()
	last := time.Now()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		size := s.backlogSize() // CONFIG SET repl-backlog-size applies within a second
		s.DB.Mu.Lock()
		if b := s.repl.backlog; b != nil && b.Size() != size {
			b.Resize(size)
		}
		s.refreshGoodReplicas()
		s.DB.Mu.Unlock()
		period := time.Duration(max(s.Cfg.Int("repl-ping-replica-period"), 1)) * time.Second
		if time.Since(last) < period {
			continue
		}
		last = time.Now()
		if s.failingOver() { // the replicas must be able to catch up with the offset
			continue
		}
		s.DB.Mu.Lock()
		if len(s.replicas) > 0 {
			s.replFeed(replPing)
		}
		s.DB.Mu.Unlock()
	}
}

// replOffset is master_repl_offset.
func (s *Server) replOffset() int64 {
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	return s.repl.off
}

// ReplicationOffset is this node's replication offset (what the cluster
// bus gossips and failover ranks replicas by).
func (s *Server) ReplicationOffset() int64 { return s.replOffset() }

// serveReplica turns this connection into a replication stream: preamble
// (built under the store lock, when the replica is registered, so the
// stream continues exactly where it ends; nil refuses), then every write.
func (c *Client) serveReplica(port string, preamble func() []byte) {
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	link := newReplicaLink(c, net.JoinHostPort(host, port))
	s := c.srv
	db := s.DB
	db.Mu.Lock()
	start := preamble()
	if start == nil {
		db.Mu.Unlock()
		return
	}
	link.hold = s.replWriterHold
	link.queueOwned(start)
	s.setReplicas(append(s.replicas, link))
	db.Mu.Unlock()
	s.Logger.Printf("replica %s connected", link.addr)

	defer func() {
		db.Mu.Lock()
		for i, l := range s.replicas {
			if l == link {
				s.setReplicas(append(s.replicas[:i:i], s.replicas[i+1:]...))
				break
			}
		}
		s.refreshGoodReplicas()
		db.Mu.Unlock()
		c.closeNow = true
		s.Logger.Printf("replica %s disconnected", link.addr)
	}()
	c.w.Flush()
	gone := make(chan struct{})
	go func() { // replicas only send REPLCONF ACK now: a read ending means it left
		defer close(gone)
		for {
			args, err := c.r.ReadCommand()
			if err != nil {
				return
			}
			if len(args) == 3 && eq(args[0], "replconf") && eq(args[1], "ack") {
				if off, ok := parseInt(args[2]); ok {
					link.ackOff.Store(off)
				}
				link.ackTime.Store(time.Now().Unix())
			}
		}
	}()
	defer func() { // the watcher must be done with the reader before serve resumes
		c.conn.Close()
		<-gone
	}()
	link.writeLoop(s, gone)
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

// propagateExpired sends a key deleted by its TTL as DEL (Redis replicas
// do not expire keys themselves); called under the store lock.
func (s *Server) propagateExpired(key []byte) {
	if s.propagating() {
		del := resp.AppendCommand(nil, []byte("DEL"), key)
		s.replFeed(del)
		s.aofFeed(del)
		s.captureForms(del)
	}
}

// ReplicaManager keeps this node replicating from whatever master role()
// names (isReplica, "ip:port"), reconnecting after failures and stopping
// when the node becomes a master. Poke makes it re-check at once (on a
// role change); it also re-checks every second. It stops with the server.
type ReplicaManager struct {
	srv      *Server
	role     func() (bool, string)
	master   string // the master reconcile last saw, "" as a master
	poke     chan struct{}
	state    sync.Mutex
	link     *replicaClient
	onOffset atomic.Pointer[func(int64)]
}

// StartReplicaManager starts the manager goroutine.
func (s *Server) StartReplicaManager(role func() (isReplica bool, masterAddr string)) *ReplicaManager {
	m := &ReplicaManager{srv: s, role: role, poke: make(chan struct{}, 1)}
	s.replManager = m
	s.wg.Add(1)
	go m.loop()
	return m
}

// OnOffset has fn told this node's replication offset ten times a second
// (the cluster gossips it; failover ranks replicas by it).
func (m *ReplicaManager) OnOffset(fn func(int64)) { m.onOffset.Store(&fn) }

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
	offT := time.NewTicker(100 * time.Millisecond)
	defer offT.Stop()
	for {
		m.reconcile()
	wait:
		select {
		case <-m.srv.done:
			m.setLink(nil)
			return
		case <-m.poke:
		case <-t.C:
		case <-offT.C:
			if fn := m.onOffset.Load(); fn != nil {
				(*fn)(m.srv.replOffset())
			}
			goto wait
		}
	}
}

func (m *ReplicaManager) reconcile() {
	replica, master := m.role()
	_, port := splitHostPort(master)
	s := m.srv
	s.DB.Mu.Lock()
	if replica && master != m.master {
		s.disconnectBlocked() // a new master: Redis's replicationSetMaster
	}
	if m.master = ""; replica {
		m.master = master
	}
	switch {
	case replica && !s.repl.following:
		s.repl.following = true
		s.feedingOn()
	case !replica && s.repl.following:
		s.promote()
	}
	s.DB.Mu.Unlock()
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
	m.setLink(s.dialReplication(master))
}

// promote makes a replica a master: its history gets a new ID, the old
// one stays acceptable for PSYNC up to the current offset (replid2), so
// the other replicas of the old master continue with a partial resync.
// Called under the store lock.
func (s *Server) promote() {
	s.initRepl()
	r := &s.repl
	r.following = false
	r.id2, r.secondOff, r.id = r.id, r.off+1, repl.NewID()
	r.selected = false
	for _, l := range s.replicas { // they must learn the new ID
		l.drop()
	}
	s.feedingOn()
	s.Logger.Printf("replication: now a master, replid %s, replid2 %s up to offset %d", r.id, r.id2, r.off)
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

func (m *ReplicaManager) current() *replicaClient {
	m.state.Lock()
	defer m.state.Unlock()
	return m.link
}

// linkUp reports whether the replication link is connected and synced.
func (m *ReplicaManager) linkUp() bool {
	l := m.current()
	return l != nil && l.isUp()
}

// replicaClient is the replica's side: it applies the master's stream.
type replicaClient struct {
	addr    string
	conn    net.Conn
	mu      sync.Mutex
	up      bool
	loading bool
	lastIO  atomic.Int64
	wmu     sync.Mutex // serialises ACKs
	done    chan struct{}
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

func (r *replicaClient) setUp(up, loading bool) {
	r.mu.Lock()
	r.up, r.loading = up, loading
	r.mu.Unlock()
}

func (r *replicaClient) stop() {
	r.conn.Close()
	<-r.done
}

// dialReplication connects to master and starts syncing from it; nil
// when the master cannot be reached (the manager retries).
func (s *Server) dialReplication(master string) *replicaClient {
	conn, err := net.DialTimeout("tcp", master, 2*time.Second)
	if err != nil {
		if s.psyncFailover() {
			s.abortFailover("Write error to failover target")
		}
		return nil
	}
	r := &replicaClient{addr: master, conn: conn, done: make(chan struct{})}
	r.lastIO.Store(time.Now().Unix())
	go r.run(s)
	return r
}

var errMasterRefused = errors.New("refused")

func (r *replicaClient) run(s *Server) {
	defer close(r.done)
	defer r.conn.Close()
	defer r.setUp(false, false)
	err := r.sync(s)
	if err != nil && !s.closing.Load() && !errors.Is(err, net.ErrClosed) {
		s.Logger.Printf("replication from %s stopped: %v", r.addr, err)
	}
}

// sync runs the handshake, the full or partial resync, then applies the
// stream until the link breaks.
func (r *replicaClient) sync(s *Server) error {
	br := bufio.NewReaderSize(countedReader{r: r.conn, in: &s.traffic.replIn}, 64*1024)
	r.conn.SetDeadline(time.Now().Add(60 * time.Second))
	call := func(args ...string) (resp.Reply, error) {
		var b [][]byte
		for _, a := range args {
			b = append(b, []byte(a))
		}
		if _, err := r.conn.Write(resp.AppendCommand(nil, b...)); err != nil {
			return resp.Reply{}, err
		}
		return resp.ReadReply(br)
	}
	if _, err := call("PING"); err != nil { // -NOAUTH is fine here
		return err
	}
	if pass := s.Cfg.MasterAuth(); pass != "" {
		args := []string{"AUTH", pass}
		if user := s.Cfg.Get("masteruser"); user != "" {
			args = []string{"AUTH", user, pass}
		}
		rep, err := call(args...)
		if err != nil {
			return err
		}
		if rep.Type == '-' {
			return fmt.Errorf("AUTH: %s", rep.Str)
		}
	}
	if _, err := call("REPLCONF", "listening-port", strconv.Itoa(s.Port())); err != nil {
		return err
	}
	if _, err := call("REPLCONF", "capa", "eof", "capa", "psync2"); err != nil {
		return err
	}
	s.DB.Mu.Lock()
	s.initRepl()
	id, next := s.repl.id, s.repl.off+1
	s.DB.Mu.Unlock()
	psync := [][]byte{[]byte("PSYNC"), []byte(id), strconv.AppendInt(nil, next, 10)}
	if s.psyncFailover() {
		psync = append(psync, []byte("FAILOVER"))
	}
	if _, err := r.conn.Write(resp.AppendCommand(nil, psync...)); err != nil {
		s.failoverPsyncReply(false)
		return err
	}
	line, err := readLine(br)
	if err != nil {
		s.failoverPsyncReply(false)
		return err
	}
	f := strings.Fields(line)
	s.failoverPsyncReply(len(f) >= 1 && (f[0] == "+FULLRESYNC" || f[0] == "+CONTINUE"))
	switch {
	case len(f) == 3 && f[0] == "+FULLRESYNC":
		off, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return fmt.Errorf("bad reply to PSYNC: %q", line)
		}
		r.setUp(false, true)
		if err := r.fullSync(s, br, f[1], off); err != nil {
			return err
		}
	case len(f) >= 1 && f[0] == "+CONTINUE":
		s.DB.Mu.Lock()
		if len(f) > 1 && f[1] != s.repl.id { // the master's history got a new ID
			s.repl.id2, s.repl.secondOff, s.repl.id = s.repl.id, s.repl.off+1, f[1]
			for _, l := range s.replicas {
				l.drop()
			}
		}
		if s.repl.backlog == nil {
			s.repl.backlog = repl.NewBacklog(s.backlogSize(), s.repl.off)
		}
		s.DB.Mu.Unlock()
		s.Logger.Printf("replication from %s: partial resynchronization accepted, continuing from offset %d", r.addr, next)
	default:
		return fmt.Errorf("PSYNC refused: %s", line)
	}
	r.conn.SetDeadline(time.Time{})
	r.setUp(true, false)
	return r.stream(s, br)
}

// readLine reads one reply line, skipping the bare newlines a master sends
// to keep the link alive while it prepares a snapshot.
func readLine(br *bufio.Reader) (string, error) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			return line, nil
		}
	}
}

// fullSync reads the master's RDB ($<len> or the diskless $EOF:<mark>
// form) and loads it in place of the keyspace.
func (r *replicaClient) fullSync(s *Server, br *bufio.Reader, id string, off int64) error {
	hdr, err := readLine(br)
	if err != nil {
		return err
	}
	if len(hdr) < 2 || hdr[0] != '$' {
		return fmt.Errorf("bad snapshot header %q", hdr)
	}
	var data []byte
	if mark, ok := strings.CutPrefix(hdr, "$EOF:"); ok && len(mark) == 40 {
		var buf bytes.Buffer
		chunk := make([]byte, 64*1024)
		for {
			n, err := br.Read(chunk)
			buf.Write(chunk[:n])
			if buf.Len() >= 40 && string(buf.Bytes()[buf.Len()-40:]) == mark {
				break
			}
			if err != nil {
				return err
			}
			r.conn.SetDeadline(time.Now().Add(60 * time.Second))
		}
		data = buf.Bytes()[:buf.Len()-40]
	} else {
		n, err := strconv.ParseInt(hdr[1:], 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad snapshot header %q", hdr)
		}
		r.conn.SetDeadline(time.Now().Add(time.Duration(60+n>>20) * time.Second))
		data = make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			return err
		}
	}
	db := s.DB
	db.Mu.Lock()
	db.Flush()
	info, skipped, err := s.importRDBLocked(data)
	if err == nil {
		rp := &s.repl
		rp.id, rp.id2, rp.secondOff, rp.off = id, repl.ZeroID, -1, off
		rp.backlog = repl.NewBacklog(s.backlogSize(), off)
		for _, l := range s.replicas { // our own replicas must resync too
			l.drop()
		}
	}
	db.Mu.Unlock()
	if err != nil {
		return fmt.Errorf("loading the master's RDB: %w", err)
	}
	if len(info.FunctionCodes) > 0 {
		if err := s.LoadFunctionLibraries(info.FunctionCodes); err != nil {
			s.Logger.Printf("replication: functions from the master: %v", err)
		}
	}
	s.Logger.Printf("replication from %s: full resync, %d bytes, %d keys loaded (%d skipped), replid %s offset %d",
		r.addr, len(data), info.Keys-skipped, skipped, id, off)
	if s.aof.log.Load() != nil { // the AOF must start over from the master's data
		if err := s.rewriteAOF(false); err != nil {
			s.Logger.Printf("replication: rewriting the AOF after the full resync: %v", err)
		}
	}
	return nil
}

// stream applies the master's commands, counting their bytes into the
// offset and relaying them to this node's own replicas, and ACKs.
func (r *replicaClient) stream(s *Server, br *bufio.Reader) error {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			r.ack(s)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	applier := &Client{srv: s, conn: r.conn, user: "replication", authed: true, w: resp.NewWriter(io.Discard), applier: true}
	reader := resp.NewReaderFrom(br)
	for {
		args, err := reader.ReadCommand()
		if err != nil {
			return err
		}
		r.lastIO.Store(time.Now().Unix())
		raw := resp.AppendCommand(nil, args...)
		switch cmd := lookupCommand(args[0]); {
		case len(args) >= 2 && eq(args[0], "replconf") && eq(args[1], "getack"):
			r.ack(s)
		case cmd == nil, cmd.name == "ping", cmd.name == "select":
		case cmd.noLock && cmd.name != "function" && cmd.name != "script" && !isImportMarker(args):
		default:
			applier.callRecovering(cmd, args)
			applier.w.Reset(io.Discard)
		}
		s.DB.Mu.Lock()
		s.replFeedRaw(raw)
		s.DB.Mu.Unlock()
		if br.Buffered() == 0 { // relayed on to this node's replicas before reading on
			s.sendReplication()
		}
	}
}

func (r *replicaClient) ack(s *Server) {
	off := s.replOffset()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	r.conn.Write(resp.AppendCommand(nil, []byte("REPLCONF"), []byte("ACK"), strconv.AppendInt(nil, off, 10)))
}

// masterOf reports whether this node is a replica and of which master.
func (s *Server) masterOf() (bool, string) {
	if s.Cluster != nil {
		return s.Cluster.Role()
	}
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	return s.repl.master != "", s.repl.master
}

// readOnlyReplica reports whether writes from clients must be refused.
func (s *Server) readOnlyReplica() bool {
	return s.Cluster == nil && s.repl.ro.Load() && s.Cfg.Bool("replica-read-only")
}

// cmdReplicaOf: REPLICAOF host port | NO ONE (and SLAVEOF).
func cmdReplicaOf(c *Client, args [][]byte) {
	s := c.srv
	if s.Cluster != nil {
		c.w.WriteError("ERR REPLICAOF not allowed in cluster mode.")
		return
	}
	if s.failingOver() {
		c.w.WriteError("ERR REPLICAOF not allowed while failing over.")
		return
	}
	if eq(args[1], "no") && eq(args[2], "one") {
		s.unfollow(fmt.Sprintf("user request from '%s'", c.conn.RemoteAddr()))
		c.w.WriteRaw(okReply)
		return
	}
	port, ok := parseInt(args[2])
	if !ok || port < 0 || port > 65535 {
		c.w.WriteError(errNotInt)
		return
	}
	addr := net.JoinHostPort(string(args[1]), strconv.FormatInt(port, 10))
	if !s.follow(addr, fmt.Sprintf("user request from '%s'", c.conn.RemoteAddr())) {
		c.w.WriteSimple("OK Already connected to specified master")
		return
	}
	c.w.WriteRaw(okReply)
}

// unfollow makes a standalone replica a master (REPLICAOF NO ONE): the
// link is closed, then its history gets a new ID.
func (s *Server) unfollow(why string) {
	s.DB.Mu.Lock()
	was := s.repl.master
	s.repl.master = ""
	s.DB.Mu.Unlock()
	if was == "" {
		return
	}
	s.Logger.Printf("MASTER MODE enabled (%s)", why)
	s.replManager.Poke()
	for s.replManager.current() != nil {
		time.Sleep(time.Millisecond)
	}
	s.DB.Mu.Lock()
	if s.repl.following {
		s.promote()
	}
	s.DB.Mu.Unlock()
}

// follow makes a standalone node a replica of addr; false when it already is.
func (s *Server) follow(addr, why string) bool {
	s.DB.Mu.Lock()
	if s.repl.master == addr {
		s.DB.Mu.Unlock()
		return false
	}
	s.repl.master = addr
	s.repl.following = true
	s.feedingOn()
	s.DB.Mu.Unlock()
	s.Logger.Printf("REPLICAOF %s enabled (%s)", addr, why)
	s.mu.Lock()
	m := s.replManager
	if m == nil {
		m = s.StartReplicaManager(func() (bool, string) { return s.masterOf() })
	}
	s.mu.Unlock()
	if cur := m.current(); cur != nil && cur.addr != addr {
		m.setLink(nil)
	}
	m.Poke()
	return true
}

// cmdWait: WAIT numreplicas timeout-ms. Counts the replicas whose
// REPLCONF ACK reached the offset of the client's last write, asking them
// for an ACK at once when too few did.
func cmdWait(c *Client, args [][]byte) {
	s := c.srv
	if replica, _ := s.masterOf(); replica {
		c.w.WriteError("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	want, ok := parseInt(args[1])
	if !ok {
		c.w.WriteError(errNotInt)
		return
	}
	timeout, ok := c.msTimeout(args[2])
	if !ok {
		return
	}
	if timeout > int64(math.MaxInt64/time.Millisecond) {
		timeout = 0 // longer than time.Duration holds: forever
	}
	deadline := time.Now().Add(time.Duration(timeout) * time.Millisecond)
	target := c.woff
	demotions := s.demotions.Load()
	var gone chan struct{}
	defer func() { c.stopWatching(gone) }()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	waitFrom := time.Now()
	defer func() {
		if gone != nil { // it waited: Redis's stats leave WAIT out then
			c.blockedFor += time.Since(waitFrom)
			c.unserved = true
			c.waiting.Store(false)
			s.blocked.Add(-1)
		}
	}()
	for {
		n := s.ackedReplicas(target)
		if int64(n) >= want || c.inExec || c.r == nil || timeout != 0 && time.Now().After(deadline) {
			c.w.WriteInt(int64(n))
			return
		}
		if gone == nil { // first time short: ask the replicas for an ACK now
			s.DB.Mu.Lock()
			s.replFeed(resp.AppendCommand(nil, []byte("REPLCONF"), []byte("GETACK"), []byte("*")))
			s.DB.Mu.Unlock()
			gone = c.watchDisconnect()
			c.waiting.Store(true)
			s.blocked.Add(1) // Redis counts WAIT in blocked_clients
		}
		select {
		case <-tick.C:
			if s.demotions.Load() != demotions { // see disconnectBlocked
				c.w.WriteError(errDemoted)
				c.closeNow = true
				return
			}
		case <-gone:
			return
		case <-s.done:
			c.w.WriteInt(int64(n))
			return
		}
	}
}

func (s *Server) ackedReplicas(off int64) int {
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	n := 0
	for _, l := range s.replicas {
		if l.ackOff.Load() >= off {
			n++
		}
	}
	return n
}

func cmdRole(c *Client, _ [][]byte) {
	s := c.srv
	if replica, master := s.masterOf(); replica {
		host, port := splitHostPort(master)
		state, off := "connect", s.replOffset()
		if m := s.replManager; m != nil {
			if l := m.current(); l != nil {
				l.mu.Lock()
				state = map[bool]string{true: "connected", false: "connecting"}[l.up]
				if l.loading {
					state = "sync"
				}
				l.mu.Unlock()
			}
		}
		c.w.WriteArrayLen(5)
		c.w.WriteBulkString("slave")
		c.w.WriteBulkString(host)
		c.w.WriteInt(int64(port))
		c.w.WriteBulkString(state)
		c.w.WriteInt(off)
		return
	}
	s.DB.Mu.Lock()
	off := s.repl.off
	type rep struct {
		host      string
		port, ack int64
	}
	var reps []rep
	for _, l := range s.replicas {
		h, p := splitHostPort(l.addr)
		reps = append(reps, rep{h, int64(p), l.ackOff.Load()})
	}
	s.DB.Mu.Unlock()
	c.w.WriteArrayLen(3)
	c.w.WriteBulkString("master")
	c.w.WriteInt(off)
	c.w.WriteArrayLen(len(reps))
	for _, r := range reps {
		c.w.WriteArrayLen(3)
		c.w.WriteBulkString(r.host)
		c.w.WriteBulkString(strconv.FormatInt(r.port, 10))
		c.w.WriteBulkString(strconv.FormatInt(r.ack, 10))
	}
}

// replicationInfo is INFO's replication section, Redis's fields.
func (s *Server) replicationInfo(b *strings.Builder) {
	line := func(k string, v any) { fmt.Fprintf(b, "%s:%v\r\n", k, v) }
	b.WriteString("# Replication\r\n")
	replica, master := s.masterOf()
	s.DB.Mu.Lock()
	s.initRepl()
	r := &s.repl
	id, id2, off, second := r.id, r.id2, r.off, r.secondOff
	active, size, first, hist := 0, s.backlogSize(), int64(0), 0 // Redis says 0 without a backlog
	if r.backlog != nil {
		active, size, first, hist = 1, r.backlog.Size(), r.backlog.FirstByte(), r.backlog.HistLen()
	}
	links := append([]*replicaLink(nil), s.replicas...)
	s.DB.Mu.Unlock()
	if replica {
		host, port := splitHostPort(master)
		line("role", "slave")
		line("master_host", host)
		line("master_port", port)
		status, ago, syncing := "down", int64(-1), 0
		if m := s.replManager; m != nil {
			if l := m.current(); l != nil {
				l.mu.Lock()
				if l.up {
					status = "up"
				}
				if l.loading {
					syncing = 1
				}
				l.mu.Unlock()
				ago = time.Now().Unix() - l.lastIO.Load()
			}
		}
		line("master_link_status", status)
		line("master_last_io_seconds_ago", ago)
		line("master_sync_in_progress", syncing)
		line("slave_read_repl_offset", off)
		line("slave_repl_offset", off)
		line("slave_priority", s.Cfg.Get("replica-priority"))
		line("slave_read_only", map[bool]int{true: 1, false: 0}[s.Cfg.Bool("replica-read-only")])
		line("replica_announced", 1)
	} else {
		line("role", "master")
	}
	line("connected_slaves", len(links))
	now := time.Now().Unix()
	for i, l := range links {
		host, port := splitHostPort(l.addr)
		state := "wait_bgsave"
		if l.online.Load() {
			state = "online"
		}
		fmt.Fprintf(b, "slave%d:ip=%s,port=%d,state=%s,offset=%d,lag=%d\r\n", i, host, port, state, l.ackOff.Load(), now-l.ackTime.Load())
	}
	line("master_failover_state", s.failover.stateName())
	line("master_replid", id)
	line("master_replid2", id2)
	line("master_repl_offset", off)
	line("second_repl_offset", second)
	line("repl_backlog_active", active)
	line("repl_backlog_size", size)
	line("repl_backlog_first_byte_offset", first)
	line("repl_backlog_histlen", hist)
}

// replicationStats are INFO stats' sync_full, sync_partial_ok and
// sync_partial_err.
func (s *Server) replicationStats() (full, partialOK, partialErr int64) {
	return s.repl.stats[0].Load(), s.repl.stats[1].Load(), s.repl.stats[2].Load()
}

// clientTypeFilter is CLIENT KILL TYPE's: normal, replica/slave (links
// of our replicas) or master (this replica's link to its master, closed
// here; closedMaster counts it).
func (s *Server) clientTypeFilter(typ string) (filter func(*Client) bool, closedMaster int, ok bool) {
	s.DB.Mu.Lock()
	links := map[*Client]bool{}
	for _, l := range s.replicas {
		links[l.client] = true
	}
	s.DB.Mu.Unlock()
	switch strings.ToLower(typ) {
	case "normal":
		return func(o *Client) bool { return !links[o] }, 0, true
	case "replica", "slave":
		return func(o *Client) bool { return links[o] }, 0, true
	case "master":
		if m := s.replManager; m != nil {
			if l := m.current(); l != nil {
				l.conn.Close()
				closedMaster = 1
			}
		}
		return func(*Client) bool { return false }, closedMaster, true
	}
	return nil, 0, false
}

// masterLinkUp reports whether a replica's link to its master is up.
func (s *Server) masterLinkUp() bool {
	m := s.replManager
	if m == nil {
		return false
	}
	l := m.current()
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.up
}
