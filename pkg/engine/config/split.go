package config

import (
	"errors"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// SplitArgs splits a line into words as Redis's sdssplitargs does (config
// files, library metadata): whitespace separates words; a double quote
// anywhere in a word starts a quoted part with \n \r \t \b \a \\ \" and
// \xHH escapes, a single quote one where only \' is special; a closing
// quote must end the word. It is the inline-command splitter of resp.
func SplitArgs(line string) ([]string, error) {
	words, err := resp.SplitArgs([]byte(line))
	if err != nil {
		return nil, errors.New("Unbalanced quotes in configuration line")
	}
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = string(w)
	}
	return out, nil
}
