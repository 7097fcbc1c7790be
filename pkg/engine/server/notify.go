package server

import (
	"bytes"
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/config"
)

// Keyspace notifications (notify-keyspace-events): a write command
// publishes "<event>" on __keyspace@0__:<key> and "<key>" on
// __keyevent@0__:<event>, to this node's subscribers only, as Redis does.
// Which event a command causes, and whether it changed anything, is read
// from a table here, the keys' existence before and after it, and its
// reply, so the handlers need not know about notifications.

// loadNotifyFlags caches notify-keyspace-events (at start and CONFIG SET).
func (s *Server) loadNotifyFlags() {
	flags, _ := config.KeyspaceEvents(s.Cfg.Get("notify-keyspace-events"))
	s.notifyFlags.Store(int64(flags))
}

// notifyKeyspace publishes one event about key if its class is enabled.
func (s *Server) notifyKeyspace(class int, event string, key []byte) {
	flags := int(s.notifyFlags.Load())
	if flags&class == 0 {
		return
	}
	if flags&config.NotifyKeyspace != 0 {
		s.PubSub.Publish(append([]byte("__keyspace@0__:"), key...), []byte(event))
	}
	if flags&config.NotifyKeyevent != 0 {
		s.PubSub.Publish([]byte("__keyevent@0__:"+event), key)
	}
}

// keyEvent is a command's event: its class and name, and whether any
// successful run changes the key (else only a positive count or a
// non-null reply says it did).
type keyEvent struct {
	class  int
	name   string
	always bool
}

// writeEvents maps write commands to the event they cause on their first
// key when they change it. Commands with other rules are in eventsOf.
var writeEvents = map[string]keyEvent{
	"append": {config.NotifyString, "append", true}, "setrange": {config.NotifyString, "setrange", true},
	"incr": {config.NotifyString, "incrby", true}, "decr": {config.NotifyString, "incrby", true},
	"incrby": {config.NotifyString, "incrby", true}, "decrby": {config.NotifyString, "incrby", true},
	"incrbyfloat": {config.NotifyString, "incrbyfloat", true}, "getset": {config.NotifyString, "set", true},
	"setbit": {config.NotifyString, "setbit", true}, "setnx": {config.NotifyString, "set", false},
	"getdel": {config.NotifyGeneric, "del", false}, "persist": {config.NotifyGeneric, "persist", false},
	"lpush": {config.NotifyList, "lpush", true}, "rpush": {config.NotifyList, "rpush", true},
	"lpushx": {config.NotifyList, "lpush", false}, "rpushx": {config.NotifyList, "rpush", false},
	"lpop": {config.NotifyList, "lpop", false}, "rpop": {config.NotifyList, "rpop", false},
	"linsert": {config.NotifyList, "linsert", false}, "lset": {config.NotifyList, "lset", true},
	"lrem": {config.NotifyList, "lrem", false}, "ltrim": {config.NotifyList, "ltrim", true},
	"sadd": {config.NotifySet, "sadd", false}, "srem": {config.NotifySet, "srem", false},
	"spop":        {config.NotifySet, "spop", false},
	"sinterstore": {config.NotifySet, "sinterstore", true}, "sunionstore": {config.NotifySet, "sunionstore", true},
	"sdiffstore": {config.NotifySet, "sdiffstore", true},
	"hset":       {config.NotifyHash, "hset", true}, "hmset": {config.NotifyHash, "hset", true},
	"hsetnx": {config.NotifyHash, "hset", false}, "hdel": {config.NotifyHash, "hdel", false},
	"hincrby": {config.NotifyHash, "hincrby", true}, "hincrbyfloat": {config.NotifyHash, "hincrbyfloat", true},
	"zincrby": {config.NotifyZSet, "zincr", true}, "zrem": {config.NotifyZSet, "zrem", false},
	"zremrangebyscore": {config.NotifyZSet, "zremrangebyscore", false},
	"zremrangebyrank":  {config.NotifyZSet, "zremrangebyrank", false},
	"zremrangebylex":   {config.NotifyZSet, "zremrangebylex", false},
	"zpopmin":          {config.NotifyZSet, "zpopmin", false}, "zpopmax": {config.NotifyZSet, "zpopmax", false},
	"zunionstore": {config.NotifyZSet, "zunionstore", true}, "zinterstore": {config.NotifyZSet, "zinterstore", true},
	"zdiffstore": {config.NotifyZSet, "zdiffstore", true}, "zrangestore": {config.NotifyZSet, "zrangestore", true},
	"pfadd": {config.NotifyString, "pfadd", false}, "bitop": {config.NotifyString, "set", true}, "pfmerge": {config.NotifyString, "pfadd", true},
}

// callNotifying runs a write command and publishes the keyspace events it
// caused (store lock held).
func (c *Client) callNotifying(cmd *command, args [][]byte) {
	db := c.srv.DB
	idx := cmd.keyIndexes(args, nil)
	existed := make([]bool, len(idx))
	for i, k := range idx {
		existed[i] = db.Exists(args[k])
	}
	mark := c.w.Mark()
	c.keyChanged = false
	cmd.fn(c, args)
	reply, _ := c.w.Since(mark)
	if len(reply) > 0 && reply[0] == '-' || c.changes == 0 {
		return
	}
	exists := make([]bool, len(idx))
	var created [][]byte // keys the command added, announced with "new" right before their first event
	for i, k := range idx {
		exists[i] = db.Exists(args[k])
		if exists[i] && !existed[i] {
			created = append(created, args[k])
		}
	}
	announce := func(key []byte) {
		for i, k := range created {
			if bytes.Equal(k, key) {
				c.srv.notifyKeyspace(config.NotifyNew, "new", k)
				created = append(created[:i], created[i+1:]...)
				return
			}
		}
	}
	if cmd.name == "rename" || cmd.name == "renamenx" {
		announce(args[2]) // Redis adds the new name before it reports the move
	}
	events := eventsOf(cmd.name, args, idx, reply, existed, exists)
	if c.keyChanged && (cmd.name == "geoadd" || cmd.name == "zadd" && len(events) == 0) {
		events = []keyedEvent{{keyEvent{class: config.NotifyZSet, name: "zadd"}, args[1]}}
	}
	if streamWrites[cmd.name] {
		events = c.srv.takeStreamEvents()
	}
	c.touchWritten(cmd, args, idx, events)
	for _, ev := range events {
		announce(ev.key)
		c.srv.notifyKeyspace(ev.class, ev.name, ev.key)
	}
	for _, k := range created {
		c.srv.notifyKeyspace(config.NotifyNew, "new", k)
	}
}

// keyedEvent is an event about one key.
type keyedEvent struct {
	keyEvent
	key []byte
}

// eventsOf lists, in Redis's order, the events a successful write caused.
func eventsOf(name string, args [][]byte, idx []int, reply []byte, existed, exists []bool) []keyedEvent {
	if len(idx) == 0 {
		return nil
	}
	key := func(i int) []byte { return args[idx[i]] }
	ev := func(class int, event string, k []byte) keyedEvent {
		return keyedEvent{keyEvent{class: class, name: event}, k}
	}
	var out []keyedEvent
	// emptied: a collection command removed its key's last element.
	emptied := func(i int) {
		if existed[i] && !exists[i] {
			out = append(out, ev(config.NotifyGeneric, "del", key(i)))
		}
	}
	switch name {
	case "set":
		if replyNil(reply) && !hasArg(args, 3, "get") || !changedBySet(args, existed[0]) {
			return nil
		}
		out = append(out, ev(config.NotifyString, "set", key(0)))
		if hasArg(args, 3, "ex") || hasArg(args, 3, "px") || hasArg(args, 3, "exat") || hasArg(args, 3, "pxat") {
			out = append(out, ev(config.NotifyGeneric, "expire", key(0)))
		}
	case "setex", "psetex":
		out = append(out, ev(config.NotifyString, "set", key(0)), ev(config.NotifyGeneric, "expire", key(0)))
	case "mset":
		for i := range idx {
			out = append(out, ev(config.NotifyString, "set", key(i)))
		}
	case "msetnx":
		if n, _ := replyInt(reply); n > 0 {
			for i := range idx {
				out = append(out, ev(config.NotifyString, "set", key(i)))
			}
		}
	case "del", "unlink":
		for i := range idx {
			if existed[i] && !exists[i] {
				out = append(out, ev(config.NotifyGeneric, "del", key(i)))
			}
		}
	case "expire", "pexpire", "expireat", "pexpireat":
		if n, _ := replyInt(reply); n > 0 {
			if exists[0] {
				out = append(out, ev(config.NotifyGeneric, "expire", key(0)))
			} else {
				out = append(out, ev(config.NotifyGeneric, "del", key(0)))
			}
		}
	case "getex":
		switch {
		case !existed[0]:
		case hasArg(args, 2, "persist"):
			out = append(out, ev(config.NotifyGeneric, "persist", key(0)))
		case len(args) > 2:
			out = append(out, ev(config.NotifyGeneric, "expire", key(0)))
		}
	case "rename", "renamenx":
		if n, isInt := replyInt(reply); !isInt || n > 0 {
			out = append(out, ev(config.NotifyGeneric, "rename_from", key(0)), ev(config.NotifyGeneric, "rename_to", key(1)))
		}
	case "copy":
		if n, _ := replyInt(reply); n > 0 {
			out = append(out, ev(config.NotifyGeneric, "copy_to", key(1)))
		}
	case "rpoplpush", "lmove", "blmove", "brpoplpush":
		if replyNil(reply) {
			return nil
		}
		from, to := "rpop", "lpush"
		if name == "lmove" || name == "blmove" {
			from, to = popPushEvents(args)
		}
		// Redis pushes before it pops.
		out = append(out, ev(config.NotifyList, to, key(1)), ev(config.NotifyList, from, key(0)))
		emptied(0)
	case "smove":
		if n, _ := replyInt(reply); n > 0 {
			out = append(out, ev(config.NotifySet, "srem", key(0)))
			emptied(0)
			out = append(out, ev(config.NotifySet, "sadd", key(1)))
		}
	case "zadd":
		incr := hasArg(args, 2, "incr")
		if n, isInt := replyInt(reply); incr && !replyNil(reply) || !incr && isInt && n > 0 {
			e := "zadd"
			if incr {
				e = "zincr"
			}
			out = append(out, ev(config.NotifyZSet, e, key(0)))
		}
	case "sort":
		// idx: the sorted key, then STORE destinations (the last one is used)
		if len(idx) < 2 {
			return nil
		}
		d := len(idx) - 1
		if n, _ := replyInt(reply); n > 0 {
			out = append(out, ev(config.NotifyList, "sortstore", key(d)))
		} else if existed[d] && !exists[d] {
			out = append(out, ev(config.NotifyGeneric, "del", key(d)))
		}
	case "bitfield":
		// a SET or INCRBY that wrote (its reply is not null: OVERFLOW FAIL)
		lines := bytes.Split(reply, []byte("\r\n"))
		n := 1 // lines[0] is the array header; every op answers one line
		for j := 2; j < len(args) && n < len(lines); j++ {
			switch {
			case eq(args[j], "overflow"):
				j++
				continue
			case eq(args[j], "get"):
				j += 2
			default: // set, incrby
				if len(lines[n]) > 0 && lines[n][0] == ':' {
					out = append(out, ev(config.NotifyString, "setbit", key(0)))
					return out
				}
				j += 3
			}
			n++
		}
	case "lmpop", "zmpop":
		// the key popped from is the reply's first element
		k := replyFirstBulk(reply)
		if k == nil {
			return nil
		}
		where := args[len(idx)+2] // LEFT|RIGHT or MIN|MAX after numkeys and the keys
		e := map[string]string{"left": "lpop", "right": "rpop", "min": "zpopmin", "max": "zpopmax"}[string(lower(where))]
		class := config.NotifyList
		if name == "zmpop" {
			class = config.NotifyZSet
		}
		out = append(out, ev(class, e, k))
		for i := range idx {
			if bytes.Equal(key(i), k) {
				emptied(i)
				break
			}
		}
	case "georadius", "georadiusbymember", "geosearchstore":
		// the destination: STORE's key, or GEOSEARCHSTORE's first
		d := 0
		if name != "geosearchstore" {
			if d = 1; len(idx) < 2 {
				return nil
			}
		}
		if exists[d] {
			e := "georadiusstore"
			if name == "geosearchstore" {
				e = "geosearchstore"
			}
			out = append(out, ev(config.NotifyZSet, e, key(d)))
		} else if existed[d] {
			out = append(out, ev(config.NotifyGeneric, "del", key(d)))
		}
	case "sinterstore", "sunionstore", "sdiffstore", "zunionstore", "zinterstore", "zdiffstore", "zrangestore", "bitop":
		// The destination is the first key; an empty result deletes it.
		if exists[0] {
			e := writeEvents[name]
			out = append(out, ev(e.class, e.name, key(0)))
		} else if existed[0] {
			out = append(out, ev(config.NotifyGeneric, "del", key(0)))
		}
	default:
		e, ok := writeEvents[name]
		if !ok || !e.always && !changedByReply(reply) {
			return nil
		}
		out = append(out, ev(e.class, e.name, key(0)))
		if e.class != config.NotifyGeneric {
			emptied(0)
		}
	}
	return out
}

// changedBySet tells whether SET stored its value, from its NX/XX options
// and whether the key existed.
func changedBySet(args [][]byte, existed bool) bool {
	switch {
	case hasArg(args, 3, "nx"):
		return !existed
	case hasArg(args, 3, "xx"):
		return existed
	}
	return true
}

// changedByReply reads a command's reply as "it changed something": an
// integer above zero, a non-null value, or OK.
func changedByReply(reply []byte) bool {
	if n, isInt := replyInt(reply); isInt {
		return n > 0
	}
	return len(reply) > 0 && !replyNil(reply)
}

// replyFirstBulk returns the first bulk string of an array reply.
func replyFirstBulk(reply []byte) []byte {
	if len(reply) < 4 || reply[0] != '*' {
		return nil
	}
	nl := bytes.IndexByte(reply, '\n')
	if nl < 0 || nl+1 >= len(reply) || reply[nl+1] != '$' {
		return nil
	}
	rest := reply[nl+2:]
	end := bytes.IndexByte(rest, '\r')
	if end < 0 {
		return nil
	}
	n, err := strconv.Atoi(string(rest[:end]))
	if err != nil || n < 0 || end+2+n > len(rest) {
		return nil
	}
	return rest[end+2 : end+2+n]
}

func replyInt(reply []byte) (int64, bool) {
	if len(reply) < 4 || reply[0] != ':' {
		return 0, false
	}
	end := bytes.IndexByte(reply, '\r')
	if end < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(reply[1:end]), 10, 64)
	return n, err == nil
}

func replyNil(reply []byte) bool {
	return bytes.HasPrefix(reply, []byte("$-1\r\n")) || bytes.HasPrefix(reply, []byte("*-1\r\n")) ||
		bytes.HasPrefix(reply, []byte("_\r\n")) || bytes.HasPrefix(reply, []byte("*0\r\n"))
}

// hasArg reports whether opt is among args[from:] (a command's options).
func hasArg(args [][]byte, from int, opt string) bool {
	for _, a := range args[min(from, len(args)):] {
		if eq(a, opt) {
			return true
		}
	}
	return false
}

// popPushEvents names LMOVE's events from its wherefrom/whereto words.
func popPushEvents(args [][]byte) (string, string) {
	from, to := "rpop", "rpush"
	if len(args) > 3 && eq(args[3], "left") {
		from = "lpop"
	}
	if len(args) > 4 && eq(args[4], "left") {
		to = "lpush"
	}
	return from, to
}
