package server

// The <CMD> HELP replies. The header, the syntax lines (no indent) and
// their order are redis-server 7.0.15's, since clients and Redis's tests
// match on them; the indented descriptions are the engine's own words.
// DEBUG's table lives in cmd_debug.go, CLUSTER's in pkg/engine/cluster.

// writeHelp answers <cmd> HELP: the common header, the command's entries,
// then the HELP entry every such reply ends with.
func (c *Client) writeHelp(cmd string, entries []string) {
	c.w.WriteArrayLen(len(entries) + 3)
	c.w.WriteSimple(cmd + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range entries {
		c.w.WriteSimple(l)
	}
	c.w.WriteSimple("HELP")
	c.w.WriteSimple("    This text.")
}

var aclHelp = []string{
	"CAT [<category>]", "    The categories, or the commands in one.",
	"DELUSER <username> [<username> ...]", "    Remove users.",
	"DRYRUN <username> <command> [<arg> ...]", "    Would the user be allowed to run this command?",
	"GETUSER <username>", "    A user's flags, passwords and permissions.",
	"GENPASS [<bits>]", "    A random password (256 bits unless told).",
	"LIST", "    Every user, as rules.",
	"LOAD", "    Replace the users with the ACL file's.",
	"LOG [<count> | RESET]", "    Refused commands and logins.",
	"SAVE", "    Write the users to the ACL file.",
	"SETUSER <username> <attribute> [<attribute> ...]", "    Create or change a user.",
	"USERS", "    The user names.",
	"WHOAMI", "    This connection's user.",
}

var clientHelp = []string{
	"CACHING (YES|NO)", "    Under OPTIN or OPTOUT tracking: track the next command's keys or not.",
	"GETREDIR", "    Id of the client receiving this one's invalidations (0: none, -1: not tracking).",
	"GETNAME", "    This connection's name, or nil.",
	"ID", "    This connection's id.",
	"INFO", "    This connection's CLIENT LIST line.",
	"KILL <ip:port>", "    Close the connection from that address (the old form).",
	"KILL <option> <value> [<option> <value> [...]]",
	"    Close every connection that passes all the filters: ID <id>, TYPE <type>,",
	"    USER <username>, ADDR or LADDR <ip:port> (the client's or the server's end),",
	"    SKIPME NO to include this connection. Answers how many were closed.",
	"LIST [options ...]", "    One line of fields per connection; TYPE <type> or ID <id> ... picks some.",
	"UNPAUSE", "    End a CLIENT PAUSE early.",
	"PAUSE <timeout> [WRITE|ALL]", "    Hold clients' commands (only writes with WRITE) for <timeout> ms.",
	"REPLY (ON|OFF|SKIP)", "    Replies to this connection: on, off, or off for the next command only.",
	"SETNAME <name>", "    Name this connection (no spaces; empty clears it).",
	"UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Wake a client blocked in a command, as if timed out or with an error.",
	"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
	"         [OPTIN] [OPTOUT] [NOLOOP]",
	"    Key tracking for client side caching: invalidation messages when read keys change.",
	"TRACKINGINFO", "    This connection's tracking flags, redirect id and prefixes.",
	"NO-EVICT (ON|OFF)", "    ON exempts this connection from client eviction (maxmemory-clients).",
}

var commandHelp = []string{
	"(no subcommand)", "    Every command's name, arity, flags, key positions and categories.",
	"COUNT", "    How many commands the server knows.",
	"LIST", "    Every command's name; FILTERBY MODULE, ACLCAT or PATTERN narrows it.",
	"INFO [<command-name> ...]", "    COMMAND's details for the named commands only (all when none named).",
	"DOCS [<command-name> ...]", "    Summary, group, since, arguments... of the named commands (all when none named).",
	"GETKEYS <full-command>", "    Which arguments of the given command line are keys.",
	"GETKEYSANDFLAGS <full-command>", "    GETKEYS, with how the command uses each key (RW, RO, insert, ...).",
}

var configHelp = []string{
	"GET <pattern>", "    Name and value of each parameter whose name matches the glob.",
	"SET <directive> <value>", "    Change parameters at run time (several pairs at once allowed).",
	"RESETSTAT", "    Zero INFO's counters.",
	"REWRITE", "    Write the running configuration back to the config file.",
}

var functionHelp = []string{
	"LOAD [REPLACE] <FUNCTION CODE>",
	"    Register the library the code declares (#!lua name=...); REPLACE overwrites one of that name.",
	"DELETE <LIBRARY NAME>", "    Remove a library with its functions.",
	"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	"    Each library (or those whose name matches the glob): name, engine, functions,",
	"    and with WITHCODE its source.",
	"STATS",
	"    The function now running, if any (name, command line, milliseconds so far),",
	"    and each engine with its library and function counts.",
	"KILL", "    Stop the running function, if it has written nothing.",
	"FLUSH [ASYNC|SYNC]", "    Remove every library; without a mode, lazyfree-lazy-user-flush picks one.",
	"DUMP", "    Every library as one binary payload, for FUNCTION RESTORE.",
	"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	"    Load the libraries of a DUMP payload. APPEND (the default) fails on a name",
	"    clash, REPLACE overwrites the clashing libraries, FLUSH drops all others first.",
}

var latencyHelp = []string{
	"DOCTOR", "    A plain text review of the recorded latency spikes, with advice.",
	"GRAPH <event>", "    An ASCII chart of <event>'s recent spikes.",
	"HISTORY <event>", "    <event>'s samples as (unix time, milliseconds) pairs.",
	"LATEST", "    Per event: time of the newest sample, its milliseconds and the highest seen.",
	"RESET [<event> ...]", "    Forget the samples of the named events, or of every event.",
	"HISTOGRAM [COMMAND ...]",
	"    Per command: calls and cumulative latency buckets in microseconds (every command",
	"    run so far when none named).",
}

var memoryHelp = []string{
	"DOCTOR", "    Advice about the server's memory use, in plain words.",
	"MALLOC-STATS", "    The Go runtime's allocator statistics.",
	"PURGE", "    Collect garbage now and give free memory back to the OS.",
	"STATS", "    Memory use broken down: startup, clients, buffers, dataset, per database...",
	"USAGE <key> [SAMPLES <count>]",
	"    Estimated bytes held by <key>; collections are estimated from <count>",
	"    elements (5 by default, 0 for all of them).",
}

var moduleHelp = []string{
	"LIST", "    The engine loads no modules: always empty.",
	"LOAD <path> [<arg> ...]", "    Refused: the engine loads no modules.",
	"LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]", "    Refused, as LOAD.",
	"UNLOAD <name>", "    Refused: no module is ever loaded.",
}

var objectHelp = []string{
	"ENCODING <key>", "    How <key>'s value is stored: raw, int, embstr, listpack, quicklist, hashtable...",
	"FREQ <key>", "    <key>'s logarithmic access counter (only under an LFU maxmemory-policy).",
	"IDLETIME <key>", "    Seconds since <key> was last read or written (not under LFU).",
	"REFCOUNT <key>", "    References to <key>'s value: 1, or 2147483647 for Redis's shared small integers.",
}

var pubsubHelp = []string{
	"CHANNELS [<pattern>]", "    Channels with subscribers; with a glob, only those matching it.",
	"NUMPAT", "    How many pattern subscriptions there are, over all clients.",
	"NUMSUB [<channel> ...]", "    Each channel with its count of direct subscribers (patterns not counted).",
	"SHARDCHANNELS [<pattern>]", "    CHANNELS for shard channels (SSUBSCRIBE).",
	"SHARDNUMSUB [<shardchannel> ...]", "    NUMSUB for shard channels.",
}

var scriptHelp = []string{
	"DEBUG (YES|SYNC|NO)", "    The Lua debugger: not supported here, answers an error.",
	"EXISTS <sha1> [<sha1> ...]", "    1 or 0 per sha1: is that script cached.",
	"FLUSH [ASYNC|SYNC]",
	"    Empty the script cache (replicas lose their scripts too); without a mode,",
	"    lazyfree-lazy-user-flush picks one.",
	"KILL", "    Stop the running script, if it has written nothing.",
	"LOAD <script>", "    Cache <script> and answer its sha1, without running it.",
}

var slowlogHelp = []string{
	"GET [<count>]",
	"    The newest <count> slow commands (10 by default, -1 for all): id, unix time,",
	"    microseconds taken, arguments, client address and client name.",
	"LEN", "    How many slow commands are logged.",
	"RESET", "    Forget every logged slow command.",
}

var xgroupHelp = []string{
	"CREATE <key> <groupname> <id|$> [option]",
	"    Add a consumer group that reads after <id> ($: the newest entry). MKSTREAM",
	"    makes an empty stream if <key> is missing; ENTRIESREAD <n> sets the group's",
	"    count of entries read (replication uses it).",
	"CREATECONSUMER <key> <groupname> <consumer>", "    Add <consumer> to the group; 0 if it was there already.",
	"DELCONSUMER <key> <groupname> <consumer>", "    Remove <consumer>; answers how many messages it had pending.",
	"DESTROY <key> <groupname>", "    Delete the group with its pending lists.",
	"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
	"    Move the group's last delivered id, and optionally its entries read count.",
}

var xinfoHelp = []string{
	"CONSUMERS <key> <groupname>", "    Each consumer of the group: name, pending count, idle time.",
	"GROUPS <key>", "    Each consumer group of the stream: name, consumers, pending, last id, lag.",
	"STREAM <key> [FULL [COUNT <count>]",
	"    Length, ids and first and last entries; FULL lists entries, groups and",
	"    consumers in detail (COUNT caps the entries, 10 by default, 0 for all).",
}
