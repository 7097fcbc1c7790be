package server

import (
	"math"
	"math/big"
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/resp"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

var (
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
)

func keySlot(key []byte) int { return store.KeySlot(key) }

func init() {
	def("get", 2, "readonly fast", 1, 1, 1, cmdGet)
	def("set", -3, "write denyoom", 1, 1, 1, cmdSet)
	def("setnx", 3, "write denyoom fast", 1, 1, 1, cmdSetNX)
	def("setex", 4, "write denyoom", 1, 1, 1, cmdSetEX)
	def("psetex", 4, "write denyoom", 1, 1, 1, cmdSetEX)
	def("getset", 3, "write denyoom fast", 1, 1, 1, cmdGetSet)
	def("getdel", 2, "write fast", 1, 1, 1, cmdGetDel)
	def("getex", -2, "write fast", 1, 1, 1, cmdGetEx)
	def("mget", -2, "readonly fast", 1, -1, 1, cmdMGet)
	def("mset", -3, "write denyoom", 1, -1, 2, cmdMSet)
	def("msetnx", -3, "write denyoom", 1, -1, 2, cmdMSetNX)
	def("incr", 2, "write denyoom fast", 1, 1, 1, cmdIncr)
	def("decr", 2, "write denyoom fast", 1, 1, 1, cmdIncr)
	def("incrby", 3, "write denyoom fast", 1, 1, 1, cmdIncr)
	def("decrby", 3, "write denyoom fast", 1, 1, 1, cmdIncr)
	def("incrbyfloat", 3, "write denyoom fast", 1, 1, 1, cmdIncrByFloat)
	def("append", 3, "write denyoom fast", 1, 1, 1, cmdAppend)
	def("strlen", 2, "readonly fast", 1, 1, 1, cmdStrlen)
	def("getrange", 4, "readonly", 1, 1, 1, cmdGetRange)
	def("substr", 4, "readonly", 1, 1, 1, cmdGetRange)
	def("setrange", 4, "write denyoom", 1, 1, 1, cmdSetRange)
}

func (c *Client) getString(key []byte) ([]byte, bool, bool) {
	v, found, err := c.srv.DB.GetString(key)
	if err != nil {
		c.w.WriteError(errWrongType)
		return nil, false, false
	}
	return v, found, true
}

func cmdGet(c *Client, args [][]byte) {
	v, found, ok := c.getString(args[1])
	if !ok {
		return
	}
	if !found {
		c.w.WriteNull()
		return
	}
	c.w.WriteBulk(v)
}

// expireArg parses the EX/PX/EXAT/PXAT value into an absolute unix-ms time.
func (c *Client) expireArg(unit string, arg []byte, cmd string) (int64, bool) {
	n, ok := parseInt(arg)
	if !ok {
		c.w.WriteError(errNotInt)
		return 0, false
	}
	if n <= 0 {
		c.w.WriteError("ERR invalid expire time in '" + cmd + "' command")
		return 0, false
	}
	now := c.srv.DB.Now()
	var at int64
	switch unit {
	case "ex":
		if n > math.MaxInt64/1000-now/1000 {
			c.w.WriteError("ERR invalid expire time in '" + cmd + "' command")
			return 0, false
		}
		at = now + n*1000
	case "px":
		if n > math.MaxInt64-now {
			c.w.WriteError("ERR invalid expire time in '" + cmd + "' command")
			return 0, false
		}
		at = now + n
	case "exat":
		if n > math.MaxInt64/1000 {
			c.w.WriteError("ERR invalid expire time in '" + cmd + "' command")
			return 0, false
		}
		at = n * 1000
	case "pxat":
		at = n
	}
	return at, true
}

func cmdSet(c *Client, args [][]byte) {
	key := args[1]
	var nx, xx, get, keepTTL bool
	var expireAt int64
	expireSet := false
	for i := 3; i < len(args); i++ {
		a := args[i]
		switch {
		case eq(a, "nx") && !xx:
			nx = true
		case eq(a, "xx") && !nx:
			xx = true
		case eq(a, "get"):
			get = true
		case eq(a, "keepttl") && !expireSet:
			keepTTL = true
		case (eq(a, "ex") || eq(a, "px") || eq(a, "exat") || eq(a, "pxat")) && !keepTTL && !expireSet && i+1 < len(args):
			at, ok := c.expireArg(string(lower(a)), args[i+1], "set")
			if !ok {
				return
			}
			expireAt, expireSet = at, true
			i++
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	db := c.srv.DB
	var old []byte
	oldFound := false
	if get || nx || xx {
		v, found, err := db.GetString(args[1])
		if err != nil && get {
			c.w.WriteError(errWrongType)
			return
		}
		// a copy: the new value may overwrite the old one in place
		old, oldFound = append([]byte(nil), v...), found
		if (nx && found) || (xx && !found) {
			if get {
				c.writeMaybeNull(old, oldFound)
			} else {
				c.w.WriteNull()
			}
			return
		}
	}
	db.SetStringCopy(key, args[2], keepTTL)
	if expireSet {
		db.SetTTL(key, expireAt)
	}
	if get {
		c.writeMaybeNull(old, oldFound)
		return
	}
	c.w.WriteRaw(okReply)
}

var okReply = []byte("+OK\r\n")

func (c *Client) writeMaybeNull(v []byte, found bool) {
	if found {
		c.w.WriteBulk(v)
	} else {
		c.w.WriteNull()
	}
}

func lower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		out[i] = ch
	}
	return out
}

func cmdSetNX(c *Client, args [][]byte) {
	if c.srv.DB.Exists(args[1]) {
		c.w.WriteInt(0)
		return
	}
	c.srv.DB.SetStringCopy(args[1], args[2], false)
	c.w.WriteInt(1)
}

func cmdSetEX(c *Client, args [][]byte) {
	unit := "ex"
	name := "setex"
	if eq(args[0], "psetex") {
		unit, name = "px", "psetex"
	}
	at, ok := c.expireArg(unit, args[2], name)
	if !ok {
		return
	}
	c.srv.DB.SetStringCopy(args[1], args[3], false)
	c.srv.DB.SetTTL(args[1], at)
	c.w.WriteRaw(okReply)
}

func cmdGetSet(c *Client, args [][]byte) {
	old, found, ok := c.getString(args[1])
	if !ok {
		return
	}
	c.writeMaybeNull(old, found)
	c.srv.DB.SetStringCopy(args[1], args[2], false)
}

func cmdGetDel(c *Client, args [][]byte) {
	old, found, ok := c.getString(args[1])
	if !ok {
		return
	}
	c.writeMaybeNull(old, found)
	if found {
		c.srv.DB.Delete(args[1])
	}
}

func cmdGetEx(c *Client, args [][]byte) {
	var unit string
	var ttlArg []byte
	persist := false
	for i := 2; i < len(args); i++ {
		a := args[i]
		switch {
		case eq(a, "persist") && ttlArg == nil && !persist:
			persist = true
		case (eq(a, "ex") || eq(a, "px") || eq(a, "exat") || eq(a, "pxat")) && !persist && ttlArg == nil && i+1 < len(args):
			unit, ttlArg = string(lower(a)), args[i+1]
			i++
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	// Redis's order: syntax, then the key (nil, WRONGTYPE), then the time.
	v, found, ok := c.getString(args[1])
	if !ok {
		return
	}
	if !found {
		c.w.WriteNull()
		return
	}
	var at int64
	if ttlArg != nil {
		if at, ok = c.expireArg(unit, ttlArg, "getex"); !ok {
			return
		}
	}
	c.w.WriteBulk(v)
	if ttlArg != nil {
		c.srv.DB.SetExpire(args[1], at)
	} else if persist {
		c.srv.DB.Persist(args[1])
	}
}

func cmdMGet(c *Client, args [][]byte) {
	c.w.WriteArrayLen(len(args) - 1)
	for _, k := range args[1:] {
		v, found, err := c.srv.DB.GetString(k)
		if err != nil || !found {
			c.w.WriteNull()
			continue
		}
		c.w.WriteBulk(v)
	}
}

func cmdMSet(c *Client, args [][]byte) {
	if len(args)%2 != 1 {
		c.w.WriteError("ERR wrong number of arguments for '" + string(lower(args[0])) + "' command")
		return
	}
	for i := 1; i < len(args); i += 2 {
		c.srv.DB.SetStringCopy(args[i], args[i+1], false)
	}
	c.w.WriteRaw(okReply)
}

func cmdMSetNX(c *Client, args [][]byte) {
	if len(args)%2 != 1 {
		c.w.WriteError("ERR wrong number of arguments for 'msetnx' command")
		return
	}
	for i := 1; i < len(args); i += 2 {
		if c.srv.DB.Exists(args[i]) {
			c.w.WriteInt(0)
			return
		}
	}
	for i := 1; i < len(args); i += 2 {
		c.srv.DB.SetStringCopy(args[i], args[i+1], false)
	}
	c.w.WriteInt(1)
}

func cmdIncr(c *Client, args [][]byte) {
	delta := int64(1)
	switch {
	case eq(args[0], "decr"):
		delta = -1
	case eq(args[0], "incrby"), eq(args[0], "decrby"):
		n, ok := parseInt(args[2])
		if !ok {
			c.w.WriteError(errNotInt)
			return
		}
		delta = n
		if eq(args[0], "decrby") {
			if n == math.MinInt64 {
				c.w.WriteError("ERR decrement would overflow")
				return
			}
			delta = -n
		}
	}
	v, found, ok := c.getString(args[1])
	if !ok {
		return
	}
	var cur int64
	if found {
		n, ok := parseInt(v)
		if !ok {
			c.w.WriteError(errNotInt)
			return
		}
		cur = n
	}
	if delta > 0 && cur > math.MaxInt64-delta || delta < 0 && cur < math.MinInt64-delta {
		c.w.WriteError(errOverflow)
		return
	}
	cur += delta
	c.srv.DB.SetString(args[1], strconv.AppendInt(nil, cur, 10), true)
	c.w.WriteInt(cur)
}

func cmdIncrByFloat(c *Client, args [][]byte) {
	// Redis's order: the key's type, its value, then the increment.
	v, found, ok := c.getString(args[1])
	if !ok {
		return
	}
	var cur *big.Float
	if found {
		if cur, ok = parseLongDouble(v); !ok {
			c.w.WriteError(errNotFloat)
			return
		}
	}
	delta, ok := parseLongDouble(args[2])
	if !ok {
		c.w.WriteError(errNotFloat)
		return
	}
	out, ok := ldIncr(cur, delta)
	if !ok {
		c.w.WriteError("ERR increment would produce NaN or Infinity")
		return
	}
	c.srv.DB.SetStringForm(args[1], out, store.FormText) // Redis makes it as text: never int
	c.w.WriteBulk(out)
}

func cmdAppend(c *Client, args [][]byte) {
	v, found, ok := c.getString(args[1])
	if !ok {
		return
	}
	if !c.checkStringLength(int64(len(v)), int64(len(args[2]))) {
		return
	}
	var nv []byte
	if found {
		nv = make([]byte, len(v), len(v)+len(args[2]))
		copy(nv, v)
	}
	nv = append(nv, args[2]...)
	if found { // edited in place in Redis: raw from now on
		c.srv.DB.SetStringForm(args[1], nv, store.FormRaw)
	} else {
		c.srv.DB.SetString(args[1], nv, true)
	}
	c.w.WriteInt(int64(len(nv)))
}

func cmdStrlen(c *Client, args [][]byte) {
	v, _, ok := c.getString(args[1])
	if ok {
		c.w.WriteInt(int64(len(v)))
	}
}

func cmdGetRange(c *Client, args [][]byte) {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.w.WriteError(errNotInt)
		return
	}
	v, _, ok := c.getString(args[1])
	if !ok {
		return
	}
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		c.w.WriteBulk(nil)
		return
	}
	if start < 0 {
		start = max(n+start, 0)
	}
	if end < 0 {
		end = max(n+end, 0)
	}
	end = min(end, n-1)
	if start > end || n == 0 {
		c.w.WriteBulk(nil)
		return
	}
	c.w.WriteBulk(v[start : end+1])
}

func cmdSetRange(c *Client, args [][]byte) {
	off, ok1 := parseInt(args[2])
	if !ok1 {
		c.w.WriteError(errNotInt)
		return
	}
	if off < 0 {
		c.w.WriteError("ERR offset is out of range")
		return
	}
	v, found, ok := c.getString(args[1])
	if !ok {
		return
	}
	val := args[3]
	if len(val) == 0 {
		c.w.WriteInt(int64(len(v)))
		return
	}
	if !c.checkStringLength(off, int64(len(val))) {
		return
	}
	size := max(int64(len(v)), off+int64(len(val)))
	nv := make([]byte, size)
	if found {
		copy(nv, v)
	}
	copy(nv[off:], val)
	c.srv.DB.SetStringForm(args[1], nv, store.FormRaw)
	c.w.WriteInt(size)
}

// checkStringLength refuses a string that would grow past
// proto-max-bulk-len (SETRANGE, APPEND), overflow included.
func (c *Client) checkStringLength(size, add int64) bool {
	if total := size + add; total > c.maxBulkLen() || total < size || total < add {
		c.w.WriteError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
		return false
	}
	return true
}

// maxBulkLen is proto-max-bulk-len, the longest string a command may build.
func (c *Client) maxBulkLen() int64 {
	if n := int64(c.srv.Cfg.Int("proto-max-bulk-len")); n > 0 {
		return n
	}
	return resp.MaxBulkLen
}
