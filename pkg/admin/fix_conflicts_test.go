package admin

import (
	"strings"
	"testing"

	"github.com/gocluster/gocluster/pkg/slots"
)

// A saved copy must stay in its key's slot, or the owner would not hold it
// and clients could not reach it.
func TestSavedKeyNameStaysInTheSlot(t *testing.T) {
	tag := "gocluster-conflict:0123abcd:1764892800"
	for _, key := range []string{"w14602:0:19:c", "{user:1}:cart", "a{b", "a}b", "}{", "{}x", "", "{", "x{}y}z"} {
		name, err := savedKeyName(key, tag)
		if err != nil {
			t.Fatalf("savedKeyName(%q): %v", key, err)
		}
		if got, want := slots.Slot(name), slots.Slot(key); got != want {
			t.Errorf("savedKeyName(%q) = %q in slot %d, want slot %d", key, name, got, want)
		}
		if !strings.Contains(name, key) || !strings.Contains(name, tag) {
			t.Errorf("savedKeyName(%q) = %q: must name the key and the tag", key, name)
		}
	}
}
