package admin

import "errors"

// RedisCLIRefusal is a refusal that carries the line redis-cli prints for
// the same case ("[ERR] Node ... is not empty. ..."), so scripts written
// for redis-cli that grep its output keep working; the CLI prints Line on
// stdout, where redis-cli prints nearly all of them, and keeps stderr for
// its own one-line error.
type RedisCLIRefusal struct {
	Line string
	Err  error
}

func (r *RedisCLIRefusal) Error() string { return r.Err.Error() }
func (r *RedisCLIRefusal) Unwrap() error { return r.Err }

// withRedisCLILine marks err with redis-cli's line for the same refusal.
func withRedisCLILine(err error, line string) error {
	return &RedisCLIRefusal{Line: line, Err: err}
}

// RedisCLILine finds the redis-cli line carried by err, if any.
func RedisCLILine(err error) (*RedisCLIRefusal, bool) {
	var r *RedisCLIRefusal
	ok := errors.As(err, &r)
	return r, ok
}
