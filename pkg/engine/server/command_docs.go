package server

import "strings"

// commandDoc is what COMMAND DOCS says of one command or subcommand but
// its summary and history notes (command_docs_text.go, the project's own
// words): the structural facts of redis-server 7.0's reply
// (command_docs_redis.go) or of the engine's own subcommands.
type commandDoc struct {
	since      string
	group      string
	complexity string // the big-O expressions only; words are ours
	docFlags   string // "deprecated", "syscmd", space separated
	deprecated string // deprecated_since
	replacedBy string
	history    []string // versions; what changed is historyNote's
	args       []docArg
}

// docArg is one argument in COMMAND DOCS's "arguments" tree.
type docArg struct {
	name       string
	typ        string // string, integer, double, key, pattern, unix-time, pure-token, oneof, block
	keySpec    int    // index into the key specifications, -1 for none
	token      string
	since      string
	deprecated string
	flags      string // optional, multiple, multiple_token
	args       []docArg
}

// commandDocOf is COMMAND DOCS's entry for name (lower case, served).
// A served command without one (a test's) gets Redis's default group.
func commandDocOf(name string) commandDoc {
	if d, ok := redisCommandDocs[name]; ok {
		return d
	}
	if d, ok := engineCommandDocs[name]; ok {
		return d
	}
	return commandDoc{group: "generic"}
}

// commandDocs is COMMAND DOCS [name ...]: a map from full name to
// documentation, every served command when no name is given; names not
// served are left out, as Redis leaves out unknown ones.
func (c *Client) commandDocs(names [][]byte) {
	var out []string
	if len(names) == 0 {
		out = sortedCommandNames()
	}
	for _, n := range names {
		if name := string(lower(n)); c.srv.serves(name) {
			out = append(out, name)
		}
	}
	c.w.WriteMapLen(len(out))
	for _, name := range out {
		c.w.WriteBulkString(name)
		c.writeCommandDoc(name)
	}
}

// writeCommandDoc writes one entry's map, keys in Redis's order.
func (c *Client) writeCommandDoc(name string) {
	d := commandDocOf(name)
	summary := commandSummaries[name]
	subs, container := c.srv.subcommandsOf(name)
	fields := 1 // group
	for _, present := range []bool{summary != "", d.since != "", d.complexity != "" || complexityWords[name] != "",
		d.docFlags != "", d.deprecated != "", d.replacedBy != "", len(d.history) > 0, len(d.args) > 0, container} {
		if present {
			fields++
		}
	}
	c.w.WriteMapLen(fields)
	c.writeOptionalField("summary", summary)
	c.writeOptionalField("since", d.since)
	c.writeOptionalField("group", d.group)
	c.writeOptionalField("complexity", complexityOf(name, d))
	if d.docFlags != "" {
		c.w.WriteBulkString("doc_flags")
		c.writeSimpleSet(strings.Fields(d.docFlags), "")
	}
	c.writeOptionalField("deprecated_since", d.deprecated)
	c.writeOptionalField("replaced_by", d.replacedBy)
	if len(d.history) > 0 {
		c.w.WriteBulkString("history")
		c.w.WriteSetLen(len(d.history))
		for _, v := range d.history {
			c.w.WriteArrayLen(2)
			c.w.WriteBulkString(v)
			c.w.WriteBulkString(historyNote(name, v, d.args))
		}
	}
	if len(d.args) > 0 {
		c.w.WriteBulkString("arguments")
		c.writeDocArgs(d.args)
	}
	if container {
		c.w.WriteBulkString("subcommands")
		c.w.WriteMapLen(len(subs))
		for _, s := range subs {
			c.w.WriteBulkString(s)
			c.writeCommandDoc(s)
		}
	}
}

func (c *Client) writeOptionalField(key, value string) {
	if value != "" {
		c.w.WriteBulkString(key)
		c.w.WriteBulkString(value)
	}
}

// writeDocArgs writes an argument list, each argument's keys in Redis's
// order (Redis 7.0 gives no argument a summary).
func (c *Client) writeDocArgs(args []docArg) {
	c.w.WriteArrayLen(len(args))
	for _, a := range args {
		fields := 2
		for _, present := range []bool{a.keySpec >= 0, a.token != "" || a.typ == "pure-token", a.since != "", a.deprecated != "", a.flags != "", len(a.args) > 0} {
			if present {
				fields++
			}
		}
		c.w.WriteMapLen(fields)
		c.writeOptionalField("name", a.name)
		c.writeOptionalField("type", a.typ)
		if a.keySpec >= 0 {
			c.w.WriteBulkString("key_spec_index")
			c.w.WriteInt(int64(a.keySpec))
		}
		if a.token != "" || a.typ == "pure-token" {
			c.w.WriteBulkString("token") // MIGRATE's empty_string token is ""
			c.w.WriteBulkString(a.token)
		}
		c.writeOptionalField("since", a.since)
		c.writeOptionalField("deprecated_since", a.deprecated)
		if a.flags != "" {
			c.w.WriteBulkString("flags")
			c.writeSimpleSet(strings.Fields(a.flags), "")
		}
		if len(a.args) > 0 {
			c.w.WriteBulkString("arguments")
			c.writeDocArgs(a.args)
		}
	}
}

// complexityOf is the complexity line: our words where we wrote some,
// else the big-O expressions Redis states, joined.
func complexityOf(name string, d commandDoc) string {
	if w := complexityWords[name]; w != "" {
		return w
	}
	return d.complexity
}

// historyNote says what changed in name at version: our note when we wrote
// one, else the arguments that appeared then.
func historyNote(name, version string, args []docArg) string {
	if n := historyNotes[name+" "+version]; n != "" {
		return n
	}
	var added []string
	var walk func([]docArg)
	walk = func(args []docArg) {
		for _, a := range args {
			if a.since == version {
				added = append(added, argLabel(a))
				continue
			}
			walk(a.args)
		}
	}
	walk(args)
	if len(added) == 0 {
		return "Behaviour changed in this version."
	}
	return "New argument" + map[bool]string{true: "s", false: ""}[len(added) > 1] + ": " + strings.Join(added, ", ") + "."
}

// argLabel names an argument by its token, or its tokens' choices, or its
// name.
func argLabel(a docArg) string {
	if a.token != "" {
		return a.token
	}
	if a.typ == "oneof" {
		var choices []string
		for _, s := range a.args {
			choices = append(choices, argLabel(s))
		}
		return strings.Join(choices, "|")
	}
	return a.name
}
