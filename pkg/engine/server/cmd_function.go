package server

import (
	"strings"

	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Functions (FUNCTION LOAD ... / FCALL), Redis 7.0's named, persisted Lua
// libraries, on the same Lua engine as EVAL.

func init() {
	def("fcall", -3, "noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys", 0, 0, 0, cmdFCall).movable = numKeysAt(2)
	def("fcall_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", 0, 0, 0, cmdFCall).movable = numKeysAt(2)
	def("function", -2, "noscript nolock", 0, 0, 0, cmdFunction)
}

func cmdFCall(c *Client, args [][]byte) {
	if _, ok := parseInt(args[2]); !ok {
		c.w.WriteError("ERR Bad number of keys provided")
		return
	}
	keys, argv, ok := evalArgs(c, args, 2)
	if !ok {
		return
	}
	h := c.srv.scripting()
	name := strings.ToLower(string(args[0]))
	if flags, ok := h.eng.FunctionFlags(string(args[1])); ok && c.srv.Cluster != nil {
		for _, f := range flags {
			if f == "no-cluster" {
				c.w.WriteError("ERR Can not run script on cluster, 'no-cluster' flag is set.")
				return
			}
		}
	}
	h.begin(c, keys)
	defer h.end()
	h.eng.FCall(c.w, args, string(args[1]), keys, argv, name == "fcall_ro")
}

func cmdFunction(c *Client, args [][]byte) {
	h := c.srv.scripting()
	sub := strings.ToLower(string(args[1]))
	arityErr := func() { c.w.WriteError("ERR wrong number of arguments for 'function|" + sub + "' command") }
	switch sub {
	case "kill":
		if len(args) != 2 {
			arityErr()
			return
		}
		if msg := h.eng.Kill(true); msg != "" {
			c.w.WriteError(msg)
			return
		}
		c.w.WriteRaw(okReply)
		return
	case "stats":
		if len(args) != 2 {
			arityErr()
			return
		}
		h.eng.FunctionStats(c.w)
		return
	case "help":
		if len(args) == 2 {
			c.writeHelp("FUNCTION", functionHelp)
			return
		}
	}
	db := c.srv.DB
	db.Mu.Lock()
	defer db.Mu.Unlock()
	changed := false
	switch sub {
	case "load":
		if len(args) < 3 {
			arityErr()
			return
		}
		replace := false
		for _, opt := range args[2 : len(args)-1] {
			if !eq(opt, "replace") {
				c.w.WriteError("ERR Unknown option given: " + printable(opt, 128))
				return
			}
			replace = true
		}
		name, msg := h.eng.FunctionLoad(args[len(args)-1], replace)
		if msg != "" {
			c.w.WriteError(msg)
			return
		}
		c.w.WriteBulkString(name)
		changed = true
	case "delete":
		if len(args) != 3 {
			arityErr()
			return
		}
		if msg := h.eng.FunctionDelete(string(args[2])); msg != "" {
			c.w.WriteError(msg)
			return
		}
		c.w.WriteRaw(okReply)
		changed = true
	case "flush":
		if len(args) > 3 {
			c.w.WriteError("ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.")
			return
		}
		if len(args) == 3 && !eq(args[2], "sync") && !eq(args[2], "async") {
			c.w.WriteError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
			return
		}
		h.eng.FunctionFlush()
		c.w.WriteRaw(okReply)
		changed = true
	case "list":
		withCode := false
		var pattern []byte
		for i := 2; i < len(args); i++ {
			// as Redis: a repeated option is an unknown argument
			switch {
			case !withCode && eq(args[i], "withcode"):
				withCode = true
			case pattern == nil && eq(args[i], "libraryname"):
				if i == len(args)-1 {
					c.w.WriteError("ERR library name argument was not given")
					return
				}
				pattern = args[i+1]
				i++
			default:
				c.w.WriteError("ERR Unknown argument " + printable(args[i], 128))
				return
			}
		}
		var match func(string) bool
		if pattern != nil {
			match = func(name string) bool { return store.Match(pattern, []byte(name)) }
		}
		h.eng.FunctionList(c.w, match, withCode)
	case "dump":
		if len(args) != 2 {
			arityErr()
			return
		}
		c.w.WriteBulk(h.eng.FunctionDump())
	case "restore":
		if len(args) > 4 {
			c.w.WriteError("ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.")
			return
		}
		if len(args) != 3 && len(args) != 4 {
			arityErr()
			return
		}
		policy := "append"
		if len(args) == 4 {
			switch {
			case eq(args[3], "flush"), eq(args[3], "append"), eq(args[3], "replace"):
				policy = strings.ToLower(string(args[3]))
			default:
				c.w.WriteError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
				return
			}
		}
		if msg := h.eng.FunctionRestore(args[2], policy); msg != "" {
			c.w.WriteError(msg)
			return
		}
		c.w.WriteRaw(okReply)
		changed = true
	default:
		c.w.WriteError(unknownSubcommand(args[1], "FUNCTION"))
		return
	}
	if changed && c.srv.propagating() {
		c.srv.propagate(commandTable["function"], args)
	}
}

// FunctionLibraries returns the code of every loaded function library, for
// RDB and AOF files (saved ahead of the keys, as Redis 7.0 does).
func (s *Server) FunctionLibraries() [][]byte {
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	return s.scripting().eng.LibraryCodes()
}

// LoadFunctionLibraries installs libraries read from an RDB or AOF file; a
// library replaces one of the same name.
func (s *Server) LoadFunctionLibraries(codes [][]byte) error {
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	if msg := s.scripting().eng.LoadLibraries(codes); msg != "" {
		return errString(msg)
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }
