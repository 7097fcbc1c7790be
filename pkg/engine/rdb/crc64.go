package rdb

import (
	"encoding/binary"
	"hash/crc64"
)

// jonesPoly is the Jones polynomial (0xad93d23594c935a9) bit-reversed, the
// form hash/crc64 expects for reflected CRCs, as Redis' crc64.c computes.
const jonesPoly = 0x95ac9329ac4bc9b5

var jonesTable = crc64.MakeTable(jonesPoly)

// jonesSlicing8 holds the slicing-by-8 tables. hash/crc64 only keeps them
// for its built-in polynomials and rebuilds them on every call for others.
var jonesSlicing8 = func() *[8][256]uint64 {
	var t [8][256]uint64
	t[0] = *jonesTable
	for i := range 256 {
		crc := t[0][i]
		for k := 1; k < 8; k++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[k][i] = crc
		}
	}
	return &t
}()

// CRC64 continues crc over p the way Redis does: reflected, initial value 0,
// no final xor. CRC64(0, []byte("123456789")) == 0xe9c6d914c4b8d9ca.
func CRC64(crc uint64, p []byte) uint64 {
	t := jonesSlicing8
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, c := range p {
		crc = t[0][byte(crc)^c] ^ crc>>8
	}
	return crc
}
