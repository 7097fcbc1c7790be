package server

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// aclLog is ACL LOG: refused commands, keys, channels and failed AUTHs,
// newest first. An event like one of the 10 newest (same reason,
// context, object and user, within 60 seconds) bumps that entry's count
// and moves it to the front instead of adding one, as in Redis.
type aclLog struct {
	mu      sync.Mutex
	entries []*aclLogEntry // newest first
}

type aclLogEntry struct {
	count      int64
	reason     int
	context    string
	object     string
	username   string
	at         time.Time
	clientInfo string
}

const (
	aclContextToplevel = "toplevel"
	aclContextMulti    = "multi"
	aclContextLua      = "lua"
)

func (l *aclLog) add(e *aclLogEntry, maxLen int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, cur := range l.entries[:min(10, len(l.entries))] {
		if cur.reason == e.reason && cur.context == e.context && cur.object == e.object &&
			cur.username == e.username && e.at.Sub(cur.at).Abs() <= time.Minute {
			cur.count++
			cur.at, cur.clientInfo = e.at, e.clientInfo
			copy(l.entries[1:i+1], l.entries[:i])
			l.entries[0] = cur
			return
		}
	}
	l.entries = append([]*aclLogEntry{e}, l.entries...)
	if len(l.entries) > maxLen {
		l.entries = l.entries[:maxLen]
	}
}

// addDenial logs a refused command: the command's name, or the key or
// channel at args[pos].
func (l *aclLog) addDenial(c *Client, reason int, context string, cmd *command, args [][]byte, pos int, maxLen int) {
	object := commandName(cmd, args)
	if reason == aclDeniedKey || reason == aclDeniedChannel {
		object = string(args[pos])
	}
	l.add(&aclLogEntry{count: 1, reason: reason, context: context, object: object,
		username: c.userName(), at: time.Now(), clientInfo: clientInfoLine(c)}, maxLen)
}

// addAuthFailure logs a failed AUTH or HELLO AUTH: the object is the
// command as typed, the user the one asked for.
func (l *aclLog) addAuthFailure(c *Client, args [][]byte, user string, maxLen int) {
	context := aclContextToplevel
	if c.multi != nil || c.inExec {
		context = aclContextMulti
	}
	l.add(&aclLogEntry{count: 1, reason: aclDeniedAuth, context: context, object: string(args[0]),
		username: user, at: time.Now(), clientInfo: clientInfoLine(c)}, maxLen)
}

func clientInfoLine(c *Client) string {
	return strings.TrimSuffix(c.describe(false), "\n")
}

func (c *Client) userName() string {
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	return c.user
}

func (s *Server) aclLogMaxLen() int {
	n, _ := strconv.Atoi(s.Cfg.Get("acllog-max-len"))
	return n
}

func (l *aclLog) reset() {
	l.mu.Lock()
	l.entries = nil
	l.mu.Unlock()
}

var aclReasonNames = map[int]string{aclDeniedCommand: "command", aclDeniedKey: "key",
	aclDeniedChannel: "channel", aclDeniedAuth: "auth"}

// write is ACL LOG [count]'s reply.
func (l *aclLog) write(c *Client, count int) {
	l.mu.Lock()
	entries := append([]*aclLogEntry(nil), l.entries[:min(count, len(l.entries))]...)
	copies := make([]aclLogEntry, len(entries))
	for i, e := range entries {
		copies[i] = *e
	}
	l.mu.Unlock()
	now := time.Now()
	c.w.WriteArrayLen(len(copies))
	for _, e := range copies {
		c.w.WriteMapLen(7)
		c.w.WriteBulkString("count")
		c.w.WriteInt(e.count)
		c.w.WriteBulkString("reason")
		c.w.WriteBulkString(aclReasonNames[e.reason])
		c.w.WriteBulkString("context")
		c.w.WriteBulkString(e.context)
		c.w.WriteBulkString("object")
		c.w.WriteBulkString(e.object)
		c.w.WriteBulkString("username")
		c.w.WriteBulkString(e.username)
		c.w.WriteBulkString("age-seconds")
		c.w.WriteDouble(float64(now.Sub(e.at).Milliseconds()) / 1000)
		c.w.WriteBulkString("client-info")
		c.w.WriteBulkString(e.clientInfo)
	}
}
