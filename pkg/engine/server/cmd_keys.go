package server

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("del", -2, "write", 1, -1, 1, cmdDel)
	def("unlink", -2, "write fast", 1, -1, 1, cmdDel)
	def("exists", -2, "readonly fast", 1, -1, 1, cmdExists)
	def("touch", -2, "readonly fast", 1, -1, 1, cmdTouch)
	def("type", 2, "readonly fast", 1, 1, 1, cmdType)
	def("expire", -3, "write fast", 1, 1, 1, cmdExpire)
	def("pexpire", -3, "write fast", 1, 1, 1, cmdExpire)
	def("expireat", -3, "write fast", 1, 1, 1, cmdExpire)
	def("pexpireat", -3, "write fast", 1, 1, 1, cmdExpire)
	def("ttl", 2, "readonly fast", 1, 1, 1, cmdTTL)
	def("pttl", 2, "readonly fast", 1, 1, 1, cmdTTL)
	def("expiretime", 2, "readonly fast", 1, 1, 1, cmdTTL)
	def("pexpiretime", 2, "readonly fast", 1, 1, 1, cmdTTL)
	def("persist", 2, "write fast", 1, 1, 1, cmdPersist)
	def("rename", 3, "write", 1, 2, 1, cmdRename)
	def("renamenx", 3, "write fast", 1, 2, 1, cmdRename)
	def("copy", -3, "write denyoom", 1, 2, 1, cmdCopy)
	def("keys", 2, "readonly", 0, 0, 0, cmdKeys)
	def("scan", -2, "readonly", 0, 0, 0, cmdScan)
	def("randomkey", 1, "readonly", 0, 0, 0, cmdRandomKey)
	def("dbsize", 1, "readonly fast", 0, 0, 0, func(c *Client, _ [][]byte) { c.w.WriteInt(int64(c.srv.DB.DBSize())) })
	def("flushall", -1, "write", 0, 0, 0, cmdFlush)
	def("flushdb", -1, "write", 0, 0, 0, cmdFlush)
	def("dump", 2, "readonly", 1, 1, 1, cmdDump)
	def("restore", -4, "write denyoom", 1, 1, 1, cmdRestore)
	def("restore-asking", -4, "write denyoom asking", 1, 1, 1, cmdRestore)
	def("object", -2, "readonly", 2, 2, 1, cmdObject)
}

func cmdDel(c *Client, args [][]byte) {
	s := c.srv
	lazy := eq(args[0], "unlink") || s.Cfg.Bool("lazyfree-lazy-user-del")
	n := 0
	for _, k := range args[1:] {
		if lazy && s.unlinkLazily(k) || !lazy && s.DB.Delete(k) {
			n++
		}
	}
	c.w.WriteInt(int64(n))
}

func cmdExists(c *Client, args [][]byte) {
	n := 0
	for _, k := range args[1:] {
		if kind, _ := c.srv.DB.Inspect(k); kind != store.KindNone {
			n++
		}
	}
	c.w.WriteInt(int64(n))
}

// cmdTouch counts the keys that exist, as EXISTS does, but is an access
// to each (Redis's TOUCH resets OBJECT IDLETIME; EXISTS does not).
func cmdTouch(c *Client, args [][]byte) {
	n := 0
	for _, k := range args[1:] {
		if c.srv.DB.TouchAccess(k) {
			n++
		}
	}
	c.w.WriteInt(int64(n))
}

func cmdType(c *Client, args [][]byte) {
	kind, _ := c.srv.DB.Inspect(args[1])
	c.w.WriteSimple(kind.String())
}

func cmdExpire(c *Client, args [][]byte) {
	name := string(lower(args[0]))
	// Redis's order: the options, then the time
	var nx, xx, gt, lt bool
	for _, a := range args[3:] {
		switch {
		case eq(a, "nx"):
			nx = true
		case eq(a, "xx"):
			xx = true
		case eq(a, "gt"):
			gt = true
		case eq(a, "lt"):
			lt = true
		default:
			c.w.WriteError("ERR Unsupported option " + printable(a, 64))
			return
		}
	}
	if nx && (xx || gt || lt) {
		c.w.WriteError("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if gt && lt {
		c.w.WriteError("ERR GT and LT options at the same time are not compatible")
		return
	}
	n, ok := parseInt(args[2])
	if !ok {
		c.w.WriteError(errNotInt)
		return
	}
	db := c.srv.DB
	var base int64 // EXPIREAT and PEXPIREAT are absolute
	if name == "expire" || name == "pexpire" {
		base = db.Now()
	}
	at, ok := expireAt(n, name == "expire" || name == "expireat", base)
	if !ok {
		c.w.WriteError("ERR invalid expire time in '" + name + "' command")
		return
	}
	if !db.TouchAccess(args[1]) { // Redis looks the key up for writing first
		c.w.WriteInt(0)
		return
	}
	cur := db.Expire(args[1])
	if cur == -2 {
		c.w.WriteInt(0)
		return
	}
	// -1 (no TTL) counts as an infinite TTL for GT/LT, as in Redis
	if nx && cur != -1 || xx && cur == -1 || gt && (cur == -1 || at <= cur) || lt && cur != -1 && at >= cur {
		c.w.WriteInt(0)
		return
	}
	db.SetExpire(args[1], at)
	c.w.WriteInt(1)
}

func cmdTTL(c *Client, args [][]byte) {
	kind, at := c.srv.DB.Inspect(args[1])
	if kind == store.KindNone {
		c.w.WriteInt(-2)
		return
	}
	if at < 0 {
		c.w.WriteInt(-1)
		return
	}
	switch string(lower(args[0])) {
	case "ttl":
		c.w.WriteInt((max(at-c.srv.DB.Now(), 0) + 500) / 1000)
	case "pttl":
		c.w.WriteInt(max(at-c.srv.DB.Now(), 0))
	case "expiretime":
		c.w.WriteInt((at + 500) / 1000)
	default:
		c.w.WriteInt(at)
	}
}

func cmdPersist(c *Client, args [][]byte) {
	if c.srv.DB.Persist(args[1]) {
		c.w.WriteInt(1)
	} else {
		c.w.WriteInt(0)
	}
}

func cmdRename(c *Client, args [][]byte) {
	db := c.srv.DB
	nx := eq(args[0], "renamenx")
	if !db.Exists(args[1]) {
		c.w.WriteError(errNoSuchKey)
		return
	}
	if nx {
		if db.Exists(args[2]) {
			c.w.WriteInt(0)
			return
		}
		db.Rename(args[1], args[2])
		c.w.WriteInt(1)
		return
	}
	db.Rename(args[1], args[2])
	c.w.WriteRaw(okReply)
}

func cmdCopy(c *Client, args [][]byte) {
	replace := false
	for i := 3; i < len(args); i++ {
		switch {
		case eq(args[i], "replace"):
			replace = true
		case eq(args[i], "db") && i+1 < len(args):
			if n, ok := parseInt(args[i+1]); !ok {
				c.w.WriteError(errNotInt)
				return
			} else if n != 0 { // the engine has database 0 only
				c.w.WriteError("ERR DB index is out of range")
				return
			}
			i++
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	if string(args[1]) == string(args[2]) {
		c.w.WriteError("ERR source and destination objects are the same")
		return
	}
	db := c.srv.DB
	if !db.Exists(args[1]) || !replace && db.Exists(args[2]) {
		c.w.WriteInt(0)
		return
	}
	db.Copy(args[1], args[2])
	c.w.WriteInt(1)
}

func cmdKeys(c *Client, args [][]byte) {
	c.writeKeyList(c.srv.DB.Keys(args[1]))
}

func cmdScan(c *Client, args [][]byte) {
	cursor, ok := parseCursor(args[1])
	if !ok {
		c.w.WriteError("ERR invalid cursor")
		return
	}
	pattern, count, kind, ok := c.scanOptions(args[2:], true)
	if !ok {
		return
	}
	keys, next := c.srv.DB.Scan(cursor, count, pattern, kind)
	c.w.WriteArrayLen(2)
	c.w.WriteBulkString(strconv.FormatUint(next, 10))
	c.writeKeyList(keys)
}

// scanOptions parses MATCH, COUNT and (for SCAN) TYPE.
func (c *Client) scanOptions(args [][]byte, allowType bool) (pattern []byte, count int, kind store.Kind, ok bool) {
	count = 10
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) {
			c.w.WriteError(errSyntax)
			return nil, 0, 0, false
		}
		switch {
		case eq(args[i], "match"):
			pattern = args[i+1]
			if len(pattern) == 1 && pattern[0] == '*' {
				pattern = nil
			}
		case eq(args[i], "count"):
			n, good := parseInt(args[i+1])
			if !good {
				c.w.WriteError(errNotInt)
				return nil, 0, 0, false
			}
			if n < 1 {
				c.w.WriteError(errSyntax)
				return nil, 0, 0, false
			}
			count = int(min(n, 1<<30))
		case eq(args[i], "type") && allowType:
			kind = kindByName(string(lower(args[i+1])))
			if kind == store.KindNone {
				kind = 255 // an unknown type matches nothing, as in Redis
			}
		default:
			c.w.WriteError(errSyntax)
			return nil, 0, 0, false
		}
	}
	return pattern, count, kind, true
}

func kindByName(s string) store.Kind {
	for k := store.KindString; k <= store.KindStream; k++ {
		if k.String() == s {
			return k
		}
	}
	return store.KindNone
}

func cmdRandomKey(c *Client, _ [][]byte) {
	if k := c.srv.DB.RandomKey(); k != nil {
		c.w.WriteBulk(k)
	} else {
		c.w.WriteNull()
	}
}

func cmdFlush(c *Client, args [][]byte) {
	if len(args) > 2 || len(args) == 2 && !eq(args[1], "async") && !eq(args[1], "sync") {
		c.w.WriteError(errSyntax)
		return
	}
	s := c.srv
	async := len(args) == 2 && eq(args[1], "async") || len(args) == 1 && s.Cfg.Bool("lazyfree-lazy-user-flush")
	keys := s.DB.DBSize()
	s.DB.Flush()
	s.failImportsOnFlush()
	if async && keys > 0 {
		s.freeLater(int64(keys)) // Redis counts every key of a database flushed in the background
	}
	c.w.WriteRaw(okReply)
}

func cmdDump(c *Client, args [][]byte) {
	v, ok := c.srv.DB.Export(args[1])
	if !ok {
		c.w.WriteNull()
		return
	}
	c.w.WriteBulk(rdb.EncodeDump(v))
}

func cmdRestore(c *Client, args [][]byte) {
	ttl, ok := parseInt(args[2])
	if !ok {
		c.w.WriteError(errNotInt)
		return
	}
	var replace, absTTL bool
	idle, freq := int64(-1), -1
	for i := 4; i < len(args); i++ {
		switch {
		case eq(args[i], "replace"):
			replace = true
		case eq(args[i], "absttl"):
			absTTL = true
		case (eq(args[i], "idletime") && freq < 0 || eq(args[i], "freq") && idle < 0) && i+1 < len(args): // one or the other
			n, good := parseInt(args[i+1])
			if !good {
				c.w.WriteError(errNotInt)
				return
			}
			if n < 0 || eq(args[i], "freq") && n > 255 {
				if eq(args[i], "freq") {
					c.w.WriteError("ERR Invalid FREQ value, must be >= 0 and <= 255")
				} else {
					c.w.WriteError("ERR Invalid IDLETIME value, must be >= 0")
				}
				return
			}
			if eq(args[i], "freq") {
				freq = int(n)
			} else {
				idle = n
			}
			i++
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	if ttl < 0 {
		c.w.WriteError("ERR Invalid TTL value, must be >= 0")
		return
	}
	db := c.srv.DB
	if !replace && db.Exists(args[1]) {
		c.w.WriteError("BUSYKEY Target key name already exists.")
		return
	}
	if !validDumpFooter(args[3]) {
		c.w.WriteError("ERR DUMP payload version or checksum are wrong")
		return
	}
	v, err := rdb.DecodeDump(args[3])
	if err != nil {
		c.w.WriteError("ERR Bad data format")
		return
	}
	at := int64(0)
	if ttl > 0 {
		at = ttl
		if !absTTL {
			at += db.Now()
		}
	}
	if at > 0 && at <= db.Now() { // already expired: the key just goes away
		db.Delete(args[1])
		c.w.WriteRaw(okReply)
		return
	}
	db.Import(args[1], v)
	if at > 0 {
		db.SetExpire(args[1], at)
	}
	db.SetAccessHints(args[1], idle, freq)
	c.w.WriteRaw(okReply)
}

// validDumpFooter checks the RDB version and CRC64 at the end of a DUMP
// payload, which Redis reports with its own error text.
func validDumpFooter(p []byte) bool {
	if len(p) < 10 {
		return false
	}
	version := binary.LittleEndian.Uint16(p[len(p)-10:])
	crc := binary.LittleEndian.Uint64(p[len(p)-8:])
	return version <= 11 && rdb.CRC64(0, p[:len(p)-8]) == crc
}

func cmdObject(c *Client, args [][]byte) {
	sub := string(lower(args[1]))
	if sub == "help" && len(args) == 2 {
		c.writeHelp("OBJECT", objectHelp)
		return
	}
	switch sub {
	case "encoding", "refcount", "idletime", "freq", "help":
	default: // the text is the client's: never echo it whole
		c.w.WriteError(unknownSubcommand(args[1], "OBJECT"))
		return
	}
	if len(args) != 3 || sub == "help" {
		c.w.WriteError("ERR wrong number of arguments for 'object|" + sub + "' command")
		return
	}
	kind := c.srv.DB.TypeNoTouch(args[2])
	if kind == store.KindNone {
		c.w.WriteNull()
		return
	}
	switch sub {
	case "encoding":
		c.w.WriteBulkString(c.srv.DB.Encoding(args[2]))
	case "refcount":
		c.w.WriteInt(c.refCount(args[2]))
	case "idletime", "freq":
		// Redis tracks one or the other, by maxmemory-policy
		lfu := strings.HasSuffix(c.srv.Cfg.Get("maxmemory-policy"), "-lfu")
		switch {
		case sub == "freq" && !lfu:
			c.w.WriteError("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
		case sub == "idletime" && lfu:
			c.w.WriteError("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
		case sub == "freq":
			n, _ := c.srv.DB.Frequency(args[2])
			c.w.WriteInt(int64(n))
		default:
			idle, _ := c.srv.DB.IdleTime(args[2])
			c.w.WriteInt(idle)
		}
	default:
		c.w.WriteError(unknownSubcommand(args[1], "OBJECT"))
	}
}

// expireAt converts a client's expire time (seconds or milliseconds, plus
// base in milliseconds) to a unix time in milliseconds, refusing what
// overflows as Redis does; far negative times are fine (already expired).
func expireAt(n int64, seconds bool, base int64) (int64, bool) {
	if seconds {
		if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
			return 0, false
		}
		n *= 1000
	}
	if n > math.MaxInt64-base {
		return 0, false
	}
	return n + base, true
}

// parseCursor reads a SCAN cursor the way Redis does (strtoul): an empty
// string is 0, a sign is allowed and "-1" wraps to 2^64-1; leading spaces,
// trailing bytes and values past 2^64-1 are invalid.
func parseCursor(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	neg := false
	digits := b
	if digits[0] == '+' || digits[0] == '-' {
		neg = digits[0] == '-'
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return 0, false
	}
	var n uint64
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}

// sharedRefCount is what OBJECT REFCOUNT reports for Redis's shared objects.
const sharedRefCount = math.MaxInt32

// refCount is OBJECT REFCOUNT: 1, except for the integers 0-9999 that Redis
// keeps as shared objects unless an LRU or LFU maxmemory policy needs a clock
// per key.
func (c *Client) refCount(key []byte) int64 {
	v, ok := c.srv.DB.StringNoTouch(key)
	if !ok || len(v) == 0 || len(v) > 4 {
		return 1
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 || strconv.Itoa(n) != string(v) {
		return 1
	}
	policy := c.srv.Cfg.Get("maxmemory-policy")
	if c.srv.memory.maxmemory.Load() > 0 && (strings.HasSuffix(policy, "-lru") || strings.HasSuffix(policy, "-lfu")) {
		return 1
	}
	return sharedRefCount
}
