package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/persist"
)

// appendNode appends one CLUSTER NODES / nodes.conf line (without newline),
// as clusterGenNodeDescription renders it. It builds bytes directly, no fmt:
// nodes.conf is rewritten for every batch of a reshard and CLUSTER NODES is
// polled while it runs.
func (c *Cluster) appendNode(b []byte, n *node) []byte {
	b = append(b, n.id...)
	b = append(b, ' ')
	b = appendNodeAddr(b, n)
	b = append(b, ' ')
	b = n.flags.appendTo(b)
	b = append(b, ' ')
	if n.master != nil {
		b = append(b, n.master.id...)
	} else {
		b = append(b, '-')
	}
	linkState := " disconnected"
	if n == c.myself || (n.link != nil && n.link.conn != nil) {
		linkState = " connected"
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, n.pingSent, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, n.pongRecv, 10)
	b = append(b, ' ')
	epoch := n.configEpoch
	if n.isSlave() && n.master != nil { // as Redis: a replica shows its master's
		epoch = n.master.configEpoch
	}
	b = strconv.AppendUint(b, epoch, 10)
	b = append(b, linkState...)
	n.slots.eachRange(func(start, end int) {
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(start), 10)
		if end != start {
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(end), 10)
		}
	})
	if n == c.myself && c.openSlots > 0 {
		for j := range NumSlots {
			var arrow string
			var peer *node
			if t := c.migrating[j]; t != nil {
				arrow, peer = "->-", t
			} else if s := c.importing[j]; s != nil {
				arrow, peer = "-<-", s
			} else {
				continue
			}
			b = append(b, " ["...)
			b = strconv.AppendInt(b, int64(j), 10)
			b = append(b, arrow...)
			b = append(b, peer.id...)
			b = append(b, ']')
		}
	}
	return b
}

// nodesDescription is the CLUSTER NODES text; handshake nodes are left out
// when forFile is set, as Redis does for nodes.conf.
func (c *Cluster) nodesDescription(forFile bool) []byte {
	b := make([]byte, 0, 256*len(c.nodes)+64*c.openSlots)
	for _, n := range c.sortedNodes() {
		if forFile && n.flags&flagHandshake != 0 {
			continue
		}
		b = c.appendNode(b, n)
		b = append(b, '\n')
	}
	return b
}

// saveCoalesce is how long the background writer lets changes pile up
// before writing nodes.conf: a reshard sends thousands of SETSLOTs.
const saveCoalesce = 5 * time.Millisecond

// saveConfig records that nodes.conf must be rewritten (mu held). Slot-table
// changes are written atomically (one-page in-place write, or temp file and
// rename, see writeInPlace) by a background writer
// within a few milliseconds; when an epoch changed it writes at once and
// fsyncs file and directory, like Redis: epochs and votes must survive a
// power loss, slot tables are repaired by gossip.
func (c *Cluster) saveConfig() error {
	c.saveGen++
	epochs := [3]uint64{c.currentEpoch, c.lastVoteEpoch, c.myself.configEpoch}
	if epochs != c.syncedEpochs {
		err := c.writeConfigNow(true)
		if err == nil {
			c.syncedEpochs = epochs
		}
		return err
	}
	if !c.writerRunning {
		c.writerRunning = true
		go c.asyncWriter()
	}
	return c.writer.lastError()
}

// commitConfig is the reply writer's before-flush hook (see configChanged):
// it writes nodes.conf and announces the change when a client command
// changed the configuration since the last commit. A connection that
// changed nothing pays one atomic load.
func (c *Cluster) commitConfig() error {
	if !c.commitPending.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commitLocked()
}

// commitLocked persists, then announces, the pending client changes (mu
// held). The flag is cleared in the same critical section as the write, so a
// client that finds it clear knows its own change is on disk.
func (c *Cluster) commitLocked() error {
	if !c.commitPending.Load() {
		return nil
	}
	if err := c.saveConfigNow(); err != nil {
		return err
	}
	c.commitPending.Store(false)
	if c.broadcastPending {
		c.broadcastPending = false
		c.broadcastPong()
	}
	return nil
}

// saveConfigNow writes nodes.conf before replies go out, as Redis does
// before it answers: a node killed right after "OK" must come back with the
// change. It writes atomically; only epoch changes are fsynced (see
// saveConfig), so a pipelined reshard stays fast (mu held).
func (c *Cluster) saveConfigNow() error {
	c.saveGen++
	epochs := [3]uint64{c.currentEpoch, c.lastVoteEpoch, c.myself.configEpoch}
	sync := epochs != c.syncedEpochs
	err := c.writeConfigNow(sync)
	if err == nil && sync {
		c.syncedEpochs = epochs
	}
	return err
}

func (c *Cluster) configText() []byte {
	b := c.nodesDescription(true)
	b = append(b, "vars currentEpoch "...)
	b = strconv.AppendUint(b, c.currentEpoch, 10)
	b = append(b, " lastVoteEpoch "...)
	b = strconv.AppendUint(b, c.lastVoteEpoch, 10)
	return append(b, '\n')
}

// writeConfigNow writes the current state (mu held).
func (c *Cluster) writeConfigNow(sync bool) error {
	err := c.writer.write(c.path, c.saveGen, c.configText(), sync)
	if err != nil {
		err = fmt.Errorf("cluster: save %s: %w", c.path, err)
		c.logf("%v", err)
	}
	c.lastSave = err
	return err
}

func (c *Cluster) asyncWriter() {
	for {
		time.Sleep(saveCoalesce)
		c.mu.Lock()
		if c.writer.writtenGen() >= c.saveGen {
			c.writerRunning = false
			c.mu.Unlock()
			return
		}
		gen, text := c.saveGen, c.configText()
		c.mu.Unlock()
		if err := c.writer.write(c.path, gen, text, false); err != nil {
			c.logf("cluster: save %s: %v", c.path, err)
		}
	}
}

// confWriter serialises nodes.conf writes and never lets an older version
// replace a newer one. Lock order: Cluster.mu before fileMu.
type confWriter struct {
	fileMu  sync.Mutex
	written uint64 // generation on disk
	err     error
}

func (w *confWriter) write(path string, gen uint64, text []byte, sync bool) error {
	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	if gen <= w.written && !sync {
		return w.err
	}
	done := false
	if !sync {
		done, w.err = writeInPlace(path, text)
	}
	if !done {
		w.err = persist.WriteFileAtomic(path, text, sync)
	}
	if w.err == nil && gen > w.written {
		w.written = gen
	}
	return w.err
}

func (w *confWriter) writtenGen() uint64 {
	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	return w.written
}

func (w *confWriter) lastError() error {
	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	return w.err
}

// onePage bounds the nodes.conf sizes rewritten in place. A write of one
// page at offset 0 lands whole or not at all if the process is killed (the
// kernel checks for fatal signals between pages), so the file always holds
// the old or the new table, as with a rename, at a thirtieth of the cost:
// redis-cli sends one SETSLOT per slot per master and each one saves.
const onePage = 4096

// writeInPlace overwrites nodes.conf when old and new contents fit in one
// page, padding a shorter text with newlines (blank lines are ignored on
// load) before truncating, like Redis 7.0's clusterSaveConfig. It reports
// false, with nothing written, when it does not apply; the caller then
// writes a temporary file and renames it.
func writeInPlace(path string, data []byte) (bool, error) {
	if len(data) > onePage {
		return false, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return false, nil // no file yet: the rename path creates it
	}
	st, err := f.Stat()
	if err != nil || st.Size() > onePage {
		f.Close()
		return false, nil
	}
	buf := data
	if pad := int(st.Size()) - len(data); pad > 0 {
		buf = append(append(make([]byte, 0, st.Size()), data...), bytes.Repeat([]byte{'\n'}, pad)...)
	}
	_, err = f.WriteAt(buf, 0)
	if err == nil && len(buf) > len(data) {
		err = f.Truncate(int64(len(data)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return true, err
}

// loadConfig reads nodes.conf; it reports false when the file does not exist
// or is empty (a fresh node).
func (c *Cluster) loadConfig() (bool, error) {
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cluster: read %s: %w", c.path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return false, nil
	}
	if err := c.parseConfig(data); err != nil {
		return false, err
	}
	return true, nil
}

type confError struct {
	path string
	line int
	msg  string
}

func (e *confError) Error() string {
	return fmt.Sprintf("cluster: %s line %d: %s", e.path, e.line, e.msg)
}

func (c *Cluster) parseConfig(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	lineNo := 0
	fail := func(format string, args ...any) error {
		return &confError{path: c.path, line: lineNo, msg: fmt.Sprintf(format, args...)}
	}
	// lookupOrCreate finds a node by id, creating a placeholder for a
	// master or slot peer that is described on a later line.
	lookupOrCreate := func(id string) (*node, error) {
		if !validID(id) {
			return nil, fail("invalid node id %q", id)
		}
		if n := c.nodes[id]; n != nil {
			return n, nil
		}
		n := newNode(id, flagMaster|flagNoAddr)
		c.nodes[id] = n
		return n, nil
	}
	defined := map[string]bool{}
	for sc.Scan() {
		lineNo++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if fields[0] == "vars" {
			if err := c.parseVars(fields[1:], fail); err != nil {
				return err
			}
			continue
		}
		if len(fields) < 8 {
			return fail("expected at least 8 fields, got %d", len(fields))
		}
		if defined[fields[0]] {
			return fail("node %s described twice", fields[0])
		}
		n, err := lookupOrCreate(fields[0])
		if err != nil {
			return err
		}
		defined[n.id] = true
		if err := parseNodeAddr(n, fields[1]); err != nil {
			return fail("%v", err)
		}
		flags, err := parseFlags(fields[2])
		if err != nil {
			return fail("%v", err)
		}
		if flags&flagHandshake != 0 { // never persisted by Redis; drop it
			c.delNode(n)
			continue
		}
		n.flags = flags &^ flagPFail
		if flags&flagMyself != 0 {
			if c.myself != nil {
				return fail("more than one node is flagged myself")
			}
			c.myself = n
		}
		if fields[3] != "-" {
			m, err := lookupOrCreate(fields[3])
			if err != nil {
				return err
			}
			if m == n {
				return fail("node %s is its own master", n.id)
			}
			n.master = m
			m.addReplica(n)
		}
		for i, name := range []string{"ping-sent", "pong-recv"} {
			v, err := strconv.ParseInt(fields[4+i], 10, 64)
			if err != nil || v < 0 {
				return fail("invalid %s %q", name, fields[4+i])
			}
			if v != 0 {
				v = mstime() // as Redis: only whether one was pending matters
			}
			if i == 0 {
				n.pingSent = v
			} else {
				n.pongRecv = v
			}
		}
		epoch, err := strconv.ParseUint(fields[6], 10, 64)
		if err != nil {
			return fail("invalid config epoch %q", fields[6])
		}
		if n.master == nil { // a replica's line shows its master's epoch, not its own (as Redis 7.0.3+ loads it)
			n.configEpoch = epoch
		} else {
			n.configEpoch = 0
		}
		if fields[7] != "connected" && fields[7] != "disconnected" {
			return fail("invalid link state %q", fields[7])
		}
		for _, s := range fields[8:] {
			if err := c.parseSlotField(n, s, lookupOrCreate); err != nil {
				if ce, ok := err.(*confError); ok {
					return ce
				}
				return fail("%v", err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fail("%v", err)
	}
	if c.myself == nil {
		return &confError{path: c.path, line: lineNo, msg: "no node is flagged myself"}
	}
	return nil
}

func (c *Cluster) parseVars(kv []string, fail func(string, ...any) error) error {
	if len(kv)%2 != 0 {
		return fail("vars needs name value pairs")
	}
	for i := 0; i < len(kv); i += 2 {
		v, err := strconv.ParseUint(kv[i+1], 10, 64)
		if err != nil {
			return fail("invalid %s value %q", kv[i], kv[i+1])
		}
		switch kv[i] {
		case "currentEpoch":
			c.currentEpoch = v
		case "lastVoteEpoch":
			c.lastVoteEpoch = v
		default:
			return fail("unknown variable %q", kv[i])
		}
	}
	return nil
}

// parseNodeAddr reads "ip:port@cport[,hostname]" (or the pre-4.0 "ip:port").
func parseNodeAddr(n *node, s string) error {
	addr, host, _ := strings.Cut(s, ",")
	n.hostname = host
	hostPort, cportStr, hasBus := strings.Cut(addr, "@")
	i := strings.LastIndexByte(hostPort, ':')
	if i < 0 {
		return fmt.Errorf("invalid address %q", s)
	}
	port, err := strconv.Atoi(hostPort[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("invalid port in address %q", s)
	}
	cport := port + 10000
	if hasBus {
		cport, err = strconv.Atoi(cportStr)
		if err != nil || cport < 0 || cport > 65535 {
			return fmt.Errorf("invalid bus port in address %q", s)
		}
	}
	n.ip, n.port, n.cport = hostPort[:i], port, cport
	return nil
}

func parseFlags(s string) (nodeFlags, error) {
	var f nodeFlags
	for _, name := range strings.Split(s, ",") {
		if name == "noflags" {
			continue
		}
		found := false
		for _, fn := range flagNames {
			if fn.name == name {
				f |= fn.flag
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown node flag %q", name)
		}
	}
	if f&flagMaster != 0 && f&flagSlave != 0 {
		return 0, fmt.Errorf("node is flagged both master and slave")
	}
	return f, nil
}

// parseSlotField reads "N", "A-B", "[N->-id]" (migrating) or "[N-<-id]" (importing).
func (c *Cluster) parseSlotField(n *node, s string, lookup func(string) (*node, error)) error {
	if strings.HasPrefix(s, "[") {
		if !strings.HasSuffix(s, "]") {
			return fmt.Errorf("invalid open slot %q", s)
		}
		body := s[1 : len(s)-1]
		slotStr, id, migrating := strings.Cut(body, "->-")
		if !migrating {
			var importing bool
			slotStr, id, importing = strings.Cut(body, "-<-")
			if !importing {
				return fmt.Errorf("invalid open slot %q", s)
			}
		}
		slot, err := parseSlotNumber(slotStr)
		if err != nil {
			return err
		}
		peer, err := lookup(id)
		if err != nil {
			return err
		}
		if migrating {
			c.setMigrating(slot, peer)
		} else {
			c.setImporting(slot, peer)
		}
		return nil
	}
	startStr, endStr, isRange := strings.Cut(s, "-")
	start, err := parseSlotNumber(startStr)
	if err != nil {
		return err
	}
	end := start
	if isRange {
		if end, err = parseSlotNumber(endStr); err != nil {
			return err
		}
		if end < start {
			return fmt.Errorf("invalid slot range %q", s)
		}
	}
	for j := start; j <= end; j++ {
		if c.slots[j] != nil && c.slots[j] != n {
			return fmt.Errorf("slot %d is claimed by two nodes", j)
		}
		c.addSlot(n, j)
	}
	return nil
}

func parseSlotNumber(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v >= NumSlots {
		return 0, fmt.Errorf("invalid slot %q", s)
	}
	return v, nil
}
