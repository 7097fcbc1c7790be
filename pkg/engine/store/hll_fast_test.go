package store

import (
	"strconv"
	"testing"
)

// HLLDenseUnchanged says "unchanged" exactly when HLLAdd would change
// nothing, on a dense HyperLogLog; sparse ones always take the full path.
func TestHLLDenseUnchangedAgreesWithAdd(t *testing.T) {
	b := NewHLL()
	if HLLDenseUnchanged(b, [][]byte{[]byte("x")}) {
		t.Fatal("a sparse HyperLogLog must take the full path")
	}
	var err error
	for i := range 20000 {
		if b, _, err = HLLAdd(b, [][]byte{[]byte(strconv.Itoa(i))}, 3000); err != nil {
			t.Fatal(err)
		}
	}
	if b[4] != HLLDense {
		t.Fatal("20000 elements should have made it dense")
	}
	for i := range 40000 {
		elems := [][]byte{[]byte("e" + strconv.Itoa(i))}
		fast := HLLDenseUnchanged(b, elems)
		nb, changed, err := HLLAdd(append([]byte(nil), b...), elems, 3000)
		if err != nil {
			t.Fatal(err)
		}
		if fast == changed {
			t.Fatalf("element %d: fast path says unchanged=%v, HLLAdd says changed=%v", i, fast, changed)
		}
		b = nb
	}
}
