package migrate

import (
	"fmt"
	"strings"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout    = 60 * time.Second // MIGRATE I/O timeout, as redis-cli
	DefaultPipeline   = 1000             // keys per GETKEYSINSLOT / MIGRATE
	DefaultBatchSlots = 512              // slots opened at once per pair
	DefaultInFlight   = 128              // MIGRATEs pipelined at once per pair
	DefaultRetries    = 3                // extra MIGRATE attempts after IOERR/timeout
)

// Options tune a migration. The zero value is usable.
type Options struct {
	// Timeout is MIGRATE's I/O timeout (redis-cli --cluster-timeout).
	Timeout time.Duration
	// Pipeline is how many keys one GETKEYSINSLOT / MIGRATE handles
	// (redis-cli --cluster-pipeline).
	Pipeline int
	// Replace overwrites keys that already exist on the target (MIGRATE REPLACE).
	Replace bool
	// KeepConflicts makes DrainSlot leave keys whose value differs on the
	// target on the source and go on with the others, listing them in its
	// *BusyKeyError at the end (gocluster fix), instead of stopping there.
	KeepConflicts bool
	// BatchSlots is how many slots of one pair are open at the same time.
	BatchSlots int
	// InFlight is how many MIGRATE commands are pipelined to one source.
	InFlight int
	// Retries is how many times a MIGRATE that failed with an I/O error or
	// a timeout is retried, each time with a longer timeout.
	Retries int
	// ReplicaWait bounds how long keys copied to a target with replicas
	// wait for those replicas before they are deleted from the source
	// (DefaultReplicaWait when zero); past it the slot fails with its keys
	// on both nodes.
	ReplicaWait time.Duration
	// Atomic says when to move slots with atomic slot migration (Valkey
	// 9.0's CLUSTER MIGRATESLOTS or Redis 8.4's CLUSTER MIGRATION IMPORT)
	// instead of MIGRATE; the zero value is AtomicNever.
	Atomic AtomicMode
	// Report receives progress; it must be safe for concurrent use. Nil
	// discards events.
	Report func(Event)
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Pipeline <= 0 {
		o.Pipeline = DefaultPipeline
	}
	if o.BatchSlots <= 0 {
		o.BatchSlots = DefaultBatchSlots
	}
	if o.InFlight <= 0 {
		o.InFlight = DefaultInFlight
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	if o.ReplicaWait <= 0 {
		o.ReplicaWait = DefaultReplicaWait
	}
	if o.Atomic == "" {
		o.Atomic = AtomicNever
	}
	if o.Report == nil {
		o.Report = func(Event) {}
	}
	return o
}

// retryTimeout is the MIGRATE timeout for the next attempt: much longer,
// since a timeout usually means a big key that needs more time.
func retryTimeout(cur time.Duration) time.Duration {
	return max(cur*4, 10*time.Second)
}

// EventKind names a progress event.
type EventKind string

// Event kinds.
const (
	EventSlotMoved EventKind = "slot-moved" // a slot was drained and assigned
	EventKeysMoved EventKind = "keys-moved" // DrainSlot moved some keys of a slot
	EventWarning   EventKind = "warning"    // something worth the operator's attention
)

// Event is one step of progress of a migration.
type Event struct {
	Kind    EventKind
	Source  string // host:port
	Target  string // host:port
	Slot    int
	Keys    int // keys moved (for slot-moved: keys of that slot)
	Message string
}

// BusyKeyError means keys of a slot exist on both the source and the
// target with different values, and Options.Replace was not set.
type BusyKeyError struct {
	Slot           int
	Source, Target string
	Keys           []string // keys on both nodes, with different values
}

func (e *BusyKeyError) Error() string {
	keys := e.Keys
	more := ""
	if len(keys) > 5 {
		keys, more = keys[:5], fmt.Sprintf(" and %d more", len(e.Keys)-5)
	}
	return fmt.Sprintf("slot %d: %d key(s) exist on both source %s and target %s with different values: %s%s (use --replace to overwrite the target's copy)",
		e.Slot, len(e.Keys), e.Source, e.Target, strings.Join(keys, ", "), more)
}

// SlotError is a slot that could not be moved, and why.
type SlotError struct {
	Slot           int
	Source, Target string
	Err            error
}

func (e *SlotError) Error() string { return e.Err.Error() }
func (e *SlotError) Unwrap() error { return e.Err }
