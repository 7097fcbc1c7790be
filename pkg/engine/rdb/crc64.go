package rdb

import "hash/crc64"

// jonesPoly is the Jones polynomial (0xad93d23594c935a9) bit-reversed, the
// form hash/crc64 expects for reflected CRCs, as Redis' crc64.c computes.
const jonesPoly = 0x95ac9329ac4bc9b5

var jonesTable = crc64.MakeTable(jonesPoly)

// CRC64 continues crc over p the way Redis does: reflected, initial value 0,
// no final xor. CRC64(0, []byte("123456789")) == 0xe9c6d914c4b8d9ca.
func CRC64(crc uint64, p []byte) uint64 {
	// hash/crc64 inverts on entry and exit; undo both to get Redis' variant.
	return ^crc64.Update(^crc, jonesTable, p)
}
