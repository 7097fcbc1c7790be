package check

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

// TestCheckOverTLS: a TLS-only cluster made by redis-cli is checked by
// gocluster with --tls --cacert --cert --key; a wrong CA or plain TCP fail
// with one clear line.
func TestCheckOverTLS(t *testing.T) {
	files := redistest.MakeTLS(t)
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, TLS: files})
	args := append([]string{"check", c.Addr()}, c.ConnArgs()...)
	if r := harness.Run(t, args...); r.Code != 0 || !strings.Contains(r.Stdout, "[OK] All 16384 slots covered.") {
		t.Fatalf("check over TLS: %d\n%s", r.Code, r.Output())
	}
	other := redistest.MakeTLS(t) // a CA that did not sign the nodes
	r := harness.Run(t, "check", c.Addr(), "--tls", "--cacert", other.CA, "--cert", files.Cert, "--key", files.Key)
	if r.Code != 1 || !strings.Contains(r.Stderr, "TLS handshake failed") {
		t.Fatalf("wrong CA: %d\n%s", r.Code, r.Output())
	}
	if r := harness.Run(t, "check", c.Addr(), "--tls", "--insecure", "--cert", files.Cert, "--key", files.Key); r.Code != 0 {
		t.Fatalf("--insecure: %d\n%s", r.Code, r.Output())
	}
	if r := harness.Run(t, "check", c.Addr(), "--command-timeout", "2s"); r.Code != 1 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Fatalf("plain TCP to a TLS node: want exit 1 and one line, got %d\n%s", r.Code, r.Output())
	}
}

// TestCheckWithACLUser: nodes whose default user is off are reachable with
// --user and -a, and the same password for the wrong user fails clearly.
func TestCheckWithACLUser(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	for _, s := range c.Nodes {
		hp := []string{"-h", s.Host, "-p", fmt.Sprint(s.Port)}
		for _, cmd := range [][]string{
			{"ACL", "SETUSER", "ops", "on", ">opspass", "~*", "&*", "+@all"},
			{"ACL", "SETUSER", "default", "off"},
		} {
			if r := harness.RedisCLI(t, append(hp, cmd...)...); strings.TrimSpace(r.Stdout) != "OK" {
				t.Fatalf("%v on %s: %s", cmd, s.Addr(), r.Output())
			}
		}
	}
	if r := harness.Run(t, "check", c.Addr(), "--user", "ops", "-a", "opspass"); r.Code != 0 {
		t.Fatalf("check as ACL user: %d\n%s", r.Code, r.Output())
	}
	if r := harness.Run(t, "check", c.Addr(), "-a", "opspass"); r.Code != 1 || !strings.Contains(r.Stderr, "authentication failed") || !strings.Contains(r.Stderr, "--user") {
		t.Fatalf("default user is off, want auth failure: %d\n%s", r.Code, r.Output())
	}
}
