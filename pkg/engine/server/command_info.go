package server

import (
	"sort"
	"strings"
)

// cmdCommand: COMMAND, COMMAND COUNT|INFO|LIST|DOCS|GETKEYS, in Redis 7's
// reply shape (10 fields per command), which redis-py and go-redis parse.
func cmdCommand(c *Client, args [][]byte) {
	if len(args) == 1 {
		names := sortedCommandNames()
		c.w.WriteArrayLen(len(names))
		for _, n := range names {
			c.writeCommandInfo(commandTable[n])
		}
		return
	}
	switch sub := string(lower(args[1])); sub {
	case "count":
		c.w.WriteInt(int64(len(commandTable)))
	case "list":
		names := sortedCommandNames()
		c.w.WriteArrayLen(len(names))
		for _, n := range names {
			c.w.WriteBulkString(n)
		}
	case "info":
		names := args[2:]
		if len(names) == 0 {
			cmdCommand(c, args[:1])
			return
		}
		c.w.WriteArrayLen(len(names))
		for _, n := range names {
			if cmd := lookupCommand(n); cmd != nil {
				c.writeCommandInfo(cmd)
			} else if sub := slotMigrationSubcommand(n); sub != nil {
				c.writeCommandInfo(sub)
			} else {
				c.w.WriteNullArray()
			}
		}
	case "docs":
		// documentation is not shipped; an empty map tells clients "nothing known"
		c.w.WriteMapLen(0)
	case "getkeys", "getkeysandflags":
		if len(args) < 4 {
			c.w.WriteError("ERR wrong number of arguments for 'command|" + sub + "' command")
			return
		}
		c.getKeys(args[2:], sub == "getkeysandflags")
	case "help":
		c.writeHelp("COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"(no subcommand)", "COUNT", "GETKEYS <full-command>", "INFO [<command-name> ...]", "LIST", "DOCS")
	default:
		c.w.WriteError(unknownSubcommand(args[1], "COMMAND"))
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

func (c *Client) writeCommandInfo(cmd *command) {
	c.w.WriteArrayLen(10)
	c.w.WriteBulkString(cmd.name)
	c.w.WriteInt(int64(cmd.arity))
	c.w.WriteSetLen(len(cmd.flags))
	for _, f := range cmd.flags {
		c.w.WriteSimple(f)
	}
	c.w.WriteInt(int64(cmd.firstKey))
	c.w.WriteInt(int64(cmd.lastKey))
	c.w.WriteInt(int64(cmd.step))
	cats := aclCategories(cmd)
	c.w.WriteSetLen(len(cats))
	for _, cat := range cats {
		c.w.WriteSimple(cat)
	}
	c.w.WriteArrayLen(0) // tips
	c.w.WriteArrayLen(0) // key specs
	c.w.WriteArrayLen(0) // subcommands
}

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
