package server

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/aof"
	"github.com/gocluster/gocluster/pkg/engine/persist"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// The append-only file as Redis 7 keeps it (appendonly yes): in
// dir/appenddirname, a manifest naming a base file (an RDB snapshot, or
// commands with aof-use-rdb-preamble no) and incremental files of the
// write commands, in the form they take in the replication stream. A
// client's reply leaves only once its writes are in the file (and fsynced
// with appendfsync always). BGREWRITEAOF and the automatic rewrite start a
// new incremental file and a new base from a snapshot, then retire the old
// files; the manifest always names a complete history.

func init() {
	def("bgrewriteaof", 1, "admin noscript nolock", 0, 0, 0, cmdBgrewriteaof)
}

// aofState is the append-only file's state.
type aofState struct {
	log      atomic.Pointer[aof.Log] // nil while appendonly is off
	selected bool                    // SELECT 0 went into the current incremental file (DB.Mu)
	lastTS   int64                   // second of the last #TS annotation (DB.Mu)
	end      int64                   // offset just past the last append (DB.Mu)

	mu        sync.Mutex    // manifest and the files it names
	manifest  *aof.Manifest // nil until an AOF exists
	fixedSize atomic.Int64  // bytes of the base and of incremental files no longer written
	baseSize  atomic.Int64  // the AOF's size after the last rewrite (auto-aof-rewrite-percentage)

	rewriting     atomic.Bool
	rewriteStart  atomic.Int64 // unix ns of the running rewrite
	lastRewriteNs atomic.Int64 // duration of the last rewrite; 0 before the first
	rewriteFailed atomic.Bool
	// rewriteFailures counts rewrites failed in a row, reset by a success.
	rewriteFailures atomic.Int64
	rewrites        atomic.Int64
}

var errRewriteRunning = errors.New("Background append only file rewriting already in progress")

func (s *Server) aofDir() string { return filepath.Join(s.Cfg.Dir(), s.Cfg.Get("appenddirname")) }

func (s *Server) aofPrefix() string { return s.Cfg.Get("appendfilename") }

// propagating tells the write path whether executed writes go anywhere.
func (s *Server) propagating() bool {
	return s.replicaCount.Load() > 0 || s.aof.log.Load() != nil || s.slotMig.capturing.Load() > 0
}

// aofFeed appends a write to the AOF; called under the store lock.
func (s *Server) aofFeed(p []byte) {
	if len(p) > 0 {
		s.aofFeedFunc(func(b []byte) []byte { return append(b, p...) })
	}
}

// aofFeedFunc appends what encode adds to the AOF's buffer; called under
// the store lock.
func (s *Server) aofFeedFunc(encode func([]byte) []byte) {
	l := s.aof.log.Load()
	if l == nil {
		return
	}
	if s.Cfg.Bool("aof-timestamp-enabled") {
		if now := time.Now().Unix(); now != s.aof.lastTS {
			s.aof.lastTS = now
			l.Append([]byte("#TS:" + strconv.FormatInt(now, 10) + "\r\n"))
		}
	}
	if !s.aof.selected {
		s.aof.selected = true
		l.Append(resp.AppendCommand(nil, []byte("SELECT"), []byte("0")))
	}
	s.aof.end = l.AppendFunc(encode)
}

// noteAOFWrite remembers how far the AOF must be written before this
// client's reply may leave; called under the store lock after a write.
func (c *Client) noteAOFWrite() {
	if l := c.srv.aof.log.Load(); l != nil {
		c.aofLog, c.aofOff = l, c.srv.aof.end
	}
}

// commitAOF makes the client's writes durable as appendfsync asks before
// its replies are flushed. On failure the replies are dropped and the
// connection closes: the client must not take the write as done.
func (c *Client) commitAOF() bool {
	l := c.aofLog
	if l == nil {
		return true
	}
	c.aofLog = nil
	if err := l.Commit(c.aofOff); err != nil {
		c.srv.Logger.Printf("AOF: writing for client %d: %v; closing the connection without its replies", c.id, err)
		c.w.Reset(discard{})
		c.closeNow = true
		return false
	}
	return true
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// aofWriteError is the MISCONF refusal of writes after the AOF failed.
func (s *Server) aofWriteError() string {
	l := s.aof.log.Load()
	if l == nil {
		return ""
	}
	if err := l.Err(); err != nil {
		return "MISCONF Errors writing to the AOF file: " + err.Error()
	}
	return ""
}

// LoadData loads what the node persisted: the AOF when appendonly is on
// (as redis-server, the RDB is then not read), else dir/dbfilename.
func (s *Server) LoadData() error {
	if !s.Cfg.Bool("appendonly") {
		return s.LoadRDB()
	}
	m, err := s.loadAOF()
	if err != nil {
		return err
	}
	return s.openAOF(m)
}

// loadAOF replays the files the manifest names; nil when there is none.
func (s *Server) loadAOF() (*aof.Manifest, error) {
	dir := s.aofDir()
	data, err := persist.ReadIfExists(filepath.Join(dir, aof.ManifestName(s.aofPrefix())))
	if err != nil {
		return nil, err
	}
	if data == nil {
		if _, err := os.Stat(s.rdbPath()); err == nil {
			s.Logger.Printf("appendonly is on and %s holds no AOF: %s is not loaded (as redis-server does); to turn an RDB into an AOF, start without appendonly and run CONFIG SET appendonly yes",
				dir, s.rdbPath())
		}
		return nil, s.loadLegacyAOF()
	}
	m, err := aof.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("AOF manifest %s: %w", filepath.Join(dir, aof.ManifestName(s.aofPrefix())), err)
	}
	start := time.Now()
	if m.Base != nil {
		if _, err := s.replayAOFFile(filepath.Join(dir, m.Base.Name), true, len(m.Incr) == 0); err != nil {
			return nil, err
		}
	}
	for i, f := range m.Incr {
		if _, err := s.replayAOFFile(filepath.Join(dir, f.Name), false, i == len(m.Incr)-1); err != nil {
			return nil, err
		}
	}
	s.DB.Mu.Lock()
	keys := s.DB.DBSize()
	s.DB.Mu.Unlock()
	s.Logger.Printf("DB loaded from append only file %s: %d keys, %.3f seconds", dir, keys, time.Since(start).Seconds())
	return m, nil
}

// loadLegacyAOF replays a Redis 6 style single file, dir/appendfilename,
// which the first rewrite then turns into the directory layout.
func (s *Server) loadLegacyAOF() error {
	path := filepath.Join(s.Cfg.Dir(), s.aofPrefix())
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	s.Logger.Printf("loading the single-file AOF %s (it moves to %s with the new layout)", path, s.aofDir())
	_, err := s.replayAOFFile(path, false, true)
	return err
}

// replayAOFFile loads one file: an RDB base, or commands. A file that
// ends inside a command is a crash's leftover: the last file is cut back
// to its last complete command when aof-load-truncated allows it.
func (s *Server) replayAOFFile(path string, base, last bool) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("the AOF file %s named in the manifest does not exist", path)
	}
	if err != nil {
		return 0, err
	}
	if base && bytes.HasPrefix(data, []byte("REDIS")) {
		n, err := s.loadRDBBytes(data)
		if err != nil {
			return 0, fmt.Errorf("loading the AOF base %s: %w", path, err)
		}
		return n, nil
	}
	if bytes.HasPrefix(data, []byte("REDIS")) {
		return 0, fmt.Errorf("%s starts with an RDB preamble: only a base file may (a single-file AOF with a preamble: let redis-server 7 convert it first)", path)
	}
	applier := &Client{srv: s, user: "aof", authed: true, w: resp.NewWriter(discard{}), applier: true}
	valid, err := aof.Replay(data, func(args [][]byte) error {
		cmd := lookupCommand(args[0])
		if cmd == nil {
			return fmt.Errorf("unknown command '%s' reading the append only file %s", printable(args[0], 64), path)
		}
		if cmd.name == "select" {
			if len(args) != 2 || string(args[1]) != "0" {
				return fmt.Errorf("%s selects database %s: the engine has only database 0", path, printable(args[len(args)-1], 20))
			}
			return nil
		}
		applier.callRecovering(cmd, args)
		applier.w.Reset(discard{})
		return nil
	})
	var ferr *aof.FormatError
	switch {
	case err == aof.ErrTruncated && last && s.Cfg.Bool("aof-load-truncated"):
		s.Logger.Printf("!!! Warning: short read while loading the AOF file %s !!! AOF loaded anyway because aof-load-truncated is enabled; cutting it to its last complete command (%d of %d bytes)",
			path, valid, len(data))
		if err := os.Truncate(path, valid); err != nil {
			return 0, fmt.Errorf("cutting the truncated AOF file %s: %w", path, err)
		}
	case err == aof.ErrTruncated:
		return 0, fmt.Errorf("the AOF file %s is truncated (unexpected end of file at byte %d): run redis-check-aof --fix on it, or set aof-load-truncated yes", path, valid)
	case errors.As(err, &ferr):
		return 0, fmt.Errorf("Bad file format reading the append only file %s: %v: make a backup of it and run redis-check-aof --fix", path, err)
	case err != nil:
		return 0, err
	}
	return 0, nil
}

// openAOF starts appending after a load: to the manifest's last
// incremental file, or — with no AOF yet — to a new one beside a base
// written from what is in memory.
func (s *Server) openAOF(m *aof.Manifest) error {
	if m == nil {
		if err := os.MkdirAll(s.aofDir(), 0o755); err != nil {
			return fmt.Errorf("creating the AOF directory: %w", err)
		}
		return s.rewriteAOF(true)
	}
	s.aof.mu.Lock()
	defer s.aof.mu.Unlock()
	s.deleteAOFFiles(m.History)
	m.History = nil
	last := m.LastIncr()
	if last == nil {
		m.Incr = append(m.Incr, aof.FileInfo{Name: aof.IncrName(s.aofPrefix(), m.NextIncrSeq()), Seq: m.NextIncrSeq(), Type: aof.TypeIncr})
		last = m.LastIncr()
	}
	f, err := os.OpenFile(filepath.Join(s.aofDir(), last.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the AOF file: %w", err)
	}
	if err := s.writeManifest(m); err != nil {
		f.Close()
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	fixed := s.aofFilesSize(m) - st.Size()
	s.aof.manifest = m
	s.aof.fixedSize.Store(fixed)
	s.aof.baseSize.Store(fixed + st.Size())
	s.aof.end = 0
	s.aof.log.Store(s.openAOFLog(f, st.Size()))
	return nil
}

// openAOFLog appends to f, telling the latency monitor of slow writes.
func (s *Server) openAOFLog(f *os.File, size int64) *aof.Log {
	l := aof.Open(f, size, aof.ParsePolicy(s.Cfg.Get("appendfsync")))
	l.OnLatency(s.noteLatency)
	return l
}

func (s *Server) aofFilesSize(m *aof.Manifest) int64 {
	var n int64
	files := m.Incr
	if m.Base != nil {
		files = append([]aof.FileInfo{*m.Base}, files...)
	}
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(s.aofDir(), f.Name)); err == nil {
			n += st.Size()
		}
	}
	return n
}

func (s *Server) writeManifest(m *aof.Manifest) error {
	if err := persist.WriteAtomic(s.aofDir(), aof.ManifestName(s.aofPrefix()), m.Encode()); err != nil {
		return fmt.Errorf("writing the AOF manifest: %w", err)
	}
	return nil
}

func (s *Server) deleteAOFFiles(files []aof.FileInfo) {
	for _, f := range files {
		if err := os.Remove(filepath.Join(s.aofDir(), f.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.Logger.Printf("AOF: removing the old file %s: %v", f.Name, err)
		}
	}
}

// rewriteAOF takes a snapshot and switches appends to a new incremental
// file in one step under the store lock, then writes the new base (in the
// background unless wait) and the manifest that retires the old files.
// With appendonly off it starts appending (CONFIG SET appendonly yes) —
// or, for BGREWRITEAOF, only writes the base.
func (s *Server) rewriteAOF(wait bool) error {
	if !s.aof.rewriting.CompareAndSwap(false, true) {
		return errRewriteRunning
	}
	s.aof.rewriteStart.Store(time.Now().UnixNano())
	finish, err := s.startRewrite()
	if err != nil {
		s.endRewrite(err)
		return err
	}
	if wait {
		err := finish()
		s.endRewrite(err)
		return err
	}
	go func() { s.endRewrite(finish()) }()
	return nil
}

func (s *Server) endRewrite(err error) {
	if err != nil {
		s.Logger.Printf("AOF rewrite failed: %v", err)
	} else {
		s.Logger.Printf("Background AOF rewrite finished successfully")
		s.aof.rewrites.Add(1)
	}
	s.aof.rewriteFailed.Store(err != nil)
	if err != nil {
		s.aof.rewriteFailures.Add(1)
	} else {
		s.aof.rewriteFailures.Store(0)
	}
	s.aof.lastRewriteNs.Store(time.Now().UnixNano() - s.aof.rewriteStart.Load())
	s.aof.rewriting.Store(false)
}

func (s *Server) startRewrite() (func() error, error) {
	dir, prefix := s.aofDir(), s.aofPrefix()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the AOF directory: %w", err)
	}
	s.aof.mu.Lock()
	old := s.aof.manifest
	if old == nil {
		old = s.manifestOnDisk()
	}
	s.aof.mu.Unlock()
	next := &aof.Manifest{}
	if old != nil {
		next = old.Clone()
	}
	baseSeq, incrSeq := next.NextBaseSeq(), next.NextIncrSeq()
	preamble := s.Cfg.Bool("aof-use-rdb-preamble")
	newBase := aof.FileInfo{Name: aof.BaseName(prefix, baseSeq, preamble), Seq: baseSeq, Type: aof.TypeBase}
	newIncr := aof.FileInfo{Name: aof.IncrName(prefix, incrSeq), Seq: incrSeq, Type: aof.TypeIncr}
	log := s.aof.log.Load()
	wantLog := log != nil || s.Cfg.Bool("appendonly")
	var incr *os.File
	if wantLog {
		f, err := os.OpenFile(filepath.Join(dir, newIncr.Name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("creating the AOF file: %w", err)
		}
		incr = f
	}
	s.DB.Mu.Lock()
	var snapshot []byte
	if preamble {
		snapshot = s.encodeRDB()
	} else {
		snapshot = s.encodeCommands()
	}
	var err error
	switch {
	case log != nil:
		err = log.Rotate(incr)
	case incr != nil:
		s.aof.end = 0 // offsets start over in a new Log
		s.aof.log.Store(s.openAOFLog(incr, 0))
	}
	s.aof.selected = false
	s.DB.Mu.Unlock()
	if err != nil {
		incr.Close()
		return nil, fmt.Errorf("switching to a new AOF file: %w", err)
	}
	s.aof.mu.Lock()
	if log != nil { // until the new base exists, a restart replays the old files and then the new one
		next.Incr = append(next.Incr, newIncr)
		err = s.writeManifest(next)
		s.aof.manifest = next
		s.aof.fixedSize.Store(s.aofFilesSize(next) - log.Size()) // log: the same Log continues in the new file
	}
	s.aof.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return func() error {
		if err := persist.WriteAtomic(dir, newBase.Name, snapshot); err != nil {
			return fmt.Errorf("writing the AOF base %s: %w", newBase.Name, err)
		}
		done := &aof.Manifest{Base: &newBase}
		if wantLog {
			done.Incr = []aof.FileInfo{newIncr}
		}
		s.aof.mu.Lock()
		defer s.aof.mu.Unlock()
		if err := s.writeManifest(done); err != nil {
			return err
		}
		if old != nil { // a crash before this leaves orphans, never a gap
			s.deleteAOFFiles(old.Retired())
		}
		s.aof.manifest = done
		size := int64(len(snapshot))
		s.aof.fixedSize.Store(size)
		if l := s.aof.log.Load(); l != nil {
			size += l.Size()
		}
		s.aof.baseSize.Store(size)
		return nil
	}, nil
}

// manifestOnDisk reads an existing manifest (appendonly was off), so new
// files take the next sequence numbers and the old ones get retired.
func (s *Server) manifestOnDisk() *aof.Manifest {
	data, err := persist.ReadIfExists(filepath.Join(s.aofDir(), aof.ManifestName(s.aofPrefix())))
	if err != nil || data == nil {
		return nil
	}
	m, err := aof.ParseManifest(data)
	if err != nil {
		return nil
	}
	return m
}

// encodeCommands is the keyspace as commands (a base file with
// aof-use-rdb-preamble no): functions, then each key's exact state;
// called under the store lock.
func (s *Server) encodeCommands() []byte {
	out := resp.AppendCommand(nil, []byte("SELECT"), []byte("0"))
	for _, code := range s.scripting().eng.LibraryCodes() {
		out = resp.AppendCommand(out, []byte("FUNCTION"), []byte("LOAD"), []byte("REPLACE"), code)
	}
	for _, k := range s.DB.Keys([]byte("*")) {
		if st, _ := s.DB.Stream(k, false); st != nil {
			out = appendStreamRewrite(out, k, st) // Redis's own commands, so redis-server loads the file
			if at := s.DB.Expire(k); at > 0 {
				out = resp.AppendCommand(out, []byte("PEXPIREAT"), k, strconv.AppendInt(nil, at, 10))
			}
			continue
		}
		out = s.appendKeyState(out, k)
	}
	return out
}

// stopAOF ends appending: CONFIG SET appendonly no, and shutdown (what
// clients were told is written is fsynced first). It does not take the
// store lock, which a long command may hold at shutdown: a write that
// still appends to the closed log fails its Commit, and its client gets
// no reply rather than a false acknowledgement.
func (s *Server) stopAOF() {
	l := s.aof.log.Swap(nil)
	if l == nil {
		return
	}
	if err := l.Close(); err != nil {
		s.Logger.Printf("AOF: closing: %v", err)
	}
}

// autoRewriteAOF starts a rewrite once the AOF grew by
// auto-aof-rewrite-percentage over its size after the last one and is
// past auto-aof-rewrite-min-size.
func (s *Server) autoRewriteAOF() {
	l := s.aof.log.Load()
	pct := s.Cfg.Int("auto-aof-rewrite-percentage")
	if l == nil || pct <= 0 || s.aof.rewriting.Load() {
		return
	}
	size := s.aof.fixedSize.Load() + l.Size()
	if size <= int64(s.Cfg.Int("auto-aof-rewrite-min-size")) {
		return
	}
	base := max(s.aof.baseSize.Load(), 1)
	if (size*100/base)-100 >= int64(pct) {
		s.Logger.Printf("Starting automatic rewriting of AOF on %d%% growth", (size*100/base)-100)
		s.rewriteAOF(false)
	}
}

func cmdBgrewriteaof(c *Client, _ [][]byte) {
	if err := c.srv.rewriteAOF(false); err != nil {
		c.w.WriteError("ERR " + err.Error())
		return
	}
	c.w.WriteSimple("Background append only file rewriting started")
}

// applyAOFConfig follows CONFIG SET appendonly and appendfsync.
func (s *Server) applyAOFConfig(name string) error {
	switch name {
	case "appendonly":
		on := s.Cfg.Bool("appendonly")
		switch l := s.aof.log.Load(); {
		case on && l == nil:
			return s.rewriteAOF(true)
		case !on && l != nil:
			s.stopAOF()
		}
	case "appendfsync":
		if l := s.aof.log.Load(); l != nil {
			l.SetPolicy(aof.ParsePolicy(s.Cfg.Get("appendfsync")))
		}
	}
	return nil
}

// aofInfo writes INFO persistence's AOF fields.
func (s *Server) aofInfo(line func(string, any)) {
	l := s.aof.log.Load()
	line("aof_enabled", boolInt(l != nil))
	line("aof_rewrite_in_progress", boolInt(s.aof.rewriting.Load()))
	line("aof_rewrite_scheduled", 0)
	last := int64(-1)
	if ns := s.aof.lastRewriteNs.Load(); ns > 0 {
		last = ns / int64(time.Second)
	}
	line("aof_last_rewrite_time_sec", last)
	current := int64(-1)
	if s.aof.rewriting.Load() {
		current = (time.Now().UnixNano() - s.aof.rewriteStart.Load()) / int64(time.Second)
	}
	line("aof_current_rewrite_time_sec", current)
	line("aof_last_bgrewrite_status", okErr(s.aof.rewriteFailed.Load()))
	line("aof_rewrites", s.aof.rewrites.Load())
	line("aof_rewrites_consecutive_failures", s.aof.rewriteFailures.Load())
	line("aof_last_write_status", okErr(l != nil && l.Err() != nil))
	line("aof_last_cow_size", 0) // no fork, no copy-on-write
	line("module_fork_in_progress", 0)
	line("module_fork_last_cow_size", 0)
	if l != nil {
		line("aof_current_size", s.aof.fixedSize.Load()+l.Size())
		line("aof_base_size", s.aof.baseSize.Load())
		line("aof_pending_rewrite", 0)
		line("aof_buffer_length", l.Pending())
		line("aof_pending_bio_fsync", 0)
		line("aof_delayed_fsync", 0)
	}
}

func okErr(failed bool) string {
	if failed {
		return "err"
	}
	return "ok"
}
