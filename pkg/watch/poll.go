package watch

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// maxCountedOpenSlots bounds the COUNTKEYSINSLOT calls added to one
// node's poll: a resharding opens a batch of slots at a time, and the
// view stays cheap even if a broken cluster leaves thousands open.
const maxCountedOpenSlots = 64

// Watcher polls a cluster; each Poll is one tick. Not safe for concurrent
// Polls.
type Watcher struct {
	pool  *conn.Pool
	seed  string
	addrs []string          // nodes to poll, from the last observer view
	prev  map[string]sample // addr -> its counters at the last poll
	open  map[string][]int  // addr -> its open slots, counted next tick
}

type sample struct {
	commands int64 // total_commands_processed
	sent     int64 // commands this poll sent after (and including) INFO
	at       time.Time
}

// New watches the cluster that seed belongs to.
func New(pool *conn.Pool, seed string) *Watcher {
	return &Watcher{pool: pool, seed: seed, prev: map[string]sample{}, open: map[string][]int{}}
}

// Seed is the address the watcher started from.
func (w *Watcher) Seed() string { return w.seed }

// nodePoll is what one node answered in one tick.
type nodePoll struct {
	addr   string
	info   infoFields
	myself *topology.Node
	view   string // CLUSTER NODES text
	state  string // cluster_state
	counts map[int]int64
	sent   int64
	at     time.Time
	err    error
}

// Poll asks every node, all in parallel, for INFO, CLUSTER NODES and
// CLUSTER INFO (plus COUNTKEYSINSLOT for its open slots) in one pipeline,
// and builds the snapshot. The seed's CLUSTER NODES (or, if the seed is
// down, the first node that answers) decides the membership and flags.
func (w *Watcher) Poll(ctx context.Context) (*Snapshot, error) {
	first := len(w.addrs) == 0
	if first {
		w.addrs = []string{w.seed}
	}
	polls := w.pollAll(ctx, w.addrs)
	obs := w.observer(polls)
	if obs == nil {
		return nil, polls[0].err
	}
	view, err := topology.ParseNodes(obs.view)
	if err != nil {
		return nil, &conn.Error{Addr: obs.addr, Cmd: "CLUSTER NODES", Err: err}
	}
	members := make([]string, 0, len(view))
	for _, n := range view {
		if n.Myself() {
			n.Host, n.Port = hostPortOf(obs.addr, n)
		}
		if n.Port != 0 && n.Host != "" && !n.HasFlag("noaddr") {
			members = append(members, n.Addr())
		}
	}
	if first { // the seed told who the others are: ask them now too
		var rest []string
		for _, a := range members {
			if a != obs.addr {
				rest = append(rest, a)
			}
		}
		polls = append(polls, w.pollAll(ctx, rest)...)
	}
	w.addrs = members
	for addr := range w.prev { // forgotten nodes
		if !slices.Contains(members, addr) {
			delete(w.prev, addr)
		}
	}
	return w.build(obs, view, polls), nil
}

func hostPortOf(addr string, n *topology.Node) (string, int) {
	a, err := conn.ParseAddr(addr)
	if err != nil {
		return n.Host, n.Port
	}
	return a.Host, a.Port
}

// observer is the seed's poll if it answered, else the first that did.
func (w *Watcher) observer(polls []*nodePoll) *nodePoll {
	for _, p := range polls {
		if p.err == nil && p.addr == w.seed {
			return p
		}
	}
	for _, p := range polls {
		if p.err == nil {
			return p
		}
	}
	return nil
}

func (w *Watcher) pollAll(ctx context.Context, addrs []string) []*nodePoll {
	out := make([]*nodePoll, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = w.pollNode(ctx, a)
		}()
	}
	wg.Wait()
	return out
}

func (w *Watcher) pollNode(ctx context.Context, addr string) *nodePoll {
	p := &nodePoll{addr: addr}
	pipe := w.pool.Get(addr).Pipeline()
	info := pipe.Info(ctx, "clients", "memory", "stats", "replication", "keyspace")
	nodes := pipe.ClusterNodes(ctx)
	cinfo := pipe.ClusterInfo(ctx)
	open := w.open[addr]
	counts := make([]*redis.IntCmd, len(open))
	for i, s := range open {
		counts[i] = pipe.ClusterCountKeysInSlot(ctx, s)
	}
	p.sent = int64(3 + len(open))
	_, err := pipe.Exec(ctx)
	p.at = time.Now()
	if err != nil {
		p.err = conn.NodeError(addr, "INFO", err)
		return p
	}
	p.info = parseInfo(info.Val())
	p.view = nodes.Val()
	p.state = infoValue(cinfo.Val(), "cluster_state")
	p.myself = myselfLine(p.view)
	if p.myself == nil {
		p.err = &conn.Error{Addr: addr, Cmd: "CLUSTER NODES", Err: errors.New("reply has no myself line")}
		return p
	}
	p.counts = make(map[int]int64, len(open))
	for i, s := range open {
		p.counts[s] = counts[i].Val()
	}
	return p
}

// myselfLine parses only the node's own line: the others are read from
// the observer's view, so 60 nodes cost one full parse per tick, not 60.
func myselfLine(text string) *topology.Node {
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && strings.Contains(f[2], "myself") {
			n, err := topology.ParseNodeLine(line)
			if err == nil {
				return n
			}
		}
	}
	return nil
}

func (w *Watcher) build(obs *nodePoll, view []*topology.Node, polls []*nodePoll) *Snapshot {
	byAddr := make(map[string]*nodePoll, len(polls))
	for _, p := range polls {
		byAddr[p.addr] = p
	}
	addrOf := make(map[string]string, len(view))
	for _, n := range view {
		addrOf[n.ID] = n.Addr()
	}
	s := &Snapshot{Time: obs.at, State: obs.state, Seed: obs.addr}
	for i := range s.Owner {
		s.Owner[i] = OwnerNone
	}
	open := map[int]*OpenSlot{}
	openSlot := func(slot int) *OpenSlot {
		if o := open[slot]; o != nil {
			return o
		}
		o := &OpenSlot{Slot: slot, KeysLeft: -1, KeysDone: -1}
		open[slot] = o
		return o
	}
	nextOpen := map[string][]int{}
	offsets := map[string]int64{}
	for _, n := range view {
		row := NodeRow{Addr: n.Addr(), Host: n.Host, ID: n.ID, Role: "master", Slots: n.Slots.Len(), Link: "connected"}
		if n.IsReplica() {
			row.Role, row.MasterAddr = "replica", addrOf[n.MasterID]
		}
		if !n.Connected && !n.Myself() {
			row.Link = "disconnected"
		}
		for _, f := range n.Flags {
			switch f {
			case "myself", "master", "slave", "noflags":
			case "fail?":
				row.Flags = append(row.Flags, "pfail")
			default:
				row.Flags = append(row.Flags, f)
			}
		}
		p := byAddr[row.Addr]
		switch {
		case p == nil:
			row.Error = "not polled yet"
		case p.err != nil:
			row.Error = p.err.Error()
		default:
			w.fillStats(&row, p)
			offsets[row.Addr] = row.replOffset
			for slot, target := range p.myself.Migrating {
				o := openSlot(slot)
				o.Source, o.Target = row.Addr, addrOf[target]
				if c, ok := p.counts[slot]; ok {
					o.KeysLeft = c
				}
				nextOpen[row.Addr] = append(nextOpen[row.Addr], slot)
			}
			for slot, source := range p.myself.Importing {
				o := openSlot(slot)
				o.Target = row.Addr
				if o.Source == "" {
					o.Source = addrOf[source]
				}
				if c, ok := p.counts[slot]; ok {
					o.KeysDone = c
				}
				nextOpen[row.Addr] = append(nextOpen[row.Addr], slot)
			}
		}
		if row.Role == "master" {
			for _, r := range n.Slots.Ranges() {
				for slot := r.Start; slot <= r.End; slot++ {
					s.Owner[slot] = int16(len(s.Nodes))
				}
			}
		}
		s.Nodes = append(s.Nodes, row)
	}
	for i := range s.Nodes {
		r := &s.Nodes[i]
		if r.Role == "replica" && r.Error == "" {
			if mo, ok := offsets[r.MasterAddr]; ok {
				r.ReplLag = max(mo-r.replOffset, 0)
			}
		}
		s.Total.add(r)
	}
	for slot := range slots.Count {
		if s.Owner[slot] >= 0 {
			s.Total.SlotsCovered++
		}
	}
	for addr, list := range nextOpen {
		if len(list) > maxCountedOpenSlots {
			list = list[:maxCountedOpenSlots]
		}
		nextOpen[addr] = list
	}
	w.open = nextOpen
	for _, o := range open {
		s.Open = append(s.Open, *o)
	}
	sortOpen(s.Open)
	return s
}

func (t *Totals) add(r *NodeRow) {
	if r.Role == "master" {
		t.Masters++
		t.Keys += r.Keys
	} else {
		t.Replicas++
	}
	t.OpsPerSec += r.OpsPerSec
	t.UsedMemory += r.UsedMemory
	t.Clients += r.Clients
	if r.Error != "" || len(r.Flags) > 0 && (hasFlag(r.Flags, "fail") || hasFlag(r.Flags, "pfail")) {
		t.Failing++
	}
}

func hasFlag(fs []string, f string) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// fillStats copies a node's INFO into its row and works out its ops/s
// from the command counter since the last poll, less the commands the
// watcher itself sent, so an idle cluster shows 0.
func (w *Watcher) fillStats(row *NodeRow, p *nodePoll) {
	in := p.info
	row.Keys, row.UsedMemory, row.Clients = in.keys, in.usedMemory, in.clients
	row.replOffset = in.masterOffset
	if row.Role == "replica" {
		row.replOffset = in.slaveOffset
		row.ReplLink = in.masterLink
	}
	row.OpsPerSec = in.instantOps
	if prev, ok := w.prev[p.addr]; ok && p.at.After(prev.at) {
		ops := max(in.commands-prev.commands-prev.sent, 0)
		row.OpsPerSec = float64(ops) / p.at.Sub(prev.at).Seconds()
	}
	w.prev[p.addr] = sample{commands: in.commands, sent: p.sent, at: p.at}
}

// infoFields are the INFO fields the view shows.
type infoFields struct {
	keys, usedMemory, clients, commands int64
	masterOffset, slaveOffset           int64
	instantOps                          float64
	masterLink                          string
}

func parseInfo(text string) infoFields {
	var f infoFields
	for line := range strings.SplitSeq(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok {
			continue
		}
		switch {
		case k == "connected_clients":
			f.clients = atoi(v)
		case k == "used_memory":
			f.usedMemory = atoi(v)
		case k == "total_commands_processed":
			f.commands = atoi(v)
		case k == "instantaneous_ops_per_sec":
			f.instantOps = float64(atoi(v))
		case k == "master_repl_offset":
			f.masterOffset = atoi(v)
		case k == "slave_repl_offset":
			f.slaveOffset = atoi(v)
		case k == "master_link_status":
			f.masterLink = v
		case strings.HasPrefix(k, "db"):
			keys, _, _ := strings.Cut(v, ",")
			if n, ok := strings.CutPrefix(keys, "keys="); ok {
				f.keys += atoi(n)
			}
		}
	}
	return f
}

func infoValue(text, field string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), field+":"); ok {
			return v
		}
	}
	return ""
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
