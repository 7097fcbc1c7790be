// Package rdb encodes and decodes Redis DUMP/RESTORE payloads and reads and
// writes whole RDB files, in the formats real Redis 7.0 and 7.2 use.
//
// A DUMP payload is one serialized object, then the 2-byte little-endian RDB
// version, then the little-endian CRC64 (Jones) of everything before it.
// EncodeDump/DecodeDump handle payloads; ReadFile/ScanFile/Scan read RDB
// files (verifying their checksum); Writer writes RDB files from values or
// from raw DUMP payloads. Module types are not supported.
package rdb

import (
	"errors"
	"fmt"
)

// Kind is the logical type of a value, independent of its encoding.
type Kind uint8

// The value kinds the engine stores.
const (
	KindString Kind = iota
	KindList
	KindSet
	KindZSet
	KindHash
	KindStream
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindList:
		return "list"
	case KindSet:
		return "set"
	case KindZSet:
		return "zset"
	case KindHash:
		return "hash"
	case KindStream:
		return "stream"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Value is one decoded object. Only the field matching Kind is used. Byte
// slices returned by the decoders never alias the caller's input; the
// elements of one value may share a private backing array, each with its
// capacity capped at its length, so appending to one never touches another.
type Value struct {
	Kind Kind
	Str  []byte
	List [][]byte
	Set  [][]byte
	Hash []Field
	// Compact marks a hash in its listpack form, which EncodeDump writes
	// as a listpack, as redis-server does (else as a plain hash).
	Compact bool
	ZSet    []ZMember
	// Stream is a stream's nodes, metadata and consumer groups.
	Stream *Stream
}

// Field is one hash field and its value.
type Field struct{ Name, Value []byte }

// ZMember is one sorted-set member and its score.
type ZMember struct {
	Member []byte
	Score  float64
}

// Version is the RDB version EncodeDump writes: 10, what Redis 7.0 expects.
const Version = 10

// MaxVersion is the newest RDB version DecodeDump accepts (Redis 7.2).
const MaxVersion = 11

// Errors to test with errors.Is. A server answering RESTORE maps
// ErrBadFooter to "ERR DUMP payload version or checksum are wrong" and any
// other error to "ERR Bad data format", as Redis does.
var (
	// ErrCorrupt is wrapped by every error about malformed input.
	ErrCorrupt = errors.New("rdb: corrupt payload")
	// ErrBadFooter: the DUMP footer has a too-new RDB version or a CRC64
	// that does not match (it also wraps ErrCorrupt).
	ErrBadFooter = errors.New("DUMP payload version or checksum are wrong")
	// ErrUnsupported: a valid value of a type the engine does not store
	// (module types).
	ErrUnsupported = errors.New("rdb: unsupported value type")
)

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// TypeString is the type byte that starts a string's DUMP payload.
const TypeString = typeString

// RDB object type bytes (src/rdb.h).
const (
	typeString         = 0
	typeList           = 1
	typeSet            = 2
	typeZSet           = 3
	typeHash           = 4
	typeZSet2          = 5
	typeModule         = 6
	typeModule2        = 7
	typeHashZipmap     = 9
	typeListZiplist    = 10
	typeSetIntset      = 11
	typeZSetZiplist    = 12
	typeHashZiplist    = 13
	typeListQuicklist  = 14
	typeStreamLP       = 15
	typeHashListpack   = 16
	typeZSetListpack   = 17
	typeListQuicklist2 = 18
	typeStreamLP2      = 19
	typeSetListpack    = 20
	typeStreamLP3      = 21
)

// Quicklist 2 node containers.
const (
	containerPlain  = 1
	containerPacked = 2
)
