package cli

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/schollz/progressbar/v3"
)

// eventRenderer shows an operation's events: a progress bar of slots on a
// terminal, a plain progress line every second otherwise, or one JSON
// object per line with --json. It is an admin.Reporter.
type eventRenderer struct {
	g     *globals
	p     *printer
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	total int // planned slots, 0 when unknown
	slots int
	keys  int
	start time.Time
	last  time.Time
}

// newEventRenderer renders events of an operation that moves totalSlots slots.
func newEventRenderer(g *globals, totalSlots int) *eventRenderer {
	r := &eventRenderer{g: g, p: g.printer(), total: totalSlots, start: time.Now(), last: time.Now()}
	if !g.json && isTerminal(g.stdout) && totalSlots > 0 {
		r.bar = progressbar.NewOptions(totalSlots,
			progressbar.OptionSetWriter(g.stderr),
			progressbar.OptionSetDescription("slots"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return r
}

// Report renders one event; safe for concurrent use.
func (r *eventRenderer) Report(e admin.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.g.json {
		b, _ := json.Marshal(e)
		fmt.Fprintln(r.g.stdout, string(b))
		return
	}
	switch e.Kind {
	case admin.EventSlotMoved:
		r.slots++
		r.keys += e.Keys
		if r.bar != nil {
			r.bar.Describe(fmt.Sprintf("slots, %d keys (%s keys/s)", r.keys, r.rate()))
			r.bar.Add(1)
		} else if time.Since(r.last) >= time.Second {
			r.last = time.Now()
			r.p.Plain("Moved %d/%d slots, %d keys (%s keys/s)", r.slots, r.total, r.keys, r.rate())
		}
	case admin.EventKeysMoved:
		r.keys += e.Keys
	case admin.EventWarning, admin.EventNodeFailed:
		r.above(func() { r.p.Warn("[WARNING] %s", e.Message) })
	case admin.EventInfo: // a step starting: redis-cli's ">>> Fixing open slot N", ">>> Node A -> Saving RDB..."
		if e.Message != "" {
			r.above(func() { r.p.Info(">>> %s", e.Message) })
		}
	default:
		if e.Message != "" {
			r.above(func() { r.p.Info("%s", e.Message) })
		}
	}
}

// above prints a line without tearing the progress bar.
func (r *eventRenderer) above(print func()) {
	if r.bar != nil {
		r.bar.Clear()
	}
	print()
	if r.bar != nil {
		r.bar.RenderBlank()
	}
}

func (r *eventRenderer) rate() string {
	secs := time.Since(r.start).Seconds()
	if secs <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f", float64(r.keys)/secs)
}

// Finish closes the bar and returns the counts it saw.
func (r *eventRenderer) Finish() (slots, keys int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar != nil {
		r.bar.Finish()
	}
	return r.slots, r.keys
}
