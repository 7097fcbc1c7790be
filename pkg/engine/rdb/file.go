package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
)

// MaxFileVersion is the newest RDB file version the reader accepts (Redis
// 7.4). Object types newer than MaxVersion are reported as unknown.
const MaxFileVersion = 12

// Entry is one key of an RDB file.
type Entry struct {
	DB       int
	Key      []byte
	Value    Value
	ExpireAt int64 // Unix time in milliseconds; 0 when the key does not expire
	// DBSizeHint is the key count the file announced for this database
	// (RESIZEDB), 0 when it did not; loaders size their tables with it.
	DBSizeHint int
}

// FileInfo describes a whole RDB file once it has been read to the end.
type FileInfo struct {
	Version   int
	Aux       map[string]string // redis-ver, redis-bits, ctime, used-mem, ...
	Keys      int               // keys read, in all databases
	KeysPerDB map[int]int
	Functions int // function libraries (Redis 7 FUNCTION LOAD)
	// FunctionCodes holds the code of each library, for FUNCTION LOAD.
	FunctionCodes [][]byte
	Checksum      uint64 // the CRC64 stored at the end; 0 = saved without one
}

// RDB file opcodes (src/rdb.h), read where an object type may appear.
const (
	opSlotInfo     = 244
	opFunction2    = 245
	opFunctionPre  = 246
	opModuleAux    = 247
	opIdle         = 248
	opFreq         = 249
	opAux          = 250
	opResizeDB     = 251
	opExpireTimeMS = 252
	opExpireTime   = 253
	opSelectDB     = 254
	opEOF          = 255
)

// ReadFile reads every key of the RDB file at path into memory.
func ReadFile(path string) (FileInfo, []Entry, error) {
	var entries []Entry
	info, err := ScanFile(path, func(e Entry) error {
		entries = append(entries, e)
		return nil
	})
	return info, entries, err
}

// ScanFile reads the RDB file at path, calling fn for each key in file order.
func ScanFile(path string, fn func(Entry) error) (FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileInfo{}, err
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	info, err := Scan(f, size, fn)
	if err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// Scan reads an RDB stream of size bytes (-1 when unknown), calling fn for
// each key in order, and verifies the trailing CRC64 when the file has one.
// An error from fn stops the scan and is returned as is. Empty collections,
// which Redis skips when loading, are passed to fn as they are.
func Scan(r io.Reader, size int64, fn func(Entry) error) (FileInfo, error) {
	s := &streamSource{r: bufio.NewReaderSize(r, 64<<10), size: size}
	info := FileInfo{Aux: map[string]string{}, KeysPerDB: map[int]int{}}
	header, err := s.read(9)
	if err != nil {
		return info, fmt.Errorf("rdb: not an RDB file (shorter than its header)")
	}
	if !bytes.HasPrefix(header, []byte("REDIS")) {
		return info, fmt.Errorf("rdb: not an RDB file (no REDIS signature)")
	}
	info.Version, err = strconv.Atoi(string(header[5:]))
	if err != nil || info.Version < 1 {
		return info, corrupt("bad RDB version %q", header[5:])
	}
	if info.Version > MaxFileVersion {
		return info, fmt.Errorf("rdb: RDB version %d is newer than %d", info.Version, MaxFileVersion)
	}
	db, dbSizeHint := 0, 0
	var expireAt int64
	for {
		op, err := s.readByte()
		if err != nil {
			return info, err
		}
		switch op {
		case opEOF:
			return info, s.checkTrailer(&info)
		case opAux:
			key, err := readString(s)
			if err != nil {
				return info, err
			}
			val, err := readString(s)
			if err != nil {
				return info, err
			}
			info.Aux[string(key)] = string(val)
		case opSelectDB:
			n, err := readPlainLen(s)
			if err != nil {
				return info, err
			}
			if n > 1<<20 {
				return info, corrupt("database number %d", n)
			}
			db, dbSizeHint = int(n), 0
		case opResizeDB, opSlotInfo:
			// Sizing hints only: two lengths (RESIZEDB), three (SLOT_INFO).
			count := 2
			if op == opSlotInfo {
				count = 3
			}
			for i := range count {
				n, err := readPlainLen(s)
				if err != nil {
					return info, err
				}
				if op == opResizeDB && i == 0 {
					dbSizeHint = int(min(n, 1<<32))
				}
			}
		case opExpireTimeMS:
			ms, err := readUint64LE(s)
			if err != nil {
				return info, err
			}
			expireAt = int64(ms)
		case opExpireTime:
			b, err := s.read(4)
			if err != nil {
				return info, err
			}
			expireAt = int64(int32(binary.LittleEndian.Uint32(b))) * 1000
		case opIdle:
			if _, err := readPlainLen(s); err != nil {
				return info, err
			}
		case opFreq:
			if _, err := s.readByte(); err != nil {
				return info, err
			}
		case opFunction2:
			code, err := readString(s)
			if err != nil {
				return info, err
			}
			info.Functions++
			info.FunctionCodes = append(info.FunctionCodes, append([]byte(nil), code...))
		case opFunctionPre:
			return info, fmt.Errorf("rdb: functions in the Redis 7.0 release-candidate format are not supported")
		case opModuleAux:
			if err := skipModuleAux(s); err != nil {
				return info, err
			}
		default:
			key, err := readString(s)
			if err != nil {
				return info, err
			}
			v, err := decodeObject(s, op)
			if err != nil {
				return info, fmt.Errorf("key %q: %w", key, err)
			}
			if err := fn(Entry{DB: db, Key: key, Value: v, ExpireAt: expireAt, DBSizeHint: dbSizeHint}); err != nil {
				return info, err
			}
			info.Keys++
			info.KeysPerDB[db]++
			expireAt = 0
		}
	}
}

// checkTrailer reads the CRC64 after the EOF opcode (RDB version 5 and
// later) and compares it with what was read; 0 means checksums were off.
func (s *streamSource) checkTrailer(info *FileInfo) error {
	if info.Version < 5 {
		return nil
	}
	want := s.crc
	got, err := readUint64LE(s)
	if err != nil {
		return corrupt("missing checksum after EOF")
	}
	info.Checksum = got
	if got != 0 && got != want {
		return corrupt("RDB file checksum mismatch (stored %#x, computed %#x)", got, want)
	}
	return nil
}

func readPlainLen(s source) (uint64, error) {
	n, enc, err := readLen(s)
	if err == nil && enc {
		err = corrupt("encoded value where a length was expected")
	}
	return n, err
}

// Module data opcodes: module values since RDB 9 are self-describing.
const (
	moduleOpEOF    = 0
	moduleOpSInt   = 1
	moduleOpUInt   = 2
	moduleOpFloat  = 3
	moduleOpDouble = 4
	moduleOpString = 5
)

// skipModuleAux skips module auxiliary data: <module id><when opcode><when>
// then typed fields up to the module EOF opcode.
func skipModuleAux(s source) error {
	for range 3 { // module id, the UINT opcode of "when", and "when"
		if _, err := readPlainLen(s); err != nil {
			return err
		}
	}
	for {
		op, err := readPlainLen(s)
		if err != nil {
			return err
		}
		switch op {
		case moduleOpEOF:
			return nil
		case moduleOpSInt, moduleOpUInt:
			_, err = readPlainLen(s)
		case moduleOpFloat:
			_, err = s.read(4)
		case moduleOpDouble:
			_, err = s.read(8)
		case moduleOpString:
			_, err = readString(s)
		default:
			return corrupt("unknown module data opcode %d", op)
		}
		if err != nil {
			return err
		}
	}
}
