package server

import (
	"strings"
	"sync"
)

// MEMORY USAGE names a key (COMMAND GETKEYS, cluster routing), as in Redis;
// set here, after info.go defined the command.
func init() {
	commandTable["memory"].movable = func(args [][]byte) []int {
		if len(args) >= 3 && eq(args[1], "usage") {
			return []int{2}
		}
		return nil
	}
}

// containerCommands have subcommands: CLIENT LIST shows "client|list".
var containerCommands = func() map[string]bool {
	m := map[string]bool{}
	for name := range redisACLCategories {
		if parent, _, ok := strings.Cut(name, "|"); ok {
			m[parent] = true
		}
	}
	return m
}()

var commandNames sync.Map // "parent|sub" strings, made once

// noteCommandName records the command for CLIENT LIST's cmd= field.
func (c *Client) noteCommandName(cmd *command, args [][]byte) {
	c.curArgs = args
	name := cmd.name
	if containerCommands[name] && len(args) > 1 {
		if full := name + "|" + string(lower(args[1])); redisACLCategories[full] != "" {
			name = full
		}
	}
	v, ok := commandNames.Load(name)
	if !ok {
		stored := name // a copy: taking name's address would move it to the heap on every call
		v, _ = commandNames.LoadOrStore(name, &stored)
	}
	c.lastName.Store(v.(*string))
}
