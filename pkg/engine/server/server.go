// Package server is the engine's client-facing side: a TCP listener, one
// goroutine per connection with pipelined buffered I/O, and the command
// table. Keyed commands are routed through the cluster (when enabled)
// before they run against the store under its lock.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/aof"
	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/pubsub"
	"github.com/gocluster/gocluster/pkg/engine/resp"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Cluster is what the server needs from pkg/engine/cluster (see its package
// doc for the semantics); nil means cluster mode is off.
type Cluster interface {
	Command(w *resp.Writer, args [][]byte)
	Route(slots []int, asking, readonly bool, keysPresent func() (all, none bool)) string
	InfoSection() string
	MyID() string
	Role() (isReplica bool, masterAddr string)
}

// Version is the Redis version the engine reports, so tools accept it.
const Version = "7.0.15"

// Server serves one keyspace on one or more listeners.
type Server struct {
	Cfg     *config.Config
	DB      *store.DB
	Cluster Cluster
	Logger  *log.Logger
	// CloseGrace is how long Close waits for connections to finish the
	// command they are running; zero means 3 seconds.
	CloseGrace time.Duration

	runID     string
	startTime time.Time
	listeners []net.Listener
	acl       *aclUsers
	migrate   migrateConns

	mu      sync.Mutex // guards clients
	clients map[int64]*Client
	// reply buffer resizes by the clients cron (INFO stats)
	replyBufShrinks, replyBufExpands atomic.Int64
	wg                               sync.WaitGroup
	closing                          atomic.Bool
	demotions                        atomic.Int64 // times disconnectBlocked ran, for WAIT
	done                             chan struct{}

	nextClientID  atomic.Int64
	totalConns    atomic.Int64
	totalCommands atomic.Int64
	rejectedConns atomic.Int64
	shutdownReq   chan struct{}
	shutdownOnce  sync.Once

	// replication: history and role, links to our replicas (guarded by
	// DB.Mu), whether writes are propagated and, on a replica, the manager
	// following our master (replication.go)
	repl         replState
	replicas     []*replicaLink
	memory       memoryLimits
	stats        serverStats // INFO commandstats and errorstats (stats.go)
	unit         propUnit    // writes of the running EXEC or script (propagate.go)
	propReply    []byte      // the reply of the write being propagated (SPOP's members)
	streams      streamState // what the running stream write propagates and notifies (stream_prop.go)
	replicaCount atomic.Int64
	replLinks    atomic.Pointer[[]*replicaLink] // s.replicas, read without the store lock
	// replWriterHold, set by tests before replicas attach (under the
	// store lock), makes replica link goroutines wait for a token before
	// each write.
	replWriterHold chan struct{}
	replManager    *ReplicaManager

	// waiters are the clients blocked in BLPOP and friends, in the order
	// they blocked; blockedReady says a write may have served some
	// (both guarded by DB.Mu; cmd_blocking.go)
	waiters      []*blockedClient
	blockedReady bool
	blocked      atomic.Int64 // how many are waiting

	// PubSub holds the channel, pattern and shard channel subscriptions.
	PubSub *pubsub.Hub
	// notifyFlags caches notify-keyspace-events (config.Notify* bits).
	notifyFlags atomic.Int64

	tracking trackingState // client-side caching (tracking.go)
	monitors monitorSet    // MONITOR clients (cmd_monitor.go)
	pause    pauseState    // CLIENT PAUSE (cmd_client_admin.go)
	failover failoverState // FAILOVER of a standalone master (failover.go)
	traffic  trafficStats  // INFO's byte counts and rates (netstats.go)
	lazyfree lazyFreer     // UNLINK and FLUSH ASYNC's background freeing (lazyfree.go)
	memPeak  memoryPeak    // used_memory_peak and _startup (meminfo.go)
	idleGC   idleGC        // the cron's full collection once quiet (idlegc.go)
	latency  latencyState  // LATENCY and INFO latencystats (latency.go)
	// expireCycleNs is the time the cron spent expiring keys
	// (expire_cycle_cpu_milliseconds).
	expireCycleNs atomic.Int64
	persist       persistence    // RDB snapshots
	aof           aofState       // appendonly
	shutdownMode  atomic.Int32   // what SHUTDOWN said about saving
	slotMig       slotMigrations // atomic slot migration jobs (slotmig.go)
}

// New creates a server on db with cfg; cluster may be nil.
func New(cfg *config.Config, db *store.DB, cluster Cluster) *Server {
	var id [20]byte
	rand.Read(id[:])
	s := &Server{
		Cfg: cfg, DB: db, Cluster: cluster,
		Logger:      log.New(os.Stderr, "", log.LstdFlags),
		runID:       hex.EncodeToString(id[:]),
		startTime:   time.Now(),
		clients:     map[int64]*Client{},
		done:        make(chan struct{}),
		shutdownReq: make(chan struct{}),
		PubSub:      pubsub.NewHub(),
	}
	s.acl = newACL(cfg.RequirePass())
	s.acl.pubsubAllChannels = func() bool { return s.Cfg.Get("acl-pubsub-default") == "allchannels" }
	cfg.UserLines = s.aclUserLines
	s.persist.lastTime.Store(time.Now().Unix())
	s.persist.bgLast.Store(-1)
	s.memPeak.startup.Store(liveHeapBytes())
	s.applyLatencyConfig()
	s.loadNotifyFlags()
	s.applyMemoryConfig()
	s.DB.SetEncodingLimits(s.encodingLimits())
	s.initTracking()
	db.OnExpired = func(key []byte) {
		s.notifyKeyspace(config.NotifyExpired, "expired", key)
		s.propagateExpired(key)
	}
	return s
}

// Listen binds the configured addresses ("bind" and "port"); port 0 picks a
// free port (Addr tells which).
func (s *Server) Listen() error {
	port := s.Cfg.Port()
	for _, h := range s.bindHosts() {
		l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("listen on %s port %d: %w", h, port, err)
		}
		if port == 0 { // every address shares the port the first one got
			port = l.Addr().(*net.TCPAddr).Port
		}
		s.listeners = append(s.listeners, l)
	}
	return nil
}

// bindHosts are the addresses "bind" names, as net.Listen takes them.
func (s *Server) bindHosts() []string {
	var hosts []string
	for _, h := range s.Cfg.Bind() {
		if h == "*" || h == "-::*" || h == "::*" {
			if h == "*" {
				hosts = append(hosts, "0.0.0.0")
			}
			continue
		}
		if h[0] == '-' { // "-addr" means "optional" in Redis
			h = h[1:]
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		hosts = []string{"0.0.0.0"}
	}
	return hosts
}

// rebind makes the listeners match "bind" and "port" after CONFIG SET, as
// redis-server does: addresses kept stay open, new ones are opened first
// (on a failure nothing changes), dropped ones are closed. Connections
// already made stay.
func (s *Server) rebind() error {
	cur := s.Port()
	port := s.Cfg.Port()
	if port == 0 {
		port = cur
	}
	if s.Cluster != nil && port != cur {
		return errors.New("the port of a cluster node cannot change while it runs")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	have := map[string]net.Listener{}
	for _, l := range s.listeners {
		have[l.Addr().String()] = l
	}
	var next, opened []net.Listener
	for _, h := range s.bindHosts() {
		addr := net.JoinHostPort(h, strconv.Itoa(port))
		if l, ok := have[addr]; ok {
			next = append(next, l)
			delete(have, addr)
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			return err
		}
		opened = append(opened, l)
		next = append(next, l)
	}
	for _, l := range have { // no longer wanted
		l.Close()
	}
	s.listeners = next
	for _, l := range opened {
		s.wg.Add(1)
		go s.acceptLoop(l)
	}
	return nil
}

// Unlisten closes the listeners opened by Listen, before Serve, so that
// Listen can be tried again.
func (s *Server) Unlisten() {
	s.closeListeners()
	s.listeners = nil
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		l.Close()
	}
}

// Addr is the first listener's address.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.listeners) == 0 {
		return nil
	}
	return s.listeners[0].Addr()
}

// Port is the TCP port actually bound.
func (s *Server) Port() int {
	if a, ok := s.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return s.Cfg.Port()
}

// Serve accepts connections until Close; it also runs active expiry.
func (s *Server) Serve() {
	for _, l := range s.listeners {
		s.wg.Add(1)
		go s.acceptLoop(l)
	}
	s.wg.Add(1)
	go s.cron()
	s.followConfiguredMaster()
}

// followConfiguredMaster starts replicating from the replicaof option
// ("host port"), as Redis does at startup; cluster nodes take their role
// from the cluster instead.
func (s *Server) followConfiguredMaster() {
	f := strings.Fields(s.Cfg.Get("replicaof"))
	if s.Cluster != nil || len(f) != 2 {
		return
	}
	s.follow(net.JoinHostPort(f[0], f[1]), "replicaof option")
}

// ShutdownRequested is closed when a client sent SHUTDOWN.
func (s *Server) ShutdownRequested() <-chan struct{} { return s.shutdownReq }

func (s *Server) acceptLoop(l net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) { // shut down, or dropped by CONFIG SET bind
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond) // e.g. too many open files: back off
			continue
		}
		if s.protectedRefuses(nc.RemoteAddr()) {
			nc.Write([]byte("-DENIED Running in protected mode: no password is set and no bind address was configured, so only loopback connections are accepted. Set requirepass, bind an address, or set protected-mode no.\r\n"))
			nc.Close()
			continue
		}
		if s.Cfg.Int("maxclients") <= s.clientCount() {
			s.rejectedConns.Add(1)
			nc.Write([]byte("-ERR max number of clients reached\r\n"))
			nc.Close()
			continue
		}
		c := s.newClient(nc)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve()
		}()
	}
}

// commandsProcessed is the total of finished and live connections.
func (s *Server) commandsProcessed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.totalCommands.Load()
	for _, c := range s.clients {
		n += c.commands.Load()
	}
	return n
}

// protectedRefuses applies Redis's protected mode: with the default bind
// (every interface), protected-mode yes and no password for the default
// user, only loopback clients may connect.
func (s *Server) protectedRefuses(remote net.Addr) bool {
	if !s.Cfg.Bool("protected-mode") || s.Cfg.Get("bind") != "* -::*" || !s.acl.noPassDefault() {
		return false
	}
	a, ok := remote.(*net.TCPAddr)
	return ok && !a.IP.IsLoopback()
}

func (s *Server) clientCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// cron runs active expiry hz times per second.
func (s *Server) cron() {
	defer s.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.sampleRates()
			s.notePeakMemory()
			s.collectWhenIdle()
			if !s.debugState().cronPaused.Load() { // Redis's clients cron stops too
				s.redirectBlocked()
			}
			s.tidyQueryBuffers()
			s.tidyReplyBuffers()
			if s.activeExpireOff() { // DEBUG SET-ACTIVE-EXPIRE 0, PAUSE-CRON 1
				s.DB.Mu.Lock()
				s.DB.SetClock(s.DB.Now())
				s.DB.Mu.Unlock()
				continue
			}
			if s.syncExpiryPause() {
				continue
			}
			cycle := time.Now()
			for {
				s.DB.Mu.Lock()
				s.DB.SetClock(s.DB.Now())
				n := s.DB.ActiveExpire(2000)
				s.DB.Mu.Unlock()
				if n < 500 { // mostly live keys: wait for the next tick
					break
				}
			}
			s.expireCycleNs.Add(int64(time.Since(cycle)))
			s.noteLatency("expire-cycle", time.Since(cycle))
			s.trackingCron()
			s.migrate.cached()
		}
	}
}

// Close stops listening, disconnects every client and waits for them.
func (s *Server) Close() error {
	if s.closing.Swap(true) {
		return nil
	}
	close(s.done)
	s.closeListeners()
	s.mu.Lock()
	for _, c := range s.clients {
		c.conn.Close()
	}
	s.mu.Unlock()
	s.migrate.closeAll()
	// A connection in the middle of a long command (KEYS over millions of
	// keys...) only notices at the command's end: do not let it hold the
	// shutdown, so SIGTERM and SHUTDOWN end the process in bounded time.
	finished := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(s.closeGrace()):
		s.Logger.Printf("shutdown: not waiting for %d connection(s) still running a command", s.clientCount())
	}
	return nil
}

func (s *Server) closeGrace() time.Duration {
	if s.CloseGrace > 0 {
		return s.CloseGrace
	}
	return 3 * time.Second
}

// Client is one connection's state.
type Client struct {
	srv      *Server
	conn     net.Conn
	id       int64
	r        *resp.Reader
	w        *resp.Writer
	name     string
	user     string
	authed   bool
	asking   bool
	readonly bool
	created  time.Time
	lastCmd  atomic.Pointer[command]
	// changes, when a write handler sets it (>= 0), is how many changes
	// the command made, as Redis's server.dirty counts them: 0 keeps a
	// write that changed nothing out of the dirty count and replication
	// (SETBIT of a bit already so), more than 1 counts more (BITFIELD).
	changes  int
	commands atomic.Int64 // processed by this client, summed into INFO stats
	lastIO   atomic.Int64
	multi    *[][][]byte // queued commands inside MULTI, nil outside
	multiErr bool
	closeNow bool
	waiting  atomic.Bool // in a blocking command's wait (CLIENT LIST flag b)
	// infoMu guards what CLIENT LIST reads from other connections' goroutines:
	// name, readonly, inMulti and the writer's protocol.
	infoMu  sync.Mutex
	inMulti bool

	// wmu serialises writes to w between the connection's goroutine and
	// its pub/sub push goroutine.
	wmu      sync.Mutex
	sub      *pubsub.Sub   // nil until the first (P|S)SUBSCRIBE
	pushStop chan struct{} // ends the push goroutine
	// importJob: this connection is a source's import link (slotmig_import.go)
	importJob *slotJob
	// applier: this client applies a replication stream or an AOF, where
	// an import's ESTABLISH and FINISH markers are tracked, not run
	applier bool

	replyMode replyMode // CLIENT REPLY ON|OFF|SKIP
	// freshInput: the running command is the first of what the last read
	// from the socket brought (not one queued behind it in a pipeline).
	freshInput bool

	inExec       bool // running EXEC: blocking commands do not wait
	scriptClient bool // the client scripts run their commands as, under the store lock the script holds
	// recheckRoute: the command was routed on an open slot by which of its
	// keys were here; call looks again under the store lock, since a
	// MIGRATE may have moved them in between.
	recheckRoute bool
	// routedDrops: the slot-drop mark (Server.slotDropMark) taken just
	// before dispatch routed the command, 0 when it was not routed; call
	// routes again under the store lock when slots were dropped since.
	routedDrops  uint64
	aclUser      *aclUser // whose permissions apply (acl_perms.go)
	unwatchLater bool     // a refused EXEC could not drop the watch (settleUnwatch)
	oomAtStart   bool     // over maxmemory when the running command began (scripts check it)
	// ran, ranAt: the dispatched command started running (not refused);
	// ranFor: how long it ran, read off the clock once for the slowlog and
	// the stats; doneAt: when the last command finished (CLIENT LIST idle);
	// innerErrors: errors its script's commands answered (stats.go)
	ran         bool
	ranAt       time.Time
	ranFor      time.Duration
	doneAt      time.Time
	innerErrors [][]byte
	// blockedFor is how long the running command waited blocked (BLPOP,
	// XREAD BLOCK, WAIT), which Redis leaves out of its run time;
	// unserved says the wait ended without the command being served
	// (timeout, CLIENT UNBLOCK, WAIT): Redis then keeps it out of the
	// slowlog and the latency histogram.
	blockedFor time.Duration
	unserved   bool
	replPort   int           // REPLCONF listening-port of a replica
	woff       int64         // replication offset after this client's last write (WAIT)
	aofLog     *aof.Log      // the AOF this client's last write went to, until its reply leaves
	aofOff     int64         // where that write ends in it
	rdbOnly    bool          // REPLCONF rdb-only 1: SYNC sends the snapshot and ends
	watchDone  chan struct{} // the disconnect watcher of a blocked command ended
	afterCall  func()        // runs once the command is done and the store unlocked (a stream read that blocks)
	watch      store.Watcher // WATCHed keys (guarded by DB.Mu)
	// keyChanged is set by a write whose reply does not tell whether it
	// changed its key (GEOADD without CH), for keyspace events and WATCH.
	keyChanged bool
	track      clientTracking         // CLIENT TRACKING (tracking.go)
	monitor    *monitorQueue          // MONITOR's pending lines (guarded by infoMu)
	killed     chan struct{}          // closed by CLIENT KILL
	lastName   atomic.Pointer[string] // the last command as CLIENT LIST names it (client|list)
	curArgs    [][]byte               // the command running (its size is CLIENT LIST's qbuf)
	killOnce   sync.Once
}

func (s *Server) newClient(nc net.Conn) *Client {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		tc.SetKeepAlive(true)
	}
	c := &Client{srv: s, conn: nc, id: s.nextClientID.Add(1), created: time.Now(), user: "default", killed: make(chan struct{})}
	c.r = resp.NewReader(countedReader{r: nc, in: &s.traffic.in})
	c.w = resp.NewWriter(nc)
	c.w.CountInto(&s.traffic.out.bytes, &s.traffic.out.calls)
	c.authed = s.acl.noPassDefault()
	c.aclUser = s.acl.user("default")
	s.totalConns.Add(1)
	s.mu.Lock()
	s.clients[c.id] = c
	s.mu.Unlock()
	return c
}

func (c *Client) serve() {
	defer func() {
		c.endTracking()
		c.stopMonitor()
		c.endPubSub()
		c.unwatchLocked()
		c.endSlotImport("Connection lost to source. Check CLUSTER GETSLOTMIGRATIONS on the source node for more information.")
		c.wmu.Lock()
		c.w.Flush()
		c.wmu.Unlock()
		c.conn.Close()
		c.srv.mu.Lock()
		delete(c.srv.clients, c.id)
		c.srv.totalCommands.Add(c.commands.Load())
		c.srv.mu.Unlock()
	}()
	for !c.closeNow {
		c.freshInput = c.r.Buffered() == 0
		args, err := c.r.ReadCommand()
		if err != nil {
			if resp.IsProtocolError(err) {
				c.w.WriteError(err.Error())
			} else if err != io.EOF && !c.srv.closing.Load() && !isClosedConn(err) {
				c.srv.Logger.Printf("client %d %s: read: %v", c.id, c.conn.RemoteAddr(), err)
			}
			return
		}
		c.commands.Add(1)
		c.wmu.Lock()
		c.dispatchReplying(args)
		if c.sub != nil {
			c.sub.SetProto(c.w.Proto()) // HELLO may have switched it
		}
		if c.r.Buffered() == 0 || c.w.Buffered() > 64*1024 {
			if !c.commitAOF() {
				c.wmu.Unlock()
				return
			}
			c.r.Settled()
			c.srv.sendReplication() // replicas get a write before its reply leaves, as on Redis
			if err := c.w.Flush(); err != nil {
				c.wmu.Unlock()
				return
			}
			c.lastIO.Store(c.doneAt.Unix())
		}
		c.wmu.Unlock()
	}
}

// replyMode is what CLIENT REPLY set.
type replyMode uint8

const (
	replyOn       replyMode = iota
	replyOff                // no reply until CLIENT REPLY ON
	replySkipNext           // CLIENT REPLY SKIP was just run
	replySkip               // no reply to the command running now
)

// dispatchReplying runs a command and drops its reply when CLIENT REPLY
// says so. Pub/sub pushes are not replies: they still go out.
func (c *Client) dispatchReplying(args [][]byte) {
	if c.replyMode == replySkipNext {
		c.replyMode = replySkip
	}
	before := c.replyMode
	c.trackingBeforeCommand()
	mark := c.w.Mark()
	cmd := lookupCommand(args[0])
	c.dispatch(cmd, args)
	c.trackingAfterCommand(cmd)
	reply, _ := c.w.Since(mark)
	c.accountCommand(cmd, args, reply)
	if before == replyOff && c.replyMode == replyOff || before == replySkip && c.replyMode == replySkip {
		c.w.Rewind(mark)
	}
	if before == replySkip && c.replyMode == replySkip {
		c.replyMode = replyOn
	}
}

// repliesSilenced reports whether the running command's reply is dropped.
func (c *Client) repliesSilenced() bool { return c.replyMode == replyOff || c.replyMode == replySkip }

func isClosedConn(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

// Run serves until ctx is done or a client sends SHUTDOWN, then closes.
func (s *Server) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-s.shutdownReq:
	}
	return s.Close()
}
