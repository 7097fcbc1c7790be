package server

import (
	"bytes"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/persist"
	"github.com/gocluster/gocluster/pkg/engine/rdb"
)

// RDB persistence: SAVE, BGSAVE, save points, the snapshot loaded at
// start and written at shutdown when save points are set, in dir/dbfilename
// as redis-server does (the same file format: redis-check-rdb accepts it
// and redis-server loads it).

func init() {
	def("save", 1, "admin noscript no_multi nolock", 0, 0, 0, cmdSave)
	def("bgsave", -1, "admin noscript nolock", 0, 0, 0, cmdBgsave)
}

// persistence is the server's snapshot state.
type persistence struct {
	dirty    atomic.Int64 // write commands since the last successful save
	saving   atomic.Bool  // a BGSAVE is running
	failed   atomic.Bool  // the last save failed
	lastTime atomic.Int64 // unix seconds of the last successful save
	// lastSize is the length of the last encoded snapshot: the next one
	// starts with that much room, since growing a large buffer by copying
	// cost more than the encoding itself.
	lastSize atomic.Int64
	saves    atomic.Int64 // successful SAVEs and BGSAVEs (rdb_saves)
	bgStart  atomic.Int64 // unix nanoseconds the running BGSAVE started
	bgLast   atomic.Int64 // seconds the last BGSAVE took, -1 before any
	// loadedKeys and loadedExpired are what the last load of an RDB file
	// (at start or by DEBUG RELOAD) kept and skipped as expired.
	loadedKeys, loadedExpired atomic.Int64
}

// rdbPath is dir/dbfilename.
func (s *Server) rdbPath() string {
	return filepath.Join(s.Cfg.Dir(), s.Cfg.Get("dbfilename"))
}

// SaveRDB writes a snapshot of the keyspace (and functions) to
// dir/dbfilename, replacing the previous one atomically.
func (s *Server) SaveRDB() error {
	changes := s.persist.dirty.Load()
	s.DB.Mu.Lock()
	data := s.encodeRDB()
	s.DB.Mu.Unlock()
	return s.writeSnapshot(data, changes)
}

func (s *Server) writeSnapshot(data []byte, changes int64) error {
	err := persist.WriteAtomic(s.Cfg.Dir(), s.Cfg.Get("dbfilename"), data)
	s.persist.failed.Store(err != nil)
	if err != nil {
		s.Logger.Printf("snapshot: writing %s: %v", s.rdbPath(), err)
		return err
	}
	s.persist.dirty.Add(-changes)
	s.persist.saves.Add(1)
	now := time.Now().Unix()
	s.persist.lastTime.Store(now)
	s.Logger.Printf("DB saved on disk (%s, %d bytes)", s.rdbPath(), len(data))
	return nil
}

// bgsave takes the snapshot under the store lock (Go has no fork: the
// encoding is the copy) and writes and fsyncs it in the background.
func (s *Server) bgsave() bool {
	if !s.persist.saving.CompareAndSwap(false, true) {
		return false
	}
	start := time.Now()
	s.persist.bgStart.Store(start.UnixNano())
	changes := s.persist.dirty.Load()
	s.DB.Mu.Lock()
	data := s.encodeRDB()
	s.DB.Mu.Unlock()
	go func() {
		defer s.persist.saving.Store(false)
		s.writeSnapshot(data, changes)
		s.persist.bgLast.Store(int64(time.Since(start).Seconds()))
	}()
	return true
}

func cmdSave(c *Client, _ [][]byte) {
	if c.srv.persist.saving.Load() {
		c.w.WriteError("ERR Background save already in progress")
		return
	}
	if err := c.srv.SaveRDB(); err != nil {
		c.w.WriteError("ERR " + err.Error())
		return
	}
	c.w.WriteRaw(okReply)
}

func cmdBgsave(c *Client, args [][]byte) {
	if len(args) > 2 || len(args) == 2 && !eq(args[1], "schedule") {
		c.w.WriteError(errSyntax)
		return
	}
	if !c.srv.bgsave() {
		if len(args) == 2 {
			c.w.WriteSimple("Background saving scheduled")
			return
		}
		c.w.WriteError("ERR Background save already in progress")
		return
	}
	c.w.WriteSimple("Background saving started")
}

// LoadRDB loads dir/dbfilename if it exists (at start, before serving).
func (s *Server) LoadRDB() error {
	start := time.Now()
	data, err := persist.ReadIfExists(s.rdbPath())
	if err != nil || data == nil {
		return err
	}
	keys, err := s.loadRDBBytes(data)
	if err != nil {
		return err
	}
	s.Logger.Printf("DB loaded from disk: %.3f seconds (%s, %d keys)", time.Since(start).Seconds(), s.rdbPath(), keys)
	return nil
}

// loadRDBBytes adds an RDB file's keys and functions to the keyspace.
func (s *Server) loadRDBBytes(data []byte) (int, error) {
	s.DB.Mu.Lock()
	info, skipped, err := s.importRDBLocked(data)
	s.DB.Mu.Unlock()
	if err != nil {
		return 0, err
	}
	s.persist.loadedKeys.Store(int64(info.Keys - skipped))
	s.persist.loadedExpired.Store(int64(skipped))
	if len(info.FunctionCodes) > 0 {
		if err := s.LoadFunctionLibraries(info.FunctionCodes); err != nil {
			return 0, err
		}
	}
	return info.Keys - skipped, nil
}

// importRDBLocked adds an RDB file's keys of db 0 that have not expired;
// called under the store lock.
func (s *Server) importRDBLocked(data []byte) (info rdb.FileInfo, skipped int, err error) {
	db := s.DB
	now := db.Now()
	sized := false
	defer db.ExpectKeys(0)
	info, err = rdb.Scan(bytes.NewReader(data), int64(len(data)), func(e rdb.Entry) error {
		if e.DB != 0 || e.ExpireAt > 0 && e.ExpireAt <= now {
			skipped++
			return nil
		}
		if !sized {
			sized = true
			if db.DBSize() == 0 {
				// the file's own count, but never more keys than its bytes
				// could hold: a forged RESIZEDB must not reserve gigabytes
				db.ExpectKeys(min(e.DBSizeHint, len(data)/4))
			}
		}
		db.Import(e.Key, e.Value)
		if e.ExpireAt > 0 {
			db.SetExpire(e.Key, e.ExpireAt)
		}
		return nil
	})
	return info, skipped, err
}

// StartSavePoints runs the save points ("save <seconds> <changes>") until
// the server closes: a BGSAVE once enough writes and seconds have passed.
func (s *Server) StartSavePoints() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
			}
			s.autoRewriteAOF()
			points, err := persist.ParseSavePoints(s.Cfg.Get("save"))
			if err != nil || len(points) == 0 {
				continue
			}
			since := time.Since(time.Unix(s.persist.lastTime.Load(), 0))
			if persist.Due(points, s.persist.dirty.Load(), since) {
				s.bgsave()
			}
		}
	}()
}

// ShutdownSave writes the final snapshot when it is due: SHUTDOWN SAVE
// asked for it, or save points are set and SHUTDOWN NOSAVE did not forbid
// it (a SIGTERM counts as a plain SHUTDOWN). It never waits long for a
// store held by a command still running: the process must end.
func (s *Server) ShutdownSave() {
	defer s.stopAOF()
	mode := s.shutdownMode.Load()
	points, _ := persist.ParseSavePoints(s.Cfg.Get("save"))
	if mode == shutdownNoSave || mode != shutdownSave && len(points) == 0 {
		return
	}
	for range 50 {
		if s.DB.Mu.TryLock() {
			data := s.encodeRDB()
			s.DB.Mu.Unlock()
			s.writeSnapshot(data, s.persist.dirty.Load())
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Logger.Printf("shutdown: not saving, a command still holds the keyspace")
}

// SHUTDOWN's say on the final snapshot.
const (
	shutdownDefault int32 = iota
	shutdownSave
	shutdownNoSave
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
