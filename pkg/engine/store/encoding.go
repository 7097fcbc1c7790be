package store

import "strconv"

// EncodingLimits are the thresholds under which Redis 7.0 keeps a value in
// its compact encoding (hash-max-listpack-*, set-max-intset-entries,
// zset-max-listpack-*).
type EncodingLimits struct {
	HashEntries, HashValue int
	SetIntsetEntries       int
	ZSetEntries, ZSetValue int
}

// Encoding names the encoding redis-server 7.0 would report for key
// (OBJECT ENCODING), from the value as it is now: "int", "embstr" or "raw"
// for strings, "quicklist" for lists, "listpack" or "hashtable" for
// hashes, "intset" or "hashtable" for sets, "listpack" or "skiplist" for
// sorted sets; "" when the key does not exist. Collections report the form
// they are in (converted one way, as Redis does); a string is raw when it
// was edited in place, else judged by what it holds.
func (db *DB) Encoding(key []byte) string {
	e, _, ok := db.lookupNoTouch(key) // OBJECT ENCODING is no access (LOOKUP_NOTOUCH)
	if !ok {
		return ""
	}
	switch e.kind {
	case KindString:
		if e.form == FormRaw {
			return "raw"
		}
		b := e.bytes()
		if e.form == FormAuto && len(b) <= 20 && isCanonicalInt(b) {
			return "int"
		}
		if len(b) <= 44 { // Redis' OBJ_ENCODING_EMBSTR_SIZE_LIMIT
			return "embstr"
		}
		return "raw"
	case KindList:
		return "quicklist"
	case KindHash:
		if e.hash().Compact() {
			return "listpack"
		}
		return "hashtable"
	case KindSet:
		if e.set().Intset() {
			return "intset"
		}
		return "hashtable"
	case KindZSet:
		if e.zset().Compact() {
			return "listpack"
		}
		return "skiplist"
	case KindStream:
		return "stream"
	}
	return ""
}

// isCanonicalInt reports whether b is an int64 written the one way Redis
// writes it back (no sign on zero, no leading zeros or plus sign).
func isCanonicalInt(b []byte) bool {
	n, err := strconv.ParseInt(string(b), 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == string(b)
}
