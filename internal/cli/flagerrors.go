package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// validate rejects global flag values that would otherwise be replaced by
// a default without a word (a zero or negative timeout).
func (g *globals) validate() error {
	for _, t := range []struct {
		name  string
		value fmt.Stringer
		ok    bool
	}{
		{"--connect-timeout", g.connectTimeout, g.connectTimeout > 0},
		{"--command-timeout", g.commandTimeout, g.commandTimeout > 0},
	} {
		if !t.ok {
			return usagef("invalid %s %s: must be more than 0 (e.g. 500ms, 3s)", t.name, t.value)
		}
	}
	return nil
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
