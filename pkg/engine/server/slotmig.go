package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Atomic slot migration, Valkey 9.0's CLUSTER MIGRATESLOTS: the source node
// streams a snapshot of whole slots to the target as RESTORE commands while
// it keeps serving them, forwards the writes made to those slots meanwhile
// (taken from the replication stream), then pauses writes to those slots
// only, sends a PAUSED marker behind the last forwarded write, and the
// target, once it applied everything, claims the slots with a new config
// epoch. The source then gives the slots up and deletes its copies. Until
// the claim, the source owns the slots with every key; a failed or
// cancelled import deletes what the target received.
// slotmig_export.go runs the source side, slotmig_import.go the target.

// slotMigrationCluster is what atomic migration needs from the cluster
// layer (pkg/engine/cluster implements it).
type slotMigrationCluster interface {
	SlotOwnerID(slot int) string
	NodeAddr(id string) (string, bool)
	KnowsNode(id string) bool
	IsPrimary() bool
	ManualMigration() string
	ClaimSlots(slots []int, sourceID string) (uint64, error)
	HandOverSlots(slots []int, targetID string) error
	SlotsOwnedBy(slots []int, id string) bool
	ExpectHandOver(slots []int, on bool)
	FollowAfterHandOver(targetID string)
}

// Job states, named as Valkey names them in CLUSTER GETSLOTMIGRATIONS.
const (
	stateConnecting     = "connecting"
	stateSnapshotting   = "snapshotting"
	stateReplicating    = "replicating"
	stateFailoverPaused = "failover-paused"
	stateReceiving      = "receiving-snapshot"
	stateWaitingPaused  = "waiting-for-paused"
	stateGranted        = "failover-granted"
	stateSuccess        = "success"
	stateFailed         = "failed"
	stateCancelled      = "cancelled"
)

// slotMigrationLogLen is how many finished jobs GETSLOTMIGRATIONS keeps.
const slotMigrationLogLen = 1000

// slotJob is one migration as seen from this node: an export (we are the
// source) or an import (we are the target).
type slotJob struct {
	name      string
	export    bool
	ranges    [][2]int
	slots     []int
	sourceID  string
	targetID  string
	created   int64 // unix seconds
	createdMs int64

	// guarded by slotMigrations.mu
	state      string
	message    string
	lastUpdate int64
	lastAck    int64
	// unix milliseconds, for CLUSTER MIGRATION STATUS: when the data
	// started to move, when the writes paused, when the job ended (0: not yet)
	startMs, pausedMs, endMs int64

	// cancelReq: CLUSTER MIGRATION CANCEL asked this import to stop
	cancelReq atomic.Bool
	// flushed: a FLUSHALL or FLUSHDB ran here during this import, which
	// deleted keys the target must not take the slots without
	flushed atomic.Bool

	// retryable: a CLUSTER MIGRATION IMPORT task, which this node starts
	// again a second after it fails, as Redis 8.4's destination does,
	// until it completes or is cancelled; retries counts the restarts
	// (guarded by slotMigrations.mu)
	retryable bool
	retries   int

	exp *exportRun // source side only
	imp *Client    // target side: the source's connection, until the job ends
}

// msgDataFlushed is Valkey's message for a migration that a FLUSHALL or
// FLUSHDB failed.
const msgDataFlushed = "Data was flushed"

// failImportsOnFlush fails the imports in progress after a FLUSHALL or
// FLUSHDB, as Valkey does: the keys they brought are gone, so taking the
// slots would lose what the source still has; the source keeps them.
func (s *Server) failImportsOnFlush() {
	for _, j := range s.activeJobs(false) {
		j.flushed.Store(true)
		s.slotMig.mu.Lock()
		link := j.imp
		s.slotMig.mu.Unlock()
		if link != nil {
			link.conn.Close() // the link's end deletes what is left (endSlotImport)
		}
	}
}

// awaitingRetry reports whether the job failed and this node will start
// it again (slotMigrations.mu held): Redis 8.4 keeps such a task among
// the ones in progress.
func (j *slotJob) awaitingRetry() bool { return j.retryable && j.state == stateFailed }

func (j *slotJob) finished() bool {
	switch j.state {
	case stateSuccess, stateFailed, stateCancelled:
		return true
	}
	return false
}

func (j *slotJob) rangesText() string {
	var b strings.Builder
	for i, r := range j.ranges {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d-%d", r[0], r[1])
	}
	return b.String()
}

// slotMigrations is the server's table of jobs and the per-slot capture
// and pause marks (capture and paused are guarded by DB.Mu).
type slotMigrations struct {
	mu   sync.Mutex
	jobs []*slotJob // newest first

	capturing atomic.Int32 // slots captured by running exports (fast path)
	pausing   atomic.Int32 // slots paused
	capture   [store.SlotCount]*exportRun
	paused    [store.SlotCount]chan struct{} // closed when the pause ends

	// drops counts dropSlotKeys calls (bumped under DB.Mu). Routing runs
	// before a command takes DB.Mu, so a command routed while this node
	// still owned a slot can take the lock after the hand-over emptied it:
	// a GET would answer nil, a SET would write a key nobody reaches. The
	// hand-over gives the slots away before it drops them, so a command
	// that sees the count moved since its routing routes again (call).
	drops atomic.Uint64

	// tracked: imports seen as ESTABLISH markers in our master's stream
	// or our AOF and not FINISHed, by name -> slots (guarded by mu).
	tracked map[string][]int
	// handoffs: exports seen as HANDOFF markers (the source paused the
	// slots for the target's claim) and not FINISHed (guarded by mu).
	handoffs map[string][]int
}

// slotDropMark is a nonzero mark of the slot drops so far (see drops).
func (s *Server) slotDropMark() uint64 { return s.slotMig.drops.Load() + 1 }

func (s *Server) migCluster() (slotMigrationCluster, bool) {
	mc, ok := s.Cluster.(slotMigrationCluster)
	return mc, ok
}

func newJobName() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// setJobState records a state change (and a message, when not empty).
func (s *Server) setJobState(j *slotJob, state, message string) {
	s.setJobStateFrom(j, "", state, message)
}

// setJobStateFrom records a state change only if the job is in state from
// ("" for any), and reports whether it did. A cancelled job stays
// cancelled: a late failure of its link, say, must not start it again.
func (s *Server) setJobStateFrom(j *slotJob, from, state, message string) bool {
	s.slotMig.mu.Lock()
	if from != "" && j.state != from || j.state == stateCancelled {
		s.slotMig.mu.Unlock()
		return false
	}
	j.state = state
	if message != "" {
		j.message = message
	}
	now := time.Now()
	j.lastUpdate = now.Unix()
	switch {
	case state == stateSnapshotting || state == stateReceiving:
		j.startMs = now.UnixMilli()
	case state == stateFailoverPaused:
		j.pausedMs = now.UnixMilli()
	case j.finished():
		j.endMs = now.UnixMilli()
	}
	retry, attempt := j.awaitingRetry(), j.retries
	s.slotMig.mu.Unlock()
	if retry {
		time.AfterFunc(importRetryDelay, func() { s.retryImport(j, attempt) })
	}
	s.Logger.Printf("slot migration %s (%s %s): %s %s", j.name, map[bool]string{true: "export", false: "import"}[j.export], j.rangesText(), state, message)
	return true
}

func (s *Server) jobState(j *slotJob) string {
	s.slotMig.mu.Lock()
	defer s.slotMig.mu.Unlock()
	return j.state
}

func (s *Server) addJob(j *slotJob) {
	m := &s.slotMig
	m.mu.Lock()
	defer m.mu.Unlock()
	m.jobs = append([]*slotJob{j}, m.jobs...)
	for i := len(m.jobs) - 1; i >= 0 && len(m.jobs) > slotMigrationLogLen; i-- {
		if m.jobs[i].finished() && !m.jobs[i].awaitingRetry() {
			m.jobs = append(m.jobs[:i], m.jobs[i+1:]...)
		}
	}
}

// activeJobs lists the jobs in progress with the given direction.
func (s *Server) activeJobs(export bool) []*slotJob {
	m := &s.slotMig
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*slotJob
	for _, j := range m.jobs {
		if j.export == export && !j.finished() {
			out = append(out, j)
		}
	}
	return out
}

// slotInActiveJob reports whether slot is in a running job of this direction.
func (s *Server) slotInActiveJob(slot int, export bool) bool {
	for _, j := range s.activeJobs(export) {
		for _, r := range j.ranges {
			if slot >= r[0] && slot <= r[1] {
				return true
			}
		}
	}
	return false
}

// clusterSlotMigration handles the atomic migration subcommands of
// CLUSTER; it reports false for the others.
func (c *Client) clusterSlotMigration(args [][]byte) bool {
	sub := strings.ToLower(string(args[1]))
	switch sub {
	case "migrateslots", "getslotmigrations", "cancelslotmigrations", "syncslots", "migration":
		if !c.srv.presents("cluster|" + sub) {
			return false // answered as Redis 7.0 answers an unknown subcommand
		}
	default:
		return false
	}
	mc, ok := c.srv.migCluster()
	if !ok {
		return false
	}
	switch sub {
	case "migration":
		c.cmdClusterMigration(mc, args)
	case "migrateslots":
		if len(args) < 3 {
			c.w.WriteError("ERR wrong number of arguments for 'cluster|migrateslots' command")
			return true
		}
		c.cmdMigrateSlots(mc, args[2:])
	case "getslotmigrations":
		if len(args) != 2 {
			c.w.WriteError("ERR wrong number of arguments for 'cluster|getslotmigrations' command")
			return true
		}
		c.writeSlotMigrations()
	case "cancelslotmigrations":
		if len(args) != 2 {
			c.w.WriteError("ERR wrong number of arguments for 'cluster|cancelslotmigrations' command")
			return true
		}
		c.cmdCancelSlotMigrations()
	case "syncslots":
		if len(args) < 3 {
			c.w.WriteError("ERR wrong number of arguments for 'cluster|syncslots' command")
			return true
		}
		c.cmdSyncSlots(mc, args[2:])
	}
	return true
}

// parseSlotRanges reads "start end" pairs from args until a word that is
// not a number; it returns the ranges, how many words it used, the owner
// of the slots (one owner for all) and an error text.
func parseSlotRanges(mc slotMigrationCluster, args [][]byte) ([][2]int, int, string, string) {
	var ranges [][2]int
	owner := ""
	i := 0
	for ; i < len(args); i += 2 {
		if _, ok := parseInt(args[i]); !ok {
			break
		}
		start, ok := parseSlot(args[i])
		if !ok {
			return nil, 0, "", "ERR Invalid or out of range slot"
		}
		if i+1 >= len(args) {
			return nil, 0, "", "ERR No end slot for final slot range"
		}
		end, ok := parseSlot(args[i+1])
		if !ok {
			return nil, 0, "", "ERR Invalid or out of range slot"
		}
		if start > end {
			return nil, 0, "", fmt.Sprintf("ERR Start slot number %d is greater than end slot number %d.", start, end)
		}
		for sl := start; sl <= end; sl++ {
			id := mc.SlotOwnerID(sl)
			if id == "" {
				return nil, 0, "", fmt.Sprintf("ERR Slot %d has no node served.", sl)
			}
			if owner == "" {
				owner = id
			} else if owner != id {
				return nil, 0, "", "ERR Requested slots span multiple shards"
			}
		}
		for _, r := range ranges {
			if end >= r[0] && start <= r[1] {
				return nil, 0, "", fmt.Sprintf("ERR Slot range %d-%d overlaps with previous range %d-%d.", start, end, r[0], r[1])
			}
		}
		ranges = append(ranges, [2]int{start, end})
	}
	if len(ranges) == 0 {
		return nil, 0, "", "ERR No slot ranges specified"
	}
	return ranges, i, owner, ""
}

func parseSlot(b []byte) (int, bool) {
	n, ok := parseInt(b)
	if !ok || n < 0 || n >= store.SlotCount {
		return 0, false
	}
	return int(n), true
}

func slotsOf(ranges [][2]int) []int {
	var out []int
	for _, r := range ranges {
		for s := r[0]; s <= r[1]; s++ {
			out = append(out, s)
		}
	}
	return out
}

// canStartMigration is Valkey's check before an export or an import.
func canStartMigration(mc slotMigrationCluster) string {
	if !mc.IsPrimary() {
		return "ERR Slot migration can only be used on primary nodes."
	}
	switch mc.ManualMigration() {
	case "importing":
		return "ERR Slots are being manually imported"
	case "migrating":
		return "ERR Slots are being manually migrated"
	}
	return ""
}

// cmdMigrateSlots: CLUSTER MIGRATESLOTS SLOTSRANGE start end [start end ...]
// NODE target-id [SLOTSRANGE ... NODE ...]. It starts one export per
// NODE clause and answers OK at once; GETSLOTMIGRATIONS follows them.
func (c *Client) cmdMigrateSlots(mc slotMigrationCluster, args [][]byte) {
	if msg := canStartMigration(mc); msg != "" {
		c.w.WriteError(msg)
		return
	}
	myID := c.srv.Cluster.MyID()
	var jobs []*slotJob
	for i := 0; i < len(args); {
		if !eq(args[i], "slotsrange") {
			c.w.WriteError(errSyntax)
			return
		}
		i++
		ranges, used, owner, msg := parseSlotRanges(mc, args[i:])
		if msg != "" {
			c.w.WriteError(msg)
			return
		}
		i += used
		if msg := c.srv.canExport(ranges, owner); msg != "" {
			c.w.WriteError(msg)
			return
		}
		for _, j := range jobs {
			for _, a := range j.ranges {
				for _, b := range ranges {
					if a[1] >= b[0] && a[0] <= b[1] {
						c.w.WriteError("ERR Slot ranges in migrations overlap")
						return
					}
				}
			}
		}
		if i+1 >= len(args) || !eq(args[i], "node") {
			c.w.WriteError(errSyntax)
			return
		}
		target := string(args[i+1])
		i += 2
		if msg := checkExportTarget(mc, target, myID); msg != "" {
			c.w.WriteError(msg)
			return
		}
		jobs = append(jobs, newExportJob(newJobName(), ranges, myID, target))
	}
	for _, j := range jobs {
		c.srv.addJob(j)
		c.srv.startExport(mc, j)
	}
	c.w.WriteRaw(okReply)
}

// canExport is Valkey's check of slots an export would take: this node
// serves them and exports none of them yet.
func (s *Server) canExport(ranges [][2]int, owner string) string {
	if owner != s.Cluster.MyID() {
		return "ERR Slots are not served by this node."
	}
	for _, sl := range slotsOf(ranges) {
		if s.slotInActiveJob(sl, true) {
			return fmt.Sprintf("ERR I am already migrating slot %d.", sl)
		}
	}
	return ""
}

// checkExportTarget is Valkey's check of an export's target node id.
func checkExportTarget(mc slotMigrationCluster, target, myID string) string {
	switch {
	case len(target) != 40:
		return "ERR Invalid node name: " + target
	case !mc.KnowsNode(target):
		return "ERR Unknown node name: " + target
	case target == myID:
		return "ERR Target node can not be this node."
	}
	return ""
}

func newExportJob(name string, ranges [][2]int, source, target string) *slotJob {
	now := time.Now()
	return &slotJob{name: name, export: true, ranges: ranges, slots: slotsOf(ranges), sourceID: source, targetID: target,
		created: now.Unix(), createdMs: now.UnixMilli(), lastUpdate: now.Unix(), lastAck: now.Unix(), state: stateConnecting}
}

// writeSlotMigrations: CLUSTER GETSLOTMIGRATIONS, one map per job.
func (c *Client) writeSlotMigrations() {
	m := &c.srv.slotMig
	m.mu.Lock()
	defer m.mu.Unlock()
	c.w.WriteArrayLen(len(m.jobs))
	for _, j := range m.jobs {
		op := "IMPORT"
		if j.export {
			op = "EXPORT"
		}
		c.w.WriteMapLen(11)
		for _, kv := range [][2]string{{"name", j.name}, {"operation", op}, {"slot_ranges", j.rangesText()},
			{"target_node", j.targetID}, {"source_node", j.sourceID}} {
			c.w.WriteBulkString(kv[0])
			c.w.WriteBulkString(kv[1])
		}
		for _, kv := range []struct {
			k string
			v int64
		}{{"create_time", j.created}, {"last_update_time", j.lastUpdate}, {"last_ack_time", j.lastAck}} {
			c.w.WriteBulkString(kv.k)
			c.w.WriteInt(kv.v)
		}
		c.w.WriteBulkString("state")
		c.w.WriteBulkString(j.state)
		c.w.WriteBulkString("message")
		c.w.WriteBulkString(j.message)
		c.w.WriteBulkString("cow_size")
		c.w.WriteInt(0)
	}
}

// cmdCancelSlotMigrations: CLUSTER CANCELSLOTMIGRATIONS cancels every
// export of this node. An export already past its pause (the target may be
// claiming the slots) cannot be called back; the command waits for it, up
// to 5 s: well within a client's command timeout (gocluster's is 10 s), and
// CLUSTER GETSLOTMIGRATIONS tells how a job still running ends.
func (c *Client) cmdCancelSlotMigrations() {
	jobs := c.srv.activeJobs(true)
	if len(jobs) == 0 {
		c.w.WriteError("ERR No migrations ongoing")
		return
	}
	for _, j := range jobs {
		j.exp.cancel()
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, j := range jobs {
		select {
		case <-j.exp.done:
		case <-time.After(time.Until(deadline)):
		}
	}
	c.srv.Logger.Printf("cancelled all in progress slot migrations (user request)")
	c.w.WriteRaw(okReply)
}

// ---- the pause: writes to paused slots wait, then route again ----

// mayWrite says a command can change keys (writes, scripts, functions).
func mayWrite(cmd *command) bool {
	return cmd.write || hasFlag(cmd, "may_replicate")
}

// pausedSlotChan returns the pause channel of the first paused slot among
// the command's keys, or nil (DB.Mu held).
func (s *Server) pausedSlotChan(cmd *command, args [][]byte) chan struct{} {
	if s.slotMig.pausing.Load() == 0 || !mayWrite(cmd) {
		return nil
	}
	for _, i := range cmd.keyIndexes(args, nil) {
		if ch := s.slotMig.paused[keySlot(args[i])]; ch != nil {
			return ch
		}
	}
	return nil
}

// waitSlotPause is called holding DB.Mu before a command runs: while one
// of its slots is paused it releases the lock and waits. It reports
// whether it waited, in which case the command must be routed again (the
// slot has probably moved).
func (c *Client) waitSlotPause(cmds ...[][]byte) bool {
	waited := false
	for {
		var ch chan struct{}
		for _, args := range cmds {
			if cmd := lookupCommand(args[0]); cmd != nil {
				if ch = c.srv.pausedSlotChan(cmd, args); ch != nil {
					break
				}
			}
		}
		if ch == nil {
			return waited
		}
		waited = true
		c.srv.DB.Mu.Unlock()
		<-ch
		c.srv.DB.Mu.Lock()
	}
}

// ---- capture: the writes made to exporting slots meanwhile ----

// captureForms forwards to the running exports the commands of a chunk of
// the replication stream whose keys are in a slot they capture (DB.Mu
// held, so the order is the execution order). MULTI/EXEC wrappers are
// dropped: the target serves none of these slots before the flip, so no
// client can see a half-applied transaction there.
func (s *Server) captureForms(forms []byte) {
	if s.slotMig.capturing.Load() == 0 {
		return
	}
	start := 0
	for start < len(forms) {
		args, n, err := nextForm(forms[start:])
		if err != nil {
			return
		}
		raw := forms[start : start+n]
		start += n
		cmd := lookupCommand(args[0])
		if cmd == nil {
			continue
		}
		if cmd.name == "flushall" || cmd.name == "flushdb" {
			for _, e := range s.activeExportRuns() {
				e.fail(msgDataFlushed)
			}
			continue
		}
		idx := cmd.keyIndexes(args, nil)
		if len(idx) == 0 {
			continue
		}
		if e := s.slotMig.capture[keySlot(args[idx[0]])]; e != nil {
			e.enqueue(raw)
		}
	}
}

// nextForm parses one RESP array of bulk strings at the head of b and
// returns its arguments and its length in bytes.
func nextForm(b []byte) ([][]byte, int, error) {
	errBad := fmt.Errorf("bad form")
	if len(b) == 0 || b[0] != '*' {
		return nil, 0, errBad
	}
	line := func(p int) (int64, int, bool) {
		for q := p; q+1 < len(b); q++ {
			if b[q] == '\r' && b[q+1] == '\n' {
				n, err := strconv.ParseInt(string(b[p:q]), 10, 64)
				return n, q + 2, err == nil
			}
		}
		return 0, 0, false
	}
	count, p, ok := line(1)
	if !ok || count < 0 {
		return nil, 0, errBad
	}
	args := make([][]byte, 0, count)
	for range count {
		if p >= len(b) || b[p] != '$' {
			return nil, 0, errBad
		}
		n, q, ok := line(p + 1)
		if !ok || n < 0 || q+int(n)+2 > len(b) {
			return nil, 0, errBad
		}
		args = append(args, b[q:q+int(n)])
		p = q + int(n) + 2
	}
	if len(args) == 0 {
		return nil, 0, errBad
	}
	return args, p, nil
}

// engineSubcommands are the engine's subcommands beyond Redis 7.0's, the
// atomic slot migration ones (Valkey 9's and Redis 8.4's): COMMAND INFO
// "cluster|migrateslots" is how tools (gocluster reshard --atomic auto)
// learn that a node supports them.
var engineSubcommands = map[string]commandInfo{
	"cluster|migrateslots":         {arity: -4, flags: "admin stale no_async_loading"},
	"cluster|getslotmigrations":    {arity: 2, flags: "admin stale no_async_loading"},
	"cluster|cancelslotmigrations": {arity: 2, flags: "admin stale no_async_loading"},
	"cluster|syncslots":            {arity: -3, flags: "admin stale no_async_loading"},
	"cluster|migration":            {arity: -4, flags: "admin stale no_async_loading"},
}
