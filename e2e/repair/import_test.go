package repair

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

type importDoc struct {
	Plan struct {
		SourceKeys int64 `json:"source_keys"`
	} `json:"plan"`
	Result struct {
		Imported, Skipped, Failed, Deleted int64
	} `json:"result"`
}

// TestImport moves and copies keys of every type, with TTLs, from a
// password-protected standalone redis-server into a cluster with another
// password: the case the redis-cli tutorial reports broken.
func TestImport(t *testing.T) {
	ctx := context.Background()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Password: "cluster-pw"})
	cc := c.ClusterClient(t)
	src := redistest.Start(t, redistest.Options{Password: "source-pw"})
	sc := src.Client()
	defer sc.Close()
	seed := c.Addr()
	base := []string{"import", seed, "--from", src.Addr(), "--from-pass", "source-pw", "-a", "cluster-pw"}

	t.Run("move with passwords on both sides", func(t *testing.T) {
		want := fillTypes(t, sc, "mv", 2000)
		sc.Set(ctx, "mv:ttl", "expiring", time.Hour)
		sc.Set(ctx, "mv:both", "from-source", 0)
		cc.Set(ctx, "mv:both", "cluster-owned", 0)

		r := harness.Run(t, append(base, "--pipeline", "300")...)
		if r.Code != 0 {
			t.Fatalf("import exit %d:\n%s", r.Code, r.Output())
		}
		for _, line := range []string{">>> Importing data from " + src.Addr(), "[OK] 2001 keys imported, 1 skipped, 0 failed, 2001 deleted from the source.",
			"[WARNING] 1 keys already exist in the cluster and were left untouched (use --replace to overwrite): mv:both"} {
			if !strings.Contains(r.Stdout, line) {
				t.Errorf("missing %q in:\n%s", line, r.Stdout)
			}
		}
		checkAll(t, cc, want)
		if ttl := cc.TTL(ctx, "mv:ttl").Val(); ttl < 50*time.Minute || ttl > time.Hour {
			t.Errorf("TTL of mv:ttl is %v after import, want about an hour", ttl)
		}
		if v := cc.Get(ctx, "mv:both").Val(); v != "cluster-owned" {
			t.Errorf("existing cluster key overwritten without --replace: %q", v)
		}
		if keys := sc.Keys(ctx, "*").Val(); len(keys) != 1 || keys[0] != "mv:both" {
			t.Errorf("source should keep only the skipped key, has %d keys: %.5v", len(keys), keys)
		}

		r = harness.Run(t, append(base, "--replace", "--json")...)
		var d importDoc
		if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil || r.Code != 0 {
			t.Fatalf("import --replace --json exit %d: %v\n%s", r.Code, err, r.Output())
		}
		if d.Plan.SourceKeys != 1 || d.Result.Imported != 1 || d.Result.Skipped != 0 || d.Result.Deleted != 1 {
			t.Errorf("--replace result %+v", d)
		}
		if v := cc.Get(ctx, "mv:both").Val(); v != "from-source" {
			t.Errorf("--replace did not overwrite: %q", v)
		}
		if n := sc.DBSize(ctx).Val(); n != 0 {
			t.Errorf("source still has %d keys", n)
		}
	})

	t.Run("copy", func(t *testing.T) {
		want := fillTypes(t, sc, "cp", 500)
		r := harness.Run(t, append(base, "--copy")...)
		if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] 500 keys imported, 0 skipped, 0 failed, 0 deleted from the source.") {
			t.Fatalf("import --copy exit %d:\n%s", r.Code, r.Output())
		}
		checkAll(t, cc, want)
		checkAll(t, sc, want)
	})

	t.Run("dry run and bad input", func(t *testing.T) {
		sc.Set(ctx, "dry", "run", 0)
		r := harness.Run(t, append(base, "--dry-run")...)
		if r.Code != 0 || !strings.Contains(r.Stdout, "Dry run: nothing imported") {
			t.Fatalf("dry run exit %d:\n%s", r.Code, r.Output())
		}
		if cc.Exists(ctx, "dry").Val() != 0 {
			t.Fatal("--dry-run imported a key")
		}
		bad := map[string][]string{
			"no --from":          {"import", seed, "-a", "cluster-pw"},
			"bad --from":         {"import", seed, "--from", "nohost", "-a", "cluster-pw"},
			"wrong source pass":  {"import", seed, "--from", src.Addr(), "--from-pass", "nope", "-a", "cluster-pw"},
			"source is the node": {"import", seed, "--from", seed, "--from-pass", "cluster-pw", "-a", "cluster-pw"},
		}
		wantCode := map[string]int{"no --from": 2, "bad --from": 2, "wrong source pass": 1, "source is the node": 1}
		for name, args := range bad {
			r := harness.Run(t, args...)
			if r.Code != wantCode[name] || strings.Count(strings.TrimSpace(r.Stderr), "\n") > 1 || !strings.HasPrefix(r.Stderr, "gocluster: ") {
				t.Errorf("%s: exit %d (want %d), want a one-line error:\n%s", name, r.Code, wantCode[name], r.Output())
			}
		}
	})
	redisCheckClean(t, c)
}

// TestImportFromTLSSource imports from a source reachable only through TLS
// (verified with --from-cacert) into a plain cluster.
func TestImportFromTLSSource(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestCerts(t, dir)
	tlsPort := redistest.FreePort(t, "127.0.0.1")
	src := redistest.Start(t, redistest.Options{Password: "spw", Args: []string{
		"--tls-port", fmt.Sprint(tlsPort), "--tls-cert-file", cert, "--tls-key-file", key,
		"--tls-ca-cert-file", ca, "--tls-auth-clients", "no"}})
	sc := src.Client() // the plain port, to fill the source
	defer sc.Close()
	want := fillTypes(t, sc, "tls", 300)
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3})
	cc := c.ClusterClient(t)

	from := fmt.Sprintf("127.0.0.1:%d", tlsPort)
	plain := harness.Run(t, "import", c.Addr(), "--from", from, "--from-pass", "spw", "--copy")
	if plain.Code != 1 {
		t.Fatalf("import from a TLS port without --from-tls should fail, exit %d:\n%s", plain.Code, plain.Output())
	}
	r := harness.Run(t, "import", c.Addr(), "--from", from, "--from-pass", "spw", "--from-tls", "--from-cacert", ca, "--copy")
	if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] 300 keys imported") {
		t.Fatalf("import over TLS exit %d:\n%s", r.Code, r.Output())
	}
	checkAll(t, cc, want)
}

// writeTestCerts writes a CA and a server certificate for 127.0.0.1 it
// signed, as PEM files in dir.
func writeTestCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gocluster test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caTmpl, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server.key", "EC PRIVATE KEY", keyDER)
}
