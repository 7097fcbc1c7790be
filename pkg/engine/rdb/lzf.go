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
