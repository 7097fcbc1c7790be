package cluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

const (
	commitMe   = "a643f674183f5fe22dfc71699f7c77107966df37"
	commitPeer = "6511828c5f06a489b2372cf01748fb04e5e16259"
)

// newTwoNodeOffline is a node (no bus) that owns slots 0-100 and knows a
// peer owning 101-199.
func newTwoNodeOffline(t *testing.T) (*Cluster, string) {
	t.Helper()
	conf := commitMe + " 127.0.0.1:31001@41001 myself,master - 0 0 1 connected 0-100\n" +
		commitPeer + " 127.0.0.1:31002@41002 master - 0 0 2 connected 101-199\n" +
		"vars currentEpoch 2 lastVoteEpoch 0\n"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nodes.conf"), []byte(conf), 0o644)
	c, err := New(Config{Dir: dir, Host: "127.0.0.1", Port: 31001}, newFakeKeyspace())
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

func command(c *Cluster, w *resp.Writer, args ...string) {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	c.Command(w, b)
}

// A pipeline of SETSLOTs is written to nodes.conf once, when its replies are
// flushed, and before they leave: a node killed after the client read "OK"
// restarts with every change of the batch.
func TestSetSlotBatchIsSavedOnceBeforeItsReplies(t *testing.T) {
	c, dir := newTwoNodeOffline(t)
	path := filepath.Join(dir, "nodes.conf")
	var out bytes.Buffer
	w := resp.NewWriter(&out)
	for s := 101; s <= 199; s++ {
		command(c, w, "SETSLOT", fmt.Sprint(s), "IMPORTING", commitPeer)
	}
	command(c, w, "SETSLOT", "7", "MIGRATING", commitPeer)
	if disk, _ := os.ReadFile(path); bytes.Contains(disk, []byte("-<-")) {
		t.Fatalf("nodes.conf was rewritten before the batch's replies were flushed:\n%s", disk)
	}
	if out.Len() != 0 {
		t.Fatalf("replies sent before Flush: %q", out.String())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "+OK\r\n"); n != 100 {
		t.Fatalf("%d OK replies, want 100: %q", n, out.String())
	}
	disk, _ := os.ReadFile(path)
	for s := 101; s <= 199; s++ {
		if want := fmt.Sprintf("[%d-<-%s]", s, commitPeer); !bytes.Contains(disk, []byte(want)) {
			t.Fatalf("nodes.conf after the flush lacks %s:\n%s", want, disk)
		}
	}
	if want := "[7->-" + commitPeer + "]"; !bytes.Contains(disk, []byte(want)) {
		t.Fatalf("nodes.conf after the flush lacks %s:\n%s", want, disk)
	}
	restarted, err := New(Config{Dir: dir, Host: "127.0.0.1", Port: 31001}, newFakeKeyspace())
	if err != nil {
		t.Fatal(err)
	}
	if restarted.importing[150] == nil || restarted.migrating[7] == nil || restarted.openSlots != 100 {
		t.Fatalf("restarted node: importing[150]=%v migrating[7]=%v openSlots=%d",
			restarted.importing[150], restarted.migrating[7], restarted.openSlots)
	}
}

// When nodes.conf cannot be written, the batch's replies are dropped and the
// connection's writer fails: the client never reads an OK that was not saved.
func TestUnsavedChangeIsNeverAcknowledged(t *testing.T) {
	c, dir := newTwoNodeOffline(t)
	path := filepath.Join(dir, "nodes.conf")
	os.Remove(path)
	if err := os.Mkdir(path, 0o755); err != nil { // rename onto a directory fails, even for root
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := resp.NewWriter(&out)
	command(c, w, "SETSLOT", "150", "IMPORTING", commitPeer)
	err := w.Flush()
	if err == nil || !strings.Contains(err.Error(), "nodes.conf") {
		t.Fatalf("flush error %v, want one naming nodes.conf", err)
	}
	if out.Len() != 0 {
		t.Fatalf("sent %q although the change was not saved", out.String())
	}
	// Once the file can be written again, the next batch commits both changes.
	os.Remove(path)
	w2 := resp.NewWriter(&out)
	command(c, w2, "SETSLOT", "151", "IMPORTING", commitPeer)
	if err := w2.Flush(); err != nil || out.String() != "+OK\r\n" {
		t.Fatalf("after repair: err %v, sent %q", err, out.String())
	}
	disk, _ := os.ReadFile(path)
	if !bytes.Contains(disk, []byte("[150-<-")) || !bytes.Contains(disk, []byte("[151-<-")) {
		t.Fatalf("nodes.conf lacks the open slots:\n%s", disk)
	}
}
