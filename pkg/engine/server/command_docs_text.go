package server

// The prose of COMMAND DOCS, written for this project (never Redis's
// documentation text): one short summary per command and subcommand the
// engine serves, complexity wording where Redis's has no big-O expression
// to keep, and notes for history entries that a new argument does not
// explain. command_docs_summaries.go holds the summaries.

// complexityWords is the complexity line of commands whose cost depends on
// what they run or that have no meaningful bound (Redis states none for
// LOLWUT, MONITOR, PSYNC and SYNC, and neither do we).
var complexityWords = map[string]string{
	"acl":                 "See the subcommand.",
	"client":              "See the subcommand.",
	"cluster":             "See the subcommand.",
	"config":              "See the subcommand.",
	"function":            "See the subcommand.",
	"latency":             "See the subcommand.",
	"memory":              "See the subcommand.",
	"module":              "See the subcommand.",
	"object":              "See the subcommand.",
	"pubsub":              "See the subcommand.",
	"script":              "See the subcommand.",
	"slowlog":             "See the subcommand.",
	"xgroup":              "See the subcommand.",
	"xinfo":               "See the subcommand.",
	"eval":                "That of the script run.",
	"eval_ro":             "That of the script run.",
	"evalsha":             "That of the script run.",
	"evalsha_ro":          "That of the script run.",
	"fcall":               "That of the function run.",
	"fcall_ro":            "That of the function run.",
	"exec":                "The sum of the queued commands' costs.",
	"memory|purge":        "Proportional to the allocator's memory; may take a while.",
	"memory|malloc-stats": "Proportional to the allocator's memory; may take a while.",
	"debug":               "Varies with the debugging subcommand.",
	"pfdebug":             "Not applicable.",
	"pfselftest":          "Not applicable.",
}

// historyNotes says, keyed "name version", what changed when no argument
// appeared in that version (historyNote derives the others).
var historyNotes = map[string]string{
	"acl|getuser 6.2.0":       "The reply shows channel patterns.",
	"acl|getuser 7.0.0":       "The reply shows selectors, and key patterns with their read/write marks.",
	"acl|setuser 6.2.0":       "Rules for pub/sub channel patterns.",
	"acl|setuser 7.0.0":       "Selectors, and read/write permissions per key pattern.",
	"blpop 6.0.0":             "The timeout may have a fractional part.",
	"brpop 6.0.0":             "The timeout may have a fractional part.",
	"brpoplpush 6.0.0":        "The timeout may have a fractional part.",
	"bzpopmax 6.0.0":          "The timeout may have a fractional part.",
	"bzpopmin 6.0.0":          "The timeout may have a fractional part.",
	"client|list 2.8.12":      "Lines show each client's id.",
	"client|list 6.0.0":       "Lines show the ACL user.",
	"client|list 7.0.0":       "Lines show the protocol version and more buffer sizes.",
	"client|list 7.0.3":       "Lines count shard channel subscriptions.",
	"cluster|slots 4.0.0":     "Replies include node ids.",
	"cluster|slots 7.0.0":     "Replies include a map of extra network details per node.",
	"command|info 7.0.0":      "Without names, describes every command.",
	"config|get 7.0.0":        "Takes several patterns in one call.",
	"config|set 7.0.0":        "Takes several parameter/value pairs in one call.",
	"exists 3.0.3":            "Takes several keys.",
	"georadius 7.0.0":         "Units may be written in capitals.",
	"georadiusbymember 7.0.0": "Units may be written in capitals.",
	"geosearch 7.0.0":         "Units may be written in capitals.",
	"geosearchstore 7.0.0":    "Units may be written in capitals.",
	"hdel 2.4.0":              "Takes several fields.",
	"hello 6.2.0":             "The protocol version may be left out, to just describe the connection.",
	"hset 4.0.0":              "Takes several field/value pairs.",
	"info 7.0.0":              "Takes several section names.",
	"lpush 2.4.0":             "Takes several elements.",
	"lpushx 4.0.0":            "Takes several elements.",
	"pttl 2.8.0":              "Answers -2 for a missing key, telling it apart from a key without expiry.",
	"renamenx 3.2.0":          "Renaming a key to its own name is no longer an error.",
	"rpush 2.4.0":             "Takes several elements.",
	"rpushx 4.0.0":            "Takes several elements.",
	"sadd 2.4.0":              "Takes several members.",
	"set 7.0.0":               "NX may be combined with GET.",
	"slowlog|get 4.0.0":       "Entries show the client's address and name.",
	"srem 2.4.0":              "Takes several members.",
	"ttl 2.8.0":               "Answers -2 for a missing key, telling it apart from a key without expiry.",
	"xadd 7.0.0":              "Ids may give the milliseconds and leave the sequence number to the server.",
	"xautoclaim 7.0.0":        "Replies also list the ids of deleted entries it dropped from the pending list.",
	"xgroup|create 7.0.0":     "ENTRIESREAD sets how many entries the group has read.",
	"xgroup|setid 7.0.0":      "ENTRIESREAD sets how many entries the group has read.",
	"xinfo|groups 7.0.0":      "Groups show their read counter and lag.",
	"xinfo|stream 6.0.0":      "FULL describes every entry, group and consumer.",
	"xinfo|stream 7.0.0":      "Replies include the stream's counters of added and deleted entries.",
	"xrange 6.2.0":            "Range ends may be exclusive.",
	"xrevrange 6.2.0":         "Range ends may be exclusive.",
	"zadd 2.4.0":              "Takes several score/member pairs.",
	"zrem 2.4.0":              "Takes several members.",
	"zrevrangebyscore 2.1.6":  "Score bounds may be exclusive.",
}

// migrationTaskArgs: CLUSTER MIGRATION CANCEL's and STATUS's ID id | ALL
// (optional in STATUS's documentation, as Redis 8.4 has it).
func migrationTaskArgs(flags string) []docArg {
	return []docArg{{name: "task-id", typ: "string", keySpec: -1, token: "ID", flags: flags},
		{name: "all", typ: "pure-token", keySpec: -1, token: "ALL", flags: flags}}
}

// engineCommandDocs documents the engine's own subcommands, the atomic
// slot migration ones (engineSubcommands).
var engineCommandDocs = map[string]commandDoc{
	"cluster|migrateslots": {since: "9.0.0", group: "cluster", complexity: "O(N)", args: []docArg{
		{name: "migration", typ: "block", keySpec: -1, flags: "multiple", args: []docArg{
			{name: "ranges", typ: "block", keySpec: -1, token: "SLOTSRANGE", flags: "multiple", args: []docArg{
				{name: "start-slot", typ: "integer", keySpec: -1}, {name: "end-slot", typ: "integer", keySpec: -1}}},
			{name: "node-id", typ: "string", keySpec: -1, token: "NODE"}}},
	}},
	"cluster|getslotmigrations":    {since: "9.0.0", group: "cluster", complexity: "O(N)"},
	"cluster|cancelslotmigrations": {since: "9.0.0", group: "cluster", complexity: "O(N)"},
	"cluster|syncslots":            {since: "9.0.0", group: "cluster", complexity: "O(1)", docFlags: "syscmd"},
	"cluster|migration": {since: "8.4.0", group: "cluster", complexity: "O(N)", args: []docArg{
		{name: "subcommand", typ: "oneof", keySpec: -1, args: []docArg{
			{name: "import", typ: "block", keySpec: -1, token: "IMPORT", flags: "multiple", args: []docArg{
				{name: "start-slot", typ: "integer", keySpec: -1}, {name: "end-slot", typ: "integer", keySpec: -1}}},
			{name: "cancel", typ: "oneof", keySpec: -1, token: "CANCEL", args: migrationTaskArgs("")},
			{name: "status", typ: "oneof", keySpec: -1, token: "STATUS", args: migrationTaskArgs("optional")}}},
	}},
}
