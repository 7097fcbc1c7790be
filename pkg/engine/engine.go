// Package engine assembles an embedded Redis-Cluster-compatible node: the
// store, the client-facing server and (when cluster-enabled) the cluster
// layer with its gossip bus.
package engine

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/cluster"
	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/pubsub"
	"github.com/gocluster/gocluster/pkg/engine/server"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Node is one running engine node.
type Node struct {
	Server  *server.Server
	Cluster *cluster.Cluster // nil unless cluster-enabled
	DB      *store.DB
	Config  *config.Config
	logOut  io.Closer
}

// Start listens on the configured address and serves in the background.
// Port 0 picks a free port (see Addr). With cluster-enabled it loads or
// creates nodes.conf and starts the cluster bus.
func Start(cfg *config.Config) (*Node, error) {
	if fi, err := os.Stat(cfg.Dir()); err != nil || !fi.IsDir() {
		// redis-server refuses to start too ("Can't chdir to ...")
		return nil, fmt.Errorf("dir %q: not an existing directory", cfg.Dir())
	}
	logger, closer, err := newLogger(cfg)
	if err != nil {
		return nil, err
	}
	db := store.New()
	srv := server.New(cfg, db, nil)
	srv.Logger = logger
	if err := srv.LoadACLFile(); err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, fmt.Errorf("aclfile: %w", err)
	}
	if err := listen(srv, cfg); err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, err
	}
	if err := srv.LoadData(); err != nil {
		srv.Close()
		if closer != nil {
			closer.Close()
		}
		return nil, fmt.Errorf("loading the data in %s: %w", cfg.Dir(), err)
	}
	n := &Node{Server: srv, DB: db, Config: cfg, logOut: closer}
	if cfg.ClusterEnabled() {
		cl, err := cluster.New(clusterConfig(cfg, srv.Port(), logger), keyspace{db, srv})
		if err != nil {
			srv.Close()
			n.closeLog()
			return nil, err
		}
		if err := cl.Start(); err != nil {
			srv.Close()
			n.closeLog()
			return nil, fmt.Errorf("cluster bus: %w", err)
		}
		n.Cluster = cl
		srv.Cluster = cl
		// replicas copy their master's data; the manager follows role changes
		repl := srv.StartReplicaManager(cl.Role)
		cl.OnRoleChange(func(rc cluster.RoleChange) {
			repl.Poke()
			if !rc.Replica {
				srv.CleanupTrackedMigrations() // a promoted replica drops what unfinished migrations left
			}
		})
		srv.CleanupTrackedMigrations() // a restart from an AOF with an unfinished migration
		repl.OnOffset(cl.SetReplicationOffset)
		connectPubSub(srv.PubSub, cl)
	}
	srv.Serve()
	srv.StartSavePoints()
	logger.Printf("gocluster engine ready on %s (redis %s compatible, cluster %v)", n.Addr(), server.Version, cfg.ClusterEnabled())
	return n, nil
}

// connectPubSub delivers messages published on other nodes to local
// subscribers, and unsubscribes (with an sunsubscribe push) the
// subscribers of shard channels whose slot left this node's shard.
func connectPubSub(hub *pubsub.Hub, cl *cluster.Cluster) {
	cl.OnPublish(func(channel, message []byte, shard bool) {
		if shard {
			hub.SPublish(channel, message)
		} else {
			hub.Publish(channel, message)
		}
	})
	cl.OnSlotsLost(func(lost []int) {
		gone := map[int]bool{}
		for _, s := range lost {
			gone[s] = true
		}
		hub.DropShardChannels(func(channel string) bool { return gone[cluster.KeySlot([]byte(channel))] })
	})
}

// listen binds the client port. With port 0 and cluster mode it retries
// until the picked port's bus port (port+10000) is usable too.
func listen(srv *server.Server, cfg *config.Config) error {
	autoBus := cfg.Port() == 0 && cfg.ClusterEnabled() &&
		cfg.Int("cluster-port") == 0 && cfg.Int("cluster-announce-bus-port") == 0
	for attempt := 0; ; attempt++ {
		if err := srv.Listen(); err != nil {
			return err
		}
		if !autoBus || busPortFree(srv.Port()+10000) || attempt == 50 {
			return nil
		}
		srv.Unlisten()
	}
}

func busPortFree(port int) bool {
	if port > 65535 {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func clusterConfig(cfg *config.Config, port int, logger *log.Logger) cluster.Config {
	host := ""
	if b := cfg.Bind(); len(b) > 0 {
		host = b[0]
		if host[0] == '-' {
			host = host[1:]
		}
	}
	busPort := cfg.Int("cluster-announce-bus-port")
	if busPort == 0 {
		busPort = cfg.Int("cluster-port")
	}
	return cluster.Config{
		Dir:                 cfg.Dir(),
		ConfigFile:          cfg.ClusterConfigFile(),
		Host:                host,
		Port:                port,
		BusPort:             busPort,
		AnnounceIP:          cfg.Get("cluster-announce-ip"),
		NodeTimeout:         cfg.NodeTimeout(),
		RequireFullCoverage: cfg.Bool("cluster-require-full-coverage"),
		NoReplicaMigration:  !cfg.Bool("cluster-allow-replica-migration"),
		MigrationBarrier:    cfg.Int("cluster-migration-barrier"),
		Password:            cfg.MasterAuth(),
		Logf:                logger.Printf,
	}
}

func newLogger(cfg *config.Config) (*log.Logger, io.Closer, error) {
	if cfg.Get("loglevel") == "nothing" {
		return log.New(io.Discard, "", 0), nil, nil
	}
	path := cfg.Get("logfile")
	if path == "" {
		return log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds), nil, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open logfile: %w", err)
	}
	return log.New(f, "", log.LstdFlags|log.Lmicroseconds), f, nil
}

// Addr is the client address, host:port, of the first listener.
func (n *Node) Addr() string {
	a, ok := n.Server.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(a.Port))
}

// Port is the client port.
func (n *Node) Port() int { return n.Server.Port() }

// Done is closed when a client asked the node to SHUTDOWN.
func (n *Node) Done() <-chan struct{} { return n.Server.ShutdownRequested() }

// Close stops the cluster bus and the server (nodes.conf is already saved
// on every change).
func (n *Node) Close() error {
	n.Server.ShutdownSave() // the final snapshot when due, and the AOF fsynced and closed
	var err error
	if n.Cluster != nil {
		err = n.Cluster.Close()
	}
	if e := n.Server.Close(); err == nil {
		err = e
	}
	n.closeLog()
	return err
}

func (n *Node) closeLog() {
	if n.logOut != nil {
		n.logOut.Close()
	}
}

// Run starts a node and serves until ctx is cancelled or a client sends
// SHUTDOWN.
func Run(ctx context.Context, cfg *config.Config) error {
	n, err := Start(cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-n.Done():
	}
	return n.Close()
}

// keyspace adapts the store to cluster.Keyspace, taking the store lock
// (the cluster never calls it while the server holds that lock).
type keyspace struct {
	db  *store.DB
	srv *server.Server
}

func (k keyspace) CountKeysInSlot(slot int) int {
	k.db.Mu.Lock()
	defer k.db.Mu.Unlock()
	return k.db.CountKeysInSlot(slot)
}

func (k keyspace) KeysInSlot(slot, count int) [][]byte {
	k.db.Mu.Lock()
	defer k.db.Mu.Unlock()
	return k.db.KeysInSlot(slot, count)
}

func (k keyspace) DBSize() int {
	k.db.Mu.Lock()
	defer k.db.Mu.Unlock()
	return k.db.DBSize()
}

func (k keyspace) FlushAll() {
	k.db.Mu.Lock()
	defer k.db.Mu.Unlock()
	k.db.Flush()
}

// DeleteKeysInSlot runs when another master took over a slot of ours that
// still had keys: the deletion reaches our replicas and AOF too (as Redis
// 7.2 does; 7.0 left the replicas with the keys).
func (k keyspace) DeleteKeysInSlot(slot int) int {
	return k.srv.DropSlotKeys(slot)
}
