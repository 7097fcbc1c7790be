package server

// WATCH / UNWATCH: optimistic locking for MULTI/EXEC. The store keeps the
// watched keys and marks their watchers dirty when a key is touched (see
// store/watch.go); here commands touch the keys they changed.

func init() {
	def("watch", -2, "noscript loading stale fast allow_busy", 1, -1, 1, cmdWatch)
	def("unwatch", 1, "noscript loading stale fast allow_busy", 0, 0, 0, cmdUnwatch)
}

func cmdWatch(c *Client, args [][]byte) {
	if c.multi != nil {
		c.w.WriteError("ERR WATCH inside MULTI is not allowed")
		return
	}
	db := c.srv.DB
	if !c.watch.Dirty() { // no point in watching more once dirty
		for _, k := range args[1:] {
			db.Watch(&c.watch, k)
		}
	}
	c.w.WriteRaw(okReply)
}

func cmdUnwatch(c *Client, _ [][]byte) {
	c.srv.DB.Unwatch(&c.watch)
	c.w.WriteRaw(okReply)
}

// unwatchLocked forgets the client's watched keys (DISCARD, RESET and a
// closed connection), taking the store lock.
// settleUnwatch drops a watch an EXEC refused while the store was locked
// left behind; called with the store lock held.
func (c *Client) settleUnwatch() {
	if c.unwatchLater {
		c.srv.DB.Unwatch(&c.watch)
		c.unwatchLater = false
	}
}

func (c *Client) unwatchLocked() {
	db := c.srv.DB
	db.Mu.Lock()
	db.Unwatch(&c.watch)
	db.Mu.Unlock()
}

// touchWritten touches the keys a successful write changed: the keys of
// its keyspace events, or, for a command the event table does not know,
// every key it names.
func (c *Client) touchWritten(cmd *command, args [][]byte, idx []int, events []keyedEvent) {
	db := c.srv.DB
	if !db.Watching() && !c.srv.tracking.active.Load() || selfTouching[cmd.name] || cmd.name == "migrate" {
		return
	}
	if _, known := writeEvents[cmd.name]; known || eventCases[cmd.name] {
		for _, ev := range events {
			db.Touch(ev.key)
		}
		return
	}
	for _, i := range idx {
		db.Touch(args[i])
	}
}

// eventCases are the commands eventsOf has its own rules for.
var eventCases = map[string]bool{
	"set": true, "setex": true, "psetex": true, "mset": true, "msetnx": true, "del": true, "unlink": true,
	"expire": true, "pexpire": true, "expireat": true, "pexpireat": true, "getex": true,
	"rename": true, "renamenx": true, "copy": true, "rpoplpush": true, "lmove": true, "blmove": true,
	"brpoplpush": true, "smove": true, "zadd": true,
	"geoadd": true, "georadius": true, "georadiusbymember": true, "geosearchstore": true,
}
