package migrate

import (
	"errors"
	"slices"
	"testing"
)

// TestResumableCountsEachSlotOnce: a resume covers the moves never started
// and the failed ones whose slot stayed on its source, each slot once; a
// slot left open is for fix, not for a resume.
func TestResumableCountsEachSlotOnce(t *testing.T) {
	var job Job
	for slot := range 10 {
		job.Moves = append(job.Moves, Move{Slot: slot})
	}
	failed := func(slot int) *SlotError { return &SlotError{Slot: slot, Err: errors.New("failed")} }
	res := &Result{
		Remaining: []Move{{Slot: 8}, {Slot: 9}},
		Failed:    []*SlotError{failed(3), failed(4), failed(4), failed(5), failed(9)},
		Open:      []int{5},
	}
	var got []int
	for _, m := range res.Resumable(job) {
		got = append(got, m.Slot)
	}
	if want := []int{8, 9, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("Resumable slots %v, want %v", got, want)
	}
}
