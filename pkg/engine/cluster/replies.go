package cluster

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// infoText is the CLUSTER INFO body (clusterGenInfo field order).
func (c *Cluster) infoText() string {
	assigned, ok, pfail, fail := c.assignedSlots, 0, 0, 0
	for _, n := range c.nodes {
		switch {
		case n.numSlots == 0:
		case n.failed():
			fail += n.numSlots
		case n.timedOut():
			pfail += n.numSlots
		default:
			ok += n.numSlots
		}
	}
	state := "fail"
	if c.stateOK {
		state = "ok"
	}
	myEpoch := c.myMasterOrMe().configEpoch
	var b strings.Builder
	fmt.Fprintf(&b, "cluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n"+
		"cluster_slots_pfail:%d\r\ncluster_slots_fail:%d\r\ncluster_known_nodes:%d\r\n"+
		"cluster_size:%d\r\ncluster_current_epoch:%d\r\ncluster_my_epoch:%d\r\n",
		state, assigned, ok, pfail, fail, len(c.nodes), c.size, c.currentEpoch, myEpoch)
	var sent, recv uint64
	for t, v := range c.statsSent {
		if v > 0 {
			fmt.Fprintf(&b, "cluster_stats_messages_%s_sent:%d\r\n", msgTypeNames[t], v)
			sent += v
		}
	}
	fmt.Fprintf(&b, "cluster_stats_messages_sent:%d\r\n", sent)
	for t, v := range c.statsRecv {
		if v > 0 {
			fmt.Fprintf(&b, "cluster_stats_messages_%s_received:%d\r\n", msgTypeNames[t], v)
			recv += v
		}
	}
	fmt.Fprintf(&b, "cluster_stats_messages_received:%d\r\n", recv)
	b.WriteString("total_cluster_links_buffer_limit_exceeded:0\r\n")
	return b.String()
}

// slotRanges lists n's slots as [start, end] pairs.
func slotRanges(n *node) [][2]int {
	if n.numSlots == 0 {
		return nil
	}
	var out [][2]int
	n.slots.eachRange(func(start, end int) { out = append(out, [2]int{start, end}) })
	return out
}

// writeSlotsNode writes one CLUSTER SLOTS node entry: ip, port, id and a map
// of extra networking metadata (the hostname, when there is one).
func writeSlotsNode(w *resp.Writer, n *node) {
	w.WriteArrayLen(4)
	w.WriteBulkString(n.ip)
	w.WriteInt(int64(n.port))
	w.WriteBulkString(n.id)
	if n.hostname != "" {
		w.WriteMapLen(1)
		w.WriteBulkString("hostname")
		w.WriteBulkString(n.hostname)
	} else {
		w.WriteMapLen(0)
	}
}

type slotRangeOwner struct {
	start, end int
	master     *node
}

func (c *Cluster) writeSlots(w *resp.Writer) {
	var ranges []slotRangeOwner
	for _, n := range c.nodes {
		if !n.isMaster() || n.numSlots == 0 {
			continue
		}
		for _, r := range slotRanges(n) {
			ranges = append(ranges, slotRangeOwner{r[0], r[1], n})
		}
	}
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].start < ranges[j].start })
	w.WriteArrayLen(len(ranges))
	for _, r := range ranges {
		var replicas []*node
		for _, rep := range r.master.replicas {
			if !rep.failed() {
				replicas = append(replicas, rep)
			}
		}
		sort.Slice(replicas, func(i, j int) bool { return replicas[i].id < replicas[j].id })
		w.WriteArrayLen(3 + len(replicas))
		w.WriteInt(int64(r.start))
		w.WriteInt(int64(r.end))
		writeSlotsNode(w, r.master)
		for _, rep := range replicas {
			writeSlotsNode(w, rep)
		}
	}
}

func (c *Cluster) writeShardNode(w *resp.Writer, n *node) {
	fields := 7
	if n.hostname != "" {
		fields++
	}
	w.WriteMapLen(fields)
	w.WriteBulkString("id")
	w.WriteBulkString(n.id)
	w.WriteBulkString("port")
	w.WriteInt(int64(n.port))
	w.WriteBulkString("ip")
	w.WriteBulkString(n.ip)
	w.WriteBulkString("endpoint")
	w.WriteBulkString(n.ip)
	if n.hostname != "" {
		w.WriteBulkString("hostname")
		w.WriteBulkString(n.hostname)
	}
	w.WriteBulkString("role")
	if n.isSlave() {
		w.WriteBulkString("replica")
	} else {
		w.WriteBulkString("master")
	}
	w.WriteBulkString("replication-offset")
	w.WriteInt(n.replOffset)
	w.WriteBulkString("health")
	if n.failed() {
		w.WriteBulkString("fail")
	} else {
		w.WriteBulkString("online")
	}
}

// writeShards is CLUSTER SHARDS: one entry per master with its slot ranges
// (flat start/end integers) and the master and replicas as maps.
func (c *Cluster) writeShards(w *resp.Writer) {
	var masters []*node
	for _, n := range c.sortedNodes() {
		if n.isMaster() && n.flags&(flagHandshake|flagNoAddr) == 0 {
			masters = append(masters, n)
		}
	}
	w.WriteArrayLen(len(masters))
	for _, m := range masters {
		w.WriteMapLen(2)
		w.WriteBulkString("slots")
		ranges := slotRanges(m)
		w.WriteArrayLen(2 * len(ranges))
		for _, r := range ranges {
			w.WriteInt(int64(r[0]))
			w.WriteInt(int64(r[1]))
		}
		w.WriteBulkString("nodes")
		members := append([]*node{m}, m.replicas...)
		w.WriteArrayLen(len(members))
		for _, n := range members {
			c.writeShardNode(w, n)
		}
	}
}

// writeLinks is CLUSTER LINKS: one map per bus connection.
func (c *Cluster) writeLinks(w *resp.Writer) {
	type row struct {
		dir, id string
		ctime   int64
	}
	var rows []row
	for l := range c.links {
		switch {
		case l.inbound && l.peer != nil && c.nodes[l.peer.id] == l.peer:
			rows = append(rows, row{"from", l.peer.id, l.ctime})
		case !l.inbound && l.node != nil && l.conn != nil:
			rows = append(rows, row{"to", l.node.id, l.ctime})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].id != rows[j].id {
			return rows[i].id < rows[j].id
		}
		return rows[i].dir > rows[j].dir
	})
	w.WriteArrayLen(len(rows))
	for _, r := range rows {
		w.WriteMapLen(6)
		w.WriteBulkString("direction")
		w.WriteBulkString(r.dir)
		w.WriteBulkString("node")
		w.WriteBulkString(r.id)
		w.WriteBulkString("create-time")
		w.WriteInt(r.ctime)
		w.WriteBulkString("events")
		w.WriteBulkString("r")
		w.WriteBulkString("send-buffer-allocated")
		w.WriteInt(0)
		w.WriteBulkString("send-buffer-used")
		w.WriteInt(0)
	}
}

// helpLines is CLUSTER HELP: redis-server 7.0.15's header and syntax
// lines in its order (clients match on them), described in the engine's
// own words.
var helpLines = []string{
	"CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ADDSLOTS <slot> [<slot> ...]", "    Claim the slots for this node.",
	"ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	"    Claim every slot of each inclusive range for this node.",
	"BUMPEPOCH", "    Give this node a new config epoch, above every other.",
	"COUNT-FAILURE-REPORTS <node-id>", "    How many nodes currently report <node-id> as failing.",
	"COUNTKEYSINSLOT <slot>", "    How many keys this node holds in <slot>.",
	"DELSLOTS <slot> [<slot> ...]", "    Forget who serves the slots, as far as this node knows.",
	"DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]", "    DELSLOTS for each inclusive range.",
	"FAILOVER [FORCE|TAKEOVER]",
	"    On a replica: take over its master's slots. FORCE goes ahead without the",
	"    master, TAKEOVER without the other masters' votes.",
	"FORGET <node-id>", "    Drop <node-id> from this node's table (and keep it out for a minute).",
	"GETKEYSINSLOT <slot> <count>", "    Up to <count> names of keys in <slot>.",
	"FLUSHSLOTS", "    Give up every slot of this node (it must hold no keys).",
	"INFO", "    Cluster state, slot counts, epochs and bus message counters.",
	"KEYSLOT <key>", "    The slot <key> hashes to (hash tags honoured).",
	"MEET <ip> <port> [<bus-port>]", "    Introduce another node, so that the two join one cluster.",
	"MYID", "    This node's 40 character id.",
	"NODES",
	"    The cluster table, a line per node: id, address, flags, master, ping sent,",
	"    pong received, config epoch, link state, then its slots.",
	"REPLICATE <node-id>", "    Make this node a replica of <node-id>.",
	"RESET [HARD|SOFT]", "    Forget other nodes and slots; HARD also takes a new id and zeroes the epochs.",
	"SET-CONFIG-EPOCH <epoch>", "    Give a fresh node its first config epoch.",
	"SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
	"    Mark a slot as moving in or out, clear that mark, or assign the slot to a node.",
	"REPLICAS <node-id>", "    The NODES lines of <node-id>'s replicas.",
	"SAVECONFIG", "    Write nodes.conf now.",
	"SLOTS", "    Each slot range with the address and id of its master, then of its replicas.",
	"SHARDS", "    Each shard: its slot ranges, then the details of every node in it.",
	"LINKS",
	"    A map per cluster bus link: direction, peer id, age, events and buffer sizes.",
	"HELP", "    This text.",
}

func writeHelp(w *resp.Writer) {
	w.WriteArrayLen(len(helpLines))
	for _, l := range helpLines {
		w.WriteSimple(l)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
