package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// validateDurations rejects flag values that would otherwise be replaced by a
// default without a word: a zero or negative timeout, global or the
// command's own (--converge-timeout).
func validateDurations(cmd *cobra.Command) error {
	var bad error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if bad == nil && f.Changed && f.Value.Type() == "duration" {
			if d, err := time.ParseDuration(f.Value.String()); err == nil && d <= 0 {
				bad = usagef("invalid --%s %s: must be more than 0 (e.g. 500ms, 30s)", f.Name, f.Value)
			}
		}
	})
	return bad
}

// flagError rewords flag parsing errors for operators: strconv's and
// time's internals become what the flag wants, and a negative number read
// as a flag says so.
func flagError(err error) error {
	msg := err.Error()
	var num *strconv.NumError
	if errors.As(err, &num) {
		want := "want a whole number"
		switch {
		case errors.Is(num.Err, strconv.ErrRange):
			want = "out of range"
		case num.Func == "ParseFloat":
			want = "want a number"
		case num.Func == "ParseBool":
			want = "want true or false"
		}
		return errors.New(strings.TrimSuffix(msg, num.Error()) + want)
	}
	if i := strings.Index(msg, "time: invalid duration "); i >= 0 {
		return errors.New(msg[:i] + "want a duration like 500ms or 3s")
	}
	var unknown interface{ GetSpecifiedShortnames() string }
	if errors.As(err, &unknown) {
		if v := "-" + unknown.GetSpecifiedShortnames(); len(v) > 1 {
			if _, perr := strconv.ParseFloat(v, 64); perr == nil {
				return fmt.Errorf("invalid argument %q: negative numbers are not accepted here (a leading - reads as a flag)", v)
			}
		}
	}
	return err
}
