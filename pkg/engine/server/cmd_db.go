package server

func init() {
	def("move", 3, "write fast", 1, 1, 1, cmdMove)
	def("swapdb", 3, "write fast", 0, 0, 0, cmdSwapDB)
	def("lolwut", -1, "readonly fast", 0, 0, 0, cmdLolwut)
}

// The engine serves one database (databases is 1), so MOVE and SWAPDB can
// only name database 0; their replies and errors are Redis 7.0's for that
// configuration, and its cluster-mode refusals on a cluster node.

// cmdMove: MOVE key db.
func cmdMove(c *Client, args [][]byte) {
	if c.srv.Cluster != nil {
		c.w.WriteError("ERR MOVE is not allowed in cluster mode")
		return
	}
	db, ok := parseInt(args[2])
	switch {
	case !ok:
		c.w.WriteError(errNotInt)
	case db != 0:
		c.w.WriteError("ERR DB index is out of range")
	default: // Redis checks the databases before it looks the key up
		c.w.WriteError("ERR source and destination objects are the same")
	}
}

// cmdSwapDB: SWAPDB index1 index2; swapping database 0 with itself is a
// no-op Redis acknowledges.
func cmdSwapDB(c *Client, args [][]byte) {
	if c.srv.Cluster != nil {
		c.w.WriteError("ERR SWAPDB is not allowed in cluster mode")
		return
	}
	first, ok := parseInt(args[1])
	if !ok {
		c.w.WriteError("ERR invalid first DB index")
		return
	}
	second, ok := parseInt(args[2])
	if !ok {
		c.w.WriteError("ERR invalid second DB index")
		return
	}
	if first != 0 || second != 0 {
		c.w.WriteError("ERR DB index is out of range")
		return
	}
	c.w.WriteRaw(okReply)
}

// cmdLolwut: LOLWUT [VERSION v] answers what Redis 7.0 shows for versions
// without computer art (the engine draws none, also for VERSION 5 and 6).
func cmdLolwut(c *Client, args [][]byte) {
	if len(args) >= 3 && eq(args[1], "version") {
		if _, ok := parseInt(args[2]); !ok {
			c.w.WriteError(errNotInt)
			return
		}
	}
	c.w.WriteVerbatim("Redis ver. " + Version + "\n")
}
