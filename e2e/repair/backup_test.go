package repair

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
)

type backupNode struct {
	Name      string   `json:"name"`
	Host      string   `json:"host"`
	Port      int      `json:"port"`
	Replicate *string  `json:"replicate"`
	Slots     [][2]int `json:"slots"`
	Count     int      `json:"slots_count"`
	Flags     string   `json:"flags"`
	RDB       string   `json:"rdb"`
}

// TestBackupRestores backs up a password-protected cluster with replicas,
// restores each master's RDB into a fresh redis-server and compares every
// key with the cluster.
func TestBackupRestores(t *testing.T) {
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Replicas: 1, Password: "pw"})
	backupAndRestore(t, c)

	r := harness.Run(t, "backup", c.Addr(), t.TempDir()) // no password
	if r.Code != 1 || !strings.Contains(r.Stderr, "authentication required") {
		t.Fatalf("backup without password: exit %d, want 1 and a clear cause:\n%s", r.Code, r.Output())
	}
}

// TestBackupSharedDirectory: masters that replicate from disk and share one
// working directory write their SYNC snapshot to the same dump.rdb; saved
// at once, each could send another's. The backup must still give every
// master its own keys.
func TestBackupSharedDirectory(t *testing.T) {
	shared := t.TempDir()
	c := harness.NewCluster(t, harness.ClusterOptions{Masters: 3, Password: "pw",
		Args: []string{"--dir", shared, "--repl-diskless-sync", "no"}})
	backupAndRestore(t, c)
}

// backupAndRestore fills c, backs it up, restores each master's RDB into a
// fresh redis-server and compares every key with the cluster.
func backupAndRestore(t *testing.T, c *harness.Cluster) {
	t.Helper()
	ctx := context.Background()
	cc := c.ClusterClient(t)
	want := fillTypes(t, cc, "bk", 1500)
	dir := filepath.Join(t.TempDir(), "backup") // missing: backup creates it

	r := harness.Run(t, append([]string{"backup", c.Addr(), dir}, authArgs(c)...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "[OK] Backup created into: "+dir) {
		t.Fatalf("backup exit %d:\n%s", r.Code, r.Output())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "nodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var nodes []backupNode
	if err := json.Unmarshal(raw, &nodes); err != nil {
		t.Fatalf("nodes.json: %v\n%s", err, raw)
	}
	if len(nodes) != len(c.Nodes) {
		t.Fatalf("nodes.json lists %d nodes, want %d", len(nodes), len(c.Nodes))
	}
	restoredKeys, slotsSeen := 0, 0
	for _, n := range nodes {
		if n.Replicate != nil {
			if n.RDB != "" || n.Count != 0 {
				t.Errorf("replica %s has an RDB or slots: %+v", n.Name, n)
			}
			continue
		}
		slotsSeen += n.Count
		if !strings.HasPrefix(n.RDB, "redis-node-") || !strings.HasSuffix(n.RDB, n.Name+".rdb") {
			t.Fatalf("master %s: rdb file name %q", n.Name, n.RDB)
		}
		restored := redistest.Start(t, redistest.Options{Args: []string{"--dir", dir, "--dbfilename", n.RDB}})
		rc := restored.Client()
		keys := rc.Keys(ctx, "*").Val()
		for _, k := range keys {
			if got, exp := readValue(t, rc, k), want[k]; got != exp {
				t.Errorf("restored %s from %s: %q, want %q", k, n.RDB, got, exp)
			}
			slot := cc.ClusterKeySlot(ctx, k).Val()
			in := false
			for _, rg := range n.Slots {
				in = in || (int(slot) >= rg[0] && int(slot) <= rg[1])
			}
			if !in {
				t.Errorf("key %s (slot %d) in the RDB of %s, which does not own that slot", k, slot, n.Name)
			}
		}
		restoredKeys += len(keys)
		rc.Close()
		restored.Stop()
	}
	if restoredKeys != len(want) || slotsSeen != 16384 {
		t.Fatalf("restored %d keys of %d, masters cover %d slots", restoredKeys, len(want), slotsSeen)
	}
}
