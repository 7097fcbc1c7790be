package store

// SlotCount is the number of Redis Cluster hash slots.
const SlotCount = 16384

var crc16Table = func() (t [256]uint16) {
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

// KeySlot is the cluster hash slot of key: CRC16-XMODEM of the key, or of the
// text inside the first non-empty {hash tag}, modulo 16384.
func KeySlot(key []byte) int {
	for i, c := range key {
		if c == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j > i+1 {
						key = key[i+1 : j]
					}
					return int(crc16(key) & (SlotCount - 1))
				}
			}
			break
		}
	}
	return int(crc16(key) & (SlotCount - 1))
}

func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^c]
	}
	return crc
}
