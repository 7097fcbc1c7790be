package server

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

func cmdACL(c *Client, args [][]byte) {
	acl := c.srv.acl
	sub := string(lower(args[1]))
	info, known := commandInfoOf("acl|" + sub)
	if known && (info.arity > 0 && len(args) != info.arity || info.arity < 0 && len(args) < -info.arity) {
		c.w.WriteError("ERR wrong number of arguments for 'acl|" + sub + "' command")
		return
	}
	switch {
	case sub == "whoami" && len(args) == 2:
		c.w.WriteBulkString(c.userName())
	case sub == "list" && len(args) == 2:
		lines := acl.list()
		c.w.WriteArrayLen(len(lines))
		for _, l := range lines {
			c.w.WriteBulkString(l)
		}
	case sub == "users" && len(args) == 2:
		names := acl.names()
		c.w.WriteArrayLen(len(names))
		for _, n := range names {
			c.w.WriteBulkString(n)
		}
	case sub == "setuser" && len(args) >= 3:
		var rules []string
		for _, r := range args[3:] {
			rules = append(rules, string(r))
		}
		msg, u, kept := acl.setUser(string(args[2]), rules)
		if msg != "" {
			c.w.WriteError(msg)
			return
		}
		c.srv.killRevokedSubscribers(c, u, kept)
		c.w.WriteRaw(okReply)
	case sub == "deluser" && len(args) >= 3:
		for _, u := range args[2:] {
			if string(u) == "default" {
				c.w.WriteError("ERR The 'default' user cannot be removed")
				return
			}
		}
		var gone []*aclUser
		for _, name := range args[2:] {
			if u := acl.delUser(string(name)); u != nil {
				gone = append(gone, u)
			}
		}
		c.srv.killClientsOf(c, gone)
		c.w.WriteInt(int64(len(gone)))
	case sub == "getuser" && len(args) == 3:
		acl.mu.Lock()
		u := acl.users[string(args[2])]
		var snapshot *aclUser
		if u != nil {
			snapshot = u.clone()
		}
		acl.mu.Unlock()
		if snapshot == nil {
			c.w.WriteNull()
			return
		}
		c.writeGetUser(snapshot)
	case sub == "cat" && len(args) == 2:
		c.w.WriteArrayLen(len(aclCategoryNames))
		for _, cat := range aclCategoryNames {
			c.w.WriteBulkString(cat)
		}
	case sub == "cat" && len(args) == 3:
		cat := strings.ToLower(string(args[2]))
		if !validCategory(cat) {
			c.w.WriteError("ERR Unknown category '" + printable(args[2], 128) + "'")
			return
		}
		var names []string
		for name := range aclCommandNames() {
			if inCategory(name, cat) {
				names = append(names, name)
			}
		}
		c.w.WriteArrayLen(len(names))
		for _, n := range names {
			c.w.WriteBulkString(n)
		}
	case sub == "genpass" && (len(args) == 2 || len(args) == 3):
		aclGenPass(c, args)
	case sub == "log" && (len(args) == 2 || len(args) == 3):
		count := int64(10)
		if len(args) == 3 {
			if eq(args[2], "reset") {
				acl.log.reset()
				c.w.WriteRaw(okReply)
				return
			}
			n, ok := parseInt(args[2])
			if !ok {
				c.w.WriteError(errNotInt)
				return
			}
			count = max(n, 0)
		}
		acl.log.write(c, int(min(count, 1<<31)))
	case sub == "dryrun" && len(args) >= 4:
		aclDryRun(c, args)
	case (sub == "load" || sub == "save") && c.srv.Cfg.Get("aclfile") == "":
		c.w.WriteError("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.")
	case sub == "load" && len(args) == 2:
		gone, msg := c.srv.loadACLFile()
		if msg != "" {
			c.w.WriteError("ERR " + msg)
			return
		}
		c.srv.killClientsOf(c, gone)
		c.w.WriteRaw(okReply)
	case sub == "save" && len(args) == 2:
		if err := c.srv.saveACLFile(); err != nil {
			c.srv.Logger.Printf("ACL SAVE: %v", err)
			c.w.WriteError("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
			return
		}
		c.w.WriteRaw(okReply)
	case sub == "help" && len(args) == 2:
		c.writeHelp("ACL", aclHelp)
	case known:
		c.w.WriteError("ERR unknown subcommand or wrong number of arguments for '" + printable(args[1], 128) + "'. Try ACL HELP.")
	default:
		c.w.WriteError(unknownSubcommand(args[1], "ACL"))
	}
}

func aclGenPass(c *Client, args [][]byte) {
	bits := int64(256)
	if len(args) == 3 {
		n, ok := parseInt(args[2])
		if !ok {
			c.w.WriteError(errNotInt)
			return
		}
		bits = n
	}
	if bits <= 0 || bits > 4096 {
		c.w.WriteError("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
		return
	}
	buf := make([]byte, 2048)
	rand.Read(buf)
	c.w.WriteBulkString(hex.EncodeToString(buf)[:(bits+3)/4])
}

// aclDryRun is ACL DRYRUN: would the user be allowed to run the command?
func aclDryRun(c *Client, args [][]byte) {
	u := c.srv.acl.user(string(args[2]))
	if u == nil {
		c.w.WriteError("ERR User '" + string(args[2]) + "' not found")
		return
	}
	cargs := args[3:]
	cmd := lookupCommand(cargs[0])
	if cmd == nil || len(aclTree().subs[cmd.name]) > 0 && (len(cargs) < 2 || commandName(cmd, cargs) == cmd.name) {
		c.w.WriteError("ERR Command '" + string(cargs[0]) + "' not found")
		return
	}
	name := commandName(cmd, cargs)
	arity := cmd.arity
	if info, ok := commandInfoOf(name); ok && name != cmd.name {
		arity = info.arity
	}
	if arity > 0 && len(cargs) != arity || arity < 0 && len(cargs) < -arity {
		c.w.WriteError("ERR wrong number of arguments for '" + name + "' command")
		return
	}
	switch reason, pos := u.permissions().check(cmd, cargs); reason {
	case aclAllowed:
		c.w.WriteRaw(okReply)
	case aclDeniedCommand:
		c.w.WriteBulkString("This user has no permissions to run the '" + name + "' command")
	case aclDeniedKey:
		c.w.WriteBulkString("This user has no permissions to access the '" + string(cargs[pos]) + "' key")
	default:
		c.w.WriteBulkString("This user has no permissions to access the '" + string(cargs[pos]) + "' channel")
	}
}
