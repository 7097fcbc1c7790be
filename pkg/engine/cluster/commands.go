package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// subcommandArity is Redis's arity for each CLUSTER subcommand, counting the
// word CLUSTER: positive = exact, negative = at least.
var subcommandArity = map[string]int{
	"addslots": -3, "addslotsrange": -4, "bumpepoch": 2, "count-failure-reports": 3,
	"countkeysinslot": 3, "delslots": -3, "delslotsrange": -4, "failover": -2,
	"flushslots": 2, "forget": 3, "getkeysinslot": 4, "help": 2, "info": 2, "keyslot": 3,
	"links": 2, "meet": -4, "myid": 2, "nodes": 2, "replicas": 3, "replicate": 3,
	"reset": -2, "saveconfig": 2, "set-config-epoch": 3, "setslot": -4, "shards": 2,
	"slaves": 3, "slots": 2, "slot-stats": -4,
}

// Command runs one CLUSTER subcommand; args are the words after CLUSTER.
func (c *Cluster) Command(w *resp.Writer, args [][]byte) {
	if len(args) == 0 {
		w.WriteError("ERR wrong number of arguments for 'cluster' command")
		return
	}
	sub := strings.ToLower(string(args[0]))
	w.SetBeforeFlush(c.commitHook)
	arity, known := subcommandArity[sub]
	if !known {
		w.WriteError(fmt.Sprintf("ERR unknown subcommand '%.128s'. Try CLUSTER HELP.", args[0]))
		return
	}
	argc := len(args) + 1
	if (arity > 0 && argc != arity) || (arity < 0 && argc < -arity) {
		w.WriteError(fmt.Sprintf("ERR wrong number of arguments for 'cluster|%s' command", sub))
		return
	}
	switch sub {
	case "help":
		writeHelp(w)
	case "keyslot":
		w.WriteInt(int64(KeySlot(args[1])))
	case "countkeysinslot":
		slot, err := strconv.ParseInt(string(args[1]), 10, 64)
		if err != nil {
			w.WriteError("ERR value is not an integer or out of range")
		} else if slot < 0 || slot >= NumSlots {
			w.WriteError("ERR Invalid slot")
		} else {
			w.WriteInt(int64(c.ks.CountKeysInSlot(int(slot))))
		}
	case "getkeysinslot":
		c.getKeysInSlot(w, args)
	case "slot-stats":
		c.slotStatsCommand(w, args)
	case "setslot":
		c.setSlotCommand(w, args)
	case "flushslots":
		c.flushSlots(w)
	case "reset":
		c.resetCommand(w, args)
	case "replicate":
		c.replicateCommand(w, args)
	default:
		c.mu.Lock()
		c.lockedCommand(w, sub, args)
		c.unlock()
	}
}

// unknownSyntax is Redis's reply when a subcommand has a bad argument count
// for its form (addReplySubcommandSyntaxError).
func unknownSyntax(w *resp.Writer, sub []byte) {
	w.WriteError(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%.128s'. Try CLUSTER HELP.", sub))
}

// configChanged records a change to persist and announce: nodes.conf is
// written, and a pong broadcast tells the other nodes, once per batch of
// pipelined commands, just before the batch's replies are sent (commitConfig
// is the reply writer's before-flush hook), as Redis saves in beforeSleep.
// So a client never sees OK before its change is on disk, and a pipeline of
// hundreds of SETSLOTs costs one write (mu held).
func (c *Cluster) configChanged() {
	c.broadcastPending = true
	c.localConfigChanged()
}

// localConfigChanged is configChanged for changes the bus does not carry
// (open slots): nothing to broadcast.
func (c *Cluster) localConfigChanged() {
	c.updateState()
	c.commitPending.Store(true)
}

func (c *Cluster) lockedCommand(w *resp.Writer, sub string, args [][]byte) {
	switch sub {
	case "info":
		w.WriteVerbatim(c.infoText())
	case "nodes":
		w.WriteVerbatim(string(c.nodesDescription(false)))
	case "myid":
		w.WriteBulkString(c.myself.id)
	case "slots":
		c.writeSlots(w)
	case "shards":
		c.writeShards(w)
	case "links":
		c.writeLinks(w)
	case "replicas", "slaves":
		n := c.nodes[string(args[1])]
		if n == nil {
			w.WriteError("ERR Unknown node " + string(args[1]))
			return
		}
		if n.isSlave() {
			w.WriteError("ERR The specified node is not a master")
			return
		}
		w.WriteArrayLen(len(n.replicas))
		for _, r := range n.replicas {
			w.WriteBulk(c.appendNode(nil, r))
		}
	case "meet":
		c.meetCommand(w, args)
	case "addslots", "delslots":
		c.addDelSlots(w, args[1:], sub == "addslots", false)
	case "addslotsrange", "delslotsrange":
		if len(args)%2 == 0 {
			w.WriteError(fmt.Sprintf("ERR wrong number of arguments for 'cluster|%s' command", sub))
			return
		}
		c.addDelSlots(w, args[1:], sub == "addslotsrange", true)
	case "bumpepoch":
		if c.bumpEpochWithoutConsensus() {
			c.configChanged()
			w.WriteSimple(fmt.Sprintf("BUMPED %d", c.myself.configEpoch))
		} else {
			w.WriteSimple(fmt.Sprintf("STILL %d", c.myself.configEpoch))
		}
	case "set-config-epoch":
		epoch, err := strconv.ParseInt(string(args[1]), 10, 64)
		switch {
		case err != nil:
			w.WriteError("ERR value is not an integer or out of range")
		case epoch < 0:
			w.WriteError(fmt.Sprintf("ERR Invalid config epoch specified: %d", epoch))
		case len(c.nodes) > 1:
			w.WriteError("ERR The user can assign a config epoch only when the node does not know any other node.")
		case c.myself.configEpoch != 0:
			w.WriteError("ERR Node config epoch is already non-zero")
		default:
			c.myself.configEpoch = uint64(epoch)
			if c.currentEpoch < uint64(epoch) {
				c.currentEpoch = uint64(epoch)
			}
			c.configChanged()
			w.WriteSimple("OK")
		}
	case "count-failure-reports":
		n := c.nodes[string(args[1])]
		if n == nil {
			w.WriteError("ERR Unknown node " + string(args[1]))
			return
		}
		w.WriteInt(int64(c.validFailReports(n)))
	case "forget":
		c.forgetCommand(w, args)
	case "saveconfig":
		// Written and fsynced before OK, as Redis does (the background
		// writer of saveConfig would answer first).
		c.saveGen++
		if err := c.writeConfigNow(true); err != nil {
			w.WriteError("ERR error saving the cluster node config: " + err.Error())
			return
		}
		c.syncedEpochs = [3]uint64{c.currentEpoch, c.lastVoteEpoch, c.myself.configEpoch}
		w.WriteSimple("OK")
	case "failover":
		c.failoverCommand(w, args)
	}
}

func (c *Cluster) meetCommand(w *resp.Writer, args [][]byte) {
	if len(args) > 4 {
		unknownSyntax(w, args[0])
		return
	}
	port, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		w.WriteError("ERR Invalid TCP base port specified: " + string(args[2]))
		return
	}
	cport := port + 10000
	if len(args) == 4 {
		if cport, err = strconv.ParseInt(string(args[3]), 10, 64); err != nil {
			w.WriteError("ERR Invalid TCP bus port specified: " + string(args[3]))
			return
		}
	}
	if port < 0 || port > 65535 || cport < 0 || cport > 65535 ||
		!c.startHandshake(string(args[1]), int(port), int(cport), true) {
		w.WriteError(fmt.Sprintf("ERR Invalid node address specified: %s:%s", args[1], args[2]))
		return
	}
	c.cron() // connect now rather than at the next tick
	w.WriteSimple("OK")
}

// parseSlotArg reads a slot number; on failure it writes Redis's error.
func parseSlotArg(w *resp.Writer, b []byte) (int, bool) {
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || v < 0 || v >= NumSlots {
		w.WriteError("ERR Invalid or out of range slot")
		return 0, false
	}
	return int(v), true
}

// addDelSlots implements ADDSLOTS, DELSLOTS and their RANGE forms: every
// slot is validated before any is changed.
func (c *Cluster) addDelSlots(w *resp.Writer, args [][]byte, add, ranges bool) {
	var list []int
	if ranges {
		for i := 0; i < len(args); i += 2 {
			start, ok := parseSlotArg(w, args[i])
			if !ok {
				return
			}
			end, ok := parseSlotArg(w, args[i+1])
			if !ok {
				return
			}
			if start > end {
				w.WriteError(fmt.Sprintf("ERR start slot number %d is greater than end slot number %d", start, end))
				return
			}
			for j := start; j <= end; j++ {
				list = append(list, j)
			}
		}
	} else {
		for _, a := range args {
			s, ok := parseSlotArg(w, a)
			if !ok {
				return
			}
			list = append(list, s)
		}
	}
	seen := make(map[int]bool, len(list))
	for _, s := range list {
		if add && c.slots[s] != nil {
			w.WriteError(fmt.Sprintf("ERR Slot %d is already busy", s))
			return
		}
		if !add && c.slots[s] == nil {
			w.WriteError(fmt.Sprintf("ERR Slot %d is already unassigned", s))
			return
		}
		if seen[s] {
			w.WriteError(fmt.Sprintf("ERR Slot %d specified multiple times", s))
			return
		}
		seen[s] = true
	}
	for _, s := range list {
		if add {
			c.setImporting(s, nil) // we are the owner now
			c.addSlot(c.myself, s)
		} else {
			c.delSlot(s)
		}
	}
	c.configChanged()
	w.WriteSimple("OK")
}

func (c *Cluster) getKeysInSlot(w *resp.Writer, args [][]byte) {
	slot, err1 := strconv.ParseInt(string(args[1]), 10, 64)
	count, err2 := strconv.ParseInt(string(args[2]), 10, 64)
	if err1 != nil || err2 != nil {
		w.WriteError("ERR value is not an integer or out of range")
		return
	}
	if slot < 0 || slot >= NumSlots || count < 0 {
		w.WriteError("ERR Invalid slot or number of keys")
		return
	}
	count = min(count, 1<<30)
	keys := c.ks.KeysInSlot(int(slot), int(count))
	w.WriteArrayLen(len(keys))
	for _, k := range keys {
		w.WriteBulk(k)
	}
}

func (c *Cluster) setSlotCommand(w *resp.Writer, args [][]byte) {
	// Key counts come from the store before taking the cluster lock.
	slotKeys := -1
	if v, err := strconv.ParseInt(string(args[1]), 10, 64); err == nil && v >= 0 && v < NumSlots {
		slotKeys = c.ks.CountKeysInSlot(int(v))
	}
	c.mu.Lock()
	defer c.unlock()
	if c.myself.isSlave() {
		w.WriteError("ERR Please use SETSLOT only with masters.")
		return
	}
	slot, ok := parseSlotArg(w, args[1])
	if !ok {
		return
	}
	action := strings.ToLower(string(args[2]))
	lookup := func(unknownMsg string) *node {
		n := c.nodes[string(args[3])]
		if n == nil {
			w.WriteError(unknownMsg + string(args[3]))
			return nil
		}
		if n.isSlave() {
			w.WriteError("ERR Target node is not a master")
			return nil
		}
		return n
	}
	switch {
	case action == "migrating" && len(args) == 4:
		if c.slots[slot] != c.myself {
			w.WriteError(fmt.Sprintf("ERR I'm not the owner of hash slot %d", slot))
			return
		}
		n := lookup("ERR I don't know about node ")
		if n == nil {
			return
		}
		if n == c.myself {
			w.WriteError("ERR Can't MIGRATE to myself")
			return
		}
		c.setMigrating(slot, n)
		c.localConfigChanged()
		w.WriteSimple("OK")
		return
	case action == "importing" && len(args) == 4:
		if c.slots[slot] == c.myself {
			w.WriteError(fmt.Sprintf("ERR I'm already the owner of hash slot %d", slot))
			return
		}
		n := lookup("ERR I don't know about node ")
		if n == nil {
			return
		}
		if n == c.myself {
			w.WriteError("ERR Can't IMPORT from myself")
			return
		}
		c.setImporting(slot, n)
		c.localConfigChanged()
		w.WriteSimple("OK")
		return
	case action == "stable" && len(args) == 3:
		c.setMigrating(slot, nil)
		c.setImporting(slot, nil)
		c.localConfigChanged()
		w.WriteSimple("OK")
		return
	case action == "node" && len(args) == 4:
		n := lookup("ERR Unknown node ")
		if n == nil {
			return
		}
		if c.slots[slot] == c.myself && n != c.myself && slotKeys > 0 {
			w.WriteError(fmt.Sprintf("ERR Can't assign hashslot %d to a different node while I still hold keys for this hash slot.", slot))
			return
		}
		if slotKeys == 0 && c.migrating[slot] != nil {
			c.setMigrating(slot, nil)
		}
		wasMine := c.slots[slot] == c.myself
		c.delSlot(slot)
		c.addSlot(n, slot)
		if wasMine && n != c.myself && c.myself.numSlots == 0 && !c.cfg.NoReplicaMigration {
			c.logf("cluster: gave away my last slot, becoming a replica of %s", n.id)
			c.setMyMaster(n)
		}
		if n == c.myself && c.importing[slot] != nil {
			// A manual migration ends here: take a new epoch so this
			// ownership wins everywhere.
			c.bumpEpochWithoutConsensus()
			c.setImporting(slot, nil)
		}
	default:
		w.WriteError("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
		return
	}
	c.configChanged()
	w.WriteSimple("OK")
}

func (c *Cluster) flushSlots(w *resp.Writer) {
	if c.ks.DBSize() != 0 {
		w.WriteError("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
		return
	}
	c.mu.Lock()
	defer c.unlock()
	c.delNodeSlots(c.myself)
	c.configChanged()
	w.WriteSimple("OK")
}

func (c *Cluster) resetCommand(w *resp.Writer, args [][]byte) {
	if len(args) > 2 {
		unknownSyntax(w, args[0])
		return
	}
	hard := false
	if len(args) == 2 {
		switch strings.ToLower(string(args[1])) {
		case "hard":
			hard = true
		case "soft":
		default:
			w.WriteError("ERR syntax error")
			return
		}
	}
	keys := c.ks.DBSize()
	c.mu.Lock()
	if c.myself.isMaster() && keys != 0 {
		c.mu.Unlock()
		w.WriteError("ERR CLUSTER RESET can't be called with master nodes containing keys")
		return
	}
	wasReplica := c.myself.isSlave()
	if wasReplica {
		c.setNodeAsMaster(c.myself)
	}
	c.closeAllSlots()
	c.resetManualFailover()
	c.delNodeSlots(c.myself)
	for _, n := range c.nodes {
		if n != c.myself {
			c.delNode(n)
		}
	}
	if hard {
		c.currentEpoch, c.lastVoteEpoch, c.myself.configEpoch = 0, 0, 0
		c.renameNode(c.myself, randomID())
	}
	c.configChanged()
	c.unlock()
	if wasReplica {
		c.ks.FlushAll()
	}
	w.WriteSimple("OK")
}

func (c *Cluster) replicateCommand(w *resp.Writer, args [][]byte) {
	keys := c.ks.DBSize()
	c.mu.Lock()
	defer c.unlock()
	n := c.nodes[string(args[1])]
	switch {
	case n == nil:
		w.WriteError("ERR Unknown node " + string(args[1]))
	case n == c.myself:
		w.WriteError("ERR Can't replicate myself")
	case n.isSlave():
		w.WriteError("ERR I can only replicate a master, not a replica.")
	case c.myself.isMaster() && (c.myself.numSlots != 0 || keys != 0):
		w.WriteError("ERR To set a master the node must be empty and without assigned slots.")
	default:
		c.setMyMaster(n)
		c.configChanged()
		w.WriteSimple("OK")
	}
}

func (c *Cluster) forgetCommand(w *resp.Writer, args [][]byte) {
	n := c.nodes[string(args[1])]
	switch {
	case n == nil:
		w.WriteError("ERR Unknown node " + string(args[1]))
	case n == c.myself:
		w.WriteError("ERR I tried hard but I can't forget myself...")
	case c.myself.isSlave() && c.myself.master == n:
		w.WriteError("ERR Can't forget my master!")
	default:
		c.blacklist[n.id] = time.Now().Add(60 * time.Second).Unix()
		c.delNode(n)
		c.configChanged()
		w.WriteSimple("OK")
	}
}

func (c *Cluster) failoverCommand(w *resp.Writer, args [][]byte) {
	force, takeover := false, false
	if len(args) == 2 {
		switch strings.ToLower(string(args[1])) {
		case "force":
			force = true
		case "takeover":
			takeover = true
		default:
			w.WriteError("ERR syntax error")
			return
		}
	} else if len(args) > 2 {
		w.WriteError("ERR syntax error")
		return
	}
	me := c.myself
	switch {
	case me.isMaster():
		w.WriteError("ERR You should send CLUSTER FAILOVER to a replica")
		return
	case me.master == nil:
		w.WriteError("ERR I'm a replica but my master is unknown to me")
		return
	case !force && !takeover && (me.master.failed() || me.master.link == nil):
		w.WriteError("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
		return
	}
	c.resetManualFailover()
	if takeover {
		// No agreement: take a new epoch and the master's slots right away.
		c.logf("cluster: taking over my master's slots (CLUSTER FAILOVER TAKEOVER)")
		c.bumpEpochWithoutConsensus()
		c.takeOverMaster()
	} else {
		// Without a replication stream to catch up with, the default form
		// and FORCE both hold an election the master does not block.
		c.failover.manual = true
		c.failover.manualEnd = mstime() + 5000
		c.failover.authTime = 0
	}
	w.WriteSimple("OK")
}
