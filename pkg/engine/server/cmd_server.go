package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

func init() {
	def("ping", -1, "fast", 0, 0, 0, cmdPing)
	def("echo", 2, "fast", 0, 0, 0, func(c *Client, args [][]byte) { c.w.WriteBulk(args[1]) })
	def("select", 2, "loading stale fast nolock", 0, 0, 0, cmdSelect)
	def("auth", -2, "noscript loading stale fast no-auth nolock", 0, 0, 0, cmdAuth)
	def("hello", -1, "noscript loading stale fast no-auth nolock", 0, 0, 0, cmdHello)
	def("quit", -1, "noscript loading stale fast no-auth nolock", 0, 0, 0, func(c *Client, _ [][]byte) {
		c.w.WriteRaw(okReply)
		c.closeNow = true
	})
	def("time", 1, "loading stale fast nolock", 0, 0, 0, cmdTime)
	def("lastsave", 1, "loading stale fast nolock", 0, 0, 0, func(c *Client, _ [][]byte) { c.w.WriteInt(c.srv.persist.lastTime.Load()) })
	def("wait", 3, "noscript nolock", 0, 0, 0, cmdWait)
	def("shutdown", -1, "admin noscript loading stale no_multi nolock", 0, 0, 0, cmdShutdown)
	def("readonly", 1, "loading stale fast nolock", 0, 0, 0, cmdReadonly)
	def("readwrite", 1, "loading stale fast nolock", 0, 0, 0, cmdReadonly)
	def("asking", 1, "fast nolock", 0, 0, 0, cmdAsking)
	def("cluster", -2, "nolock noroute", 0, 0, 0, cmdCluster)
	def("role", 1, "noscript loading stale fast nolock", 0, 0, 0, cmdRole)
	def("multi", 1, "noscript loading stale fast nolock", 0, 0, 0, cmdMulti)
	def("exec", 1, "noscript loading stale skip_slowlog nolock", 0, 0, 0, cmdExec)
	def("discard", 1, "noscript loading stale fast nolock", 0, 0, 0, cmdDiscard)
	def("info", -1, "loading stale nolock", 0, 0, 0, cmdInfo)
	def("config", -2, "admin noscript loading stale nolock", 0, 0, 0, cmdConfig)
	def("client", -2, "noscript loading stale nolock", 0, 0, 0, cmdClient)
	def("acl", -2, "admin noscript loading stale nolock", 0, 0, 0, cmdACL)
	def("command", -1, "loading stale nolock", 0, 0, 0, cmdCommand)
}

func cmdPing(c *Client, args [][]byte) {
	switch len(args) {
	case 1:
		c.w.WriteSimple("PONG")
	case 2:
		c.w.WriteBulk(args[1])
	default:
		c.w.WriteError("ERR wrong number of arguments for 'ping' command")
	}
}

func cmdSelect(c *Client, args [][]byte) {
	n, ok := parseInt(args[1])
	switch {
	case !ok:
		c.w.WriteError(errNotInt)
	case c.srv.Cluster != nil && n != 0:
		c.w.WriteError("ERR SELECT is not allowed in cluster mode")
	case n != 0:
		c.w.WriteError("ERR DB index is out of range")
	default:
		c.w.WriteRaw(okReply)
	}
}

func cmdAuth(c *Client, args [][]byte) {
	user, pass := "default", ""
	switch len(args) {
	case 2:
		pass = string(args[1])
		if c.srv.acl.noPassDefault() {
			c.w.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
			return
		}
	case 3:
		user, pass = string(args[1]), string(args[2])
	default:
		c.w.WriteError(errSyntax)
		return
	}
	if !c.srv.acl.check(user, pass) {
		c.srv.acl.log.addAuthFailure(c, args, user, c.srv.aclLogMaxLen())
		c.w.WriteError("WRONGPASS invalid username-password pair or user is disabled.")
		return
	}
	c.setUser(user)
	c.w.WriteRaw(okReply)
}

func cmdHello(c *Client, args [][]byte) {
	proto := int64(c.w.Proto())
	if len(args) >= 2 {
		n, ok := parseInt(args[1])
		if !ok {
			c.w.WriteError("ERR Protocol version is not an integer or out of range")
			return
		}
		if n < 2 || n > 3 {
			c.w.WriteError("NOPROTO unsupported protocol version")
			return
		}
		proto = n
	}
	var name []byte
	setName := false
	for i := 2; i < len(args); i++ {
		switch {
		case eq(args[i], "auth") && i+2 < len(args):
			if !c.srv.acl.check(string(args[i+1]), string(args[i+2])) {
				c.srv.acl.log.addAuthFailure(c, args, string(args[i+1]), c.srv.aclLogMaxLen())
				c.w.WriteError("WRONGPASS invalid username-password pair or user is disabled.")
				return
			}
			c.setUser(string(args[i+1]))
			i += 2
		case eq(args[i], "setname") && i+1 < len(args):
			if !validClientName(args[i+1]) {
				c.w.WriteError("ERR Client names cannot contain spaces, newlines or special characters.")
				return
			}
			name, setName = args[i+1], true
			i++
		default:
			c.w.WriteError("ERR Syntax error in HELLO option '" + printable(args[i], 64) + "'")
			return
		}
	}
	if !c.authed {
		c.w.WriteError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	c.infoMu.Lock()
	if setName {
		c.name = string(name)
	}
	c.w.SetProto(int(proto))
	c.infoMu.Unlock()
	mode, role := "standalone", "master"
	if c.srv.Cluster != nil {
		mode = "cluster"
		if replica, _ := c.srv.Cluster.Role(); replica {
			role = "replica"
		}
	}
	c.w.WriteMapLen(7)
	c.w.WriteBulkString("server")
	c.w.WriteBulkString("redis")
	c.w.WriteBulkString("version")
	c.w.WriteBulkString(Version)
	c.w.WriteBulkString("proto")
	c.w.WriteInt(proto)
	c.w.WriteBulkString("id")
	c.w.WriteInt(c.id)
	c.w.WriteBulkString("mode")
	c.w.WriteBulkString(mode)
	c.w.WriteBulkString("role")
	c.w.WriteBulkString(role)
	c.w.WriteBulkString("modules")
	c.w.WriteArrayLen(0)
}

func (c *Client) setUser(user string) {
	u := c.srv.acl.user(user)
	c.infoMu.Lock()
	c.authed, c.user, c.aclUser = true, user, u
	c.infoMu.Unlock()
}

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func cmdTime(c *Client, _ [][]byte) {
	now := time.Now()
	c.w.WriteArrayLen(2)
	c.w.WriteBulkString(strconv.FormatInt(now.Unix(), 10))
	c.w.WriteBulkString(strconv.Itoa(now.Nanosecond() / 1000))
}

func cmdShutdown(c *Client, args [][]byte) {
	for _, a := range args[1:] {
		if !eq(a, "nosave") && !eq(a, "save") && !eq(a, "now") && !eq(a, "force") && !eq(a, "abort") {
			c.w.WriteError(errSyntax)
			return
		}
		if eq(a, "abort") {
			c.w.WriteError("ERR No shutdown in progress.")
			return
		}
	}
	for _, a := range args[1:] {
		switch {
		case eq(a, "save"):
			c.srv.shutdownMode.Store(shutdownSave)
		case eq(a, "nosave"):
			c.srv.shutdownMode.Store(shutdownNoSave)
		}
	}
	// like Redis, a successful SHUTDOWN closes the connection without a reply
	c.closeNow = true
	c.srv.shutdownOnce.Do(func() { close(c.srv.shutdownReq) })
}

const errNoCluster = "ERR This instance has cluster support disabled"

func cmdReadonly(c *Client, args [][]byte) {
	if c.srv.Cluster == nil {
		c.w.WriteError(errNoCluster)
		return
	}
	c.infoMu.Lock()
	c.readonly = eq(args[0], "readonly")
	c.infoMu.Unlock()
	c.w.WriteRaw(okReply)
}

func cmdAsking(c *Client, _ [][]byte) {
	if c.srv.Cluster == nil {
		c.w.WriteError(errNoCluster)
		return
	}
	c.asking = true
	c.w.WriteRaw(okReply)
}

func cmdCluster(c *Client, args [][]byte) {
	if c.applier && len(args) >= 3 && eq(args[1], "syncslots") {
		c.srv.applyImportStream(args[2:])
		return
	}
	if c.srv.Cluster == nil {
		c.w.WriteError(errNoCluster)
		return
	}
	if len(args) >= 2 && c.clusterSlotMigration(args) {
		return
	}
	c.srv.Cluster.Command(c.w, args[1:])
}

func splitHostPort(addr string) (string, int) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, 0
	}
	port, _ := strconv.Atoi(strings.SplitN(addr[i+1:], "@", 2)[0])
	return addr[:i], port
}

func cmdMulti(c *Client, _ [][]byte) {
	if c.multi != nil {
		c.w.WriteError("ERR MULTI calls can not be nested")
		return
	}
	q := [][][]byte{}
	c.multi, c.multiErr = &q, false
	c.setInMulti(true)
	c.w.WriteRaw(okReply)
}

func cmdDiscard(c *Client, _ [][]byte) {
	if c.multi == nil {
		c.w.WriteError("ERR DISCARD without MULTI")
		return
	}
	c.multi = nil
	c.setInMulti(false)
	c.unwatchLocked()
	c.w.WriteRaw(okReply)
}

func cmdExec(c *Client, _ [][]byte) {
	if c.multi == nil {
		c.w.WriteError("ERR EXEC without MULTI")
		return
	}
	queued, failed := *c.multi, c.multiErr
	c.multi = nil
	c.setInMulti(false)
	db := c.srv.DB
	db.Mu.Lock()
	c.settleUnwatch()
	if c.srv.slotMig.pausing.Load() > 0 {
		c.waitSlotPause(queued...)
	}
	if !failed && c.srv.Cluster != nil {
		if msg := c.routeTransaction(queued); msg != "" {
			db.Unwatch(&c.watch)
			db.Mu.Unlock()
			c.w.WriteError(msg)
			return
		}
	}
	dirty := c.watch.Dirty() || db.WatchedKeyExpired(&c.watch)
	db.Unwatch(&c.watch)
	if failed || dirty {
		db.Mu.Unlock()
		if failed {
			c.w.WriteError("EXECABORT Transaction discarded because of previous errors.")
		} else {
			c.w.WriteNullArray()
		}
		return
	}
	c.w.WriteArrayLen(len(queued))
	c.inExec = true
	defer func() { c.inExec = false }()
	c.srv.beginUnit()
	for _, args := range queued {
		cmd := lookupCommand(args[0])
		if msg := c.execACLRecheck(cmd, args); msg != "" {
			c.w.WriteError(msg)
			continue
		}
		c.execOne(cmd, args)
	}
	c.srv.endUnit()
	c.srv.serveBlocked()
	db.Mu.Unlock()
}

// execOne runs one queued command of EXEC, which holds the store lock; a
// panic fails that command alone.
func (c *Client) execOne(cmd *command, args [][]byte) {
	mark := c.w.Mark()
	defer c.recoverCommand(cmd, mark)
	defer c.accountQueued(cmd, mark)
	c.monitorBefore(cmd, args)
	defer c.monitorAfter(cmd, args)
	defer func(start time.Time) {
		took := time.Since(start)
		c.noteSlow(cmd, args, took)
		c.srv.noteCommandLatency(cmd, args, took, true)
	}(time.Now())
	if cmd.noLock {
		db := c.srv.DB
		db.Mu.Unlock()
		defer db.Mu.Lock()
		cmd.fn(c, args)
		return
	}
	c.callLocked(cmd, args)
}

func (c *Client) setInMulti(v bool) {
	c.infoMu.Lock()
	c.inMulti = v
	c.infoMu.Unlock()
}

func cmdConfig(c *Client, args [][]byte) {
	cfg := c.srv.Cfg
	switch sub := string(lower(args[1])); {
	case sub == "get" && len(args) >= 3:
		var patterns []string
		for _, p := range args[2:] {
			patterns = append(patterns, string(p))
		}
		pairs := cfg.Matching(patterns, func(p, name string) bool { return store.Match([]byte(p), []byte(name)) })
		c.w.WriteMapLen(len(pairs))
		for _, kv := range pairs {
			c.w.WriteBulkString(kv[0])
			c.w.WriteBulkString(kv[1])
		}
	case sub == "set" && len(args) >= 4 && len(args)%2 == 0:
		if err := c.srv.configSet(args[2:]); err != nil {
			c.w.WriteError("ERR " + err.Error())
			return
		}
		c.w.WriteRaw(okReply)
	case sub == "rewrite" && len(args) == 2:
		if err := cfg.Rewrite(); err != nil {
			c.w.WriteError("ERR " + err.Error())
			return
		}
		c.w.WriteRaw(okReply)
	case sub == "resetstat" && len(args) == 2:
		c.srv.mu.Lock()
		for _, cl := range c.srv.clients {
			cl.commands.Store(0)
		}
		c.srv.mu.Unlock()
		c.srv.totalCommands.Store(0)
		c.srv.stats.reset()
		c.srv.totalConns.Store(0)
		c.srv.rejectedConns.Store(0)
		c.srv.replyBufShrinks.Store(0)
		c.srv.replyBufExpands.Store(0)
		c.srv.resetTrafficAndFreeStats()
		c.srv.resetLatencyHistograms()
		c.w.WriteRaw(okReply)
	case sub == "help":
		c.writeHelp("CONFIG", configHelp)
	case sub == "get" || sub == "set" || sub == "rewrite" || sub == "resetstat":
		c.w.WriteError("ERR wrong number of arguments for 'config|" + sub + "' command")
	default:
		c.w.WriteError(unknownSubcommand(args[1], "CONFIG"))
	}
}

// configSet is CONFIG SET name value [name value ...], all or nothing as
// in Redis 7.0: a name given twice is refused; when a value is invalid, or
// cannot take effect, every option goes back to its old value.
func (s *Server) configSet(pairs [][]byte) error {
	cfg := s.Cfg
	names := make([]string, 0, len(pairs)/2)
	seen := map[string]bool{}
	for i := 0; i < len(pairs); i += 2 {
		name := config.Canonical(string(pairs[i]))
		if seen[name] {
			return fmt.Errorf("CONFIG SET failed (possibly related to argument '%s') - duplicate parameter", pairs[i])
		}
		seen[name] = true
		names = append(names, name)
	}
	old := make([]string, len(names))
	for i, name := range names {
		old[i] = cfg.Get(name)
	}
	restore := func(n int) {
		for i := n - 1; i >= 0; i-- {
			cfg.SetRuntime(names[i], old[i])
		}
	}
	for i := range names {
		if err := cfg.SetRuntime(string(pairs[2*i]), string(pairs[2*i+1])); err != nil {
			restore(i)
			return err
		}
	}
	for i, name := range names {
		if err := s.applyConfig(name); err != nil {
			restore(len(names))
			for _, n := range names[:i+1] { // what took effect goes back too
				s.applyConfig(n)
			}
			return err
		}
	}
	return nil
}

// applyConfig makes a changed option take effect.
func (s *Server) applyConfig(name string) error {
	switch name {
	case "appendonly", "appendfsync":
		return s.applyAOFConfig(name)
	case "requirepass":
		s.acl.setDefaultPassword(s.Cfg.RequirePass())
	case "notify-keyspace-events":
		s.loadNotifyFlags()
	case "bind", "port":
		if err := s.rebind(); err != nil {
			msg := "Failed to bind to specified addresses."
			if name == "port" {
				msg = "Unable to listen on this port. Check server logs."
			}
			return fmt.Errorf("CONFIG SET failed (possibly related to argument '%s') - %s (%v)", name, msg, err)
		}
	case "latency-monitor-threshold", "latency-tracking", "slowlog-log-slower-than":
		s.applyLatencyConfig()
	case "tracking-table-max-keys":
		s.tracking.maxKeys.Store(int64(s.Cfg.Int(name)))
	case "maxmemory", "maxmemory-policy", "maxmemory-samples", "lfu-log-factor", "lfu-decay-time",
		"min-replicas-to-write", "min-replicas-max-lag":
		s.applyMemoryConfig()
	case "hash-max-listpack-entries", "hash-max-listpack-value", "set-max-intset-entries",
		"zset-max-listpack-entries", "zset-max-listpack-value":
		s.DB.SetEncodingLimits(s.encodingLimits())
	case "cluster-node-timeout":
		if t, ok := s.Cluster.(interface{ SetNodeTimeout(time.Duration) }); ok {
			t.SetNodeTimeout(s.Cfg.NodeTimeout())
		}
	case "cluster-require-full-coverage":
		if t, ok := s.Cluster.(interface{ SetRequireFullCoverage(bool) }); ok {
			t.SetRequireFullCoverage(s.Cfg.Bool(name))
		}
	case "cluster-allow-replica-migration", "cluster-migration-barrier":
		if t, ok := s.Cluster.(interface{ SetReplicaMigration(bool, int) }); ok {
			t.SetReplicaMigration(s.Cfg.Bool("cluster-allow-replica-migration"), s.Cfg.Int("cluster-migration-barrier"))
		}
	}
	return nil
}
