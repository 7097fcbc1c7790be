package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNormalizeArgs(t *testing.T) {
	got := normalizeArgs([]string{"--cluster", "create", "a:1", "--cluster-replicas", "1", "--cluster-yes", "--", "--cluster-x"})
	want := "[create a:1 --replicas 1 --yes -- --cluster-x]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v want %s", got, want)
	}
	for _, tc := range []struct{ in, want string }{
		{"--cluster-yes --cluster create a:1 b:2 c:3", "[create --yes a:1 b:2 c:3]"},
		{"-a pass --cluster check a:1", "[check -a pass a:1]"},
		{"--tls --cacert ca.pem --cluster reshard a:1 --cluster-slots 10", "[reshard --tls --cacert ca.pem a:1 --slots 10]"},
		{"-a pass --cluster", "[-a pass --cluster]"},
		{"-a x -- --cluster check", "[-a x -- --cluster check]"},
		{"--cluster call a:1 PING --cluster-only-primaries", "[call a:1 PING --only-masters]"},
		{"--cluster add-node a:1 b:2 --cluster-replica --cluster-primary-id=ID", "[add-node a:1 b:2 --replica --master-id=ID]"},
		{"rebalance a:1 --use-empty-primaries --fix-with-unreachable-primaries", "[rebalance a:1 --use-empty-masters --fix-with-unreachable-masters]"},
	} {
		if got := fmt.Sprint(normalizeArgs(strings.Fields(tc.in))); got != tc.want {
			t.Errorf("normalizeArgs(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	server := normalizeArgs([]string{"server", "--port", "7000", "--cluster-enabled", "yes", "--cluster-port", "17000"})
	if fmt.Sprint(server) != "[server --port 7000 --cluster-enabled yes --cluster-port 17000]" {
		t.Fatalf("server options must be left alone: %v", server)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{usagef("bad"), ExitUsage},
		{fmt.Errorf("wrapped: %w", usagef("bad")), ExitUsage},
		{exitError{ExitProblem}, ExitProblem},
		{errors.New("node down"), ExitProblem},
		{context.Canceled, ExitSignal},
		{errors.New(`unknown command "x" for "gocluster"`), ExitUsage},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// run executes gocluster in-process with no terminal.
func run(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestUsageErrorsInProcess(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"check"}, ExitUsage, "accepts 1 arg"},
		{[]string{"check", "127.0.0.1"}, ExitUsage, "want host:port"},
		{[]string{"check", "127.0.0.1:70000"}, ExitUsage, "out of range"},
		{[]string{"set-timeout", "127.0.0.1:7000", "abc"}, ExitUsage, "invalid timeout"},
		{[]string{"set-timeout", "127.0.0.1:7000", "50"}, ExitUsage, "bad idea"},
		{[]string{"call", "127.0.0.1:7000", "PING", "--only-masters", "--only-replicas"}, ExitUsage, "exclude each other"},
		{[]string{"nosuchcommand"}, ExitUsage, "unknown command"},
		{[]string{"check", "127.0.0.1:7000", "--bogus"}, ExitUsage, "unknown flag"},
		{[]string{"check", "--connect-timeout", "soon", "127.0.0.1:7000"}, ExitUsage, "invalid argument"},
		{[]string{"keyslot"}, ExitUsage, "requires at least 1 arg"},
	}
	for _, tt := range tests {
		_, stderr, code := run(tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: code %d stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.msg)
		}
		if strings.Contains(stderr, "panic") {
			t.Errorf("%v panicked: %s", tt.args, stderr)
		}
	}
}

func TestKeyslotCommand(t *testing.T) {
	out, _, code := run("keyslot", "foo", "{user1000}.following")
	if code != 0 || out != "foo: 12182\n{user1000}.following: 3443\n" {
		t.Fatalf("code %d out %q", code, out)
	}
	out, _, _ = run("--cluster-json", "keyslot", "bar")
	if !strings.Contains(out, `"slot": 5061`) {
		t.Fatalf("json out %q", out)
	}
}

func TestEveryCommandHasExample(t *testing.T) {
	root, _ := NewRoot(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("command %q has no Example in its help", c.Name())
		}
	}
}

// TestMutatingCommandsHaveDryRun: every command that changes a cluster can
// show its plan and stop.
func TestMutatingCommandsHaveDryRun(t *testing.T) {
	root, _ := NewRoot(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	for _, name := range []string{"create", "add-node", "del-node", "reshard", "rebalance", "fix", "import", "set-timeout", "call"} {
		c, _, err := root.Find([]string{name})
		if err != nil || c.Name() != name {
			t.Errorf("command %s missing: %v", name, err)
			continue
		}
		if c.Flags().Lookup("dry-run") == nil {
			t.Errorf("%s has no --dry-run", name)
		}
	}
}
