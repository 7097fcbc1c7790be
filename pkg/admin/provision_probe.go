package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// NodeFacts is what create and add-node learn about a node before they
// change anything: who it is, where to MEET it, and whether it is empty.
type NodeFacts struct {
	Addr    string `json:"addr"` // host:port as the user gave it, normalized
	Host    string `json:"host"` // host as given: anti-affinity groups nodes by it
	Port    int    `json:"port"`
	BusPort int    `json:"bus_port,omitempty"` // 0 when unknown (port+10000 is assumed)
	IP      string `json:"ip"`                 // Host resolved: CLUSTER MEET wants an IP
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`

	ClusterEnabled bool  `json:"cluster_enabled"`
	Keys           int64 `json:"keys"`
	KnownNodes     int   `json:"known_nodes"` // CLUSTER NODES lines, 1 when alone
	// KnownIDs are the IDs of the other nodes it knows.
	KnownIDs  []string `json:"known_ids,omitempty"`
	Slots     int      `json:"slots"`
	Functions int      `json:"functions"` // libraries loaded (FUNCTION LIST), -1 when unsupported
}

// emptyError explains why the node cannot join a new cluster, or nil when
// it is an empty, lonely cluster node.
func (f NodeFacts) emptyError() error {
	notEmpty := func(err error) error {
		return withRedisCLILine(err, "[ERR] Node "+f.Addr+" is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0.")
	}
	switch {
	case !f.ClusterEnabled:
		return withRedisCLILine(fmt.Errorf("node %s is not configured as a cluster node (set cluster-enabled yes)", f.Addr),
			"[ERR] Node "+f.Addr+" is not configured as a cluster node.")
	case f.KnownNodes > 1:
		return notEmpty(fmt.Errorf("node %s is not empty: it already knows %d other node(s) (check with CLUSTER NODES; CLUSTER RESET to reuse it)",
			f.Addr, f.KnownNodes-1))
	case f.Slots > 0:
		return notEmpty(fmt.Errorf("node %s is not empty: it serves %d slot(s)", f.Addr, f.Slots))
	case f.Keys > 0:
		return notEmpty(fmt.Errorf("node %s is not empty: it holds %d key(s) in database 0", f.Addr, f.Keys))
	}
	return nil
}

// supportsAddSlotsRange reports Redis 7+ (CLUSTER ADDSLOTSRANGE).
func (f NodeFacts) supportsAddSlotsRange() bool {
	major, _, _ := strings.Cut(f.Version, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 7
}

// ProbeNode reads a node's identity and emptiness with one pipeline:
// INFO server, DBSIZE, CLUSTER NODES, FUNCTION LIST. It fails only when the
// node cannot be reached or queried; a non-empty or non-cluster node is
// described in the facts (see emptyError).
func ProbeNode(ctx context.Context, pool *conn.Pool, addr string) (NodeFacts, error) {
	a, err := conn.ParseAddr(addr)
	if err != nil {
		return NodeFacts{}, err
	}
	f := NodeFacts{Addr: a.String(), Host: a.Host, Port: a.Port, BusPort: a.BusPort, Functions: -1}
	cl := pool.Get(f.Addr)
	pipe := cl.Pipeline()
	info := pipe.Info(ctx, "server")
	dbsize := pipe.DBSize(ctx)
	nodes := pipe.ClusterNodes(ctx)
	funcs := pipe.Do(ctx, "FUNCTION", "LIST")
	if _, err := pipe.Exec(ctx); err != nil && info.Err() == nil && dbsize.Err() == nil && nodes.Err() == nil && funcs.Err() == nil {
		return f, conn.NodeError(f.Addr, "", err) // the connection failed (auth, TLS, ...), not a command
	}
	if err := info.Err(); err != nil {
		return f, conn.NodeError(f.Addr, "INFO", err)
	}
	f.Version = probeInfoField(info.Val(), "redis_version")
	if err := dbsize.Err(); err != nil {
		return f, conn.NodeError(f.Addr, "DBSIZE", err)
	}
	f.Keys = dbsize.Val()
	if list, err := funcs.Slice(); err == nil {
		f.Functions = len(list)
	}
	if err := nodes.Err(); err != nil {
		if strings.Contains(err.Error(), "cluster support disabled") {
			return f, nil
		}
		return f, conn.NodeError(f.Addr, "CLUSTER NODES", err)
	}
	f.ClusterEnabled = true
	view, err := topology.ParseNodes(nodes.Val())
	if err != nil {
		return f, &conn.Error{Addr: f.Addr, Cmd: "CLUSTER NODES", Err: err}
	}
	f.KnownNodes = len(view)
	for _, n := range view {
		if !n.Myself() {
			f.KnownIDs = append(f.KnownIDs, n.ID)
			continue
		}
		f.ID, f.Slots = n.ID, n.Slots.Len()
		if f.BusPort == 0 && n.BusPort != 0 {
			f.BusPort = n.BusPort
		}
	}
	if f.ID == "" {
		return f, &conn.Error{Addr: f.Addr, Cmd: "CLUSTER NODES", Err: errors.New("reply has no myself line")}
	}
	if f.IP, err = resolveIP(ctx, f.Host); err != nil {
		return f, fmt.Errorf("node %s: %w", f.Addr, err)
	}
	return f, nil
}

// probeAll probes every address in parallel; errs[i] is nil when addrs[i]
// answered.
func probeAll(ctx context.Context, pool *conn.Pool, addrs []string) ([]NodeFacts, []error) {
	facts := make([]NodeFacts, len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			facts[i], errs[i] = ProbeNode(ctx, pool, a)
		}()
	}
	wg.Wait()
	return facts, errs
}

func probeInfoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// resolveIP turns a host name into the IP CLUSTER MEET needs (IPv4 first).
func resolveIP(ctx context.Context, host string) (string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("cannot resolve host %q to an IP address for CLUSTER MEET", host)
	}
	for _, ip := range ips {
		if ip.IP.To4() != nil {
			return ip.IP.String(), nil
		}
	}
	return ips[0].IP.String(), nil
}

// meetTarget is where CLUSTER MEET reaches a node.
type meetTarget struct {
	Addr    string // host:port gocluster talks to
	IP      string
	Port    int
	BusPort int // 0 when it is the default port+10000
}

func (f NodeFacts) meetTarget() meetTarget {
	return meetTarget{Addr: f.Addr, IP: f.IP, Port: f.Port, BusPort: f.BusPort}
}

// meetArgs is CLUSTER MEET towards the node, with the bus port only when
// it is not the default port+10000 (the two-argument form works everywhere).
func (t meetTarget) meetArgs() []any {
	if t.BusPort == 0 || t.BusPort == t.Port+10000 {
		return []any{"CLUSTER", "MEET", t.IP, t.Port}
	}
	return []any{"CLUSTER", "MEET", t.IP, t.Port, t.BusPort}
}

// announce makes every node of from send its current configuration (slots,
// role, epoch) to every node of to right away. Nodes process the header of
// a packet only from a node they already know, so the handshake packets of
// a join carry no slots or roles, and the next regular ping may come
// seconds later (node-timeout/2). A CLUSTER MEET towards an already known
// node sends one packet at once; the receiver reads its header and the
// sender drops the duplicate handshake entry when the reply comes back.
func announce(ctx context.Context, pool *conn.Pool, from, to []meetTarget) error {
	return provisionEach(len(from), func(i int) error {
		var cmds [][]any
		for _, t := range to {
			if t.Addr != from[i].Addr {
				cmds = append(cmds, t.meetArgs())
			}
		}
		return pipelineOn(ctx, pool, from[i].Addr, cmds)
	})
}

// announceStale is announce limited to the pairs that need it: node x
// MEETs node y only when y's view of x differs from x's own line (role,
// master, slots). After a join, the node that sent a handshake already
// holds the other's configuration, so about half the pairs, and every
// replica's new role, are all that is left to spread; each announce opens a
// bus connection on both nodes, which is most of a big create's CPU.
func announceStale(ctx context.Context, pool *conn.Pool, targets []meetTarget) error {
	addrs := make([]string, len(targets))
	for i, t := range targets {
		addrs[i] = t.Addr
	}
	views, err := fetchViews(ctx, pool, addrs)
	if err != nil {
		return err
	}
	stale := staleViews(views)
	return provisionEach(len(targets), func(x int) error {
		var cmds [][]any
		for _, y := range stale[x] {
			cmds = append(cmds, targets[y].meetArgs())
		}
		return pipelineOn(ctx, pool, targets[x].Addr, cmds)
	})
}

// staleViews lists, for each node x, the nodes whose view of x differs from
// x's own line in views (one CLUSTER NODES view per node, same order).
func staleViews(views [][]*topology.Node) [][]int {
	self := make([]*topology.Node, len(views))
	for i, v := range views {
		for _, n := range v {
			if n.Myself() {
				self[i] = n
			}
		}
	}
	stale := make([][]int, len(views))
	for y, v := range views {
		known := make(map[string]*topology.Node, len(v))
		for _, n := range v {
			known[n.ID] = n
		}
		for x, me := range self {
			if x == y || me == nil {
				continue
			}
			seen := known[me.ID]
			if seen == nil || seen.IsMaster() != me.IsMaster() || seen.MasterID != me.MasterID || !seen.Slots.Equal(me.Slots) {
				stale[x] = append(stale[x], y)
			}
		}
	}
	return stale
}

// waitSettled waits until the nodes converge with no handshake left
// behind (announce leaves short-lived ones); requireOK adds the
// cluster_state:ok wait to a slot check.
func waitSettled(ctx context.Context, pool *conn.Pool, addrs []string, o ConvergeOptions, requireOK bool) error {
	o.NoHandshake, o.SkipStateOK = true, !requireOK
	return WaitConverged(ctx, pool, addrs, o)
}

// pollInterval is how often provisioning polls the nodes while waiting:
// a CLUSTER NODES per node is cheap, and the cluster bus changes in 100 ms
// ticks, so a short interval saves up to a tick per wait.
const pollInterval = 10 * time.Millisecond

// provisionEach runs fn for every index at once and returns the errors joined
// (nil when all succeeded).
func provisionEach(n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return joinNodeErrors(errs)
}

// joinNodeErrors joins the non-nil errors with "; " so they stay on one line.
// maxNodeErrors is how many per-node problems one error lists.
const maxNodeErrors = 10

func joinNodeErrors(errs []error) error {
	var msgs []string
	var first error
	for _, e := range errs {
		if e != nil {
			if first == nil {
				first = e
			}
			msgs = append(msgs, e.Error())
		}
	}
	switch len(msgs) {
	case 0:
		return nil
	case 1:
		return first
	}
	// Past a screenful the rest adds nothing an operator can read.
	if len(msgs) > maxNodeErrors {
		msgs = append(msgs[:maxNodeErrors], fmt.Sprintf("and %d more node(s) with problems", len(msgs)-maxNodeErrors))
	}
	joined := errors.New(strings.Join(msgs, "; "))
	if r, ok := RedisCLILine(first); ok { // redis-cli stops at the first node, printing its line
		return withRedisCLILine(joined, r.Line)
	}
	return joined
}

// pipelineOn runs cmds on addr as one pipeline and returns the first
// failure, naming the node and the command.
func pipelineOn(ctx context.Context, pool *conn.Pool, addr string, cmds [][]any) error {
	if len(cmds) == 0 {
		return nil
	}
	pipe := pool.Get(addr).Pipeline()
	results := make([]*redis.Cmd, len(cmds))
	for i, c := range cmds {
		results[i] = pipe.Do(ctx, c...)
	}
	_, execErr := pipe.Exec(ctx)
	for i, r := range results {
		if err := r.Err(); err != nil {
			return conn.NodeError(addr, pipelineCmdName(cmds[i]), err)
		}
	}
	return conn.NodeError(addr, "", execErr) // the connection failed, not a command
}

// pipelineCmdName is the command and its arguments as an operator reads them,
// shortened when long (ADDSLOTS with thousands of slots).
func pipelineCmdName(args []any) string {
	parts := make([]string, 0, 7)
	for i, a := range args {
		if i == 6 {
			parts = append(parts, "...")
			break
		}
		s := fmt.Sprint(a)
		if i < 2 {
			s = strings.ToUpper(s)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}
