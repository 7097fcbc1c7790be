package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFileThenArgs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "redis.conf")
	os.WriteFile(file, []byte("# comment\nport 7000\ncluster-enabled yes\nrequirepass \"p w\"\nsave \"\"\nsave 900 1\n"), 0o644)
	c, err := Load(file, []string{"--port", "7001", "--bind", "127.0.0.1", "127.0.0.2", "--cluster-node-timeout", "5000"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port() != 7001 || !c.ClusterEnabled() || c.RequirePass() != "p w" || c.NodeTimeout().Milliseconds() != 5000 {
		t.Fatalf("got port=%d cluster=%v pass=%q timeout=%v", c.Port(), c.ClusterEnabled(), c.RequirePass(), c.NodeTimeout())
	}
	if b := c.Bind(); len(b) != 2 || b[1] != "127.0.0.2" {
		t.Fatalf("bind %v", b)
	}
	if err := c.SetRuntime("maxmemory", "1mb"); err != nil || c.Get("maxmemory") != "1048576" {
		t.Fatalf("maxmemory: %v %s", err, c.Get("maxmemory"))
	}
	if err := c.Rewrite(); err != nil {
		t.Fatal(err)
	}
	again, err := Load(file, nil)
	if err != nil || again.Port() != 7001 || again.RequirePass() != "p w" || again.Get("maxmemory") != "1048576" {
		t.Fatalf("rewrite lost values: %v", err)
	}
}

func TestBadOptionsAreClearErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.conf")
	os.WriteFile(file, []byte("port 7000\n\nnosuch-directive 1\n"), 0o644)
	_, err := Load(file, nil)
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "Bad directive") {
		t.Fatalf("got %v", err)
	}
	cases := map[string][]string{
		"option --port: argument couldn't be parsed into an integer":  {"--port", "abc"},
		"option --port: argument must be between 0 and 65535":         {"--port", "70000"},
		"option --cluster-enabled: argument must be 'yes' or 'no'":    {"--cluster-enabled", "maybe"},
		"option --bogus: Bad directive or wrong number of arguments":  {"--bogus", "1"},
		"option --port: Bad directive or wrong number of arguments":   {"--port", "1", "2"},
		"argument \"7000\": expected an option name starting with --": {"7000"},
		"option --daemonize: daemonize yes is not supported":          {"--daemonize", "yes"},
	}
	for want, args := range cases {
		_, err := Load("", args)
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: got %v, want prefix %q", args, err, want)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.conf"), nil); err == nil {
		t.Error("missing file accepted")
	}
	c := Default()
	if err := c.SetRuntime("port", "1"); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("CONFIG SET port: %v", err)
	}
}

func TestSplitArgs(t *testing.T) {
	got, err := SplitArgs(`a "b c" 'd\'e' "\x41\n" ""`)
	if err != nil || len(got) != 5 || got[1] != "b c" || got[2] != "d'e" || got[3] != "A\n" || got[4] != "" {
		t.Fatalf("%q %v", got, err)
	}
	for _, bad := range []string{`"abc`, `'abc`, `"a"b`} {
		if _, err := SplitArgs(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
