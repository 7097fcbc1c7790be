package config

import (
	"errors"
)

var errUnbalanced = errors.New("Unbalanced quotes in configuration line")

// SplitArgs splits a line into words as Redis's sdssplitargs does (config
// files, library metadata): whitespace separates words; a double quote
// anywhere in a word starts a quoted part with \n \r \t \b \a \\ \" and
// \xHH escapes, a single quote one where only \' is special; a closing
// quote must end the word.
func SplitArgs(line string) ([]string, error) {
	var out []string
	i := 0
	isSpace := func(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == 0 }
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return out, nil
		}
		var word []byte
		for done := false; !done; {
			if i >= len(line) {
				break
			}
			switch c := line[i]; {
			case c == '"':
				i++
				for {
					if i >= len(line) {
						return nil, errUnbalanced
					}
					c := line[i]
					if c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]) {
						word = append(word, unhex(line[i+2])<<4|unhex(line[i+3]))
						i += 4
						continue
					}
					if c == '\\' && i+1 < len(line) {
						i++
						switch e := line[i]; e {
						case 'n':
							word = append(word, '\n')
						case 'r':
							word = append(word, '\r')
						case 't':
							word = append(word, '\t')
						case 'b':
							word = append(word, '\b')
						case 'a':
							word = append(word, '\a')
						default:
							word = append(word, e)
						}
						i++
						continue
					}
					i++
					if c == '"' {
						if i < len(line) && !isSpace(line[i]) {
							return nil, errUnbalanced
						}
						done = true
						break
					}
					word = append(word, c)
				}
			case c == '\'':
				i++
				for {
					if i >= len(line) {
						return nil, errUnbalanced
					}
					c := line[i]
					if c == '\\' && i+1 < len(line) && line[i+1] == '\'' {
						word = append(word, '\'')
						i += 2
						continue
					}
					i++
					if c == '\'' {
						if i < len(line) && !isSpace(line[i]) {
							return nil, errUnbalanced
						}
						done = true
						break
					}
					word = append(word, c)
				}
			case isSpace(c):
				done = true
			default:
				word = append(word, c)
				i++
			}
		}
		out = append(out, string(word))
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
