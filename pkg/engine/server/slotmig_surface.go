package server

// The engine serves both families' commands for atomic slot migration on
// one mechanism. The hidden engine-atomic-surface knob presents only one
// of them, so tools can be tested against a node that looks like Valkey
// 9.0 or like Redis 8.4: the other family's subcommands answer as unknown
// and COMMAND INFO, LIST and DOCS leave them out. CLUSTER SYNCSLOTS, the
// nodes' own link, stays in both.

// valkeySurface lists Valkey 9.0's subcommands; Redis 8.4's is
// redis84Surface.
var valkeySurface = map[string]bool{
	"cluster|migrateslots": true, "cluster|getslotmigrations": true, "cluster|cancelslotmigrations": true,
}

const redis84Surface = "cluster|migration"

// presents reports whether the server answers the command or subcommand
// name (lower case, "parent|sub") under engine-atomic-surface.
func (s *Server) presents(name string) bool {
	switch s.Cfg.Get("engine-atomic-surface") {
	case "valkey":
		return name != redis84Surface
	case "redis84":
		return !valkeySurface[name]
	}
	return true
}

// serves is servedCommand, less what engine-atomic-surface hides.
func (s *Server) serves(name string) bool { return servedCommand(name) && s.presents(name) }

// subcommandsOf is name's served subcommands, less the hidden ones.
func (s *Server) subcommandsOf(name string) ([]string, bool) {
	subs, container := servedSubcommands()[name]
	if !container {
		return nil, false
	}
	out := subs[:0:0]
	for _, sub := range subs {
		if s.presents(sub) {
			out = append(out, sub)
		}
	}
	return out, true
}
