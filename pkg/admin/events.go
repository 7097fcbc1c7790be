// Package admin holds gocluster's operations. Each one is a plan (pure:
// topology + options in, a value out, no I/O) and an apply step that runs
// the plan and reports progress through a Reporter. Nothing here prints or
// prompts: the CLI renders results and events.
package admin

import "sync"

// Event kinds reported while an operation runs.
const (
	EventInfo        = "info"         // a step started or finished ("Sending CLUSTER MEET messages...")
	EventWarning     = "warning"      // something worth the operator's attention
	EventNodeJoined  = "node-joined"  // a node became known to the cluster
	EventSlotMoved   = "slot-moved"   // a slot finished migrating
	EventKeysMoved   = "keys-moved"   // a batch of keys was migrated
	EventNodeUpdated = "node-updated" // a per-node step succeeded (set-timeout, ...)
	EventNodeFailed  = "node-failed"  // a per-node step failed
)

// Event is one step of progress.
type Event struct {
	Kind    string `json:"event"`
	Message string `json:"message,omitempty"`
	Node    string `json:"node,omitempty"`   // host:port
	Target  string `json:"target,omitempty"` // host:port, for moves
	Slot    int    `json:"slot,omitempty"`
	Keys    int    `json:"keys,omitempty"`
	Total   int    `json:"total,omitempty"` // planned total (slots or keys), for progress
}

// Reporter receives events; implementations must be safe for concurrent use.
type Reporter interface {
	Report(Event)
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(Event)

// Report calls f(e).
func (f ReporterFunc) Report(e Event) { f(e) }

// Discard ignores every event.
var Discard Reporter = ReporterFunc(func(Event) {})

// Recorder keeps events in memory; useful for tests and summaries.
type Recorder struct {
	mu     sync.Mutex
	Events []Event
}

// Report appends e.
func (r *Recorder) Report(e Event) {
	r.mu.Lock()
	r.Events = append(r.Events, e)
	r.mu.Unlock()
}
