package server

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/aof"
	"github.com/gocluster/gocluster/pkg/engine/persist"
	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// DEBUG RELOAD and DEBUG LOADAOF: the dataset goes to disk and comes back,
// under the store lock throughout, so no other client sees it half loaded
// (redis-server's event loop is just as busy meanwhile).

// debugReload is DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the RDB
// (unless NOSAVE), empty the keyspace and functions (unless NOFLUSH), load
// dir/dbfilename back. Without MERGE a key already present is an error
// (redis-server would stop; the engine answers and keeps what it loaded).
func (c *Client) debugReload(opts [][]byte) {
	save, flush, merge := true, true, false
	for _, o := range opts {
		switch {
		case eq(o, "merge"):
			merge = true
		case eq(o, "noflush"):
			flush = false
		case eq(o, "nosave"):
			save = false
		default:
			c.w.WriteError("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
			return
		}
	}
	s := c.srv
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	if save {
		changes := s.persist.dirty.Load()
		if err := s.writeSnapshot(s.encodeRDB(), changes); err != nil {
			c.w.WriteError("ERR")
			return
		}
	}
	data, err := persist.ReadIfExists(s.rdbPath())
	if err != nil || data == nil {
		c.w.WriteError("ERR Error trying to load the RDB dump")
		return
	}
	if flush {
		s.DB.Flush()
		s.scripting().eng.FunctionFlush()
	}
	if err := s.reloadRDBLocked(data, merge); err != nil {
		s.Logger.Printf("DEBUG RELOAD: %v", err)
		c.w.WriteError("ERR Error trying to load the RDB dump")
		return
	}
	s.Logger.Printf("DB reloaded by DEBUG RELOAD")
	c.w.WriteRaw(okReply)
}

// reloadRDBLocked loads an RDB file into the keyspace and its functions,
// under the store lock. Without merge, a key that is already there is an
// error, as for redis-server.
func (s *Server) reloadRDBLocked(data []byte, merge bool) error {
	if !merge {
		var dup []byte
		rdb.Scan(bytes.NewReader(data), int64(len(data)), func(e rdb.Entry) error {
			if e.DB == 0 && s.DB.Exists(e.Key) {
				dup = e.Key
				return errDuplicateKey
			}
			return nil
		})
		if dup != nil {
			return fmt.Errorf("the RDB has the key %q, which is already in the keyspace", printable(dup, 64))
		}
	}
	info, _, err := s.importRDBLocked(data)
	if err != nil {
		return err
	}
	if len(info.FunctionCodes) > 0 {
		if msg := s.scripting().eng.LoadLibraries(info.FunctionCodes); msg != "" {
			return errString(msg)
		}
	}
	return nil
}

var errDuplicateKey = errors.New("duplicate key")

// debugLoadAOF is DEBUG LOADAOF: with appendonly on, write out what the
// AOF has buffered, empty the keyspace and replay the files the manifest
// names. The replayed writes are not appended again nor sent to replicas.
func (c *Client) debugLoadAOF() {
	s := c.srv
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	if l := s.aof.log.Load(); l != nil {
		if err := l.Commit(s.aof.end); err != nil {
			c.w.WriteError("ERR writing the AOF: " + err.Error())
			return
		}
	}
	s.DB.Flush()
	s.scripting().eng.FunctionFlush()
	if err := s.replayAOFLocked(); err != nil {
		// redis-server exits here; the engine keeps serving what it loaded
		s.Logger.Printf("DEBUG LOADAOF: %v", err)
		c.w.WriteError("ERR Error trying to load the AOF: " + err.Error())
		return
	}
	s.persist.dirty.Store(0)
	s.Logger.Printf("Append Only File loaded by DEBUG LOADAOF")
	c.w.WriteRaw(okReply)
}

// replayAOFLocked replays the AOF's base and incremental files under the
// store lock. The writes gather in a propagation unit that is dropped, so
// they reach neither the AOF nor the replicas a second time.
func (s *Server) replayAOFLocked() error {
	dir := s.aofDir()
	data, err := persist.ReadIfExists(filepath.Join(dir, aof.ManifestName(s.aofPrefix())))
	if err != nil || data == nil {
		return err // no AOF yet: an empty dataset, as Redis's AOF_EMPTY
	}
	m, err := aof.ParseManifest(data)
	if err != nil {
		return err
	}
	start := time.Now()
	s.beginUnit()
	defer func() {
		s.unit.n = 0 // drop what the replay would propagate
		s.endUnit()
	}()
	var files []string
	if m.Base != nil {
		files = append(files, m.Base.Name)
	}
	for _, f := range m.Incr {
		files = append(files, f.Name)
	}
	for i, name := range files {
		if err := s.replayAOFFileLocked(filepath.Join(dir, name), i == 0 && m.Base != nil); err != nil {
			return err
		}
	}
	s.serveBlocked()
	s.Logger.Printf("DB loaded from append only file %s: %d keys, %.3f seconds", dir, s.DB.DBSize(), time.Since(start).Seconds())
	return nil
}

// replayAOFFileLocked applies one AOF file: an RDB base, or commands. A
// command cut short at the end is left out, as aof-load-truncated does
// at start.
func (s *Server) replayAOFFileLocked(path string, base bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if base && bytes.HasPrefix(data, []byte("REDIS")) {
		return s.reloadRDBLocked(data, true)
	}
	applier := &Client{srv: s, user: "aof", authed: true, w: resp.NewWriter(discard{})}
	_, err = aof.Replay(data, func(args [][]byte) error {
		cmd := lookupCommand(args[0])
		if cmd == nil {
			return fmt.Errorf("unknown command '%s' in %s", printable(args[0], 64), path)
		}
		switch {
		case cmd.name == "select" || cmd.name == "multi" || cmd.name == "exec":
			// one database; the replay runs the transaction's commands as
			// they come, under the lock already held
		case cmd.noLock:
			return fmt.Errorf("%s: DEBUG LOADAOF cannot replay '%s'", path, cmd.name)
		default:
			applier.callLockedRecovering(cmd, args)
		}
		applier.w.Reset(discard{})
		return nil
	})
	if err == aof.ErrTruncated {
		return nil
	}
	return err
}

func (c *Client) callLockedRecovering(cmd *command, args [][]byte) {
	defer c.recoverCommand(cmd, c.w.Mark())
	c.callLocked(cmd, args)
}
