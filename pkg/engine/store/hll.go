package store

// HyperLogLog strings byte for byte as Redis 7.0 lays them out (see
// Redis's hyperloglog.c for the format, written anew here): a 16-byte
// header "HYLL", the encoding (0 dense, 1 sparse), 3 unused bytes and the
// cached cardinality (8 bytes little endian, the top bit of the last one
// set when the cache is stale), then either 16384 6-bit registers (dense)
// or a run-length coding of them (sparse): ZERO 00xxxxxx (1-64 zero
// registers), XZERO 01xxxxxx yyyyyyyy (1-16384 zeros), VAL 1vvvvvxx (1-4
// registers of value 1-32).

import (
	"encoding/binary"
	"errors"
	"math"
)

// HLL layout constants.
const (
	HLLRegisters = 1 << hllP
	HLLHeader    = 16
	HLLDenseSize = HLLHeader + (HLLRegisters*hllBits+7)/8
	HLLDense     = 0
	HLLSparse    = 1

	hllP          = 14
	hllQ          = 64 - hllP
	hllBits       = 6
	hllRegMax     = 1<<hllBits - 1
	sparseValMax  = 32
	sparseValLen  = 4
	sparseZeroMax = 64
	sparseXZMax   = 16384
)

// ErrInvalidHLL is Redis's reply to a corrupted HyperLogLog.
var ErrInvalidHLL = errors.New("INVALIDOBJ Corrupted HLL object detected")

// NewHLL returns an empty sparse HyperLogLog: the header and one XZERO
// covering every register, as Redis creates it.
func NewHLL() []byte {
	b := make([]byte, HLLHeader+2)
	copy(b, "HYLL")
	b[4] = HLLSparse
	putXZero(b[HLLHeader:], HLLRegisters)
	return b
}

// IsHLL tells whether b is a HyperLogLog string Redis would accept.
func IsHLL(b []byte) bool {
	if len(b) < HLLHeader || string(b[:4]) != "HYLL" || b[4] > HLLSparse {
		return false
	}
	return b[4] != HLLDense || len(b) == HLLDenseSize
}

func invalidateCache(b []byte) { b[15] |= 0x80 }

// HLLInvalidateCache marks the cached cardinality stale.
func HLLInvalidateCache(b []byte) { invalidateCache(b) }

// CachedCard returns the cached cardinality if it is valid.
func CachedCard(b []byte) (uint64, bool) {
	if b[15]&0x80 != 0 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[8:16]), true
}

// SetCachedCard stores card as the cached cardinality.
func SetCachedCard(b []byte, card uint64) { binary.LittleEndian.PutUint64(b[8:16], card) }

func putXZero(p []byte, n int) {
	n--
	p[0] = byte(n>>8) | 0x40
	p[1] = byte(n)
}

func isZero(c byte) bool  { return c&0xc0 == 0 }
func isXZero(c byte) bool { return c&0xc0 == 0x40 }
func isVal(c byte) bool   { return c&0x80 != 0 }
func zeroLen(c byte) int  { return int(c&0x3f) + 1 }
func xzeroLen(p []byte) int {
	return (int(p[0]&0x3f)<<8 | int(p[1])) + 1
}
func valValue(c byte) int { return int(c>>2&0x1f) + 1 }
func valLen(c byte) int   { return int(c&3) + 1 }
func valOp(v, n int) byte { return byte((v-1)<<2|(n-1)) | 0x80 }

// murmur64A is MurmurHash64A, reading the input as little endian words.
func murmur64A(key []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ uint64(len(key))*m
	for len(key) >= 8 {
		k := binary.LittleEndian.Uint64(key)
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
		key = key[8:]
	}
	if len(key) > 0 {
		for i := len(key) - 1; i >= 0; i-- {
			h ^= uint64(key[i]) << (8 * i)
		}
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// patLen returns the register of ele and the length of its 000..1 pattern.
func patLen(ele []byte) (int, int) {
	hash := murmur64A(ele, 0xadc83b19)
	index := int(hash & (HLLRegisters - 1))
	hash >>= hllP
	hash |= 1 << hllQ
	count := 1
	for bit := uint64(1); hash&bit == 0; bit <<= 1 {
		count++
	}
	return index, count
}

func denseGet(regs []byte, i int) int {
	byt, fb := i*hllBits/8, uint(i*hllBits&7)
	b0 := uint(regs[byt])
	var b1 uint
	if byt+1 < len(regs) {
		b1 = uint(regs[byt+1])
	}
	return int((b0>>fb | b1<<(8-fb)) & hllRegMax)
}

func denseSet(regs []byte, i, v int) {
	byt, fb := i*hllBits/8, uint(i*hllBits&7)
	regs[byt] &^= byte(hllRegMax << fb)
	regs[byt] |= byte(uint(v) << fb)
	if byt+1 < len(regs) {
		regs[byt+1] &^= byte(hllRegMax >> (8 - fb))
		regs[byt+1] |= byte(uint(v) >> (8 - fb))
	}
}

// toDense converts a sparse HLL (the cached cardinality is kept).
func toDense(b []byte) ([]byte, error) {
	if b[4] == HLLDense {
		return b, nil
	}
	d := make([]byte, HLLDenseSize)
	copy(d, b[:HLLHeader])
	d[4] = HLLDense
	regs := d[HLLHeader:]
	idx := 0
	for p := HLLHeader; p < len(b); {
		switch c := b[p]; {
		case isZero(c):
			idx += zeroLen(c)
			p++
		case isXZero(c):
			if p+1 >= len(b) {
				return nil, ErrInvalidHLL
			}
			idx += xzeroLen(b[p:])
			p += 2
		default:
			n, v := valLen(c), valValue(c)
			if idx+n > HLLRegisters {
				return nil, ErrInvalidHLL
			}
			for ; n > 0; n-- {
				denseSet(regs, idx, v)
				idx++
			}
			p++
		}
	}
	if idx != HLLRegisters {
		return nil, ErrInvalidHLL
	}
	return d, nil
}

// hllSet raises register index to count if lower, returning the (maybe
// reallocated) HLL and whether it changed; maxSparse is
// hll-sparse-max-bytes, past which a sparse HLL turns dense.
func hllSet(b []byte, index, count, maxSparse int) ([]byte, bool, error) {
	if b[4] == HLLDense {
		regs := b[HLLHeader:]
		if denseGet(regs, index) >= count {
			return b, false, nil
		}
		denseSet(regs, index, count)
		return b, true, nil
	}
	if count > sparseValMax {
		return promote(b, index, count)
	}
	// find the opcode covering index
	p, prev, first, span := HLLHeader, -1, 0, 0
	end := len(b)
	for p < end {
		oplen := 1
		c := b[p]
		switch {
		case isZero(c):
			span = zeroLen(c)
		case isVal(c):
			span = valLen(c)
		default:
			if p+1 >= end {
				return nil, false, ErrInvalidHLL
			}
			span = xzeroLen(b[p:])
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return nil, false, ErrInvalidHLL
	}
	c := b[p]
	zero, xzero := isZero(c), isXZero(c)
	var runlen int
	switch {
	case zero:
		runlen = zeroLen(c)
	case xzero:
		runlen = xzeroLen(b[p:])
	default:
		runlen = valLen(c)
	}
	updated := false
	if !zero && !xzero {
		if valValue(c) >= count {
			return b, false, nil
		}
		if runlen == 1 {
			b[p] = valOp(count, 1)
			updated = true
		}
	}
	if zero && runlen == 1 {
		b[p] = valOp(count, 1)
		updated = true
	}
	if !updated {
		// split the opcode into up to three
		var seq []byte
		last := first + span - 1
		zeros := func(n int) {
			if n > sparseZeroMax {
				seq = append(seq, 0, 0)
				putXZero(seq[len(seq)-2:], n)
			} else {
				seq = append(seq, byte(n-1))
			}
		}
		if zero || xzero {
			if index != first {
				zeros(index - first)
			}
			seq = append(seq, valOp(count, 1))
			if index != last {
				zeros(last - index)
			}
		} else {
			cur := valValue(c)
			if index != first {
				seq = append(seq, valOp(cur, index-first))
			}
			seq = append(seq, valOp(count, 1))
			if index != last {
				seq = append(seq, valOp(cur, last-index))
			}
		}
		oldlen := 1
		if xzero {
			oldlen = 2
		}
		delta := len(seq) - oldlen
		if delta > 0 && len(b)+delta > maxSparse {
			return promote(b, index, count)
		}
		nb := make([]byte, 0, len(b)+delta)
		nb = append(nb, b[:p]...)
		nb = append(nb, seq...)
		nb = append(nb, b[p+oldlen:]...)
		b = nb
		end = len(b)
	}
	// merge adjacent VAL opcodes of the same value, scanning up to 5
	// opcodes from the previous one
	p = prev
	if p < 0 {
		p = HLLHeader
	}
	for scan := 5; p < end && scan > 0; scan-- {
		c := b[p]
		if isXZero(c) {
			p += 2
			continue
		}
		if isZero(c) {
			p++
			continue
		}
		if p+1 < end && isVal(b[p+1]) {
			v1, v2 := valValue(c), valValue(b[p+1])
			if v1 == v2 {
				if n := valLen(c) + valLen(b[p+1]); n <= sparseValLen {
					b[p+1] = valOp(v1, n)
					copy(b[p:], b[p+1:end])
					b = b[:end-1]
					end--
					continue
				}
			}
		}
		p++
	}
	return b, true, nil
}

func promote(b []byte, index, count int) ([]byte, bool, error) {
	d, err := toDense(b)
	if err != nil {
		return nil, false, err
	}
	denseSet(d[HLLHeader:], index, count)
	return d, true, nil
}

// HLLAdd adds elements to the HLL b (modified in place or reallocated),
// returning the new value and whether a register changed (the cache is
// then invalidated).
func HLLAdd(b []byte, elems [][]byte, maxSparse int) ([]byte, bool, error) {
	changed := false
	for _, e := range elems {
		index, count := patLen(e)
		nb, ok, err := hllSet(b, index, count, maxSparse)
		if err != nil {
			return nil, false, err
		}
		b = nb
		changed = changed || ok
	}
	if changed {
		invalidateCache(b)
	}
	return b, changed, nil
}

// HLLDenseUnchanged reports whether b is dense and adding elems would raise
// none of its registers: PFADD then answers 0 without copying the 12 KB
// value, which is what most adds to a well-filled HyperLogLog do.
func HLLDenseUnchanged(b []byte, elems [][]byte) bool {
	if len(b) != HLLDenseSize || b[4] != HLLDense {
		return false
	}
	regs := b[HLLHeader:]
	for _, e := range elems {
		if index, count := patLen(e); denseGet(regs, index) < count {
			return false
		}
	}
	return true
}

// HLLMergeInto raises max[i] to b's register i.
func HLLMergeInto(max *[HLLRegisters]uint8, b []byte) error {
	if b[4] == HLLDense {
		regs := b[HLLHeader:]
		for i := range HLLRegisters {
			if v := uint8(denseGet(regs, i)); v > max[i] {
				max[i] = v
			}
		}
		return nil
	}
	i := 0
	for p := HLLHeader; p < len(b); {
		switch c := b[p]; {
		case isZero(c):
			i += zeroLen(c)
			p++
		case isXZero(c):
			if p+1 >= len(b) {
				return ErrInvalidHLL
			}
			i += xzeroLen(b[p:])
			p += 2
		default:
			n, v := valLen(c), uint8(valValue(c))
			if i+n > HLLRegisters {
				return ErrInvalidHLL
			}
			for ; n > 0; n-- {
				if v > max[i] {
					max[i] = v
				}
				i++
			}
			p++
		}
	}
	if i != HLLRegisters {
		return ErrInvalidHLL
	}
	return nil
}

// HLLFromRegisters writes registers into the HLL b (as PFMERGE does:
// register by register, promoting a sparse one when needed, dense at once
// if dense is set), returning the new value with its cache invalidated.
func HLLFromRegisters(b []byte, max *[HLLRegisters]uint8, dense bool, maxSparse int) ([]byte, error) {
	var err error
	if dense {
		if b, err = toDense(b); err != nil {
			return nil, err
		}
	}
	for i, v := range max {
		if v == 0 {
			continue
		}
		if b, _, err = hllSet(b, i, int(v), maxSparse); err != nil {
			return nil, err
		}
	}
	invalidateCache(b)
	return b, nil
}

// HLLCount estimates the cardinality of b (Ertl's estimator, as Redis 7.0).
func HLLCount(b []byte) (uint64, error) {
	var histo [64]int
	if b[4] == HLLDense {
		regs := b[HLLHeader:]
		for i := range HLLRegisters {
			histo[denseGet(regs, i)]++
		}
	} else {
		idx := 0
		for p := HLLHeader; p < len(b); {
			switch c := b[p]; {
			case isZero(c):
				idx += zeroLen(c)
				histo[0] += zeroLen(c)
				p++
			case isXZero(c):
				if p+1 >= len(b) {
					return 0, ErrInvalidHLL
				}
				n := xzeroLen(b[p:])
				idx += n
				histo[0] += n
				p += 2
			default:
				idx += valLen(c)
				histo[valValue(c)] += valLen(c)
				p++
			}
		}
		if idx != HLLRegisters {
			return 0, ErrInvalidHLL
		}
	}
	return countHisto(&histo), nil
}

// HLLCountRegisters estimates the cardinality of raw registers.
func HLLCountRegisters(regs *[HLLRegisters]uint8) uint64 {
	var histo [64]int
	for _, v := range regs {
		histo[v&63]++
	}
	return countHisto(&histo)
}

func countHisto(histo *[64]int) uint64 {
	m := float64(HLLRegisters)
	z := m * hllTau((m-float64(histo[hllQ+1]))/m)
	for j := hllQ; j >= 1; j-- {
		z += float64(histo[j])
		z *= 0.5
	}
	z += m * hllSigma(float64(histo[0])/m)
	return uint64(math.Round(0.721347520444481703680 * m * m / z))
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		zp := z
		z += x * y
		y += y
		if zp == z {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zp := z
		y *= 0.5
		d := 1 - x
		z -= d * d * y
		if zp == z {
			return z / 3
		}
	}
}

// HLLGetRegisters returns the registers of b (PFDEBUG GETREG).
func HLLGetRegisters(b []byte) ([HLLRegisters]uint8, error) {
	var regs [HLLRegisters]uint8
	err := HLLMergeInto(&regs, b)
	return regs, err
}

// HLLToDense returns b in the dense encoding (b itself if it already is).
func HLLToDense(b []byte) ([]byte, error) { return toDense(b) }

// HLLDecode describes a sparse HLL's opcodes as PFDEBUG DECODE does.
func HLLDecode(b []byte) string {
	out := make([]byte, 0, 64)
	for p := HLLHeader; p < len(b); {
		switch c := b[p]; {
		case isZero(c):
			out = append(out, "z:"...)
			out = appendInt(out, zeroLen(c))
			p++
		case isXZero(c):
			if p+1 >= len(b) {
				return string(out)
			}
			out = append(out, "Z:"...)
			out = appendInt(out, xzeroLen(b[p:]))
			p += 2
		default:
			out = append(out, "v:"...)
			out = appendInt(out, valValue(c))
			out = append(out, ',')
			out = appendInt(out, valLen(c))
			p++
		}
		out = append(out, ' ')
	}
	if len(out) > 0 {
		out = out[:len(out)-1]
	}
	return string(out)
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// HLLSelfTest checks the register coding and the sparse/dense agreement
// (PFSELFTEST); it returns a description of the first failure.
func HLLSelfTest() error {
	regs := make([]byte, HLLDenseSize-HLLHeader)
	var want [HLLRegisters]int
	seed := uint64(0x9e3779b97f4a7c15)
	rnd := func() uint64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
	for range 1000 {
		for i := range want {
			v := int(rnd() & hllRegMax)
			want[i] = v
			denseSet(regs, i, v)
		}
		for i, v := range want {
			if got := denseGet(regs, i); got != v {
				return errors.New("TESTFAILED Register error")
			}
		}
	}
	sparse, dense := NewHLL(), NewHLL()
	dense, _ = toDense(dense)
	var ele [8]byte
	for j := range 30000 {
		binary.LittleEndian.PutUint64(ele[:], rnd())
		var err error
		if sparse, _, err = HLLAdd(sparse, [][]byte{ele[:]}, 3000); err != nil {
			return err
		}
		if dense, _, err = HLLAdd(dense, [][]byte{ele[:]}, 3000); err != nil {
			return err
		}
		if j%1000 == 0 {
			a, err1 := HLLCount(sparse)
			b, err2 := HLLCount(dense)
			if err1 != nil || err2 != nil || a != b {
				return errors.New("TESTFAILED sparse and dense encodings disagree")
			}
		}
	}
	return nil
}
