package server

import (
	"strings"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// aclPerms is a user's permissions as its connections read them on every
// command: its selectors (root first), never changed once built; all is
// the default user's "+@all ~* &*", which needs no check at all.
type aclPerms struct {
	all       bool
	selectors []*aclSelector
}

var allPerms = &aclPerms{all: true}

// denyAllPerms is what a deleted user's connections are left with.
var denyAllPerms = &aclPerms{selectors: []*aclSelector{newSelector(false)}}

func permsOf(selectors []*aclSelector) *aclPerms {
	root := selectors[0]
	if root.allCommands && root.allKeys && root.allChannels {
		return allPerms
	}
	return &aclPerms{selectors: selectors}
}

// commandName is the name rules use for cmd with these arguments:
// "config|get" for a container command's subcommand.
func commandName(cmd *command, args [][]byte) string {
	if len(args) > 1 {
		full := cmd.name + "|" + strings.ToLower(string(args[1]))
		if _, ok := aclCommandNames()[full]; ok {
			return full
		}
	}
	return cmd.name
}

// check is Redis's verdict over all selectors: allowed when one allows;
// else the refusal that got furthest (command < key < channel, then the
// later argument), with that argument's index.
func (p *aclPerms) check(cmd *command, args [][]byte) (reason, pos int) {
	if p.all {
		return aclAllowed, 0
	}
	reason = aclDeniedCommand
	for _, s := range p.selectors {
		r, i := s.check(cmd, args)
		if r == aclAllowed {
			return aclAllowed, 0
		}
		if r > reason || r == reason && i > pos {
			reason, pos = r, i
		}
	}
	return reason, pos
}

// commandAllowed is whether some selector lets the user run the command
// at all, keys and channels aside.
func (p *aclPerms) commandAllowed(cmd *command, args [][]byte) bool {
	if p.all || cmd.noAuth {
		return true
	}
	name := commandName(cmd, args)
	for _, s := range p.selectors {
		if s.allCommands || s.commands[name] || s.firstArgAllowed(name, args) {
			return true
		}
	}
	return false
}

// reasonWord names a refusal for noPermError and scriptNoPermError.
func reasonWord(reason int) string {
	switch reason {
	case aclDeniedCommand:
		return "cmd"
	case aclDeniedKey:
		return "key"
	case aclDeniedChannel:
		return "channel"
	}
	return ""
}

func (s *aclSelector) keyAllowed(key []byte, write, read bool) bool {
	if s.allKeys {
		return true
	}
	for _, k := range s.keys {
		if (!write || k.write) && (!read || k.read) && store.Match(k.pattern, key) {
			return true
		}
	}
	return false
}

// channelAllowed: a channel must match a pattern; a PSUBSCRIBE pattern
// must be one of the patterns, literally, as in Redis.
func (s *aclSelector) channelAllowed(ch []byte, isPattern bool) bool {
	if s.allChannels {
		return true
	}
	for _, pat := range s.channels {
		if isPattern && pat == string(ch) || !isPattern && store.Match([]byte(pat), ch) {
			return true
		}
	}
	return false
}

// channelArgs are the channels a pub/sub command names (nil for others),
// and the index of the first.
func channelArgs(cmd *command, args [][]byte) (int, [][]byte) {
	switch cmd.name {
	case "subscribe", "psubscribe", "ssubscribe":
		return 1, args[1:]
	case "publish", "spublish":
		return 1, args[1:2]
	}
	return 0, nil
}

// noPermError is the reply to a command the user may not run.
func noPermError(why, name string) string {
	switch why {
	case "key":
		return "NOPERM this user has no permissions to access one of the keys used as arguments"
	case "channel":
		return "NOPERM this user has no permissions to access one of the channels used as arguments"
	}
	return "NOPERM this user has no permissions to run the '" + name + "' command"
}

// scriptNoPermError is the same refusal for a command a script runs.
func scriptNoPermError(why string) string {
	switch why {
	case "key":
		return "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments"
	case "channel":
		return "ERR The user executing the script can't publish to the channel mentioned in the command"
	}
	return "ERR The user executing the script can't run this command or subcommand"
}

// execACLRecheck refuses a queued command the user may no longer run
// when EXEC comes (its rules changed after it was queued), as Redis does.
func (c *Client) execACLRecheck(cmd *command, args [][]byte) string {
	reason, pos := c.aclUser.permissions().check(cmd, args)
	if reason == aclAllowed {
		return ""
	}
	c.srv.acl.log.addDenial(c, reason, aclContextMulti, cmd, args, pos, c.srv.aclLogMaxLen())
	why := map[int]string{
		aclDeniedCommand: "no permission to execute the command or subcommand",
		aclDeniedKey:     "no permission to touch the specified keys",
		aclDeniedChannel: "no permission to access one of the channels used as arguments",
	}[reason]
	return "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: " + why
}

// readsAnyKey: may the client's user run args with read access to every
// key (SORT's BY and GET patterns name keys the ACL cannot see)? One
// selector must allow the command and read "*".
func (c *Client) readsAnyKey(args [][]byte) bool {
	p := c.aclUser.permissions()
	if p.all {
		return true
	}
	cmd := lookupCommand(args[0])
	for _, s := range p.selectors {
		if r, _ := s.check(cmd, args); r == aclAllowed && s.readsAllKeys() {
			return true
		}
	}
	return false
}

func (s *aclSelector) readsAllKeys() bool {
	if s.allKeys {
		return true
	}
	for _, k := range s.keys {
		if k.read && string(k.pattern) == "*" {
			return true
		}
	}
	return false
}
