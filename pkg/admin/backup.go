package admin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
)

// BackupNode describes one node in nodes.json. The field names follow
// redis-cli's nodes.json; slots are [start, end] pairs so single slots stay
// unambiguous, and masters name their RDB file.
type BackupNode struct {
	Name         string         `json:"name"`
	Host         string         `json:"host"`
	Port         int            `json:"port"`
	Replicate    *string        `json:"replicate"`
	Slots        [][2]int       `json:"slots"`
	SlotsCount   int            `json:"slots_count"`
	Flags        string         `json:"flags"`
	ConfigEpoch  uint64         `json:"config_epoch"`
	Migrating    map[int]string `json:"migrating,omitempty"`
	Importing    map[int]string `json:"importing,omitempty"`
	RDB          string         `json:"rdb,omitempty"`
	RDBBytes     int64          `json:"rdb_bytes,omitempty"`
	ClusterIssue int            `json:"cluster_errors,omitempty"`
}

// BackupResult is what Backup wrote.
type BackupResult struct {
	Dir      string             `json:"dir"`
	Nodes    []BackupNode       `json:"nodes"`
	Problems []topology.Problem `json:"problems"` // the cluster's state when backed up
}

// BackupFileName is the RDB file name of a master, as redis-cli names it.
func BackupFileName(n *topology.Node) string {
	host := strings.NewReplacer(":", "_", "/", "_").Replace(n.Host)
	return fmt.Sprintf("redis-node-%s-%d-%s.rdb", host, n.Port, n.ID)
}

// Backup saves every reachable master's RDB into dir, fetched through the
// replication stream (SYNC) as `redis-cli --rdb` does, then nodes.json
// describing the topology. When a master that serves slots is unreachable
// it returns the result with an error saying the backup is incomplete. Masters are fetched in parallel; each file is
// written under a temporary name and renamed once complete.
func Backup(ctx context.Context, pool *conn.Pool, seed, dir string, rep Reporter) (*BackupResult, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("backup directory %s is not a directory", dir)
	}
	c, err := topology.Load(ctx, pool, seed)
	if err != nil {
		return nil, err
	}
	report := topology.Check(c)
	res := &BackupResult{Dir: dir, Problems: report.Problems}
	issues := 0
	for _, p := range report.Problems {
		if p.Fails() {
			issues++
		}
	}
	for _, n := range c.Nodes {
		res.Nodes = append(res.Nodes, backupNode(n, issues))
	}
	tlsCfg, err := pool.Options().TLSConfig()
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(c.Nodes))
	save := func(i int, n *topology.Node) {
		rep.Report(Event{Kind: EventInfo, Node: n.Addr(), Message: fmt.Sprintf("Node %s -> Saving RDB...", n.Addr())})
		name := BackupFileName(n)
		size, err := fetchRDB(ctx, pool.Options(), tlsCfg, n.Addr(), filepath.Join(dir, name), false)
		if err != nil {
			errs[i] = err
			return
		}
		res.Nodes[i].RDB, res.Nodes[i].RDBBytes = name, size
		rep.Report(Event{Kind: EventNodeUpdated, Node: n.Addr(),
			Message: fmt.Sprintf("Node %s -> %d bytes saved to %s", n.Addr(), size, name)})
	}
	// Masters are saved in parallel, except those that would race on one
	// snapshot file, which go one after the other.
	groups := map[string][]int{}
	var order []string
	for i, n := range c.Nodes {
		if !n.IsMaster() {
			continue
		}
		key := snapshotFileKey(ctx, pool, n)
		if groups[key] == nil {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	var wg sync.WaitGroup
	for _, key := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, i := range groups[key] {
				save(i, c.Nodes[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	doc, err := json.MarshalIndent(res.Nodes, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, "nodes.json"), append(doc, '\n')); err != nil {
		return nil, err
	}
	// The data of an unreachable master is missing: the files written are
	// kept, but the backup must not pass for a whole one.
	var missing []string
	for _, u := range c.Unreachable {
		if u.Node.IsMaster() && u.Node.Slots.Len() > 0 {
			missing = append(missing, fmt.Sprintf("%s (%d slots)", u.Node.Addr(), u.Node.Slots.Len()))
		}
	}
	if len(missing) > 0 {
		return res, fmt.Errorf("backup in %s is incomplete: unreachable master(s) %s not saved; back up again when every master answers",
			dir, strings.Join(missing, ", "))
	}
	return res, nil
}

// snapshotFileKey names the file a master's SYNC goes through. A master
// that replicates from disk (repl-diskless-sync no) writes dir/dbfilename
// and then sends that file, so two such masters of one host sharing a
// directory, fetched at once, can each send the other's snapshot (redis-cli
// saves masters one at a time and never meets this). Such masters share a
// key; a diskless master gets its own. When CONFIG GET is refused the host
// is the key: one at a time is the safe guess.
func snapshotFileKey(ctx context.Context, pool *conn.Pool, n *topology.Node) string {
	p := pool.Get(n.Addr()).Pipeline()
	diskless := p.ConfigGet(ctx, "repl-diskless-sync")
	dir := p.ConfigGet(ctx, "dir")
	file := p.ConfigGet(ctx, "dbfilename")
	if _, err := p.Exec(ctx); err != nil {
		return n.Host
	}
	if diskless.Val()["repl-diskless-sync"] == "yes" {
		return n.Addr()
	}
	return n.Host + "|" + dir.Val()["dir"] + "|" + file.Val()["dbfilename"]
}

func backupNode(n *topology.Node, issues int) BackupNode {
	b := BackupNode{Name: n.ID, Host: n.Host, Port: n.Port, Slots: [][2]int{}, SlotsCount: n.Slots.Len(),
		Flags: n.FlagString(), ConfigEpoch: n.ConfigEpoch, Migrating: n.Migrating, Importing: n.Importing,
		ClusterIssue: issues}
	if n.MasterID != "" {
		id := n.MasterID
		b.Replicate = &id
	}
	for _, r := range n.Slots.Ranges() {
		b.Slots = append(b.Slots, [2]int{r.Start, r.End})
	}
	return b
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// rdbEOFMarkLen is the length of the delimiter of a diskless transfer
// ("$EOF:<40 bytes>").
const rdbEOFMarkLen = 40

// fetchRDB asks addr for a full resynchronisation and writes the RDB
// payload to path. It returns the payload size. With capaEOF it announces
// support for diskless transfers (tests use it to exercise the EOF-marker
// format); backups leave it off so the master never waits for
// repl-diskless-sync-delay.
func fetchRDB(ctx context.Context, o conn.Options, tlsCfg *tls.Config, addr, path string, capaEOF bool) (size int64, err error) {
	nc, err := dialRaw(ctx, o, tlsCfg, addr)
	if err != nil {
		return 0, conn.NodeError(addr, "connect", err)
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	idle := max(o.CommandTimeout, 30*time.Second) // BGSAVE may take a while; keepalives reset it
	rc := &deadlineConn{Conn: nc, idle: idle}
	r := bufio.NewReaderSize(rc, 64<<10)

	if o.Password != "" {
		args := []string{"AUTH", o.Password}
		if o.Username != "" {
			args = []string{"AUTH", o.Username, o.Password}
		}
		if err := rawCommand(rc, r, args...); err != nil {
			return 0, conn.NodeError(addr, "AUTH", err)
		}
	}
	// Redis 7+ then drops the connection after the RDB instead of streaming
	// writes to us; older servers refuse it, which is harmless.
	_ = rawCommand(rc, r, "REPLCONF", "rdb-only", "1")
	if capaEOF {
		if err := rawCommand(rc, r, "REPLCONF", "capa", "eof"); err != nil {
			return 0, conn.NodeError(addr, "REPLCONF capa eof", err)
		}
	}
	if _, err := rc.Write([]byte("SYNC\r\n")); err != nil {
		return 0, conn.NodeError(addr, "SYNC", ctxErr(ctx, err))
	}
	header, err := readSyncHeader(r)
	if err != nil {
		return 0, conn.NodeError(addr, "SYNC", ctxErr(ctx, err))
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return 0, err
	}
	defer func() {
		f.Close()
		if err != nil {
			os.Remove(path + ".tmp")
		}
	}()
	w := bufio.NewWriterSize(f, 64<<10)
	if mark, ok := strings.CutPrefix(header, "EOF:"); ok {
		if len(mark) != rdbEOFMarkLen {
			return 0, conn.NodeError(addr, "SYNC", fmt.Errorf("bad EOF marker %q", header))
		}
		size, err = copyUntilMark(w, r, []byte(mark))
	} else {
		n, perr := strconv.ParseInt(header, 10, 64)
		if perr != nil || n < 0 {
			return 0, conn.NodeError(addr, "SYNC", fmt.Errorf("bad bulk length %q", header))
		}
		size, err = io.CopyN(w, r, n)
	}
	if err != nil {
		return 0, conn.NodeError(addr, "SYNC", fmt.Errorf("reading RDB payload: %w", ctxErr(ctx, err)))
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if err := checkRDBHeader(path + ".tmp"); err != nil {
		return 0, conn.NodeError(addr, "SYNC", err)
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return size, os.Rename(path+".tmp", path)
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// deadlineConn renews the read/write deadline before every operation, so
// a stalled node fails the backup instead of hanging it.
type deadlineConn struct {
	net.Conn
	idle time.Duration
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(b)
}

func dialRaw(ctx context.Context, o conn.Options, tlsCfg *tls.Config, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.DialTimeout}
	if tlsCfg == nil {
		return d.DialContext(ctx, "tcp", addr)
	}
	cfg := tlsCfg.Clone()
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	td := &tls.Dialer{NetDialer: d, Config: cfg}
	return td.DialContext(ctx, "tcp", addr)
}

// rawCommand sends one RESP command and reads a one-line reply (+OK or -ERR).
func rawCommand(w io.Writer, r *bufio.Reader, args ...string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "-") {
		return errors.New(strings.TrimPrefix(line, "-"))
	}
	return nil
}

// readSyncHeader skips the newline keepalives sent while the master
// prepares the RDB and returns what follows "$": a length or "EOF:<mark>".
func readSyncHeader(r *bufio.Reader) (string, error) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "-"):
			return "", errors.New(strings.TrimPrefix(line, "-"))
		case strings.HasPrefix(line, "$"):
			return line[1:], nil
		default:
			return "", fmt.Errorf("unexpected reply %q", line)
		}
	}
}

// copyUntilMark copies a diskless payload that ends with mark, leaving
// the mark out. It keeps the last len(mark) bytes back until it knows
// they are not the mark.
func copyUntilMark(w io.Writer, r io.Reader, mark []byte) (int64, error) {
	buf := make([]byte, 0, 64<<10+len(mark))
	chunk := make([]byte, 64<<10)
	var written int64
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if len(buf) >= len(mark) && bytes.Equal(buf[len(buf)-len(mark):], mark) {
			m, werr := w.Write(buf[:len(buf)-len(mark)])
			return written + int64(m), werr
		}
		if keep := len(buf) - len(mark); keep > 0 {
			m, werr := w.Write(buf[:keep])
			written += int64(m)
			if werr != nil {
				return written, werr
			}
			buf = append(buf[:0], buf[keep:]...)
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return written, err
		}
	}
}

// checkRDBHeader verifies the file starts like an RDB ("REDIS" + version).
func checkRDBHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 9)
	if _, err := io.ReadFull(f, head); err != nil || !bytes.HasPrefix(head, []byte("REDIS")) {
		return fmt.Errorf("payload is not an RDB file (starts %q)", head)
	}
	return nil
}
