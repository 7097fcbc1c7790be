package config

import (
	"errors"
	"strconv"
)

// SplitArgs splits a config line into words like redis-server does:
// whitespace separates; "double quotes" support \n \r \t \b \a \\ \" and \xHH;
// 'single quotes' are literal except \'.
func SplitArgs(line string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			return out, nil
		}
		var word []byte
		switch line[i] {
		case '"':
			i++
			for ; ; i++ {
				if i >= len(line) {
					return nil, errors.New("Unbalanced quotes in configuration line")
				}
				c := line[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' && i+1 < len(line) {
					if line[i+1] == 'x' && i+3 < len(line) {
						if n, err := strconv.ParseUint(line[i+2:i+4], 16, 8); err == nil {
							word = append(word, byte(n))
							i += 3
							continue
						}
					}
					i++
					c = map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'a': '\a'}[line[i]]
					if c == 0 {
						c = line[i]
					}
				}
				word = append(word, c)
			}
		case '\'':
			i++
			for ; ; i++ {
				if i >= len(line) {
					return nil, errors.New("Unbalanced quotes in configuration line")
				}
				if line[i] == '\\' && i+1 < len(line) && line[i+1] == '\'' {
					i++
					word = append(word, '\'')
					continue
				}
				if line[i] == '\'' {
					i++
					break
				}
				word = append(word, line[i])
			}
		default:
			for i < len(line) && line[i] != ' ' && line[i] != '\t' {
				word = append(word, line[i])
				i++
			}
		}
		if i < len(line) && line[i] != ' ' && line[i] != '\t' {
			return nil, errors.New("Unbalanced quotes in configuration line")
		}
		out = append(out, string(word))
	}
}
