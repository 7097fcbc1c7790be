package server

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// SYNC, PSYNC and REPLCONF, the master's side of the replication
// handshake (see replication.go): a real redis-server or an engine node
// can REPLICAOF an engine node, and `redis-cli --rdb` (or any backup tool
// using SYNC) gets an RDB file.

func init() {
	def("sync", 1, "admin noscript no_multi nolock", 0, 0, 0, cmdSync)
	def("psync", -3, "admin noscript no_multi nolock", 0, 0, 0, cmdSync)
	def("replconf", -1, "admin noscript loading stale nolock", 0, 0, 0, cmdReplConf)
	def("replicaof", 3, "admin noscript stale nolock", 0, 0, 0, cmdReplicaOf)
	def("slaveof", 3, "admin noscript stale nolock", 0, 0, 0, cmdReplicaOf)
}

// cmdReplConf accepts the replica handshake options; ACKs need no reply
// (after PSYNC the link's own reader takes them).
func cmdReplConf(c *Client, args [][]byte) {
	if len(args) >= 2 && (eq(args[1], "ack") || eq(args[1], "getack")) {
		return
	}
	if len(args)%2 != 1 {
		c.w.WriteError(errSyntax)
		return
	}
	for i := 1; i < len(args); i += 2 {
		switch {
		case eq(args[i], "rdb-only"):
			c.rdbOnly = string(args[i+1]) == "1"
		case eq(args[i], "listening-port"):
			if p, ok := parseInt(args[i+1]); ok {
				c.replPort = int(p)
			}
		case eq(args[i], "capa"), eq(args[i], "ip-address"), eq(args[i], "rdb-filter-only"):
		default:
			c.w.WriteError("ERR Unrecognized REPLCONF option: " + string(args[i]))
			return
		}
	}
	c.w.WriteRaw(okReply)
}

// cmdSync: SYNC, or PSYNC replid offset: a partial resync from the
// backlog when this node's history holds that offset, else a full one.
func cmdSync(c *Client, args [][]byte) {
	s := c.srv
	if len(args) > 3 && eq(args[0], "psync") && eq(args[3], "failover") {
		if msg := s.acceptPsyncFailover(c, args[1]); msg != "" {
			c.w.WriteError(msg)
			return
		}
	}
	if s.failingOver() {
		c.w.WriteError("NOMASTERLINK Can't SYNC while failing over")
		return
	}
	if replica, _ := s.masterOf(); replica && (s.replManager == nil || !s.replManager.linkUp()) {
		c.w.WriteError("NOMASTERLINK Can't SYNC while not connected with my master")
		return
	}
	psync := eq(args[0], "psync")
	if c.rdbOnly { // a backup: the snapshot alone, no registration, no stream
		s.DB.Mu.Lock()
		s.initRepl()
		file, id, off := s.encodeRDB(), s.repl.id, s.repl.off
		s.DB.Mu.Unlock()
		if psync {
			c.w.WriteRaw([]byte("+FULLRESYNC " + id + " " + strconv.FormatInt(off, 10) + "\r\n"))
		}
		c.w.WriteRaw([]byte("$" + strconv.Itoa(len(file)) + "\r\n"))
		c.w.WriteRaw(file)
		c.closeNow = true
		return
	}
	c.serveReplica(strconv.Itoa(c.replPort), func() []byte {
		s.ensureBacklog()
		r := &s.repl
		if psync {
			if out, ok := s.partialResync(string(args[1]), args[2]); ok {
				r.stats[1].Add(1)
				return out
			}
			if string(args[1]) != "?" {
				r.stats[2].Add(1)
			}
		}
		r.stats[0].Add(1)
		var out []byte
		if psync {
			out = fmt.Appendf(out, "+FULLRESYNC %s %d\r\n", r.id, r.off)
		}
		r.selected = false // the stream after a snapshot starts with SELECT
		file := s.encodeRDB()
		out = append(out, '$')
		out = strconv.AppendInt(out, int64(len(file)), 10)
		out = append(out, '\r', '\n')
		return append(out, file...) // no CRLF after the payload, as Redis sends it
	})
}

// partialResync answers PSYNC id offset with +CONTINUE and the backlog
// from offset when this node's history (its ID, or the previous one up
// to where it ended) holds it; called under the store lock.
func (s *Server) partialResync(id string, offArg []byte) ([]byte, bool) {
	r := &s.repl
	off, ok := parseInt(offArg)
	if !ok || r.backlog == nil || id != r.id && (id != r.id2 || off > r.secondOff) {
		return nil, false
	}
	data, ok := r.backlog.From(off)
	if !ok {
		return nil, false
	}
	s.Logger.Printf("partial resynchronization accepted, sending %d bytes of backlog from offset %d", len(data), off)
	out := []byte("+CONTINUE " + r.id + "\r\n")
	if len(data) == 0 {
		return out, true
	}
	return append(out, data...), true
}

// encodeRDB writes the keyspace as an RDB version 10 file; called under
// the store lock.
func (s *Server) encodeRDB() []byte {
	db := s.DB
	// about 24 bytes for a small key and value when no snapshot was taken
	out := make([]byte, 0, max(s.persist.lastSize.Load()*9/8, int64(db.DBSize())*24, 1024))
	out = append(out, "REDIS0010"...)
	aux := func(k, v string) {
		out = append(out, 0xFA)
		out = appendRDBString(out, []byte(k))
		out = appendRDBString(out, []byte(v))
	}
	aux("redis-ver", Version)
	aux("redis-bits", strconv.Itoa(strconv.IntSize))
	aux("ctime", strconv.FormatInt(time.Now().Unix(), 10))
	aux("aof-base", "0")
	for _, code := range s.scripting().eng.LibraryCodes() { // FUNCTION2, ahead of the keys
		out = appendRDBString(append(out, 0xF5), code)
	}
	out = append(out, 0xFE, 0) // SELECTDB 0
	out = append(out, 0xFB)    // RESIZEDB
	out = appendRDBLen(out, uint64(db.DBSize()))
	out = appendRDBLen(out, uint64(db.ExpiresCount()))
	db.EachEntry(func(key string, v rdb.Value, expireAt int64) {
		if expireAt > 0 {
			out = binary.LittleEndian.AppendUint64(append(out, 0xFC), uint64(expireAt))
		}
		out = rdb.AppendEntry(out, key, v)
	})
	out = append(out, 0xFF)
	out = binary.LittleEndian.AppendUint64(out, rdb.CRC64(0, out))
	s.persist.lastSize.Store(int64(len(out)))
	return out
}

// appendRDBLen is RDB's length encoding: 6-bit, 14-bit, 32-bit or 64-bit.
func appendRDBLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, 0x40|byte(n>>8), byte(n))
	case n <= 0xFFFFFFFF:
		return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0x81), n)
	}
}

func appendRDBString(b, s []byte) []byte {
	return append(appendRDBLen(b, uint64(len(s))), s...)
}

// replPing keeps idle replication links alive (Redis replicas drop a
// master silent for repl-timeout, 60 s by default).
var replPing = resp.AppendCommand(nil, []byte("PING"))
