package server

import (
	"sort"
	"strings"
	"sync"
)

// An ACL selector is one set of command, key and channel permissions, as
// in Redis 7.0: a user has its root selector plus any "(...)" selectors,
// and may run a command when one of them allows it. Rules apply in order
// with Redis's side effects (+cmd also allows its subcommands, +@cat
// follows each command's and subcommand's categories, -anything clears
// "allcommands").
type aclSelector struct {
	allCommands bool            // no command check at all (+@all not narrowed since)
	future      bool            // +@all given (ACL LIST starts from +@all)
	commands    map[string]bool // "cmd" and "cmd|sub" -> allowed
	firstArgs   map[string][]string
	allKeys     bool
	keys        []keyPerm
	allChannels bool
	channels    []string
}

type keyPerm struct {
	pattern     []byte
	read, write bool
}

// aclCategoryNames are Redis 7.0's categories in its order (ACL CAT, and
// the order ACL LIST tries them in).
var aclCategoryNames = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash",
	"string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting"}

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

// aclCommandTree is the names as commands (sorted) and their subcommands
// (sorted), the order rules are applied and described in.
type aclCommandTree struct {
	parents []string
	subs    map[string][]string
}

var aclTree = sync.OnceValue(func() aclCommandTree {
	t := aclCommandTree{subs: map[string][]string{}}
	for name := range aclCommandNames() {
		if parent, _, isSub := strings.Cut(name, "|"); isSub {
			t.subs[parent] = append(t.subs[parent], name)
		} else {
			t.parents = append(t.parents, name)
		}
	}
	sort.Strings(t.parents)
	for _, s := range t.subs {
		sort.Strings(s)
	}
	return t
})

func inCategory(name, cat string) bool {
	for _, c := range aclCommandNames()[name] {
		if c == cat {
			return true
		}
	}
	return false
}

func validCategory(cat string) bool {
	for _, c := range aclCategoryNames {
		if c == cat {
			return true
		}
	}
	return false
}

// aclLookup resolves a rule's command name ("get", "config|get") as Redis
// does: one level of subcommands, and only for container commands.
func aclLookup(name string) (string, bool) {
	name = strings.ToLower(name)
	parts := strings.Split(name, "|")
	names := aclCommandNames()
	switch len(parts) {
	case 1:
		_, ok := names[name]
		return name, ok
	case 2:
		if len(aclTree().subs[parts[0]]) == 0 {
			return "", false
		}
		_, ok := names[name]
		return name, ok
	}
	return "", false
}

// aclErr is why a rule was refused (Redis's errno codes).
type aclErr int

const (
	aclOK aclErr = iota
	aclErrSyntax
	aclErrUnknown
	aclErrKeyAfterAll
	aclErrChannelAfterAll
	aclErrNoSuchPass
	aclErrBadHash
	aclErrDuplicateUser
	aclErrSubFirstArg
)

func (e aclErr) String() string {
	switch e {
	case aclErrUnknown:
		return "Unknown command or category name in ACL"
	case aclErrSyntax:
		return "Syntax error"
	case aclErrKeyAfterAll:
		return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
	case aclErrChannelAfterAll:
		return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
	case aclErrNoSuchPass:
		return "The password you are trying to remove from the user does not exist"
	case aclErrBadHash:
		return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
	case aclErrDuplicateUser:
		return "Duplicate user found. A user can only be defined once in config files"
	case aclErrSubFirstArg:
		return "Allowing first-arg of a subcommand is not supported"
	}
	return "Wrong format"
}

func newSelector(allChannels bool) *aclSelector {
	return &aclSelector{commands: map[string]bool{}, allChannels: allChannels}
}

func (s *aclSelector) clone() *aclSelector {
	n := *s
	n.commands = make(map[string]bool, len(s.commands))
	for k, v := range s.commands {
		n.commands[k] = v
	}
	if s.firstArgs != nil {
		n.firstArgs = map[string][]string{}
		for k, v := range s.firstArgs {
			n.firstArgs[k] = append([]string(nil), v...)
		}
	}
	n.keys = append([]keyPerm(nil), s.keys...)
	n.channels = append([]string(nil), s.channels...)
	return &n
}

func (s *aclSelector) setBit(name string, allowed bool) {
	s.commands[name] = allowed
	if !allowed {
		s.allCommands = false
	}
}

// changePerm allows or denies a command with all its subcommands.
func (s *aclSelector) changePerm(name string, allowed bool) {
	s.setBit(name, allowed)
	delete(s.firstArgs, name)
	for _, sub := range aclTree().subs[name] {
		s.setBit(sub, allowed)
	}
}

func (s *aclSelector) setCategory(cat string, allowed bool) {
	t := aclTree()
	for _, p := range t.parents {
		if inCategory(p, cat) {
			s.changePerm(p, allowed)
		}
		for _, sub := range t.subs[p] {
			if inCategory(sub, cat) {
				s.changePerm(sub, allowed)
			}
		}
	}
}

func (s *aclSelector) setAll(allowed bool) {
	for name := range aclCommandNames() {
		s.commands[name] = allowed
	}
	s.allCommands, s.future, s.firstArgs = allowed, allowed, nil
}

func hasSpaces(s string) bool {
	return strings.ContainsAny(s, " \t\r\n\v\f\x00")
}

// apply is one selector rule.
func (s *aclSelector) apply(op string) aclErr {
	lop := strings.ToLower(op)
	switch {
	case lop == "allkeys" || op == "~*":
		s.allKeys, s.keys = true, nil
	case lop == "resetkeys":
		s.allKeys, s.keys = false, nil
	case lop == "allchannels" || op == "&*":
		s.allChannels, s.channels = true, nil
	case lop == "resetchannels":
		s.allChannels, s.channels = false, nil
	case lop == "allcommands" || lop == "+@all":
		s.setAll(true)
	case lop == "nocommands" || lop == "-@all":
		s.setAll(false)
	case op[0] == '~' || op[0] == '%':
		return s.addKeyPattern(op)
	case op[0] == '&':
		if s.allChannels {
			return aclErrChannelAfterAll
		}
		if hasSpaces(op[1:]) {
			return aclErrSyntax
		}
		found := false
		for _, c := range s.channels {
			found = found || c == op[1:]
		}
		if !found {
			s.channels = append(s.channels, op[1:])
		}
		s.allChannels = false
	case strings.HasPrefix(op, "+@") || strings.HasPrefix(op, "-@"):
		if !validCategory(lop[2:]) {
			return aclErrUnknown
		}
		s.setCategory(lop[2:], op[0] == '+')
	case op[0] == '+':
		return s.allow(op[1:])
	case op[0] == '-':
		name, ok := aclLookup(op[1:])
		if !ok {
			return aclErrUnknown
		}
		s.changePerm(name, false)
	default:
		return aclErrSyntax
	}
	return aclOK
}

func (s *aclSelector) addKeyPattern(op string) aclErr {
	if s.allKeys {
		return aclErrKeyAfterAll
	}
	read, write, pattern := true, true, op[1:]
	if op[0] == '%' {
		read, write = false, false
		i := 1
	flags:
		for ; i < len(op); i++ {
			switch {
			case (op[i] == 'R' || op[i] == 'r') && !read:
				read = true
			case (op[i] == 'W' || op[i] == 'w') && !write:
				write = true
			case op[i] == '~':
				i++
				break flags
			default:
				return aclErrSyntax
			}
		}
		pattern = op[min(i, len(op)):]
		if !read && !write {
			return aclErrSyntax
		}
	}
	if hasSpaces(pattern) {
		return aclErrSyntax
	}
	for i := range s.keys {
		if string(s.keys[i].pattern) == pattern {
			s.keys[i].read = s.keys[i].read || read
			s.keys[i].write = s.keys[i].write || write
			return aclOK
		}
	}
	s.keys = append(s.keys, keyPerm{pattern: []byte(pattern), read: read, write: write})
	s.allKeys = false
	return aclOK
}

// allow is "+name": a command, a container's subcommand, or a first
// argument of a command without subcommands ("+select|0").
func (s *aclSelector) allow(name string) aclErr {
	i := strings.LastIndexByte(name, '|')
	if i < 0 {
		full, ok := aclLookup(name)
		if !ok {
			return aclErrUnknown
		}
		s.changePerm(full, true)
		return aclOK
	}
	base, sub := name[:i], name[i+1:]
	full, ok := aclLookup(base)
	if !ok {
		return aclErrUnknown
	}
	if strings.Contains(full, "|") {
		return aclErrSubFirstArg
	}
	if sub == "" {
		return aclErrSyntax
	}
	if len(aclTree().subs[full]) > 0 {
		subName, ok := aclLookup(name)
		if !ok {
			return aclErrUnknown
		}
		s.changePerm(subName, true)
		return aclOK
	}
	for _, a := range s.firstArgs[full] {
		if strings.EqualFold(a, sub) {
			return aclOK
		}
	}
	if s.firstArgs == nil {
		s.firstArgs = map[string][]string{}
	}
	s.firstArgs[full] = append(s.firstArgs[full], sub)
	return aclOK
}

// ACL check results, ordered as Redis orders them when it picks which
// selector's refusal to report.
const (
	aclAllowed       = 0
	aclDeniedCommand = 1
	aclDeniedKey     = 2
	aclDeniedAuth    = 3
	aclDeniedChannel = 4
)

// check is whether this selector allows args, and if not why and at
// which argument.
func (s *aclSelector) check(cmd *command, args [][]byte) (int, int) {
	if !s.allCommands && !cmd.noAuth {
		name := commandName(cmd, args)
		if !s.commands[name] && !s.firstArgAllowed(name, args) {
			return aclDeniedCommand, 0
		}
	}
	if !s.allKeys {
		for _, k := range aclKeyAccesses(cmd, args) {
			if !s.keyAllowed(args[k.pos], k.write, k.read) {
				return aclDeniedKey, k.pos
			}
		}
	}
	if !s.allChannels {
		if first, chans := channelArgs(cmd, args); chans != nil {
			for j, ch := range chans {
				if !s.channelAllowed(ch, cmd.name == "psubscribe") {
					return aclDeniedChannel, first + j
				}
			}
		}
	}
	return aclAllowed, 0
}

func (s *aclSelector) firstArgAllowed(name string, args [][]byte) bool {
	idx := 1
	if strings.Contains(name, "|") {
		idx = 2
	}
	if len(args) <= idx {
		return false
	}
	for _, a := range s.firstArgs[name] {
		if strings.EqualFold(a, string(args[idx])) {
			return true
		}
	}
	return false
}

// keyAccess is what a command does to the key at args[pos].
type keyAccess struct {
	pos         int
	read, write bool
}

// aclKeyAccesses are the keys a command names with the access each needs,
// from Redis's key specs (access reads; insert, update, delete write;
// not_key, like SPUBLISH's shard channel, is no key); a command without
// specs reads, or writes when it is a write command.
func aclKeyAccesses(cmd *command, args [][]byte) []keyAccess {
	specs := keySpecsOf(cmd.name)
	if containerCommands[cmd.name] && len(args) > 1 {
		specs = keySpecsOf(commandName(cmd, args))
	}
	var out []keyAccess
	for _, i := range cmd.keyIndexes(args, nil) {
		if len(specs) == 0 {
			out = append(out, keyAccess{pos: i, read: !cmd.write || cmd.readonly, write: cmd.write})
			continue
		}
		flags := " " + variableKeyFlags(cmd.name, args, keySpecFor(specs, args, i).flags) + " "
		if strings.Contains(flags, " not_key ") {
			continue
		}
		out = append(out, keyAccess{pos: i, read: strings.Contains(flags, " access "),
			write: strings.Contains(flags, " insert ") || strings.Contains(flags, " update ") || strings.Contains(flags, " delete ")})
	}
	return out
}
