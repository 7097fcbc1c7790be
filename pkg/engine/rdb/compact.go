package rdb

import (
	"encoding/binary"
	"math"
)

// The compact encodings below are decoded from a blob the decoder owns;
// string entries are sub-slices of it with capacity capped at their length.

func sub(b []byte, from, to int) []byte { return b[from:to:to] }

// listpackEntries decodes a listpack: <total bytes u32><count u16> entries
// <0xFF>. Each entry is <encoding+data><backlen>; integers become decimal.
func listpackEntries(lp []byte) ([][]byte, error) {
	const header = 6
	if len(lp) < header+1 {
		return nil, corrupt("listpack too short")
	}
	if int(binary.LittleEndian.Uint32(lp)) != len(lp) {
		return nil, corrupt("listpack size header %d, blob %d bytes", binary.LittleEndian.Uint32(lp), len(lp))
	}
	declared := int(binary.LittleEndian.Uint16(lp[4:]))
	var items [][]byte
	if declared != math.MaxUint16 {
		items = make([][]byte, 0, min(declared, len(lp)/2))
	}
	pos := header
	for {
		if pos >= len(lp) {
			return nil, corrupt("listpack without end marker")
		}
		b := lp[pos]
		if b == 0xff {
			break
		}
		var item []byte
		var dataLen int // encoding bytes + data bytes, what backlen records
		need := func(n int) bool { return pos+n <= len(lp) }
		switch {
		case b&0x80 == 0: // 7-bit unsigned int
			item, dataLen = formatInt(int64(b)), 1
		case b&0xc0 == 0x80: // 6-bit string length
			n := int(b & 0x3f)
			if !need(1 + n) {
				return nil, corrupt("listpack string past end")
			}
			item, dataLen = sub(lp, pos+1, pos+1+n), 1+n
		case b&0xe0 == 0xc0: // 13-bit signed int
			if !need(2) {
				return nil, corrupt("listpack int past end")
			}
			v := int64(b&0x1f)<<8 | int64(lp[pos+1])
			if v >= 1<<12 {
				v -= 1 << 13
			}
			item, dataLen = formatInt(v), 2
		case b&0xf0 == 0xe0: // 12-bit string length
			if !need(2) {
				return nil, corrupt("listpack string past end")
			}
			n := int(b&0x0f)<<8 | int(lp[pos+1])
			if !need(2 + n) {
				return nil, corrupt("listpack string past end")
			}
			item, dataLen = sub(lp, pos+2, pos+2+n), 2+n
		case b == 0xf0: // 32-bit string length
			if !need(5) {
				return nil, corrupt("listpack string past end")
			}
			n := uint64(binary.LittleEndian.Uint32(lp[pos+1:]))
			if uint64(pos)+5+n > uint64(len(lp)) {
				return nil, corrupt("listpack string past end")
			}
			item, dataLen = sub(lp, pos+5, pos+5+int(n)), 5+int(n)
		case b >= 0xf1 && b <= 0xf4: // 16/24/32/64-bit signed int
			size := [...]int{2, 3, 4, 8}[b-0xf1]
			if !need(1 + size) {
				return nil, corrupt("listpack int past end")
			}
			item, dataLen = formatInt(littleSigned(lp[pos+1:pos+1+size])), 1+size
		default:
			return nil, corrupt("listpack bad entry encoding 0x%02x", b)
		}
		pos += dataLen + backlenSize(dataLen)
		if pos > len(lp)-1 {
			return nil, corrupt("listpack entry past end")
		}
		items = append(items, item)
	}
	if pos != len(lp)-1 {
		return nil, corrupt("listpack data after end marker")
	}
	if declared != math.MaxUint16 && declared != len(items) {
		return nil, corrupt("listpack declares %d entries, holds %d", declared, len(items))
	}
	return items, nil
}

// backlenSize is how many bytes the back-length of an entry of size n takes.
func backlenSize(n int) int {
	switch {
	case n <= 127:
		return 1
	case n < 16383:
		return 2
	case n < 2097151:
		return 3
	case n < 268435455:
		return 4
	}
	return 5
}

// littleSigned reads a little-endian two's-complement integer of 1..8 bytes.
func littleSigned(b []byte) int64 {
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	shift := 64 - 8*uint(len(b))
	return int64(u<<shift) >> shift
}

// ziplistEntries decodes a ziplist: <zlbytes u32><zltail u32><zllen u16>
// entries <0xFF>; each entry is <prevlen><encoding><data>.
func ziplistEntries(zl []byte) ([][]byte, error) {
	const header = 10
	if len(zl) < header+1 {
		return nil, corrupt("ziplist too short")
	}
	if int(binary.LittleEndian.Uint32(zl)) != len(zl) {
		return nil, corrupt("ziplist size header %d, blob %d bytes", binary.LittleEndian.Uint32(zl), len(zl))
	}
	declared := int(binary.LittleEndian.Uint16(zl[8:]))
	var items [][]byte
	if declared != math.MaxUint16 {
		items = make([][]byte, 0, min(declared, len(zl)/2))
	}
	pos := header
	for {
		if pos >= len(zl) {
			return nil, corrupt("ziplist without end marker")
		}
		if zl[pos] == 0xff {
			break
		}
		if zl[pos] == 0xfe { // prevlen: 1 byte, or 0xFE then 4 bytes
			pos += 5
		} else {
			pos++
		}
		if pos >= len(zl) {
			return nil, corrupt("ziplist entry past end")
		}
		b := zl[pos]
		need := func(n int) bool { return pos+n < len(zl) } // the end marker must still follow
		var item []byte
		switch {
		case b>>6 == 0: // string, 6-bit length
			n := int(b & 0x3f)
			if !need(1 + n) {
				return nil, corrupt("ziplist string past end")
			}
			item, pos = sub(zl, pos+1, pos+1+n), pos+1+n
		case b>>6 == 1: // string, 14-bit big-endian length
			if !need(2) {
				return nil, corrupt("ziplist string past end")
			}
			n := int(b&0x3f)<<8 | int(zl[pos+1])
			if !need(2 + n) {
				return nil, corrupt("ziplist string past end")
			}
			item, pos = sub(zl, pos+2, pos+2+n), pos+2+n
		case b == 0x80: // string, 32-bit big-endian length
			if !need(5) {
				return nil, corrupt("ziplist string past end")
			}
			n := uint64(binary.BigEndian.Uint32(zl[pos+1:]))
			if uint64(pos)+5+n >= uint64(len(zl)) {
				return nil, corrupt("ziplist string past end")
			}
			item, pos = sub(zl, pos+5, pos+5+int(n)), pos+5+int(n)
		case b >= 0xf1 && b <= 0xfd: // immediate 0..12
			item, pos = formatInt(int64(b&0x0f)-1), pos+1
		default:
			var size int
			switch b {
			case 0xc0:
				size = 2
			case 0xd0:
				size = 4
			case 0xe0:
				size = 8
			case 0xf0:
				size = 3
			case 0xfe:
				size = 1
			default:
				return nil, corrupt("ziplist bad entry encoding 0x%02x", b)
			}
			if !need(1 + size) {
				return nil, corrupt("ziplist int past end")
			}
			item, pos = formatInt(littleSigned(zl[pos+1:pos+1+size])), pos+1+size
		}
		items = append(items, item)
	}
	if pos != len(zl)-1 {
		return nil, corrupt("ziplist data after end marker")
	}
	if declared != math.MaxUint16 && declared != len(items) {
		return nil, corrupt("ziplist declares %d entries, holds %d", declared, len(items))
	}
	return items, nil
}

// intsetEntries decodes an intset: <width u32 (2, 4 or 8)><count u32> then
// count sorted little-endian integers of that width.
func intsetEntries(is []byte) ([][]byte, error) {
	if len(is) < 8 {
		return nil, corrupt("intset too short")
	}
	width := binary.LittleEndian.Uint32(is)
	if width != 2 && width != 4 && width != 8 {
		return nil, corrupt("intset bad width %d", width)
	}
	count := uint64(binary.LittleEndian.Uint32(is[4:]))
	if 8+count*uint64(width) != uint64(len(is)) {
		return nil, corrupt("intset of %d entries in %d bytes", count, len(is))
	}
	items := make([][]byte, 0, count)
	var prev int64
	for i := range int(count) {
		off := 8 + i*int(width)
		v := littleSigned(is[off : off+int(width)])
		if i > 0 && v <= prev {
			return nil, corrupt("intset not sorted")
		}
		prev = v
		items = append(items, formatInt(v))
	}
	return items, nil
}

// zipmapEntries decodes the pre-2.6 hash encoding: <count byte> then
// <len>key<len><free>value<free bytes> pairs and 0xFF. A length byte below
// 254 is the length; 254 is followed by a 4-byte little-endian length.
func zipmapEntries(zm []byte) ([][]byte, error) {
	if len(zm) < 2 {
		return nil, corrupt("zipmap too short")
	}
	pos := 1
	readLen := func() (int, bool) {
		if pos >= len(zm) {
			return 0, false
		}
		b := zm[pos]
		if b < 254 {
			pos++
			return int(b), true
		}
		if b == 254 && pos+5 <= len(zm) {
			n := binary.LittleEndian.Uint32(zm[pos+1:])
			pos += 5
			return int(n), int64(n) <= int64(len(zm))
		}
		return 0, false
	}
	var items [][]byte
	for {
		if pos >= len(zm) {
			return nil, corrupt("zipmap without end marker")
		}
		if zm[pos] == 0xff {
			break
		}
		klen, ok := readLen()
		if !ok || pos+klen > len(zm) {
			return nil, corrupt("zipmap key past end")
		}
		key := sub(zm, pos, pos+klen)
		pos += klen
		vlen, ok := readLen()
		if !ok || pos >= len(zm) {
			return nil, corrupt("zipmap value past end")
		}
		free := int(zm[pos])
		pos++
		if pos+vlen+free > len(zm) {
			return nil, corrupt("zipmap value past end")
		}
		items = append(items, key, sub(zm, pos, pos+vlen))
		pos += vlen + free
	}
	if pos != len(zm)-1 {
		return nil, corrupt("zipmap data after end marker")
	}
	return items, nil
}
