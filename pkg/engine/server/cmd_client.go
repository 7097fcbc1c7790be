package server

import (
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/resp"
	"strings"
	"time"
)

// clientArity is the argument count of each CLIENT subcommand (negative:
// at least that many), checked before the subcommand runs, as Redis does.
var clientArity = map[string]int{"setname": 3, "getname": 2, "id": 2, "info": 2, "list": -2,
	"kill": -3, "no-evict": 3, "reply": 3, "help": 2,
	"tracking": -3, "pause": -3, "unpause": 2, "unblock": -3, "caching": 3, "getredir": 2, "trackinginfo": 2}

func cmdClient(c *Client, args [][]byte) {
	sub := string(lower(args[1]))
	if a, ok := clientArity[sub]; ok && (a > 0 && len(args) != a || a < 0 && len(args) < -a) {
		c.w.WriteError("ERR wrong number of arguments for 'client|" + sub + "' command")
		return
	}
	if c.clientTrackingSubcommand(sub, args) || c.clientAdminSubcommand(sub, args) {
		return
	}
	switch {
	case sub == "setname" && len(args) == 3:
		if !validClientName(args[2]) {
			c.w.WriteError("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.infoMu.Lock()
		c.name = string(args[2])
		c.infoMu.Unlock()
		c.w.WriteRaw(okReply)
	case sub == "getname" && len(args) == 2:
		if c.name == "" {
			c.w.WriteNull()
		} else {
			c.w.WriteBulkString(c.name)
		}
	case sub == "id" && len(args) == 2:
		c.w.WriteInt(c.id)
	case sub == "info" && len(args) == 2:
		c.w.WriteVerbatim(c.describe(true))
	case sub == "list":
		var b strings.Builder
		c.srv.mu.Lock()
		for _, other := range c.srv.clients {
			b.WriteString(other.describe(other == c))
		}
		c.srv.mu.Unlock()
		c.w.WriteVerbatim(b.String())
	case sub == "reply" && len(args) == 3:
		switch {
		case eq(args[2], "on"):
			c.replyMode = replyOn
			c.w.WriteRaw(okReply)
		case eq(args[2], "off"):
			c.replyMode = replyOff
		case eq(args[2], "skip"):
			if c.replyMode != replyOff {
				c.replyMode = replySkipNext
			}
		default:
			c.w.WriteError(errSyntax)
		}
	case sub == "help":
		c.writeHelp("CLIENT", clientHelp)
	default:
		c.w.WriteError(unknownSubcommand(args[1], "CLIENT"))
	}
}

// idleSeconds is how long the client has sent nothing (CLIENT LIST's idle).
func (c *Client) idleSeconds() int64 {
	last := c.lastIO.Load()
	if last == 0 {
		return int64(time.Since(c.created).Seconds())
	}
	return time.Now().Unix() - last
}

// tidyQueryBuffers is Redis's clientsCron query buffer upkeep: a buffer
// grown by a big command shrinks, an idle client's is freed.
func (s *Server) tidyQueryBuffers() {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		c.r.Tidy(now)
	}
}

// defaultReplyPeakReset is Redis's REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME.
const defaultReplyPeakReset = 5 * time.Second

// tidyReplyBuffers is Redis's clientsCron reply buffer upkeep
// (clientsCronResizeOutputBuffer), counted in INFO's reply_buffer_shrinks
// and reply_buffer_expands.
func (s *Server) tidyReplyBuffers() {
	now := time.Now()
	st := s.debugState()
	every := defaultReplyPeakReset
	switch ms := st.replyPeakResetMs.Load(); {
	case ms == -1:
		every = -1
	case ms == -2:
		every = 0
	case ms > 0:
		every = time.Duration(ms) * time.Millisecond
	}
	resizing := !st.replyResizeOff.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		switch c.w.TidyReplyBuffer(now, resizing, every) {
		case resp.Shrunk:
			s.replyBufShrinks.Add(1)
		case resp.Expanded:
			s.replyBufExpands.Add(1)
		}
	}
}

// queryBufferBytes is the memory of every client's query buffer.
func (s *Server) queryBufferBytes() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int
	for _, c := range s.clients {
		used, free, argv := c.r.QueryBuf()
		n += used + free + argv
	}
	return uint64(n)
}

// describe is one CLIENT LIST line.
func (c *Client) describe(self bool) string {
	idle := c.idleSeconds()
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	flags, redir := c.trackingListFlags()
	if c.waiting.Load() {
		flags = "b" + flags // Redis lists MULTI, then blocked, before the tracking flags
	}
	if c.inMulti {
		flags = "x" + flags
	}
	if c.readonly {
		flags += "r"
	}
	if c.monitor != nil {
		flags += "O"
	}
	if flags == "" {
		flags = "N"
	}
	lastName := "NULL"
	if last := c.lastName.Load(); last != nil {
		lastName = *last
	}
	qbuf, qbufFree, argvMem := c.r.QueryBuf()
	rbs, rbp := c.w.ReplyBuffer()
	if self {
		qbuf, qbufFree = c.r.OwnQueryBuf(len(resp.AppendCommand(nil, c.curArgs...)))
		argvMem = 0
		for _, a := range c.curArgs {
			argvMem += len(a)
		}
	}
	multi := -1
	if c.inMulti {
		multi = 0
	}
	return "id=" + strconv.FormatInt(c.id, 10) +
		" addr=" + c.conn.RemoteAddr().String() +
		" laddr=" + c.conn.LocalAddr().String() +
		" fd=0 name=" + c.name +
		" age=" + strconv.Itoa(int(time.Since(c.created).Seconds())) +
		" idle=" + strconv.FormatInt(idle, 10) +
		" flags=" + flags + " db=0 sub=0 psub=0 ssub=0 multi=" + strconv.Itoa(multi) +
		" qbuf=" + strconv.Itoa(qbuf) + " qbuf-free=" + strconv.Itoa(qbufFree) + " argv-mem=" + strconv.Itoa(argvMem) + " multi-mem=0 rbs=" + strconv.Itoa(rbs) + " rbp=" + strconv.Itoa(rbp) + " obl=0 oll=0 omem=0 tot-mem=0 events=r" +
		" cmd=" + lastName +
		" user=" + c.user + " redir=" + strconv.FormatInt(redir, 10) + " resp=" + strconv.Itoa(c.w.Proto()) + "\n"
}
