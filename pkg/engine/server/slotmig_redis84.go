package server

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/cluster"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// Redis 8.4's surface of atomic slot migration, on the same mechanism as
// Valkey's (slotmig.go): CLUSTER MIGRATION IMPORT start end [start end ...]
// is sent to the destination, which asks the source (CLUSTER SYNCSLOTS
// REQUEST, an engine-internal message) to export the slots to it under
// the task id the destination chose; CLUSTER MIGRATION STATUS and CANCEL
// read and stop the jobs of either side, with Redis 8.4's replies.

const errMigrationArity = "ERR wrong number of arguments for 'cluster|migration' command"

// cmdClusterMigration: CLUSTER MIGRATION IMPORT|STATUS|CANCEL.
func (c *Client) cmdClusterMigration(mc slotMigrationCluster, args [][]byte) {
	if len(args) < 4 {
		c.w.WriteError(errMigrationArity)
		return
	}
	switch string(lower(args[2])) {
	case "import":
		c.migrationImport(mc, args[3:])
	case "status":
		c.migrationStatus(args[3:])
	case "cancel":
		c.migrationCancel(args[3:])
	default:
		c.w.WriteError("ERR unknown argument")
	}
}

// migrationImport: CLUSTER MIGRATION IMPORT start end [start end ...],
// on the destination. It answers the new task's id at once; the task's
// progress and failures show in CLUSTER MIGRATION STATUS.
func (c *Client) migrationImport(mc slotMigrationCluster, args [][]byte) {
	if len(args)%2 != 0 {
		c.w.WriteError(errMigrationArity)
		return
	}
	var ranges [][2]int
	for i := 0; i < len(args); i += 2 {
		start, ok1 := parseSlot(args[i])
		end, ok2 := parseSlot(args[i+1])
		if !ok1 || !ok2 {
			c.w.WriteError("ERR Invalid or out of range slot")
			return
		}
		ranges = append(ranges, [2]int{start, end})
	}
	ranges, msg := normalizeImportRanges(ranges)
	if msg != "" {
		c.w.WriteError("ERR " + msg)
		return
	}
	source, msg := c.srv.importSource(mc, ranges)
	if msg != "" {
		c.w.WriteError("ERR " + msg)
		return
	}
	now := time.Now()
	j := &slotJob{name: newJobName(), ranges: ranges, slots: slotsOf(ranges), sourceID: source,
		targetID: c.srv.Cluster.MyID(), created: now.Unix(), createdMs: now.UnixMilli(),
		lastUpdate: now.Unix(), lastAck: now.Unix(), state: stateConnecting, retryable: true}
	c.srv.addJob(j)
	go c.srv.requestExport(mc, j)
	c.w.WriteBulkString(j.name)
}

// normalizeImportRanges orders the ranges by their start and joins
// adjacent ones, as Redis 8.4 does before it checks them (so STATUS shows
// "0-10" for IMPORT 5 10 0 4); it returns the reason to refuse reversed
// or overlapping ranges, in Redis 8.4's words.
func normalizeImportRanges(ranges [][2]int) ([][2]int, string) {
	slices.SortStableFunc(ranges, func(a, b [2]int) int { return a[0] - b[0] })
	merged := ranges[:1]
	for _, r := range ranges[1:] {
		last := &merged[len(merged)-1]
		if last[1]+1 == r[0] {
			last[1] = r[1]
			continue
		}
		merged = append(merged, r)
	}
	var used [cluster.NumSlots]bool
	for _, r := range merged {
		if r[0] > r[1] {
			return nil, fmt.Sprintf("start slot number %d is greater than end slot number %d", r[0], r[1])
		}
		for sl := r[0]; sl <= r[1]; sl++ {
			if used[sl] {
				return nil, fmt.Sprintf("Slot %d specified multiple times", sl)
			}
			used[sl] = true
		}
	}
	return merged, ""
}

// importSource checks an import as Redis 8.4 does and returns the node
// that serves the slots, or the reason to refuse.
func (s *Server) importSource(mc slotMigrationCluster, ranges [][2]int) (string, string) {
	if !mc.IsPrimary() {
		return "", "slot migration not allowed on replica."
	}
	if mc.ManualMigration() != "" {
		return "", "all slot states must be STABLE to start a slot migration task."
	}
	source := ""
	for _, r := range ranges {
		if s.importOverlaps(r) {
			return "", fmt.Sprintf("overlapping import exists for slot range: %d-%d", r[0], r[1])
		}
		for sl := r[0]; sl <= r[1]; sl++ {
			id := mc.SlotOwnerID(sl)
			switch {
			case id == "":
				return "", fmt.Sprintf("slot has no owner: %d", sl)
			case source == "":
				source = id
			case id != source:
				return "", "slots belong to different source nodes"
			}
		}
	}
	if source == s.Cluster.MyID() {
		return "", "this node is already the owner of the slot range"
	}
	// A failed task waiting to be started again gives way to the new one.
	var failed []*slotJob
	for _, j := range s.tasksInProgress() {
		if !s.awaitsRetry(j) {
			return "", "another ASM task is already in progress"
		}
		failed = append(failed, j)
	}
	for _, j := range failed {
		s.cancelJob(j, "new import requested")
	}
	return source, ""
}

// importRetryDelay is how long a failed CLUSTER MIGRATION IMPORT task
// waits before its destination starts it again (Redis 8.4: every second).
const importRetryDelay = time.Second

// retryImport starts a failed import task again under the same id, unless
// it was cancelled or started again since it failed (attempt is its retry
// count then), or the server is shutting down. A node that is no longer a
// primary cancels it instead.
func (s *Server) retryImport(j *slotJob, attempt int) {
	mc, ok := s.migCluster()
	m := &s.slotMig
	m.mu.Lock()
	if j.state != stateFailed || j.retries != attempt || s.closing.Load() {
		m.mu.Unlock()
		return
	}
	if j.cancelReq.Load() { // cancelled while its link was ending
		m.mu.Unlock()
		s.setJobState(j, stateCancelled, "Cancelled due to user request")
		return
	}
	if !ok || !mc.IsPrimary() {
		m.mu.Unlock()
		s.setJobState(j, stateCancelled, "switching to replica")
		return
	}
	j.retries++
	j.state = stateConnecting
	j.startMs, j.pausedMs, j.endMs = 0, 0, 0
	j.lastUpdate = time.Now().Unix()
	why := j.message
	m.mu.Unlock()
	s.Logger.Printf("slot migration %s (import %s): starting it again (retry %d) after: %s", j.name, j.rangesText(), attempt+1, why)
	go s.requestExport(mc, j)
}

// tasksInProgress lists the jobs of either direction that have not ended,
// counting failed import tasks this node will start again.
func (s *Server) tasksInProgress() []*slotJob {
	m := &s.slotMig
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*slotJob
	for _, j := range m.jobs {
		if !j.finished() || j.awaitingRetry() {
			out = append(out, j)
		}
	}
	return out
}

func (s *Server) awaitsRetry(j *slotJob) bool {
	s.slotMig.mu.Lock()
	defer s.slotMig.mu.Unlock()
	return j.awaitingRetry()
}

// importOverlaps reports whether an import in progress, or failed and
// waiting to start again, holds a slot of r.
func (s *Server) importOverlaps(r [2]int) bool {
	for _, j := range s.tasksInProgress() {
		if j.export {
			continue
		}
		for _, jr := range j.ranges {
			if jr[0] <= r[1] && r[0] <= jr[1] {
				return true
			}
		}
	}
	return false
}

// requestExport asks the source to export the import task's slots to this
// node; a refusal or an unreachable source fails the task.
func (s *Server) requestExport(mc slotMigrationCluster, j *slotJob) {
	fail := func(why string) { s.setJobStateFrom(j, stateConnecting, stateFailed, why) }
	addr, ok := mc.NodeAddr(j.sourceID)
	if !ok {
		fail("Unable to connect to source node: source node not found")
		return
	}
	conn, err := net.DialTimeout("tcp", addr, exportDialTimeout)
	if err != nil {
		fail("Unable to connect to source node: " + err.Error())
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(exportIOTimeout))
	br := bufio.NewReader(conn)
	ask := func(args ...[]byte) (resp.Reply, error) {
		if _, err := conn.Write(resp.AppendCommand(nil, args...)); err != nil {
			return resp.Reply{}, err
		}
		return resp.ReadReply(br)
	}
	if pass := s.Cfg.MasterAuth(); pass != "" {
		auth := [][]byte{[]byte("AUTH"), []byte(pass)}
		if user := s.Cfg.Get("masteruser"); user != "" {
			auth = [][]byte{[]byte("AUTH"), []byte(user), []byte(pass)}
		}
		if r, err := ask(auth...); err != nil || r.Type == '-' {
			fail(fmt.Sprintf("Failed to AUTH to source node: %v%s", err, r.Str))
			return
		}
	}
	req := [][]byte{syncSlotsWord, syncSlotsSub, []byte("REQUEST"), []byte("NAME"), []byte(j.name),
		[]byte("NODE"), []byte(j.targetID), []byte("SLOTSRANGE")}
	for _, r := range j.ranges {
		req = append(req, strconv.AppendInt(nil, int64(r[0]), 10), strconv.AppendInt(nil, int64(r[1]), 10))
	}
	r, err := ask(req...)
	switch {
	case err != nil:
		fail("Connection lost to source node: " + err.Error())
	case r.Type == '-':
		fail("Source node refused the migration: " + string(r.Str))
	}
}

// syncSlotsRequest: CLUSTER SYNCSLOTS REQUEST NAME id NODE target
// SLOTSRANGE start end [...], from a destination that got CLUSTER
// MIGRATION IMPORT: this node starts the export, named as the task.
func (c *Client) syncSlotsRequest(mc slotMigrationCluster, args [][]byte) {
	if len(args) < 7 || !eq(args[0], "name") || len(args[1]) != 40 || !eq(args[2], "node") || !eq(args[4], "slotsrange") {
		c.w.WriteError(errSyntax)
		return
	}
	if msg := canStartMigration(mc); msg != "" {
		c.w.WriteError(msg)
		return
	}
	ranges, used, owner, msg := parseSlotRanges(mc, args[5:])
	if msg == "" && used != len(args)-5 {
		msg = errSyntax
	}
	if msg == "" {
		msg = c.srv.canExport(ranges, owner)
	}
	if msg == "" && len(c.srv.tasksInProgress()) > 0 { // one task per node, as in Redis 8.4
		msg = "ERR Another ASM task is already in progress"
	}
	myID := c.srv.Cluster.MyID()
	if msg == "" {
		msg = checkExportTarget(mc, string(args[3]), myID)
	}
	if msg != "" {
		c.w.WriteError(msg)
		return
	}
	j := newExportJob(string(args[1]), ranges, myID, string(args[3]))
	c.srv.addJob(j)
	c.srv.startExport(mc, j)
	c.w.WriteRaw(okReply)
}

// cancelledImport reports whether an import named name was cancelled here:
// its source may still connect (it got the request before the cancel),
// and must be refused rather than start the import under a new job.
func (s *Server) cancelledImport(name string) bool {
	m := &s.slotMig
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, j := range m.jobs {
		if !j.export && j.name == name && j.state == stateCancelled {
			return true
		}
	}
	return false
}

// pendingImport returns the import task named name, waiting for its
// source, if there is one (ESTABLISH then adopts it).
func (s *Server) pendingImport(name, source string) *slotJob {
	m := &s.slotMig
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, j := range m.jobs {
		if !j.export && j.name == name && j.sourceID == source && j.state == stateConnecting {
			return j
		}
	}
	return nil
}

// taskFilter reads STATUS's and CANCEL's "ID id | ALL": the id ("" for
// all) or the error to answer.
func taskFilter(args [][]byte) (string, string) {
	switch {
	case eq(args[0], "id") && len(args) == 2:
		return string(args[1]), ""
	case eq(args[0], "all") && len(args) == 1:
		return "", ""
	case eq(args[0], "id") || eq(args[0], "all"):
		return "", errMigrationArity
	}
	return "", "ERR unknown argument"
}

// migrationStatus: CLUSTER MIGRATION STATUS ID id | ALL: the tasks in
// progress, then the finished ones, newest first, as Redis 8.4 maps.
func (c *Client) migrationStatus(args [][]byte) {
	id, msg := taskFilter(args)
	if msg != "" {
		c.w.WriteError(msg)
		return
	}
	m := &c.srv.slotMig
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []*slotJob
	for _, done := range []bool{false, true} {
		for _, j := range m.jobs {
			if (j.finished() && !j.awaitingRetry()) == done && (id == "" || j.name == id) {
				list = append(list, j)
			}
		}
	}
	if id != "" && len(list) > 1 {
		list = list[:1]
	}
	c.w.WriteArrayLen(len(list))
	for _, j := range list {
		c.writeMigrationTask(j)
	}
}

// writeMigrationTask writes one task as Redis 8.4 does (slotMig.mu held).
func (c *Client) writeMigrationTask(j *slotJob) {
	op, errText, pause := "import", "", int64(0)
	if j.export {
		op = "migrate"
		if j.state == stateSuccess && j.pausedMs > 0 {
			pause = j.endMs - j.pausedMs
		}
	}
	if j.state == stateFailed || j.state == stateCancelled || j.retries > 0 {
		errText = j.message // a task started again shows why it failed
	}
	c.w.WriteMapLen(12)
	for _, kv := range [][2]string{{"id", j.name}, {"slots", j.rangesText()}, {"source", j.sourceID},
		{"dest", j.targetID}, {"operation", op}, {"state", redisTaskState(j)}, {"last_error", errText}} {
		c.w.WriteBulkString(kv[0])
		c.w.WriteBulkString(kv[1])
	}
	orNone := func(ms int64) int64 {
		if ms == 0 {
			return -1
		}
		return ms
	}
	for _, kv := range []struct {
		k string
		v int64
	}{{"retries", int64(j.retries)}, {"create_time", j.createdMs}, {"start_time", orNone(j.startMs)},
		{"end_time", orNone(j.endMs)}, {"write_pause_ms", pause}} {
		c.w.WriteBulkString(kv.k)
		c.w.WriteInt(kv.v)
	}
}

// redisTaskState names a job's state as Redis 8.4 names its task states.
func redisTaskState(j *slotJob) string {
	switch j.state {
	case stateSuccess:
		return "completed"
	case stateFailed:
		return "failed"
	case stateCancelled:
		return "canceled"
	case stateConnecting:
		return "connecting"
	case stateSnapshotting:
		return "send-bulk-and-stream"
	case stateReplicating:
		return "send-stream"
	case stateFailoverPaused:
		return "handoff"
	case stateReceiving:
		return "accumulate-buffer"
	case stateWaitingPaused:
		return "wait-stream-eof"
	case stateGranted:
		return "takeover"
	}
	return j.state
}

// migrationCancel: CLUSTER MIGRATION CANCEL ID id | ALL answers how many
// tasks it cancelled. An export stops and keeps its slots; an import
// closes its link (the source then keeps the slots) and deletes what it
// received. A task already taking over the slots cannot be cancelled.
func (c *Client) migrationCancel(args [][]byte) {
	id, msg := taskFilter(args)
	if msg != "" {
		c.w.WriteError(msg)
		return
	}
	n := 0
	for _, j := range c.srv.tasksInProgress() {
		if (id == "" || j.name == id) && c.srv.cancelJob(j, "Cancelled due to user request") {
			n++
		}
	}
	c.w.WriteInt(int64(n))
}

// cancelJob stops a job in progress, for the reason given; it reports
// false when the job is past the point where it can be stopped.
func (s *Server) cancelJob(j *slotJob, why string) bool {
	if j.export {
		j.exp.cancel()
		return true
	}
	m := &s.slotMig
	m.mu.Lock()
	state, link := j.state, j.imp
	idle := state == stateConnecting || j.awaitingRetry() // no link to close
	stoppable := idle || state != stateGranted && link != nil
	if stoppable {
		j.cancelReq.Store(true) // also stops a retry that a link failing meanwhile schedules
	}
	if idle {
		j.state = stateCancelled
		j.message = why
		j.endMs = time.Now().UnixMilli()
	}
	m.mu.Unlock()
	if !stoppable || idle {
		return stoppable
	}
	link.conn.Close() // the link's end deletes what it brought (endSlotImport)
	return true
}
