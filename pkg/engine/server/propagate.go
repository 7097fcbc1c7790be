package server

import (
	"bufio"
	"bytes"
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/geo"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// What reaches replicas and the AOF, in Redis 7.0's forms: a command that
// changed nothing is not sent; commands whose effect depends on time or
// chance are sent as their outcome (SET ... PXAT, PEXPIREAT, SREM of the
// popped members, SET ... KEEPTTL of INCRBYFLOAT's result); and the writes
// of one transaction or script go out wrapped in MULTI/EXEC when there is
// more than one of them, bare when there is one.

// propUnit gathers the writes of one EXEC or script (guarded by DB.Mu).
type propUnit struct {
	depth int // a script inside EXEC joins EXEC's unit
	ops   []byte
	n     int
}

// beginUnit starts gathering writes; every beginUnit has an endUnit.
func (s *Server) beginUnit() {
	if s.unit.depth == 0 {
		s.unit.ops, s.unit.n = s.unit.ops[:0], 0
	}
	s.unit.depth++
}

// endUnit sends what the unit wrote: one write as it is, several inside
// MULTI/EXEC.
func (s *Server) endUnit() {
	u := &s.unit
	if u.depth--; u.depth > 0 || u.n == 0 {
		return
	}
	ops, n := u.ops, u.n
	u.n = 0
	s.feedForms(func(b []byte) []byte { return wrapForms(append(b, ops...), len(b), n) })
}

var (
	multiForm = resp.AppendCommand(nil, []byte("MULTI"))
	execForm  = resp.AppendCommand(nil, []byte("EXEC"))
)

// wrapForms puts MULTI before the n forms that start at b[start:] and EXEC
// after them, when there are several.
func wrapForms(b []byte, start, n int) []byte {
	if n <= 1 {
		return b
	}
	b = append(b, multiForm...) // room, then shift the forms right
	copy(b[start+len(multiForm):], b[start:len(b)-len(multiForm)])
	copy(b[start:], multiForm)
	return append(b, execForm...)
}

// propagate feeds an executed write command to the replication stream and
// the AOF, in its replication form; called under the store lock, so the
// stream order is the execution order.
func (s *Server) propagate(cmd *command, args [][]byte) {
	if s.unit.depth > 0 {
		var n int
		s.unit.ops, n = s.appendReplicationForm(s.unit.ops, cmd, args)
		s.unit.n += n
		return
	}
	s.feedForms(func(b []byte) []byte {
		start := len(b)
		b, n := s.appendReplicationForm(b, cmd, args)
		return wrapForms(b, start, n)
	})
}

// feedForms appends what encode adds to the replication stream and the
// AOF. Without replicas it encodes straight into the AOF's buffer.
func (s *Server) feedForms(encode func([]byte) []byte) {
	if s.replicaCount.Load() == 0 && s.slotMig.capturing.Load() == 0 {
		s.aofFeedFunc(encode)
		return
	}
	form := encode(nil)
	s.replFeed(form)
	s.aofFeed(form)
	s.captureForms(form)
}

// noEffect tells from a write command's reply that it changed nothing, so
// that, as on Redis, it is not propagated: an error, a null, or 0 from
// the commands whose 0 means "nothing done".
func noEffect(cmd *command, reply []byte) bool {
	if len(reply) == 0 {
		return false
	}
	switch reply[0] {
	case '-':
		return true
	case '_':
		return nullMeansNothing[cmd.name]
	case '$', '*':
		return nullMeansNothing[cmd.name] && (bytes.Equal(reply, []byte("$-1\r\n")) || bytes.Equal(reply, []byte("*-1\r\n")))
	case ':':
		return zeroMeansNothing[cmd.name] && bytes.Equal(reply, []byte(":0\r\n"))
	}
	return false
}

var zeroMeansNothing = map[string]bool{"del": true, "unlink": true, "expire": true, "pexpire": true,
	"expireat": true, "pexpireat": true, "persist": true, "sadd": true, "srem": true, "hdel": true,
	"zrem": true, "lrem": true, "setnx": true, "msetnx": true, "renamenx": true, "hsetnx": true,
	"smove": true, "lpushx": true, "rpushx": true, "zremrangebyscore": true, "zremrangebyrank": true,
	"zremrangebylex": true, "copy": true, "move": true}

var nullMeansNothing = map[string]bool{"set": true, "getdel": true, "lpop": true, "rpop": true,
	"spop": true, "getex": true, "zpopmin": true, "zpopmax": true, "lmove": true, "rpoplpush": true,
	"lmpop": true, "zmpop": true}

// appendReplicationForm appends cmd's replication form (what an executed
// write becomes in the stream and the AOF) and returns how many commands
// that is.
func (s *Server) appendReplicationForm(out []byte, cmd *command, args [][]byte) ([]byte, int) {
	db := s.DB
	key := func() []byte { return args[1] }
	if out, n, ok := s.appendStreamForms(out, cmd); ok {
		return out, n
	}
	switch cmd.name {
	case "migrate": // the keys that left
		var gone [][]byte
		for _, i := range cmd.keyIndexes(args, nil) {
			if !db.Exists(args[i]) {
				gone = append(gone, args[i])
			}
		}
		if len(gone) == 0 {
			return out, 0
		}
		return resp.AppendCommand(out, append([][]byte{[]byte("DEL")}, gone...)...), 1
	case "lmpop", "zmpop": // sent as [LR]POP / ZPOP{MIN,MAX} key count when they popped (popped)
		return out, 0
	case "spop":
		return s.appendPopped(out, key(), len(args) > 2)
	case "set", "setex", "psetex":
		at := db.Expire(key())
		if cmd.name == "set" && !hasTTLOption(args[3:]) {
			if at == -2 {
				return out, 0
			}
			return resp.AppendCommand(out, withoutGet(args)...), 1
		}
		val := args[2]
		if cmd.name != "set" {
			val = args[3]
		}
		if at <= 0 {
			return resp.AppendCommand(out, []byte("DEL"), key()), 1 // the TTL had already passed
		}
		return resp.AppendCommand(out, []byte("SET"), key(), val, []byte("PXAT"), strconv.AppendInt(nil, at, 10)), 1
	case "getex":
		switch at := db.Expire(key()); {
		case !hasTTLOption(args[2:]) && !hasWord(args[2:], "persist"):
			return out, 0
		case at == -2:
			return resp.AppendCommand(out, []byte("DEL"), key()), 1
		case at > 0:
			return resp.AppendCommand(out, []byte("PEXPIREAT"), key(), strconv.AppendInt(nil, at, 10)), 1
		default:
			return resp.AppendCommand(out, []byte("PERSIST"), key()), 1
		}
	case "expire", "pexpire", "expireat", "pexpireat":
		at := db.Expire(key())
		if at <= 0 {
			return resp.AppendCommand(out, []byte("DEL"), key()), 1 // a time in the past deleted it
		}
		form := append([][]byte{[]byte("PEXPIREAT"), key(), strconv.AppendInt(nil, at, 10)}, args[3:]...)
		return resp.AppendCommand(out, form...), 1
	case "restore", "restore-asking":
		if ttl, ok := parseInt(args[2]); ok && ttl > 0 && !hasWord(args[4:], "absttl") {
			form := append([][]byte{args[0], key(), strconv.AppendInt(nil, max(db.Expire(key()), 1), 10)}, args[3:]...)
			return resp.AppendCommand(out, append(form, []byte("ABSTTL"))...), 1
		}
	case "incrbyfloat":
		v, _, _ := db.GetString(key())
		return resp.AppendCommand(out, []byte("SET"), key(), v, []byte("KEEPTTL")), 1
	case "hincrbyfloat":
		h, _ := db.Hash(key(), false)
		return resp.AppendCommand(out, []byte("HSET"), key(), args[2], hashValue(h, string(args[2]))), 1
	case "geoadd": // as Redis rewrites it: zadd with the 52-bit scores
		form := [][]byte{[]byte("zadd"), key()}
		i := 2
		for ; i < len(args) && (eq(args[i], "nx") || eq(args[i], "xx") || eq(args[i], "ch")); i++ {
			form = append(form, args[i])
		}
		for ; i+2 < len(args); i += 3 {
			lon, _ := parseDouble(args[i]) // the command parsed them the same way
			lat, _ := parseDouble(args[i+1])
			score, _ := geo.Score(lon, lat)
			form = append(form, strconv.AppendInt(nil, int64(score), 10), args[i+2])
		}
		return resp.AppendCommand(out, form...), 1
	case "georadius", "georadiusbymember":
		// write commands only for their STORE options: without one, a search
		opts := 6
		if cmd.name == "georadiusbymember" {
			opts = 5
		}
		if len(args) <= opts || !hasWord(args[opts:], "store") && !hasWord(args[opts:], "storedist") {
			return out, 0
		}
	case "getset":
		return resp.AppendCommand(out, []byte("SET"), key(), args[2]), 1
	case "getdel":
		return resp.AppendCommand(out, []byte("DEL"), key()), 1
	}
	return resp.AppendCommand(out, args...), 1
}

// appendPopped sends SPOP as Redis does: SREM of the members it popped
// (read back from its reply), in batches of 1024, or DEL when SPOP with a
// count took the whole set.
func (s *Server) appendPopped(out, key []byte, withCount bool) ([]byte, int) {
	r, err := resp.ReadReply(bufio.NewReader(bytes.NewReader(s.propReply)))
	if err != nil {
		return s.appendKeyState(out, key), 1 // cannot happen; the state is always right
	}
	members := [][]byte{r.Str}
	if withCount {
		members = members[:0]
		for _, e := range r.Elems {
			members = append(members, e.Str)
		}
		if len(members) == 0 {
			return out, 0
		}
		if !s.DB.Exists(key) {
			return resp.AppendCommand(out, []byte("DEL"), key), 1
		}
	}
	n := 0
	for len(members) > 0 {
		batch := members[:min(len(members), 1024)]
		members = members[len(batch):]
		out = resp.AppendCommand(out, append([][]byte{[]byte("SREM"), key}, batch...)...)
		n++
	}
	return out, n
}

// hasTTLOption reports an EX, PX, EXAT or PXAT among SET/GETEX options.
func hasTTLOption(opts [][]byte) bool {
	for _, o := range opts {
		if eq(o, "ex") || eq(o, "px") || eq(o, "exat") || eq(o, "pxat") {
			return true
		}
	}
	return false
}

func hasWord(opts [][]byte, word string) bool {
	for _, o := range opts {
		if eq(o, word) {
			return true
		}
	}
	return false
}

// withoutGet is SET's arguments less its GET options, which only shape the
// reply.
func withoutGet(args [][]byte) [][]byte {
	if !hasWord(args[3:], "get") {
		return args
	}
	out := append([][]byte(nil), args[:3]...)
	for _, a := range args[3:] {
		if !eq(a, "get") {
			out = append(out, a)
		}
	}
	return out
}
