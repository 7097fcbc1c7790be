package server

import (
	"sort"
	"strings"
	"sync"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// cmdCommand: COMMAND, COMMAND COUNT|INFO|LIST|DOCS|GETKEYS, in Redis 7's
// reply shapes, describing the commands and subcommands the engine serves
// as redis-server 7.0 describes them (command_table_redis.go).
func cmdCommand(c *Client, args [][]byte) {
	if len(args) == 1 {
		c.writeAllCommandInfo()
		return
	}
	sub, ok := c.checkSubcommand(args, "COMMAND", subcommandArity()["command"])
	if !ok {
		return
	}
	switch sub {
	case "count":
		c.w.WriteInt(int64(len(commandTable)))
	case "list":
		c.commandList(args[2:])
	case "info":
		if len(args) == 2 {
			c.writeAllCommandInfo()
			return
		}
		c.w.WriteArrayLen(len(args) - 2)
		for _, n := range args[2:] {
			if name := string(lower(n)); c.srv.serves(name) {
				c.writeCommandInfo(name)
			} else {
				c.w.WriteNull()
			}
		}
	case "docs":
		c.commandDocs(args[2:])
	case "getkeys", "getkeysandflags":
		c.getKeys(args[2:], sub == "getkeysandflags")
	case "help":
		c.writeHelp("COMMAND", commandHelp)
	}
}

// subcommandArity maps each command with subcommands to their arities,
// as Redis's table gives them.
var subcommandArity = sync.OnceValue(func() map[string]map[string]int {
	out := map[string]map[string]int{}
	for full, info := range redisCommandTable {
		if parent, sub, ok := strings.Cut(full, "|"); ok {
			if out[parent] == nil {
				out[parent] = map[string]int{}
			}
			out[parent][sub] = info.arity
		}
	}
	return out
})

// unservedSubcommands are Redis 7.0 subcommands of commands the engine
// serves that it answers "unknown subcommand" to, so COMMAND leaves them
// out (TestUnservedSubcommandsAreUnknown probes each).
var unservedSubcommands = map[string]bool{}

// servedSubcommands maps each served command to its served subcommands'
// full names, sorted.
var servedSubcommands = sync.OnceValue(func() map[string][]string {
	out := map[string][]string{}
	add := func(full string) {
		if parent, _, _ := strings.Cut(full, "|"); commandTable[parent] != nil && !unservedSubcommands[full] {
			out[parent] = append(out[parent], full)
		}
	}
	for full := range redisCommandTable {
		if strings.Contains(full, "|") {
			add(full)
		}
	}
	for full := range engineSubcommands {
		add(full)
	}
	for _, subs := range out {
		sort.Strings(subs)
	}
	return out
})

// servedCommand reports whether name (lower case, "parent|sub" for a
// subcommand) is a command or subcommand the engine serves.
func servedCommand(name string) bool {
	parent, _, isSub := strings.Cut(name, "|")
	if !isSub {
		return commandTable[name] != nil
	}
	_, known := commandInfoOf(name)
	return known && commandTable[parent] != nil && !unservedSubcommands[name]
}

// commandInfoOf is what COMMAND INFO says of name: Redis's entry, else
// the engine's own subcommand's, else (a command Redis does not have)
// what its definition says.
func commandInfoOf(name string) (commandInfo, bool) {
	if info, ok := redisCommandTable[name]; ok {
		return info, true
	}
	if info, ok := engineSubcommands[name]; ok {
		return info, true
	}
	if cmd := commandTable[name]; cmd != nil {
		flags := strings.Join(cmd.flags, " ")
		return commandInfo{arity: cmd.arity, flags: flags, firstKey: cmd.firstKey, lastKey: cmd.lastKey, step: cmd.step}, true
	}
	return commandInfo{}, false
}

// aclCategoryOrder is the order Redis lists a command's categories in.
var aclCategoryOrder = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
	"connection", "transaction", "scripting"}

// categoriesOf is name's ACL categories, without "@", in Redis's order.
func categoriesOf(name string) []string {
	cats, ok := redisACLCategories[name]
	if !ok {
		info, _ := commandInfoOf(name)
		if cmd := commandTable[name]; cmd != nil {
			var own []string
			for _, c := range aclCategories(cmd) {
				own = append(own, strings.TrimPrefix(c, "@"))
			}
			cats = strings.Join(own, " ")
		} else if strings.Contains(" "+info.flags+" ", " admin ") {
			cats = "admin slow dangerous"
		} else {
			cats = "slow"
		}
	}
	var out []string
	for _, c := range aclCategoryOrder {
		if strings.Contains(" "+cats+" ", " "+c+" ") {
			out = append(out, c)
		}
	}
	return out
}

func (c *Client) writeAllCommandInfo() {
	names := sortedCommandNames()
	c.w.WriteArrayLen(len(names))
	for _, n := range names {
		c.writeCommandInfo(n)
	}
}

// writeCommandInfo writes one COMMAND INFO entry, subcommands nested.
func (c *Client) writeCommandInfo(name string) {
	info, _ := commandInfoOf(name)
	c.w.WriteArrayLen(10)
	c.w.WriteBulkString(name)
	c.w.WriteInt(int64(info.arity))
	c.writeSimpleSet(strings.Fields(info.flags), "")
	c.w.WriteInt(int64(info.firstKey))
	c.w.WriteInt(int64(info.lastKey))
	c.w.WriteInt(int64(info.step))
	c.writeSimpleSet(categoriesOf(name), "@")
	tips := strings.Fields(info.tips)
	c.w.WriteSetLen(len(tips))
	for _, t := range tips {
		c.w.WriteBulkString(t)
	}
	c.w.WriteSetLen(len(info.specs))
	for _, s := range info.specs {
		c.writeKeySpec(s)
	}
	subs, container := c.srv.subcommandsOf(name)
	if !container {
		c.w.WriteSetLen(0) // as Redis answers for a command without subcommands
		return
	}
	c.w.WriteArrayLen(len(subs))
	for _, s := range subs {
		c.writeCommandInfo(s)
	}
}

func (c *Client) writeSimpleSet(items []string, prefix string) {
	c.w.WriteSetLen(len(items))
	for _, it := range items {
		c.w.WriteSimple(prefix + it)
	}
}

// writeKeySpec writes a key specification as Redis 7.0's COMMAND INFO map.
func (c *Client) writeKeySpec(s keySpec) {
	if s.notes != "" {
		c.w.WriteMapLen(4)
		c.w.WriteBulkString("notes")
		c.w.WriteBulkString(s.notes)
	} else {
		c.w.WriteMapLen(3)
	}
	c.w.WriteBulkString("flags")
	c.writeSimpleSet(strings.Fields(s.flags), "")
	c.w.WriteBulkString("begin_search")
	switch {
	case s.begin.index > 0:
		c.writeTypedSpec("index", "index", s.begin.index)
	case s.begin.keyword != "":
		c.writeTypedSpec("keyword", "keyword", s.begin.keyword, "startfrom", s.begin.startFrom)
	default:
		c.writeTypedSpec("unknown")
	}
	c.w.WriteBulkString("find_keys")
	switch s.find.kind {
	case "range":
		c.writeTypedSpec("range", "lastkey", s.find.a, "keystep", s.find.b, "limit", s.find.c)
	case "keynum":
		c.writeTypedSpec("keynum", "keynumidx", s.find.a, "firstkey", s.find.b, "keystep", s.find.c)
	default:
		c.writeTypedSpec("unknown")
	}
}

// writeTypedSpec writes {type: kind, spec: {name: value, ...}}, values
// being ints or strings.
func (c *Client) writeTypedSpec(kind string, fields ...any) {
	c.w.WriteMapLen(2)
	c.w.WriteBulkString("type")
	c.w.WriteBulkString(kind)
	c.w.WriteBulkString("spec")
	c.w.WriteMapLen(len(fields) / 2)
	for i := 0; i+1 < len(fields); i += 2 {
		c.w.WriteBulkString(fields[i].(string))
		switch v := fields[i+1].(type) {
		case int:
			c.w.WriteInt(int64(v))
		case string:
			c.w.WriteBulkString(v)
		}
	}
}

// commandList is COMMAND LIST [FILTERBY MODULE name|ACLCAT cat|PATTERN glob]:
// every served command followed by its served subcommands.
func (c *Client) commandList(opts [][]byte) {
	keep := func(string) bool { return true }
	for i := 0; i < len(opts); i += 3 {
		if !eq(opts[i], "filterby") || len(opts)-i != 3 {
			c.w.WriteError("ERR syntax error")
			return
		}
		arg := opts[i+2]
		switch {
		case eq(opts[i+1], "module"):
			keep = func(string) bool { return false } // no module commands
		case eq(opts[i+1], "aclcat"):
			cat := string(lower(arg))
			keep = func(name string) bool {
				for _, c := range categoriesOf(name) {
					if c == cat {
						return true
					}
				}
				return false
			}
		case eq(opts[i+1], "pattern"):
			keep = func(name string) bool { return store.MatchNoCase(arg, []byte(name)) }
		default:
			c.w.WriteError("ERR syntax error")
			return
		}
	}
	var out []string
	for _, n := range sortedCommandNames() {
		subs, _ := c.srv.subcommandsOf(n)
		for _, name := range append([]string{n}, subs...) {
			if keep(name) {
				out = append(out, name)
			}
		}
	}
	c.w.WriteArrayLen(len(out))
	for _, n := range out {
		c.w.WriteBulkString(n)
	}
}

func sortedCommandNames() []string {
	names := make([]string, 0, len(commandTable))
	for n := range commandTable {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// aclCategories derives categories for a command Redis's table lacks.
func aclCategories(cmd *command) []string {
	var cats []string
	if cmd.write {
		cats = append(cats, "@write")
	}
	if cmd.readonly {
		cats = append(cats, "@read")
	}
	for _, f := range cmd.flags {
		if f == "fast" {
			cats = append(cats, "@fast")
		}
		if f == "admin" {
			cats = append(cats, "@admin", "@dangerous")
		}
	}
	if cmd.firstKey > 0 || cmd.movable != nil {
		cats = append(cats, "@keyspace")
	}
	if len(cats) == 0 || !strings.Contains(strings.Join(cats, " "), "@fast") {
		cats = append(cats, "@slow")
	}
	return cats
}
