// Package slots implements Redis Cluster key-slot arithmetic: CRC16 hashing
// with hash tags, slot ranges and sets, and the even split of slots across
// masters that cluster creation and rebalancing use.
package slots

import (
	"fmt"
	"strconv"
	"strings"
)

// Count is the number of hash slots in a Redis Cluster.
const Count = 16384

// crc16Table is CRC16-CCITT (XModem), polynomial 0x1021, as Redis uses.
var crc16Table = func() [256]uint16 {
	var t [256]uint16
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

// CRC16 returns the CRC16-CCITT (XModem) checksum of b.
func CRC16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^c]
	}
	return crc
}

// HashTag returns the part of key that is hashed: the content of the first
// {...} when it is non-empty, otherwise the whole key.
func HashTag(key []byte) []byte {
	for i, c := range key {
		if c != '{' {
			continue
		}
		for j := i + 1; j < len(key); j++ {
			if key[j] == '}' {
				if j == i+1 {
					return key // "{}" hashes the whole key
				}
				return key[i+1 : j]
			}
		}
		return key // no closing brace
	}
	return key
}

// KeySlot returns the hash slot of key, as CLUSTER KEYSLOT does.
func KeySlot(key []byte) int { return int(CRC16(HashTag(key)) & (Count - 1)) }

// Slot is KeySlot for a string key.
func Slot(key string) int { return KeySlot([]byte(key)) }

// Range is an inclusive range of slots.
type Range struct{ Start, End int }

// Len is the number of slots in r.
func (r Range) Len() int { return r.End - r.Start + 1 }

func (r Range) String() string {
	if r.Start == r.End {
		return strconv.Itoa(r.Start)
	}
	return fmt.Sprintf("%d-%d", r.Start, r.End)
}

// Valid reports whether s is a slot number.
func Valid(s int) bool { return s >= 0 && s < Count }

// ParseSlot parses one slot number.
func ParseSlot(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || !Valid(n) {
		return 0, fmt.Errorf("invalid slot %q: must be a number from 0 to %d", s, Count-1)
	}
	return n, nil
}

// ParseRange parses "N" or "N-M".
func ParseRange(s string) (Range, error) {
	a, b, found := strings.Cut(s, "-")
	start, err := ParseSlot(a)
	if err != nil {
		return Range{}, err
	}
	if !found {
		return Range{start, start}, nil
	}
	end, err := ParseSlot(b)
	if err != nil {
		return Range{}, err
	}
	if end < start {
		return Range{}, fmt.Errorf("invalid slot range %q: end before start", s)
	}
	return Range{start, end}, nil
}

// EvenSplit divides all slots among n owners the way redis-cli does for
// cluster creation: contiguous ranges whose sizes differ by at most one.
func EvenSplit(n int) []Range {
	if n <= 0 {
		return nil
	}
	out := make([]Range, 0, n)
	per := float64(Count) / float64(n)
	first := 0
	cursor := 0.0
	for i := range n {
		last := int(cursor + per - 1 + 0.5) // round like redis-cli's lround
		if i == n-1 || last > Count-1 {
			last = Count - 1
		}
		if last < first {
			last = first
		}
		out = append(out, Range{first, last})
		first = last + 1
		cursor += per
	}
	return out
}

// Shares returns how many slots each of n owners with the given weights
// should hold so that the counts add up to exactly Count (largest remainder).
func Shares(weights []float64) []int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	out := make([]int, len(weights))
	if total <= 0 {
		return out
	}
	type rem struct {
		i int
		f float64
	}
	rems := make([]rem, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(Count) * w / total
		out[i] = int(exact)
		given += out[i]
		rems[i] = rem{i, exact - float64(out[i])}
	}
	for given < Count {
		best := -1
		for j, r := range rems {
			if best < 0 || r.f > rems[best].f {
				best = j
			}
		}
		out[rems[best].i]++
		rems[best].f = -1
		given++
	}
	return out
}
