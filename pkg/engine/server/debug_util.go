package server

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
)

// Helpers of DEBUG's smaller subcommands (cmd_debug.go).

func hex20(d [20]byte) string { return hex.EncodeToString(d[:]) }

// debugAddress stands in for the robj address DEBUG OBJECT shows: stable
// for a key, so tests that compare it before and after an in-place change
// (INCR) see the same object, as on redis-server.
func debugAddress(key []byte) uintptr {
	h := fnv.New64a()
	h.Write(key)
	return uintptr(0x7f0000000000 | h.Sum64()&0xffffffff0)
}

// cAtoi reads a number as C's atoi: optional spaces and sign, then digits
// up to the first other byte; nothing readable is 0.
func cAtoi(b []byte) int64 {
	s := strings.TrimLeft(string(b), " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// cStrtod reads the longest prefix of b that is a number, as C's strtod
// without an end pointer check: "1.5x" is 1.5, "x" is 0.
func cStrtod(b []byte) float64 {
	s := strings.TrimLeft(string(b), " \t\n\v\f\r")
	for end := len(s); end > 0; end-- {
		if f, err := strconv.ParseFloat(s[:end], 64); err == nil || isRangeErr(err) {
			return f
		}
	}
	return 0
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// validPackedThreshold is DEBUG QUICKLIST-PACKED-THRESHOLD's check: a
// memory value (digits and an optional unit, no sign) below 4 GB less 1 MB.
func validPackedThreshold(arg []byte) bool {
	s := string(arg)
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	mul := map[string]uint64{"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000 * 1000, "mb": 1 << 20,
		"g": 1000 * 1000 * 1000, "gb": 1 << 30}[strings.ToLower(s[digits:])]
	if mul == 0 || digits == 0 {
		return false
	}
	n, err := strconv.ParseUint(s[:digits], 10, 64)
	if err != nil || n > (1<<64-1)/mul {
		return false
	}
	return n*mul <= 1<<32-1<<20
}

// quicklistFields are DEBUG OBJECT's extra fields for a list, from the
// quicklist redis-server would build by pushing the items at the tail
// with list-max-listpack-size fill (nodes limited by bytes when negative,
// by count when positive) and list-compress-depth.
func quicklistFields(items [][]byte, fill, compressDepth int) string {
	const (
		headerBytes     = 7 // listpack header and end byte
		estimatePerItem = 8 // Redis's SIZE_ESTIMATE_OVERHEAD
		safetyLimit     = 8192
		plainThreshold  = 1 << 30
	)
	sizeOK := func(sz int) bool {
		levels := []int{4096, 8192, 16384, 32768, 65536}
		if fill >= 0 || -fill-1 >= len(levels) {
			return false
		}
		return sz <= levels[-fill-1]
	}
	var nodes, total, nodeBytes, nodeCount int
	plain := false
	for _, it := range items {
		add := rdb.ListpackStringSize(it)
		large := len(it) >= plainThreshold
		fits := nodes > 0 && !plain && !large
		if fits {
			next := nodeBytes + len(it) + estimatePerItem
			fits = sizeOK(next) || next <= safetyLimit && nodeCount < fill
		}
		if !fits {
			total += nodeBytes
			nodes++
			nodeBytes, nodeCount, plain = headerBytes, 0, large
			if large {
				nodeBytes, add = len(it), 0
			}
		}
		nodeBytes += add
		nodeCount++
	}
	total += nodeBytes
	if nodes == 0 {
		total = 0
	}
	avg := 0.0
	if nodes > 0 {
		avg = float64(len(items)) / float64(nodes)
	}
	return fmt.Sprintf(" ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d ql_uncompressed_size:%d",
		nodes, avg, fill, boolInt(compressDepth != 0), total)
}

// debugEncodingDump answers DEBUG LISTPACK and DEBUG QUICKLIST: Redis
// prints the structure on its stdout; the engine has none to print and
// says what Redis says after printing.
func (c *Client) debugEncodingDump(sub string, key []byte) {
	enc := c.srv.DB.Encoding(key)
	switch {
	case enc == "":
		c.w.WriteError(errNoSuchKey)
	case sub == "listpack" && enc != "listpack":
		c.w.WriteError("ERR Not a listpack encoded object.")
	case sub == "quicklist" && enc != "quicklist":
		c.w.WriteError("ERR Not a quicklist encoded object.")
	case sub == "listpack":
		c.w.WriteSimple("Listpack structure printed on stdout")
	default:
		c.w.WriteSimple("Quicklist structure printed on stdout")
	}
}

// debugSDSLen is DEBUG SDSLEN for a string kept as bytes; the allocation
// figures are those of a string allocated to its exact length.
func (c *Client) debugSDSLen(key []byte) {
	v, _, ok := c.srv.DB.StoredEntry(key)
	if !ok {
		c.w.WriteError(errNoSuchKey)
		return
	}
	enc := c.srv.DB.Encoding(key)
	if v.Kind != rdb.KindString || enc == "int" {
		c.w.WriteError("ERR Not an sds encoded string.")
		return
	}
	c.w.WriteSimple(fmt.Sprintf("key_sds_len:%d, key_sds_avail:0, key_zmalloc: %d, val_sds_len:%d, val_sds_avail:0, val_zmalloc: %d",
		len(key), len(key)+4, len(v.Str), len(v.Str)+4))
}

// debugPopulate is DEBUG POPULATE count [prefix] [size]: string keys
// prefix:N holding "value:N" (cut or zero-padded to size), skipping names
// that exist; like Redis, not propagated.
func (c *Client) debugPopulate(args [][]byte) {
	count, ok := c.positiveArg(args[2])
	if !ok {
		return
	}
	var size int64
	if len(args) == 5 {
		if size, ok = c.positiveArg(args[4]); !ok {
			return
		}
	}
	prefix := "key"
	if len(args) >= 4 {
		prefix = string(args[3])
	}
	db := c.srv.DB
	for j := int64(0); j < count; j++ {
		key := []byte(prefix + ":" + strconv.FormatInt(j, 10))
		if db.Exists(key) {
			continue
		}
		val := []byte("value:" + strconv.FormatInt(j, 10))
		if size > 0 {
			padded := make([]byte, size)
			copy(padded, val)
			val = padded
		}
		db.SetString(key, val, false)
		db.Touch(key)
	}
	c.w.WriteRaw(okReply)
}

// positiveArg is Redis's getPositiveLongFromObjectOrReply without a
// message of its own: one error for a bad number and a negative one.
func (c *Client) positiveArg(b []byte) (int64, bool) {
	n, ok := parseInt(b)
	if !ok || n < 0 {
		c.w.WriteError("ERR value is out of range, must be positive")
		return 0, false
	}
	return n, true
}
