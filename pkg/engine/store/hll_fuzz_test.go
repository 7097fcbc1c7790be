package store

import "testing"

// FuzzHLL: any string with a HyperLogLog header is hostile input (a client
// can SET it or RESTORE it): adding, counting, merging and converting it
// never panics, and what is accepted stays a valid HLL.
func FuzzHLL(f *testing.F) {
	sparse, _, _ := HLLAdd(NewHLL(), [][]byte{[]byte("a"), []byte("b"), []byte("c")}, 3000)
	dense, _ := toDense(sparse)
	f.Add(NewHLL(), []byte("x"))
	f.Add(sparse, []byte("y"))
	f.Add(dense, []byte("z"))
	f.Add(append(append([]byte(nil), sparse...), 0x7f), []byte(""))
	f.Add([]byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\xff\xff\xff\xff"), []byte("w"))
	f.Fuzz(func(t *testing.T, b, ele []byte) {
		if !IsHLL(b) {
			return
		}
		HLLCount(b)
		var max [HLLRegisters]uint8
		HLLMergeInto(&max, b)
		HLLToDense(append([]byte(nil), b...))
		HLLDecode(b)
		nb, _, err := HLLAdd(append([]byte(nil), b...), [][]byte{ele}, 3000)
		if err == nil && !IsHLL(nb) {
			t.Fatalf("PFADD made an invalid HLL from %q", b)
		}
		if err == nil && len(b) < 64 { // PFMERGE into a long sparse HLL is slow under the fuzzer
			HLLFromRegisters(nb, &max, false, 3000)
		}
	})
}
