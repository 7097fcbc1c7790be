package server

import (
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// HyperLogLog commands over store/hll.go: the values are plain strings
// identical to Redis's for the same commands.

func init() {
	def("pfadd", -2, "write denyoom fast", 1, 1, 1, cmdPFAdd)
	def("pfcount", -2, "readonly may_replicate", 1, -1, 1, cmdPFCount)
	def("pfmerge", -2, "write denyoom", 1, -1, 1, cmdPFMerge)
	def("pfdebug", 3, "write denyoom admin", 2, 2, 1, cmdPFDebug)
	def("pfselftest", 1, "admin", 0, 0, 0, cmdPFSelfTest)
}

const errNotHLL = "WRONGTYPE Key is not a valid HyperLogLog string value."

// hllValue returns key's HLL string (nil when missing); ok is false when
// an error was written.
func (c *Client) hllValue(key []byte) ([]byte, bool) {
	v, found, err := c.srv.DB.GetString(key)
	if err != nil {
		c.w.WriteError(errWrongType)
		return nil, false
	}
	if !found {
		return nil, true
	}
	if !store.IsHLL(v) {
		c.w.WriteError(errNotHLL)
		return nil, false
	}
	return v, true
}

func (c *Client) hllSparseMax() int {
	if n := c.srv.Cfg.Int("hll-sparse-max-bytes"); n > 0 {
		return n
	}
	return 3000
}

// storeHLL saves a new HLL value for key, keeping its TTL, and tells
// watchers.
func (c *Client) storeHLL(key, v []byte) {
	c.srv.DB.SetStringForm(key, v, store.FormRaw) // Redis's HLLs are raw strings
	c.srv.DB.Touch(key)
}

func cmdPFAdd(c *Client, args [][]byte) {
	v, ok := c.hllValue(args[1])
	if !ok {
		return
	}
	created := v == nil
	if !created && store.HLLDenseUnchanged(v, args[2:]) {
		c.w.WriteInt(0)
		return
	}
	if created {
		v = store.NewHLL()
	} else {
		v = append([]byte(nil), v...) // the store's copy changes only if all goes well
	}
	v, changed, err := store.HLLAdd(v, args[2:], c.hllSparseMax())
	if err != nil {
		c.w.WriteError(err.Error())
		return
	}
	if created || changed {
		if created {
			store.HLLInvalidateCache(v)
		}
		c.storeHLL(args[1], v)
		c.w.WriteInt(1)
		return
	}
	c.w.WriteInt(0)
}

func cmdPFCount(c *Client, args [][]byte) {
	if len(args) > 2 {
		var max [store.HLLRegisters]uint8
		for _, k := range args[1:] {
			v, ok := c.hllValue(k)
			if !ok {
				return
			}
			if v == nil {
				continue
			}
			if err := store.HLLMergeInto(&max, v); err != nil {
				c.w.WriteError(err.Error())
				return
			}
		}
		c.w.WriteInt(int64(store.HLLCountRegisters(&max)))
		return
	}
	v, ok := c.hllValue(args[1])
	if !ok {
		return
	}
	if v == nil {
		c.w.WriteInt(0)
		return
	}
	if card, valid := store.CachedCard(v); valid {
		c.w.WriteInt(int64(card))
		return
	}
	card, err := store.HLLCount(v)
	if err != nil {
		c.w.WriteError(err.Error())
		return
	}
	// the cached cardinality is part of the value, as in Redis
	v = append([]byte(nil), v...)
	store.SetCachedCard(v, card)
	c.storeHLL(args[1], v)
	c.w.WriteInt(int64(card))
}

func cmdPFMerge(c *Client, args [][]byte) {
	var max [store.HLLRegisters]uint8
	dense := false
	for _, k := range args[1:] {
		v, ok := c.hllValue(k)
		if !ok {
			return
		}
		if v == nil {
			continue
		}
		if v[4] == store.HLLDense {
			dense = true
		}
		if err := store.HLLMergeInto(&max, v); err != nil {
			c.w.WriteError(err.Error())
			return
		}
	}
	dst, _, _ := c.srv.DB.GetString(args[1]) // checked above
	if dst == nil {
		dst = store.NewHLL()
	} else {
		dst = append([]byte(nil), dst...)
	}
	dst, err := store.HLLFromRegisters(dst, &max, dense, c.hllSparseMax())
	if err != nil {
		c.w.WriteError(err.Error())
		return
	}
	c.storeHLL(args[1], dst)
	c.w.WriteRaw(okReply)
}

// cmdPFDebug: PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
func cmdPFDebug(c *Client, args [][]byte) {
	sub := string(args[1])
	v, ok := c.hllValue(args[2])
	if !ok {
		return
	}
	if v == nil {
		c.w.WriteError("ERR The specified key does not exist")
		return
	}
	switch {
	case eq(args[1], "getreg"):
		d, err := store.HLLToDense(v)
		if err != nil {
			c.w.WriteError(err.Error())
			return
		}
		if v[4] == store.HLLSparse {
			c.storeHLL(args[2], d)
		}
		regs, _ := store.HLLGetRegisters(d)
		c.w.WriteArrayLen(len(regs))
		for _, r := range regs {
			c.w.WriteInt(int64(r))
		}
	case eq(args[1], "decode"):
		if v[4] != store.HLLSparse {
			c.w.WriteError("ERR HLL encoding is not sparse")
			return
		}
		c.w.WriteBulkString(store.HLLDecode(v))
	case eq(args[1], "encoding"):
		if v[4] == store.HLLDense {
			c.w.WriteSimple("dense")
		} else {
			c.w.WriteSimple("sparse")
		}
	case eq(args[1], "todense"):
		if v[4] == store.HLLDense {
			c.w.WriteInt(0)
			return
		}
		d, err := store.HLLToDense(v)
		if err != nil {
			c.w.WriteError(err.Error())
			return
		}
		c.storeHLL(args[2], d)
		c.w.WriteInt(1)
	default:
		c.w.WriteError("ERR Unknown PFDEBUG subcommand '" + printable([]byte(sub), 128) + "'")
	}
}

func cmdPFSelfTest(c *Client, _ [][]byte) {
	if err := store.HLLSelfTest(); err != nil {
		c.w.WriteError(err.Error())
		return
	}
	c.w.WriteRaw(okReply)
}
