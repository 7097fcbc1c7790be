package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Bad flags and arguments get one line saying what the flag wants, before
// any node is contacted (the addresses below are never dialled).
func TestBadFlagMessages(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"reshard", "127.0.0.1:1", "--slots", "abc"}, `invalid argument "abc" for "--slots" flag: want a whole number`},
		{[]string{"create", "127.0.0.1:1", "--replicas", "99999999999999999999"}, `"--replicas" flag: out of range`},
		{[]string{"rebalance", "127.0.0.1:1", "--threshold", "x"}, `"--threshold" flag: want a number`},
		{[]string{"check", "127.0.0.1:1", "--json=maybe"}, `"--json" flag: want true or false`},
		{[]string{"check", "127.0.0.1:1", "--connect-timeout", "abc"}, `"--connect-timeout" flag: want a duration like 500ms or 3s`},
		{[]string{"set-timeout", "127.0.0.1:1", "-5"}, `invalid argument "-5": negative numbers are not accepted here`},
		{[]string{"check", "127.0.0.1:1", "--command-timeout", "0"}, "invalid --command-timeout 0s: must be more than 0"},
		{[]string{"add-node", "127.0.0.1:1", "127.0.0.1:2", "--converge-timeout", "-1s"}, "invalid --converge-timeout -1s: must be more than 0"},
		{[]string{"check"}, "check: accepts 1 arg(s), received 0 (usage: gocluster check host:port)"},
		{[]string{"local", "down"}, `unknown command "down" for "gocluster local"`},
		{[]string{"add-node", "127.0.0.1:1", "127.0.0.1:1"}, "the new node 127.0.0.1:1 is also the existing node"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
		first := strings.SplitN(stderr.String(), "\n", 2)[0]
		if code != ExitUsage || !strings.HasPrefix(first, "gocluster: ") || !strings.Contains(first, tt.want) {
			t.Errorf("gocluster %s: exit %d, first stderr line %q; want exit 2 and %q", strings.Join(tt.args, " "), code, first, tt.want)
		}
	}
}
