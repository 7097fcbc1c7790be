package server

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// Tunables of the source side.
const (
	exportDialTimeout = 5 * time.Second
	exportIOTimeout   = 30 * time.Second
	// exportMaxBuffered bounds the snapshot bytes waiting for the socket,
	// so a slow target does not make the source hold the whole snapshot.
	exportMaxBuffered = 32 << 20
	// exportCatchUp: the pause starts once at most this many forwarded
	// commands await the target's reply (or after exportCatchUpWait).
	exportCatchUp     = 256
	exportCatchUpWait = 30 * time.Second
	// exportPauseTimeout bounds the write pause: without the target's
	// claim by then, the source unpauses and keeps the slots.
	exportPauseTimeout = 10 * time.Second
	// exportKeysPerHold bounds the keys snapshotted per hold of the store
	// lock.
	exportKeysPerHold = 2000
	// handoffReplicaWait bounds the wait, writes paused, for our replicas
	// to acknowledge the HANDOFF marker (a loopback round trip when well).
	handoffReplicaWait = 500 * time.Millisecond
)

// claimedReply is the target's answer to SYNCSLOTS PAUSED once it owns the
// slots; no other command answers with it.
const claimedReply = "CLAIMED"

// exportRun is the source side of one job.
type exportRun struct {
	s   *Server
	job *slotJob
	mc  slotMigrationCluster

	conn net.Conn

	q     *sendQueue
	wake  chan struct{}
	batch []byte   // the SYNCSLOTS KEYS batch being built (DB.Mu held)
	big   []bigKey // values to encode once DB.Mu is released

	sent, replied atomic.Int64 // commands enqueued / replies read
	// refused: the target answered an error, after which it claims
	// nothing (it ended the import), unlike a lost link.
	refused atomic.Bool

	stopOnce  sync.Once
	stop      chan struct{} // closed on failure or cancel
	stopMsg   string        // why (set before stop closes)
	cancelled bool
	claimed   chan struct{}
	done      chan struct{} // closed when the job has finished
}

func (s *Server) startExport(mc slotMigrationCluster, j *slotJob) {
	e := &exportRun{s: s, job: j, mc: mc, q: newSendQueue(), wake: make(chan struct{}, 1), stop: make(chan struct{}),
		claimed: make(chan struct{}, 1), done: make(chan struct{})}
	j.exp = e
	go e.run()
}

// fail stops the job with a reason (the first one wins).
func (e *exportRun) fail(msg string) { e.halt(msg, false) }

func (e *exportRun) cancel() { e.halt("", true) }

func (e *exportRun) halt(msg string, cancelled bool) {
	e.stopOnce.Do(func() {
		e.stopMsg, e.cancelled = msg, cancelled
		close(e.stop)
	})
}

func (e *exportRun) stopped() bool {
	select {
	case <-e.stop:
		return true
	default:
		return false
	}
}

// enqueue adds one encoded command for the target.
func (e *exportRun) enqueue(cmd []byte) {
	e.q.addCopy(cmd)
	e.sent.Add(1)
	e.poke()
}

// poke wakes the writer.
func (e *exportRun) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (s *Server) activeExportRuns() []*exportRun {
	var out []*exportRun
	for _, j := range s.activeJobs(true) {
		out = append(out, j.exp)
	}
	return out
}

func syncSlots(words ...string) []byte {
	args := [][]byte{[]byte("CLUSTER"), []byte("SYNCSLOTS")}
	for _, w := range words {
		args = append(args, []byte(w))
	}
	return resp.AppendCommand(nil, args...)
}

func (e *exportRun) run() {
	defer close(e.done)
	s, j := e.s, e.job
	br, err := e.connect()
	if err != "" {
		e.finish(stateFailed, err)
		return
	}
	s.setJobState(j, stateSnapshotting, "")
	go e.writer()
	go e.reader(br)

	for i := 0; i < len(j.slots); {
		for e.q.buffered() > exportMaxBuffered && !e.stopped() {
			time.Sleep(time.Millisecond)
		}
		if e.stopped() {
			e.abort()
			return
		}
		// Several slots per hold of the lock, up to a bounded amount of
		// work, so that clients wait little and the lock changes hands
		// rarely.
		s.DB.Mu.Lock()
		for keys := 0; i < len(j.slots) && keys < exportKeysPerHold; i++ {
			slot := j.slots[i]
			s.slotMig.capture[slot] = e
			s.slotMig.capturing.Add(1)
			keys += 1 + e.snapshotSlot(slot)
		}
		e.flushBatch() // before the lock goes: ahead of any write captured after
		if len(e.big) > 0 {
			e.q.deferFrom()
		}
		s.DB.Mu.Unlock()
		e.sendBig()
	}
	e.enqueue(syncSlots("SNAPSHOT-EOF"))
	s.setJobState(j, stateReplicating, "")
	if !e.awaitReplies(e.sent.Load()) {
		e.abort()
		return
	}

	caughtUpBy := time.Now().Add(exportCatchUpWait)
	for e.sent.Load()-e.replied.Load() > exportCatchUp && time.Now().Before(caughtUpBy) && !e.stopped() {
		time.Sleep(time.Millisecond)
	}
	if e.stopped() {
		e.abort()
		return
	}

	// The pause: from here no write reaches these slots here, and PAUSED
	// follows the last forwarded one in the stream. Our replicas learn of
	// the hand-off first: one promoted after the target's claim but before
	// our DROP reached it deletes its stale copies (CleanupTrackedMigrations).
	e.mc.ExpectHandOver(j.slots, true)
	pause := make(chan struct{})
	s.DB.Mu.Lock()
	for _, slot := range j.slots {
		s.slotMig.paused[slot] = pause
	}
	s.slotMig.pausing.Add(int32(len(j.slots)))
	s.feedJobMarker("HANDOFF", j)
	s.DB.Mu.Unlock()
	s.waitReplicasCaughtUp(handoffReplicaWait)
	e.enqueue(syncSlots("PAUSED"))
	s.setJobState(j, stateFailoverPaused, "")

	if e.awaitClaim() {
		e.complete(pause)
		return
	}
	msg := e.stopMsg
	if msg == "" {
		msg = "Timed out before the target claimed the slots"
	}
	e.release(pause)
	e.finish(stateFailed, msg)
}

// awaitReplies waits until the target answered n commands (it applied the
// snapshot). A target that answers nothing for exportIOTimeout fails the
// job; so does a stop.
func (e *exportRun) awaitReplies(n int64) bool {
	last, lastAt := e.replied.Load(), time.Now()
	for e.replied.Load() < n {
		if e.stopped() {
			return false
		}
		if r := e.replied.Load(); r != last {
			last, lastAt = r, time.Now()
		} else if time.Since(lastAt) > exportIOTimeout {
			e.fail("Timed out after too long with no interaction")
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// connect dials the target, authenticates as a replica would (masterauth)
// and sends ESTABLISH; it returns an error text for the job on failure.
func (e *exportRun) connect() (*bufio.Reader, string) {
	j := e.job
	addr, ok := e.mc.NodeAddr(j.targetID)
	if !ok {
		return nil, "Unable to connect to target node: target node not found"
	}
	conn, err := net.DialTimeout("tcp", addr, exportDialTimeout)
	if err != nil {
		return nil, "Unable to connect to target node: " + err.Error()
	}
	e.conn = conn
	if e.stopped() {
		conn.Close()
		return nil, "cancelled"
	}
	br := bufio.NewReaderSize(conn, 64<<10)
	ask := func(args ...[]byte) (resp.Reply, error) {
		conn.SetDeadline(time.Now().Add(exportIOTimeout))
		defer conn.SetDeadline(time.Time{})
		if _, err := conn.Write(resp.AppendCommand(nil, args...)); err != nil {
			return resp.Reply{}, err
		}
		return resp.ReadReply(br)
	}
	if pass := e.s.Cfg.MasterAuth(); pass != "" {
		auth := [][]byte{[]byte("AUTH"), []byte(pass)}
		if user := e.s.Cfg.Get("masteruser"); user != "" {
			auth = [][]byte{[]byte("AUTH"), []byte(user), []byte(pass)}
		}
		r, err := ask(auth...)
		if err != nil {
			conn.Close()
			return nil, "Target node did not respond to AUTH command"
		}
		if r.Type == '-' {
			conn.Close()
			return nil, "Failed to AUTH to target node: " + string(r.Str)
		}
	}
	est := [][]byte{[]byte("CLUSTER"), []byte("SYNCSLOTS"), []byte("ESTABLISH"), []byte("SOURCE"), []byte(j.sourceID),
		[]byte("NAME"), []byte(j.name), []byte("SLOTSRANGE")}
	for _, r := range j.ranges {
		est = append(est, strconv.AppendInt(nil, int64(r[0]), 10), strconv.AppendInt(nil, int64(r[1]), 10))
	}
	r, err := ask(est...)
	if err != nil {
		conn.Close()
		return nil, "Connection lost to target during ESTABLISH: " + err.Error()
	}
	if r.Type == '-' {
		conn.Close()
		return nil, "Target refused the migration: " + string(r.Str)
	}
	return br, ""
}

// snapshotSlot encodes every key of slot into SYNCSLOTS KEYS batches
// (slotmig_keys.go; DB.Mu held: together with the capture mark just set, the snapshot of
// the slot and the writes forwarded after it form one ordered history).
func (e *exportRun) snapshotSlot(slot int) int {
	n := 0
	e.s.DB.EachInSlot(slot, func(key string, v rdb.Value, expireAt int64) {
		if bigValue(v) {
			if v.Kind == rdb.KindString { // SETRANGE and APPEND write in place
				v.Str = bytes.Clone(v.Str)
			}
			e.big = append(e.big, bigKey{key, expireAt, v})
			n++
			return
		}
		e.batch = appendKeyEntry(e.batch, key, expireAt, v)
		n++
		if len(e.batch) >= keyBatchBytes {
			e.flushBatch()
		}
	})
	return n
}

// flushBatch queues the key batch being built as one SYNCSLOTS KEYS.
func (e *exportRun) flushBatch() {
	if len(e.batch) == 0 {
		return
	}
	head := strconv.AppendInt(append([]byte(nil), keysHead...), int64(len(e.batch)), 10)
	head = append(head, crlf...)
	if len(e.batch) < keyBatchBytes/4 { // a slot's last keys: copied, the buffer kept
		e.q.addCopy(append(append(head, e.batch...), crlf...))
		e.batch = e.batch[:0]
	} else {
		e.q.addCommand(head, e.batch, crlf)
		e.batch = e.q.batchBuffer()
	}
	e.sent.Add(1)
	e.poke()
}

// bigKey is a value copied under DB.Mu, to encode without it.
type bigKey struct {
	key      string
	expireAt int64
	v        rdb.Value
}

// bigValue says a value costs enough to encode that it is encoded out of
// the hold of DB.Mu. Only kinds whose exported form shares no memory that
// a later write changes in place qualify (the string is copied): hash
// values and list items are replaced, never rewritten; set members are
// copied by the export.
func bigValue(v rdb.Value) bool {
	const bigBytes, bigCount = 256 << 10, 4096
	switch v.Kind {
	case rdb.KindString:
		return len(v.Str) >= bigBytes
	case rdb.KindHash:
		return len(v.Hash) >= bigCount
	case rdb.KindList:
		return len(v.List) >= bigCount
	case rdb.KindSet:
		return len(v.Set) >= bigCount
	}
	return false
}

// sendBig encodes the big values of the last hold, one SYNCSLOTS KEYS
// each, and queues them ahead of the writes captured meanwhile.
func (e *exportRun) sendBig() {
	if len(e.big) == 0 {
		return
	}
	var cmds []byte
	for i, b := range e.big {
		entry := appendKeyEntry(nil, b.key, b.expireAt, b.v)
		cmds = resp.AppendCommand(cmds, syncSlotsWord, syncSlotsSub, keysWord, entry)
		e.big[i] = bigKey{}
	}
	n := len(e.big)
	e.big = e.big[:0]
	e.q.endDefer(cmds)
	e.sent.Add(int64(n))
	e.poke()
}

var syncSlotsWord, syncSlotsSub, keysWord = []byte("CLUSTER"), []byte("SYNCSLOTS"), []byte("KEYS")

// writer moves queued commands to the socket.
func (e *exportRun) writer() {
	for {
		select {
		case <-e.wake:
		case <-e.stop:
			return
		case <-e.done:
			return
		}
		for {
			bufs := e.q.take()
			if len(bufs) == 0 {
				break
			}
			written := append(net.Buffers(nil), bufs...) // WriteTo consumes bufs
			e.conn.SetWriteDeadline(time.Now().Add(exportIOTimeout))
			if _, err := bufs.WriteTo(e.conn); err != nil {
				e.fail("Connection lost to target. Check CLUSTER GETSLOTMIGRATIONS on the target node for more information.")
				return
			}
			e.q.recycle(written)
		}
	}
}

// reader counts the target's replies: an error fails the job, CLAIMED
// says the target owns the slots.
func (e *exportRun) reader(br *bufio.Reader) {
	for {
		r, err := resp.ReadReply(br)
		if err != nil {
			e.fail("Connection lost to target. Check CLUSTER GETSLOTMIGRATIONS on the target node for more information.")
			return
		}
		e.replied.Add(1)
		e.s.slotMig.mu.Lock()
		e.job.lastAck = time.Now().Unix()
		e.s.slotMig.mu.Unlock()
		switch {
		case r.Type == '-':
			e.refused.Store(true)
			e.fail("Target replied with error: " + string(r.Str))
			return
		case r.Type == '+' && bytes.HasPrefix(r.Str, []byte(claimedReply)):
			e.claimed <- struct{}{}
			return
		}
	}
}

// awaitClaim waits, writes paused, for the target's claim. When the link
// fails after PAUSED went out the target may have claimed the slots all
// the same: the source stays paused until gossip shows the claim or the
// pause times out.
func (e *exportRun) awaitClaim() bool {
	deadline := time.After(exportPauseTimeout)
	select {
	case <-e.claimed:
		return true
	case <-e.stop:
		if e.refused.Load() { // the target gave the import up: no claim comes
			return false
		}
	case <-deadline:
		return e.mc.SlotsOwnedBy(e.job.slots, e.job.targetID)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if e.mc.SlotsOwnedBy(e.job.slots, e.job.targetID) {
			return true
		}
		select {
		case <-e.claimed:
			return true
		case <-deadline:
			return e.mc.SlotsOwnedBy(e.job.slots, e.job.targetID)
		case <-tick.C:
		}
	}
}

// complete: the target owns the slots. Record it, drop our copies (their
// deletion reaches our replicas), then let the paused writers go: they are
// routed again and redirected to the target.
func (e *exportRun) complete(pause chan struct{}) {
	s, j := e.s, e.job
	if err := e.mc.HandOverSlots(j.slots, j.targetID); err != nil {
		s.Logger.Printf("slot migration %s: recording the hand-over: %v", j.name, err)
	}
	if d := s.debugState().dropDelayMs.Load(); d > 0 {
		time.Sleep(time.Duration(d) * time.Millisecond)
	}
	s.DB.Mu.Lock()
	e.clearMarks(pause)
	s.dropSlotKeys(j.slots)
	s.feedImportMarker("FINISH", "NAME", j.name, "STATE", "success")
	s.DB.Mu.Unlock()
	close(pause)
	e.mc.ExpectHandOver(j.slots, false)
	e.halt("", false)
	e.conn.Close()
	e.finish(stateSuccess, "")
	if len(s.activeJobs(false)) == 0 { // not also receiving slots
		e.mc.FollowAfterHandOver(j.targetID)
	}
}

// release ends a pause without a hand-over: we keep the slots.
func (e *exportRun) release(pause chan struct{}) {
	s := e.s
	s.DB.Mu.Lock()
	e.clearMarks(pause)
	s.feedImportMarker("FINISH", "NAME", e.job.name, "STATE", "failed")
	s.DB.Mu.Unlock()
	close(pause)
	e.mc.ExpectHandOver(e.job.slots, false)
	e.conn.Close()
}

// abort ends a job stopped before its pause.
func (e *exportRun) abort() {
	s := e.s
	s.DB.Mu.Lock()
	e.clearMarks(nil)
	s.DB.Mu.Unlock()
	e.conn.Close()
	if e.cancelled {
		e.finish(stateCancelled, "")
	} else {
		e.finish(stateFailed, e.stopMsg)
	}
}

// clearMarks removes this job's capture and pause marks (DB.Mu held).
func (e *exportRun) clearMarks(pause chan struct{}) {
	m := &e.s.slotMig
	for _, slot := range e.job.slots {
		if m.capture[slot] == e {
			m.capture[slot] = nil
			m.capturing.Add(-1)
		}
		if pause != nil && m.paused[slot] == pause {
			m.paused[slot] = nil
			m.pausing.Add(-1)
		}
	}
}

func (e *exportRun) finish(state, msg string) {
	e.s.setJobState(e.job, state, msg)
}

// DropSlotKeys deletes the keys of slot, replicated and logged as
// dropSlotKeys does.
func (s *Server) DropSlotKeys(slot int) int {
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	return s.dropSlotKeys([]int{slot})
}

// dropSlotKeys deletes every key of slots and feeds one CLUSTER SYNCSLOTS
// DROP of the slots that had keys to the replicas and the AOF, which do
// the same (DB.Mu held).
func (s *Server) dropSlotKeys(slots []int) int {
	s.slotMig.drops.Add(1) // even with no key: see slotMigrations.drops
	db := s.DB
	total := 0
	drop := [][]byte{[]byte("CLUSTER"), []byte("SYNCSLOTS"), []byte("DROP")}
	for _, slot := range slots {
		if n := db.DeleteKeysInSlot(slot); n > 0 {
			total += n
			drop = append(drop, strconv.AppendInt(nil, int64(slot), 10))
		}
	}
	if len(drop) > 3 {
		s.feedForms(func(b []byte) []byte { return resp.AppendCommand(b, drop...) })
	}
	return total
}
