package server

// commandInfo is what COMMAND INFO says of one command or subcommand, but
// its ACL categories (redisACLCategories): command_table_redis.go holds
// redis-server 7.0's, slotmig.go the engine's own subcommands.
type commandInfo struct {
	arity                   int
	flags                   string // Redis's order, space separated
	firstKey, lastKey, step int
	tips                    string // space separated
	specs                   []keySpec
}

// keySpec is one of a command's key specifications, as Redis 7 describes
// them: where the search for its keys begins and how they are found from
// there, with the flags COMMAND GETKEYSANDFLAGS reports for them.
type keySpec struct {
	notes string
	flags string
	begin keyBegin
	find  keyFind
}

// keyBegin is an argument index, or a keyword searched for from startFrom
// (negative: from the end), or neither when Redis finds the keys by code.
type keyBegin struct {
	index     int
	keyword   string
	startFrom int
}

func beginIndex(i int) keyBegin                  { return keyBegin{index: i} }
func beginKeyword(kw string, from int) keyBegin  { return keyBegin{keyword: kw, startFrom: from} }
func beginUnknown() keyBegin                     { return keyBegin{} }
func (b keyBegin) unknown() bool                 { return b.index == 0 && b.keyword == "" }
func findRange(last, step, limit int) keyFind    { return keyFind{"range", last, step, limit} }
func findKeynum(numIdx, first, step int) keyFind { return keyFind{"keynum", numIdx, first, step} }
func findUnknown() keyFind                       { return keyFind{kind: "unknown"} }

// keyFind is "range" (lastkey, keystep, limit), "keynum" (keynumidx,
// firstkey, keystep) or "unknown".
type keyFind struct {
	kind    string
	a, b, c int
}

// keySpecsOf is the key specifications of a command or "parent|sub".
func keySpecsOf(name string) []keySpec {
	return redisCommandTable[name].specs
}
