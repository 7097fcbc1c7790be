package cluster

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config is what the server tells the cluster layer about this node.
type Config struct {
	Dir                 string        // working directory; ConfigFile is relative to it
	ConfigFile          string        // nodes.conf name or path, default "nodes.conf"
	Host                string        // bind address of the node (used as our IP when it is a concrete one)
	Port                int           // client port
	BusPort             int           // cluster bus port, default Port+10000
	AnnounceIP          string        // cluster-announce-ip: the IP other nodes and clients are told
	NodeTimeout         time.Duration // cluster-node-timeout, default 15s
	RequireFullCoverage bool          // cluster-require-full-coverage
	Password            string        // masterauth, for replica links
	// NoReplicaMigration is cluster-allow-replica-migration no: a master
	// left without slots stays a master, and no replica moves to an
	// orphaned master.
	NoReplicaMigration bool
	// MigrationBarrier is cluster-migration-barrier: the working replicas
	// a master keeps before one of them may move to an orphaned master.
	MigrationBarrier int

	// Logf, when set, receives one line per notable cluster event.
	Logf func(format string, args ...any)
}

// Keyspace is the part of the data store the cluster layer needs. The server
// must not hold its own keyspace lock while calling into Cluster.
type Keyspace interface {
	CountKeysInSlot(slot int) int
	KeysInSlot(slot, count int) [][]byte
	DBSize() int
	FlushAll()
}

// SlotKeyDeleter is optionally implemented by a Keyspace: when another node
// takes over a slot (newer epoch) that still has local keys, they are dropped
// as Redis does; without it they stay (and are unreachable through routing).
type SlotKeyDeleter interface {
	DeleteKeysInSlot(slot int) int
}

// RoleChange is passed to the OnRoleChange hook: this node became a replica
// of MasterIP:MasterPort (Replica true) or a master (Replica false).
type RoleChange struct {
	Replica    bool
	MasterID   string
	MasterIP   string
	MasterPort int
}

// Cluster is the cluster state of this node. It is safe for concurrent use.
type Cluster struct {
	mu   sync.Mutex
	cfg  Config
	ks   Keyspace
	path string // nodes.conf

	myself *node
	nodes  map[string]*node
	slots  [NumSlots]*node
	// assignedSlots counts the non-nil entries of slots, so updateState
	// checks coverage without walking them.
	assignedSlots int
	migrating     [NumSlots]*node // slot -> target, while we hand it over
	importing     [NumSlots]*node // slot -> source, while we receive it
	openSlots     int             // non-nil entries in migrating and importing
	// handOver marks the slots an atomic migration is giving away: when
	// the target's claim arrives by gossip, the server deletes their keys
	// (so replicas see it), and a node left with no slot stays a master
	// until the migration ends (FollowAfterHandOver).
	handOver slotBitmap

	currentEpoch  uint64
	lastVoteEpoch uint64
	stateOK       bool
	size          int // masters serving at least one slot
	blacklist     map[string]int64
	announced     bool // myself.ip is fixed by configuration, not learned

	failover failoverState

	statsSent, statsRecv [msgTypeCount]uint64

	roleHook func(RoleChange)
	pubsub   pubsubHooks
	listener net.Listener
	links    map[*link]struct{}
	closing  chan struct{}
	wg       sync.WaitGroup
	started  bool
	closed   bool
	lastSave error
	// syncedEpochs are current, last-vote and my config epoch as of the
	// last fsynced save.
	syncedEpochs  [3]uint64
	writer        confWriter
	saveGen       uint64 // bumped by every change to persist
	writerRunning bool
	// writeTimeout bounds a bus write (the node timeout), read without mu.
	writeTimeout atomic.Int64
	afterUnlok   []func() // work to run once mu is released (keyspace calls, hooks)

	// commitPending: a client command changed the configuration and its
	// reply must wait for nodes.conf (set and cleared under mu, read
	// without it by commitConfig). broadcastPending: that change also goes
	// to the other nodes in one pong broadcast.
	commitPending    atomic.Bool
	broadcastPending bool
	commitHook       func() error // c.commitConfig, made once
}

// New loads nodes.conf (or creates a fresh identity when there is none).
// It does not open any socket; call Start for the bus.
func New(cfg Config, ks Keyspace) (*Cluster, error) {
	if cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("cluster: invalid port %d", cfg.Port)
	}
	if cfg.BusPort == 0 {
		cfg.BusPort = cfg.Port + 10000
	}
	if cfg.BusPort <= 0 || cfg.BusPort > 65535 {
		return nil, fmt.Errorf("cluster: invalid bus port %d (port+10000 must be below 65536; set a bus port)", cfg.BusPort)
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = 15 * time.Second
	}
	if cfg.ConfigFile == "" {
		cfg.ConfigFile = "nodes.conf"
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if ks == nil {
		return nil, errors.New("cluster: nil keyspace")
	}
	c := &Cluster{
		cfg: cfg, ks: ks,
		nodes:     map[string]*node{},
		blacklist: map[string]int64{},
		links:     map[*link]struct{}{},
		closing:   make(chan struct{}),
	}
	c.commitHook = c.commitConfig
	c.writeTimeout.Store(int64(cfg.NodeTimeout))
	c.path = cfg.ConfigFile
	if !filepath.IsAbs(c.path) && cfg.Dir != "" {
		c.path = filepath.Join(cfg.Dir, c.path)
	}
	loaded, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	if !loaded {
		c.myself = newNode(randomID(), flagMyself|flagMaster)
		c.nodes[c.myself.id] = c.myself
	}
	c.myself.port, c.myself.cport = cfg.Port, cfg.BusPort
	switch {
	case cfg.AnnounceIP != "":
		c.myself.ip, c.announced = cfg.AnnounceIP, true
	case concreteIP(cfg.Host):
		c.myself.ip = cfg.Host
	}
	c.updateState()
	c.saveGen++
	if err := c.writeConfigNow(true); err != nil {
		return nil, err
	}
	c.syncedEpochs = [3]uint64{c.currentEpoch, c.lastVoteEpoch, c.myself.configEpoch}
	return c, nil
}

// concreteIP reports whether host is one specific address (not a wildcard).
func concreteIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && !ip.IsUnspecified()
}

// OnRoleChange installs a hook called (outside the cluster lock, on its own
// goroutine) whenever this node becomes a replica or a master. The server
// uses it to start or stop replication.
func (c *Cluster) OnRoleChange(fn func(RoleChange)) {
	c.mu.Lock()
	c.roleHook = fn
	c.mu.Unlock()
}

// SetNodeTimeout changes cluster-node-timeout at run time (CONFIG SET).
func (c *Cluster) SetNodeTimeout(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.cfg.NodeTimeout = d
	c.writeTimeout.Store(int64(d))
	c.mu.Unlock()
}

// SetRequireFullCoverage changes cluster-require-full-coverage at run
// time (CONFIG SET); the cluster state follows at once.
func (c *Cluster) SetRequireFullCoverage(on bool) {
	c.mu.Lock()
	c.cfg.RequireFullCoverage = on
	c.updateState()
	c.mu.Unlock()
}

// SetReplicaMigration changes cluster-allow-replica-migration and
// cluster-migration-barrier at run time (CONFIG SET).
func (c *Cluster) SetReplicaMigration(allow bool, barrier int) {
	c.mu.Lock()
	c.cfg.NoReplicaMigration = !allow
	c.cfg.MigrationBarrier = barrier
	c.mu.Unlock()
}

// SetReplicationOffset records this node's replication offset; it is
// gossiped (CLUSTER SHARDS shows it) and ranks replicas in an election.
func (c *Cluster) SetReplicationOffset(off int64) {
	c.mu.Lock()
	c.myself.replOffset = off
	c.mu.Unlock()
}

// MyID is this node's 40 hex digit id.
func (c *Cluster) MyID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.myself.id
}

// Role reports whether this node is a replica and its master's "ip:port".
func (c *Cluster) Role() (isReplica bool, masterAddr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.myself.isSlave() && c.myself.master != nil {
		return true, c.myself.master.addr()
	}
	return c.myself.isSlave(), ""
}

// StateOK reports whether cluster_state is ok.
func (c *Cluster) StateOK() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateOK
}

// InfoSection is the body of INFO's "# Cluster" section.
func (c *Cluster) InfoSection() string { return "cluster_enabled:1\r\n" }

// unlock releases mu and then runs the work queued while it was held.
func (c *Cluster) unlock() {
	c.reportLostSlots()
	work := c.afterUnlok
	c.afterUnlok = nil
	c.mu.Unlock()
	for _, fn := range work {
		fn()
	}
}

func (c *Cluster) logf(format string, args ...any) { c.cfg.Logf(format, args...) }

// sortedNodes lists the nodes in a stable order (by id), for replies.
func (c *Cluster) sortedNodes() []*node {
	out := make([]*node, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// ---- slot and role changes (mu held) ----

func (c *Cluster) addSlot(n *node, slot int) bool {
	if c.slots[slot] != nil {
		return false
	}
	c.slots[slot] = n
	n.slots.set(slot)
	n.numSlots++
	c.assignedSlots++
	// A master serving its first slot is a valid replica migration target
	// when other masters have replicas, even if it never had one.
	if n.numSlots == 1 && c.mastersHaveReplicas() {
		n.flags |= flagMigrateTo
	}
	return true
}

func (c *Cluster) delSlot(slot int) bool {
	n := c.slots[slot]
	if n == nil {
		return false
	}
	if n == c.myMasterOrMe() {
		c.noteSlotLost(slot)
	}
	n.slots.clear(slot)
	n.numSlots--
	c.assignedSlots--
	c.slots[slot] = nil
	return true
}

func (c *Cluster) delNodeSlots(n *node) {
	for j := range NumSlots {
		if c.slots[j] == n {
			c.delSlot(j)
		}
	}
}

// setMigrating and setImporting open or (with nil) close a slot, keeping
// openSlots up to date.
func (c *Cluster) setMigrating(slot int, target *node) {
	c.openSlots += openDelta(c.migrating[slot], target)
	c.migrating[slot] = target
}

func (c *Cluster) setImporting(slot int, source *node) {
	c.openSlots += openDelta(c.importing[slot], source)
	c.importing[slot] = source
}

func openDelta(old, new *node) int {
	switch {
	case old == nil && new != nil:
		return 1
	case old != nil && new == nil:
		return -1
	}
	return 0
}

func (c *Cluster) closeAllSlots() {
	c.migrating = [NumSlots]*node{}
	c.importing = [NumSlots]*node{}
	c.openSlots = 0
}

// setNodeAsMaster turns a replica (maybe myself) into a master.
func (c *Cluster) setNodeAsMaster(n *node) {
	if n.isMaster() {
		return
	}
	if n.master != nil {
		n.master.removeReplica(n)
		if n != c.myself { // it took over a master that had replicas
			n.flags |= flagMigrateTo
		}
	}
	n.flags &^= flagSlave
	n.flags |= flagMaster
	n.master = nil
	if n == c.myself {
		c.notifyRole()
	}
}

// setMyMaster makes myself a replica of m (clusterSetMaster).
func (c *Cluster) setMyMaster(m *node) {
	me := c.myself
	if me.isMaster() {
		c.delNodeSlots(me)
		me.flags &^= flagMaster | flagMigrateTo
		me.flags |= flagSlave
		c.closeAllSlots()
	} else if me.master != nil {
		me.master.removeReplica(me)
	}
	me.master = m
	m.addReplica(me)
	c.resetManualFailover()
	c.notifyRole()
}

func (c *Cluster) notifyRole() {
	hook := c.roleHook
	if hook == nil {
		return
	}
	rc := RoleChange{Replica: c.myself.isSlave()}
	if m := c.myself.master; m != nil {
		rc.MasterID, rc.MasterIP, rc.MasterPort = m.id, m.ip, m.port
	}
	c.afterUnlok = append(c.afterUnlok, func() { go hook(rc) })
}

// delNode forgets n entirely (clusterDelNode).
func (c *Cluster) delNode(n *node) {
	for j := range NumSlots {
		if c.importing[j] == n {
			c.setImporting(j, nil)
		}
		if c.migrating[j] == n {
			c.setMigrating(j, nil)
		}
		if c.slots[j] == n {
			c.delSlot(j)
		}
	}
	for _, other := range c.nodes {
		delete(other.failReports, n)
	}
	if n.master != nil {
		n.master.removeReplica(n)
	}
	for _, r := range n.replicas {
		if r.master == n {
			r.master = nil
		}
	}
	c.freeLink(n.link)
	delete(c.nodes, n.id)
}

func (c *Cluster) renameNode(n *node, id string) {
	delete(c.nodes, n.id)
	n.id = id
	c.nodes[id] = n
}

// maxEpoch is the greatest config epoch known, or the current epoch.
func (c *Cluster) maxEpoch() uint64 {
	m := c.currentEpoch
	for _, n := range c.nodes {
		if n.configEpoch > m {
			m = n.configEpoch
		}
	}
	return m
}

// bumpEpochWithoutConsensus gives myself a new, unique config epoch unless it
// already has the greatest one (clusterBumpConfigEpochWithoutConsensus).
func (c *Cluster) bumpEpochWithoutConsensus() bool {
	max := c.maxEpoch()
	if c.myself.configEpoch == 0 || c.myself.configEpoch != max {
		c.currentEpoch++
		c.myself.configEpoch = c.currentEpoch
		return true
	}
	return false
}

// updateState recomputes cluster_state and cluster_size (clusterUpdateState).
// It runs after every slot or failure change, so it looks at the nodes, not
// at the 16384 slots: full coverage means every slot is assigned and no owner
// is failing.
func (c *Cluster) updateState() {
	ok := !c.cfg.RequireFullCoverage || c.assignedSlots == NumSlots
	size, reachable := 0, 0
	for _, n := range c.nodes {
		if c.cfg.RequireFullCoverage && n.numSlots > 0 && n.failed() {
			ok = false
		}
		if n.isMaster() && n.numSlots > 0 {
			size++
			if n.flags&(flagFail|flagPFail) == 0 {
				reachable++
			}
		}
	}
	c.size = size
	if reachable < size/2+1 {
		ok = false
	}
	c.stateOK = ok
}

// myMasterOrMe is the master whose slots this node advertises.
func (c *Cluster) myMasterOrMe() *node {
	if c.myself.isSlave() && c.myself.master != nil {
		return c.myself.master
	}
	return c.myself
}

// appendNodeAddr appends the "ip:port@cport[,hostname]" of CLUSTER NODES.
func appendNodeAddr(b []byte, n *node) []byte {
	b = append(b, n.ip...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(n.port), 10)
	b = append(b, '@')
	b = strconv.AppendInt(b, int64(n.cport), 10)
	if n.hostname != "" {
		b = append(b, ',')
		b = append(b, n.hostname...)
	}
	return b
}
