package server

import (
	"strings"
	"sync"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// ACL permissions as Redis 7.0 enforces them: commands and subcommands
// (+cmd, -cmd, +cmd|sub, +@category, -@category, allcommands, nocommands),
// keys (~pattern, %R~, %W~, %RW~, allkeys, resetkeys) and pub/sub channels
// (&pattern, allchannels, resetchannels), applied in the order given.

// aclPerms is a user's compiled permissions; all is the default user's
// "+@all ~* &*", which needs no check at all.
type aclPerms struct {
	all         bool
	commands    map[string]bool // "cmd" and "cmd|sub" -> allowed
	keys        []keyPerm
	allChannels bool
	channels    [][]byte
}

type keyPerm struct {
	pattern     []byte
	read, write bool
}

var allPerms = &aclPerms{all: true}

// aclCommandNames is every command and subcommand name rules can name,
// with its categories: Redis's table plus the engine's own commands.
var aclCommandNames = sync.OnceValue(func() map[string][]string {
	out := map[string][]string{}
	for name, cats := range redisACLCategories {
		out[name] = strings.Fields(cats)
	}
	for name, cmd := range commandTable {
		if _, ok := out[name]; !ok {
			var cats []string
			for _, c := range aclCategories(cmd) {
				cats = append(cats, strings.TrimPrefix(c, "@"))
			}
			out[name] = cats
		}
	}
	return out
})

// compilePerms applies rules in order; it returns the permissions or
// Redis's error for the first bad rule.
func compilePerms(rules []string) (*aclPerms, string) {
	names := aclCommandNames()
	p := &aclPerms{commands: map[string]bool{}}
	setCommand := func(name string, allowed bool) {
		p.commands[name] = allowed
		if !strings.Contains(name, "|") {
			for full := range names { // +config also allows config|get...
				if strings.HasPrefix(full, name+"|") {
					p.commands[full] = allowed
				}
			}
		}
	}
	setCategory := func(cat string, allowed bool) bool {
		found := cat == "all"
		for name, cats := range names {
			for _, c := range cats {
				if c == cat || cat == "all" {
					p.commands[name] = allowed
					found = true
					break
				}
			}
		}
		return found
	}
	for _, r := range rules {
		lr := strings.ToLower(r)
		bad := false
		switch {
		case lr == "allcommands":
			setCategory("all", true)
		case lr == "nocommands":
			setCategory("all", false)
		case strings.HasPrefix(lr, "+@") || strings.HasPrefix(lr, "-@"):
			bad = !setCategory(lr[2:], lr[0] == '+')
		case strings.HasPrefix(lr, "+") || strings.HasPrefix(lr, "-"):
			if _, ok := names[lr[1:]]; !ok {
				bad = true
			} else {
				setCommand(lr[1:], lr[0] == '+')
			}
		case lr == "allkeys":
			p.keys = append(p.keys, keyPerm{pattern: []byte("*"), read: true, write: true})
		case lr == "resetkeys":
			p.keys = nil
		case strings.HasPrefix(r, "~"):
			p.keys = append(p.keys, keyPerm{pattern: []byte(r[1:]), read: true, write: true})
		case strings.HasPrefix(r, "%"):
			access, pattern, ok := strings.Cut(r[1:], "~")
			access = strings.ToUpper(access)
			if !ok || access == "" || strings.Trim(access, "RW") != "" {
				return nil, "ERR Error in ACL SETUSER modifier '" + r + "': Syntax error"
			}
			p.keys = append(p.keys, keyPerm{pattern: []byte(pattern), read: strings.Contains(access, "R"), write: strings.Contains(access, "W")})
		case lr == "allchannels":
			p.allChannels, p.channels = true, nil
		case lr == "resetchannels":
			p.allChannels, p.channels = false, nil
		case strings.HasPrefix(r, "&"):
			if r == "&*" {
				p.allChannels = true
			}
			p.channels = append(p.channels, []byte(r[1:]))
		}
		if bad {
			return nil, "ERR Error in ACL SETUSER modifier '" + r + "': Unknown command or category name in ACL"
		}
	}
	if p.allChannels && p.allCommands() && p.allKeysRW() {
		return allPerms, ""
	}
	return p, ""
}

func (p *aclPerms) allCommands() bool {
	for name := range aclCommandNames() {
		if !p.commands[name] {
			return false
		}
	}
	return true
}

func (p *aclPerms) allKeysRW() bool {
	for _, k := range p.keys {
		if string(k.pattern) == "*" && k.read && k.write {
			return true
		}
	}
	return false
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

// aclDenied is why the user may not run args: "" when allowed, else
// "cmd", "key" or "channel", with the command's rule name.
func (p *aclPerms) aclDenied(cmd *command, args [][]byte) (why, name string) {
	if p.all {
		return "", ""
	}
	name = commandName(cmd, args)
	if !p.commands[name] {
		return "cmd", name
	}
	for _, i := range cmd.keyIndexes(args, nil) {
		if !p.keyAllowed(args[i], cmd.write, !cmd.write || cmd.readonly) {
			return "key", name
		}
	}
	if chans := channelArgs(cmd, args); chans != nil && !p.allChannels {
		for _, ch := range chans {
			if !p.channelAllowed(ch, cmd.name == "psubscribe" || cmd.name == "punsubscribe") {
				return "channel", name
			}
		}
	}
	return "", name
}

func (p *aclPerms) keyAllowed(key []byte, write, read bool) bool {
	for _, k := range p.keys {
		if (!write || k.write) && (!read || k.read) && store.Match(k.pattern, key) {
			return true
		}
	}
	return false
}

// channelAllowed: a channel must match a pattern; a PSUBSCRIBE pattern
// must be one of the patterns, literally, as in Redis.
func (p *aclPerms) channelAllowed(ch []byte, isPattern bool) bool {
	for _, pat := range p.channels {
		if isPattern && string(pat) == string(ch) || !isPattern && store.Match(pat, ch) {
			return true
		}
	}
	return false
}

// channelArgs are the channels a pub/sub command names (nil for others).
func channelArgs(cmd *command, args [][]byte) [][]byte {
	switch cmd.name {
	case "subscribe", "psubscribe", "ssubscribe":
		return args[1:]
	case "publish", "spublish":
		return args[1:2]
	}
	return nil
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
