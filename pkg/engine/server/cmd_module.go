package server

func init() {
	def("module", -2, "admin noscript nolock", 0, 0, 0, cmdModule)
}

// cmdModule: the engine loads no modules. MODULE is refused unless
// enable-module-command allows it (as in Redis); then LIST is empty and
// LOAD/LOADEX/UNLOAD fail with Redis's errors.
func cmdModule(c *Client, args [][]byte) {
	sub := string(lower(args[1]))
	if sub == "load" || sub == "loadex" || sub == "unload" {
		allowed := c.srv.Cfg.Get("enable-module-command")
		if allowed != "yes" && !(allowed == "local" && c.isLocal()) {
			c.w.WriteError("ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.")
			return
		}
	}
	switch {
	case sub == "list" && len(args) == 2:
		c.w.WriteArrayLen(0)
	case (sub == "load" || sub == "loadex") && len(args) >= 3:
		c.w.WriteError("ERR Error loading the extension. Please check the server logs.")
	case sub == "unload" && len(args) == 3:
		c.w.WriteError("ERR Error unloading module: no such module with that name")
	case sub == "help" && len(args) == 2:
		c.writeHelp("MODULE", moduleHelp)
	default:
		c.w.WriteError(unknownSubcommand(args[1], "MODULE"))
	}
}
