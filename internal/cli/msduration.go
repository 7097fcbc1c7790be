package cli

import (
	"fmt"
	"strconv"
	"time"
)

// msDuration is a flag that takes redis-cli's milliseconds (--cluster-timeout
// 60000) as well as a Go duration (90s).
type msDuration time.Duration

func (t *msDuration) String() string { return time.Duration(*t).String() }

// Type names the accepted forms in --help.
func (t *msDuration) Type() string { return "ms|duration" }

// Set parses milliseconds or a duration; zero and negative are refused.
func (t *msDuration) Set(s string) error {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		*t = msDuration(time.Duration(ms) * time.Millisecond)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("want milliseconds or a duration like 90s, got %q", s)
	}
	*t = msDuration(d)
	return nil
}
