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
var historyNotes = map[string]string{}

// engineCommandDocs documents the engine's own subcommands, the atomic
// slot migration ones (engineSubcommands).
var engineCommandDocs = map[string]commandDoc{
	"cluster|migrateslots": {group: "cluster", complexity: "O(N)", args: []docArg{
		{name: "migration", typ: "block", keySpec: -1, flags: "multiple", args: []docArg{
			{name: "ranges", typ: "block", keySpec: -1, token: "SLOTSRANGE", flags: "multiple", args: []docArg{
				{name: "start-slot", typ: "integer", keySpec: -1}, {name: "end-slot", typ: "integer", keySpec: -1}}},
			{name: "node-id", typ: "string", keySpec: -1, token: "NODE"}}},
	}},
	"cluster|getslotmigrations":    {group: "cluster", complexity: "O(N)"},
	"cluster|cancelslotmigrations": {group: "cluster", complexity: "O(N)"},
	"cluster|syncslots":            {group: "cluster", complexity: "O(1)", docFlags: "syscmd"},
	"cluster|migration":            {group: "cluster", complexity: "O(N)"},
}
