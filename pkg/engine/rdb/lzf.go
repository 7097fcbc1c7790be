package rdb

// lzfMaxRatio bounds how much LZF can expand its input: the longest
// back-reference is 3 bytes producing 264. A larger declared length is a lie,
// and refusing it keeps a tiny payload from allocating gigabytes.
const lzfMaxRatio = 88

// lzfDecompress expands in into exactly outLen bytes (the LZF format of
// liblzf, which Redis uses for compressed strings).
func lzfDecompress(in []byte, outLen int) ([]byte, error) {
	if outLen < 0 || outLen > len(in)*lzfMaxRatio {
		return nil, corrupt("lzf: declared length %d impossible for %d compressed bytes", outLen, len(in))
	}
	out := make([]byte, 0, outLen)
	for i := 0; i < len(in); {
		ctrl := int(in[i])
		i++
		if ctrl < 32 { // literal run of ctrl+1 bytes
			n := ctrl + 1
			if i+n > len(in) {
				return nil, corrupt("lzf: literal run past end of input")
			}
			if len(out)+n > outLen {
				return nil, corrupt("lzf: output longer than declared")
			}
			out = append(out, in[i:i+n]...)
			i += n
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if i >= len(in) {
				return nil, corrupt("lzf: truncated back-reference")
			}
			n += int(in[i])
			i++
		}
		if i >= len(in) {
			return nil, corrupt("lzf: truncated back-reference")
		}
		back := (ctrl&0x1f)<<8 + int(in[i]) + 1
		i++
		n += 2
		if back > len(out) {
			return nil, corrupt("lzf: back-reference before start of output")
		}
		if len(out)+n > outLen {
			return nil, corrupt("lzf: output longer than declared")
		}
		// Byte by byte: source and destination may overlap (run-length copies).
		start := len(out) - back
		for k := range n {
			out = append(out, out[start+k])
		}
	}
	if len(out) != outLen {
		return nil, corrupt("lzf: output %d bytes, declared %d", len(out), outLen)
	}
	return out, nil
}

// lzfCompress compresses in with LZF, or returns nil when that would not
// save at least 4 bytes (then Redis, and we, store the string raw).
func lzfCompress(in []byte) []byte {
	const (
		maxLiteral = 32
		maxOffset  = 1 << 13
		maxMatch   = 264
	)
	if len(in) <= 4 {
		return nil
	}
	limit := len(in) - 4
	bits := min(max(bitLen(len(in)), 8), 14)
	table := make([]int32, 1<<bits) // last position+1 of each 3-byte hash; 0 = none
	out := make([]byte, 0, limit)
	litStart := -1 // start of the pending literal run
	flushLiterals := func(end int) bool {
		for litStart >= 0 && litStart < end {
			n := min(end-litStart, maxLiteral)
			if len(out)+1+n > limit {
				return false
			}
			out = append(out, byte(n-1))
			out = append(out, in[litStart:litStart+n]...)
			litStart += n
		}
		litStart = -1
		return true
	}
	ip := 0
	for ip+2 < len(in) {
		h := (uint32(in[ip])<<16 | uint32(in[ip+1])<<8 | uint32(in[ip+2])) * 2654435761 >> (32 - bits)
		ref := int(table[h]) - 1
		table[h] = int32(ip + 1)
		if ref >= 0 && ip-ref-1 < maxOffset && in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			n := 3
			for n < maxMatch && ip+n < len(in) && in[ref+n] == in[ip+n] {
				n++
			}
			if !flushLiterals(ip) {
				return nil
			}
			off := ip - ref - 1
			if n-2 < 7 {
				out = append(out, byte((n-2)<<5|off>>8))
			} else {
				out = append(out, byte(7<<5|off>>8), byte(n-2-7))
			}
			out = append(out, byte(off))
			if len(out) > limit {
				return nil
			}
			ip += n
			continue
		}
		if litStart < 0 {
			litStart = ip
		}
		ip++
	}
	if litStart < 0 {
		litStart = ip
	}
	if !flushLiterals(len(in)) {
		return nil
	}
	return out
}

func bitLen(n int) int {
	b := 0
	for ; n > 0; n >>= 1 {
		b++
	}
	return b
}
