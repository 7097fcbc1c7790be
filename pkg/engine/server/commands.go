package server

import (
	"bytes"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

type cmdFunc func(c *Client, args [][]byte)

// command is one entry of the command table, with the same arity and key
// position conventions as Redis's (negative arity = at least -arity args;
// lastKey -1 = the last argument).
type command struct {
	name              string
	arity             int
	flags             []string // as COMMAND reports them
	firstKey, lastKey int
	step              int
	fn                cmdFunc
	write, readonly   bool
	denyOOM           bool
	noAuth            bool
	noMulti           bool // refused inside MULTI (SAVE, SHUTDOWN, SYNC, PSYNC)
	fast              bool // Redis's "fast" flag (its latency is a fast-command event)
	noLock            bool // handler takes the store lock itself, if at all
	movable           func(args [][]byte) []int
	noRoute           bool // never redirected (MIGRATE works on open slots locally)
	asking            bool // implies ASKING (RESTORE-ASKING)
	shardChannel      bool // its "keys" are shard channels: served by replicas, never ASKed
}

var commandTable = map[string]*command{}

// def registers a command; flags are space separated Redis flag names plus
// the engine-only markers "nolock", "noroute", "asking" and "shardchannel".
func def(name string, arity int, flags string, first, last, step int, fn cmdFunc) *command {
	cmd := &command{name: name, arity: arity, firstKey: first, lastKey: last, step: step, fn: fn}
	for _, f := range strings.Fields(flags) {
		switch f {
		case "nolock":
			cmd.noLock = true
			continue
		case "noroute":
			cmd.noRoute = true
			continue
		case "asking":
			cmd.asking = true
			continue
		case "shardchannel":
			cmd.shardChannel = true
			continue
		case "write":
			cmd.write = true
		case "readonly":
			cmd.readonly = true
		case "denyoom":
			cmd.denyOOM = true
		case "no-auth":
			cmd.noAuth = true
		case "no_multi":
			cmd.noMulti = true
		case "fast":
			cmd.fast = true
		}
		cmd.flags = append(cmd.flags, f)
	}
	commandTable[name] = cmd
	return cmd
}

func lookupCommand(name []byte) *command {
	if len(name) > 32 {
		return nil
	}
	var buf [32]byte
	for i, ch := range name {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return commandTable[string(buf[:len(name)])]
}

// keyIndexes returns the argument positions holding keys.
func (cmd *command) keyIndexes(args [][]byte, out []int) []int {
	if cmd.movable != nil {
		return append(out, cmd.movable(args)...)
	}
	if cmd.firstKey <= 0 {
		return out
	}
	last := cmd.lastKey
	if last < 0 {
		last = len(args) + last
	}
	for i := cmd.firstKey; i <= last && i < len(args); i += cmd.step {
		out = append(out, i)
	}
	return out
}

const (
	errSyntax     = "ERR syntax error"
	errNotInt     = "ERR value is not an integer or out of range"
	errNotFloat   = "ERR value is not a valid float"
	errNoSuchKey  = "ERR no such key"
	errOverflow   = "ERR increment or decrement would overflow"
	errWrongType  = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errIndexRange = "ERR index out of range"
)

// dispatch runs args, whose command (nil if unknown) the caller looked up.
func (c *Client) dispatch(cmd *command, args [][]byte) {
	for c.importJob != nil && c.srv.debugState().stallImports.Load() && !c.importJob.cancelReq.Load() && !c.importJob.flushed.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	if cmd != nil {
		defer c.recoverCommand(cmd, c.w.Mark())
	}
	if cmd == nil {
		c.w.WriteError(unknownCommand(args))
		c.asking = false
		if c.multi != nil {
			c.multiErr = true
		}
		return
	}
	c.lastCmd.Store(cmd)
	c.noteCommandName(cmd, args)
	if cmd.arity > 0 && len(args) != cmd.arity || cmd.arity < 0 && len(args) < -cmd.arity {
		c.w.WriteError("ERR wrong number of arguments for '" + cmd.name + "' command")
		if c.multi != nil {
			c.multiErr = true
		}
		return
	}
	if msg := c.protectedRefusal(cmd); msg != "" { // enable-debug-command (cmd_debug.go)
		c.reject(cmd, msg)
		return
	}
	if !c.authed && !cmd.noAuth {
		c.w.WriteError("NOAUTH Authentication required.")
		return
	}
	if cmd.noMulti && c.multi != nil {
		c.reject(cmd, "ERR Command not allowed inside a transaction")
		return
	}
	if perms := c.aclUser.permissions(); !perms.all && !cmd.noAuth {
		if reason, pos := perms.check(cmd, args); reason != aclAllowed {
			context := aclContextToplevel
			if c.multi != nil {
				context = aclContextMulti
			}
			c.srv.acl.log.addDenial(c, reason, context, cmd, args, pos, c.srv.aclLogMaxLen())
			c.reject(cmd, noPermError(reasonWord(reason), commandName(cmd, args)))
			return
		}
	}
	if c.subscribedMode() && !subscribedModeAllowed(cmd.name) {
		c.w.WriteError("ERR Can't execute '" + cmd.name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	if msg := c.scriptBusyReply(cmd, args); msg != "" {
		c.reject(cmd, msg)
		return
	}
	if cmd.name == "ping" && c.subscribedMode() {
		// A subscribed RESP2 client reads pushes: PING answers in their shape.
		c.w.WriteArrayLen(2)
		c.w.WriteBulkString("pong")
		if len(args) > 1 {
			c.w.WriteBulk(args[1])
		} else {
			c.w.WriteBulkString("")
		}
		return
	}
	if cmd.write && c.srv.readOnlyReplica() {
		c.w.WriteError("READONLY You can't write against a read only replica.")
		if c.multi != nil {
			c.multiErr = true
		}
		return
	}
	if cmd.write {
		if msg := c.srv.aofWriteError(); msg != "" {
			c.w.WriteError(msg)
			if c.multi != nil {
				c.multiErr = true
			}
			return
		}
	}
	if msg := c.admit(cmd, args); msg != "" {
		c.reject(cmd, msg)
		return
	}
	if msg := c.staleRefusal(cmd); msg != "" {
		c.reject(cmd, msg)
		return
	}
	if !c.waitWhilePaused(cmd, args) {
		return
	}
	if c.multi != nil && !inMultiAllowed(cmd.name) {
		if c.srv.Cluster != nil { // route now, so a wrong slot fails the transaction early
			msg := c.route(cmd, args)
			c.recheckRoute = false // EXEC routes the transaction again under the lock
			if msg != "" {
				c.multiErr = true
				c.w.WriteError(msg)
				return
			}
		}
		copied := make([][]byte, len(args))
		for i, a := range args {
			copied[i] = append([]byte(nil), a...)
		}
		*c.multi = append(*c.multi, copied)
		c.w.WriteSimple("QUEUED")
		return
	}
	if c.srv.Cluster != nil && cmd.noRoute && cmd.movable != nil {
		if msg := c.routeMigrate(cmd, args); msg != "" {
			c.asking = false
			c.w.WriteError(msg)
			return
		}
	} else if c.srv.Cluster != nil && !cmd.noRoute && c.importJob == nil {
		c.routedDrops = c.srv.slotDropMark() // before Route reads the owner
		if msg := c.route(cmd, args); msg != "" {
			c.asking, c.recheckRoute, c.routedDrops = false, false, 0
			c.w.WriteError(msg)
			return
		}
	}
	if cmd.write && c.srv.Cluster != nil && cmd.firstKey == 0 && cmd.movable == nil {
		// keyless writes (FLUSHALL...) are not redirected: a replica refuses them
		if replica, _ := c.srv.Cluster.Role(); replica {
			c.w.WriteError("READONLY You can't write against a read only replica.")
			return
		}
	}
	c.monitorBefore(cmd, args)
	c.call(cmd, args) // sets ranAt as it starts (commandRan)
	took := time.Since(c.ranAt)
	if !c.unserved {
		c.noteSlow(cmd, args, took-c.blockedFor)
	}
	c.monitorAfter(cmd, args)
	if wait := c.afterCall; wait != nil {
		c.afterCall = nil
		wait()
		took = time.Since(c.ranAt) // the stats count the wait, less blockedFor
	}
	c.ranFor = took
	if cmd.name != "asking" {
		c.asking = false
	}
}

// reject answers a command refused before it ran, as Redis's
// rejectCommand: a refused EXEC discards the transaction and says so
// (execCommandAbort), a command refused inside MULTI fails the EXEC.
func (c *Client) reject(cmd *command, msg string) {
	switch {
	case cmd.name == "exec":
		if c.multi != nil {
			c.multi = nil
			c.setInMulti(false)
			// A running script holds the store lock (a BUSY refusal):
			// the watch is dropped the next time this client takes it.
			if c.srv.DB.Mu.TryLock() {
				c.srv.DB.Unwatch(&c.watch)
				c.srv.DB.Mu.Unlock()
			} else {
				c.unwatchLater = true
			}
		}
		c.w.WriteError("EXECABORT Transaction discarded because of: " + msg)
	case c.multi != nil:
		c.multiErr = true
		c.w.WriteError(msg)
	default:
		c.w.WriteError(msg)
	}
}

func (c *Client) call(cmd *command, args [][]byte) {
	c.commandRan()
	recheck := c.recheckRoute
	routedDrops := c.routedDrops
	c.recheckRoute, c.routedDrops = false, 0
	if cmd.noLock {
		cmd.fn(c, args)
		return
	}
	db := c.srv.DB
	if !c.lockStore(cmd, args) {
		return
	}
	defer db.Mu.Unlock() // a panicking handler must not leave the store locked
	c.settleUnwatch()
	if c.srv.slotMig.pausing.Load() > 0 && c.waitSlotPause(args) && c.importJob == nil {
		recheck = true
	}
	if routedDrops != 0 && routedDrops != c.srv.slotDropMark() {
		// Slots were given away and emptied between the routing and the
		// lock (an atomic migration's hand-over): the command may have
		// been routed here for a slot this node no longer serves.
		recheck = true
	}
	if recheck {
		if msg := c.routeKeys(cmd, args, true); msg != "" {
			c.w.WriteError(msg)
			return
		}
	}
	c.callLocked(cmd, args)
	if c.srv.blockedReady {
		c.srv.serveBlocked()
	}
}

// callRecovering is call for a command that did not come through dispatch
// (the replication stream): a panic is logged and the stream goes on.
func (c *Client) callRecovering(cmd *command, args [][]byte) {
	defer c.recoverCommand(cmd, c.w.Mark())
	c.call(cmd, args)
}

// callLocked runs a handler that needs the store lock, which the caller
// holds (EXEC holds it for the whole transaction).
func (c *Client) callLocked(cmd *command, args [][]byte) {
	mark := c.w.Mark()
	tracking := c.srv.tracking.active.Load()
	if tracking {
		c.srv.trackingBegin(c, cmd, args)
	}
	if cmd.readonly && !cmd.write {
		c.srv.stats.countLookups(c, cmd, args)
	}
	c.changes = -1
	if cmd.write && (c.srv.notifyFlags.Load() != 0 || c.srv.DB.Watching() || tracking) {
		c.callNotifying(cmd, args)
	} else {
		cmd.fn(c, args)
	}
	if tracking {
		c.srv.trackingEnd(c, cmd)
	}
	if cmd.write {
		reply, _ := c.w.Since(mark)
		if c.changes == 0 || noEffect(cmd, reply) {
			return
		}
		if c.changes > 1 {
			c.srv.persist.dirty.Add(int64(c.changes - 1))
		}
		c.srv.propReply = reply
		if c.srv.DB.Accounting() {
			for _, i := range cmd.keyIndexes(args, nil) {
				c.srv.DB.Resize(args[i])
			}
		}
		c.srv.afterWrite(cmd, args)
		c.woff = c.srv.repl.off // what WAIT waits for
		c.noteAOFWrite()
	}
}

// recoverCommand is the last line of defence against a handler bug: a
// panic in one command is logged with the command's name and answered as
// an error, and the node keeps serving (deferred by dispatch and, for each
// queued command, by EXEC; mark is where the command's reply starts). When
// part of the reply already left, the connection closes after the error:
// the client could not tell where the next reply begins.
func (c *Client) recoverCommand(cmd *command, mark resp.Mark) {
	r := recover()
	if r == nil {
		return
	}
	c.srv.Logger.Printf("panic in command %s: %v\n%s", cmd.name, r, debug.Stack())
	if !c.w.Rewind(mark) {
		c.closeNow = true
	}
	c.w.WriteError("ERR internal error in '" + cmd.name + "' command: " + printable([]byte(fmt.Sprint(r)), 200))
}

// afterWrite feeds replicas and wakes blocked clients; called under the
// store lock after a write command ran.
func (s *Server) afterWrite(cmd *command, args [][]byte) {
	s.persist.dirty.Add(1)
	if s.propagating() {
		s.propagate(cmd, args)
	}
	if len(s.waiters) > 0 {
		s.blockedReady = true // served once the whole command is done
	}
}

func inMultiAllowed(name string) bool {
	switch name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return true
	}
	return false
}

// route asks the cluster whether this node serves the command's keys.
func (c *Client) route(cmd *command, args [][]byte) string {
	return c.routeKeys(cmd, args, false)
}

// routeKeys routes one command; locked says the caller holds the store
// lock. Unlocked, a decision that rested on which keys are here (an open
// slot) sets recheckRoute, so that call repeats it under the lock.
func (c *Client) routeKeys(cmd *command, args [][]byte, locked bool) string {
	var slotBuf [8]int
	var keyBuf [8][]byte
	slots, keys := c.keySlots(cmd, args, slotBuf[:0], keyBuf[:0])
	if len(slots) == 0 {
		return ""
	}
	if cmd.shardChannel {
		// Shard channels have no keys to look up on an open slot, and a
		// replica of the owner serves them (Redis's getNodeByQuery).
		return c.srv.Cluster.Route(slots, c.asking, true, func() (bool, bool) { return true, false })
	}
	return c.srv.Cluster.Route(slots, c.asking || cmd.asking, c.readonly && !cmd.write, c.keysPresent(keys, locked))
}

// keySlots appends the slot and name of each of the command's keys. One
// slot per key, as Route expects: it tells several keys in one slot
// (TRYAGAIN on an open slot) from one key. Like Redis, a key repeated
// under the first key's name does not count as another key.
func (c *Client) keySlots(cmd *command, args [][]byte, slots []int, keys [][]byte) ([]int, [][]byte) {
	var idxBuf [8]int
	idx := cmd.keyIndexes(args, idxBuf[:0])
	for n, i := range idx {
		if n > 0 && bytes.Equal(args[i], args[idx[0]]) {
			continue
		}
		slots = append(slots, keySlot(args[i]))
		keys = append(keys, args[i])
	}
	return slots, keys
}

// keysPresent is Route's question "are all, or none, of the keys here?".
func (c *Client) keysPresent(keys [][]byte, locked bool) func() (all, none bool) {
	return func() (all, none bool) {
		db := c.srv.DB
		if !locked {
			c.recheckRoute = true
			db.Mu.Lock()
			defer db.Mu.Unlock()
		}
		all, none = true, true
		for _, k := range keys {
			if db.Exists(k) {
				none = false
			} else {
				all = false
			}
		}
		return all, none
	}
}

// routeTransaction routes EXEC's queued commands as one request, under the
// store lock EXEC holds: like Redis, every key of the transaction must be
// in one slot, and the slot may have moved since the commands were queued.
func (c *Client) routeTransaction(queued [][][]byte) string {
	var slots []int
	var keys [][]byte
	shardChannels, readonly := false, c.readonly
	for _, args := range queued {
		cmd := lookupCommand(args[0])
		if cmd == nil || cmd.noRoute {
			continue
		}
		slots, keys = c.keySlots(cmd, args, slots, keys)
		shardChannels = shardChannels || cmd.shardChannel
		readonly = readonly && !cmd.write
	}
	if len(slots) == 0 || shardChannels {
		return ""
	}
	return c.srv.Cluster.Route(slots, c.asking, readonly, c.keysPresent(keys, true))
}

// routeMigrate routes MIGRATE: it runs locally while its slot is open
// (migrating or importing), which is how a slot is drained; otherwise it is
// redirected like any keyed command. Clusters without RouteMigrate run it locally.
func (c *Client) routeMigrate(cmd *command, args [][]byte) string {
	rm, ok := c.srv.Cluster.(interface{ RouteMigrate(slots []int) string })
	if !ok {
		return ""
	}
	var slots []int
	for _, i := range cmd.keyIndexes(args, nil) {
		s := keySlot(args[i])
		if len(slots) == 0 || slots[len(slots)-1] != s {
			slots = append(slots, s)
		}
	}
	if len(slots) == 0 {
		return ""
	}
	return rm.RouteMigrate(slots)
}

func unknownCommand(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(printable(args[0], 128))
	b.WriteString("', with args beginning with: ")
	for _, a := range args[1:min(len(args), 20)] {
		b.WriteString("'" + printable(a, 128) + "' ")
	}
	return b.String()
}

// printable trims and strips control characters from client text that is
// echoed in an error line.
func printable(b []byte, limit int) string {
	if len(b) > limit {
		b = b[:limit]
	}
	out := make([]byte, len(b))
	for i, ch := range b {
		if ch < ' ' || ch == 127 {
			ch = ' '
		}
		out[i] = ch
	}
	return string(out)
}

func unknownSubcommand(sub []byte, cmd string) string {
	return "ERR unknown subcommand '" + printable(sub, 128) + "'. Try " + cmd + " HELP."
}

// argument parsing helpers

func parseInt(b []byte) (int64, bool) { return resp.ParseInt(b) }

// maxFloatChars is Redis's MAX_LONG_DOUBLE_CHARS: INCRBYFLOAT can store
// numbers of hundreds of digits, and they must parse again.
const maxFloatChars = 5 * 1024

func parseFloat(b []byte) (float64, bool) {
	if len(b) > maxFloatChars {
		return 0, false
	}
	return parseDouble(b)
}

func eq(b []byte, s string) bool { return strings.EqualFold(string(b), s) }

func (c *Client) writeKeyList(keys [][]byte) {
	c.w.WriteArrayLen(len(keys))
	for _, k := range keys {
		c.w.WriteBulk(k)
	}
}

// copyBytes returns a private copy of an argument that the store will keep.
func copyBytes(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}
