package server

import (
	"strings"
)

// keySpecFor picks the spec covering the key at argument p of args: one
// that begins exactly there, else the one after the nearest keyword
// before p, else a spec found by code (SORT's STORE) for a key past the
// first, else the last spec beginning before p.
func keySpecFor(specs []keySpec, args [][]byte, p int) keySpec {
	best, bestAt := -1, -1
	for i, s := range specs {
		if s.begin.index > 0 && s.begin.index == p {
			return s
		}
		if kw := s.begin.keyword; kw != "" {
			for j := p - 1; j > bestAt && j > 0; j-- {
				if eq(args[j], kw) {
					best, bestAt = i, j
					break
				}
			}
		}
	}
	if best >= 0 {
		return specs[best]
	}
	if p > 1 && specs[len(specs)-1].begin.unknown() {
		return specs[len(specs)-1]
	}
	chosen := specs[0]
	for _, s := range specs {
		if s.begin.index > 0 && s.begin.index <= p {
			chosen = s
		}
	}
	return chosen
}

// getKeys is COMMAND GETKEYS and GETKEYSANDFLAGS: target's keys, with the
// flags of their key specs when withFlags.
func (c *Client) getKeys(target [][]byte, withFlags bool) {
	cmd := lookupCommand(target[0])
	if cmd == nil {
		c.w.WriteError("ERR Invalid command specified")
		return
	}
	specs := keySpecsOf(cmd.name)
	hasKeys := len(specs) > 0 || cmd.firstKey > 0 || cmd.movable != nil
	if containerCommands[cmd.name] && len(target) > 1 { // the subcommand decides
		specs = keySpecsOf(cmd.name + "|" + string(lower(target[1])))
		hasKeys = len(specs) > 0
	}
	// Redis's order: a command that never has keys, then the arity, then
	// a command whose keys are optional (EVAL ... 0) and has none
	if !hasKeys {
		c.w.WriteError("ERR The command has no key arguments")
		return
	}
	if cmd.arity > 0 && len(target) != cmd.arity || cmd.arity < 0 && len(target) < -cmd.arity {
		c.w.WriteError("ERR Invalid number of arguments specified for command")
		return
	}
	idx := cmd.keyIndexes(target, nil)
	if len(idx) == 0 {
		if hasFlag(cmd, "no_mandatory_keys") {
			c.w.WriteArrayLen(0)
			return
		}
		c.w.WriteError("ERR Invalid arguments specified for command")
		return
	}
	c.w.WriteArrayLen(len(idx))
	for _, i := range idx {
		if !withFlags {
			c.w.WriteBulk(target[i])
			continue
		}
		var flags []string
		if len(specs) > 0 {
			flags = strings.Fields(variableKeyFlags(cmd.name, target, keySpecFor(specs, target, i).flags))
		}
		c.w.WriteArrayLen(2)
		c.w.WriteBulk(target[i])
		c.w.WriteSetLen(len(flags))
		for _, f := range flags {
			c.w.WriteSimple(f)
		}
	}
}

// variableKeyFlags: the commands whose key flags depend on their arguments
// (variable_flags), as Redis's key-extraction functions set them.
func variableKeyFlags(name string, args [][]byte, flags string) string {
	if !strings.HasSuffix(flags, " variable_flags") {
		return flags
	}
	switch name {
	case "set": // a plain SET overwrites; SET ... GET also reads
		for _, a := range args[3:] {
			if eq(a, "get") {
				return "RW access update"
			}
		}
		return "OW update"
	case "bitfield": // only GETs: a read
		for i := 2; i < len(args); i++ {
			if eq(args[i], "set") || eq(args[i], "incrby") {
				return "RW access update"
			}
		}
		return "RO access"
	}
	return strings.TrimSuffix(flags, " variable_flags")
}
