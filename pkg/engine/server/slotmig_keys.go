package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"sync"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// The snapshot travels as CLUSTER SYNCSLOTS KEYS <batch>: one command
// carries many keys, so the target (and its replicas, which receive the
// same command) pays one dispatch and one reply per batch, not per key.
// A batch is a sequence of entries:
//
//	uint32 key length, key, int64 expiry (unix ms, 0 = none),
//	uint32 payload length, DUMP payload
//
// (big-endian). The target decodes every payload as RESTORE would.

// keyBatchBytes is the size at which the source closes a batch. A batch
// stays under 256 KB, the largest argument buffer a connection keeps from
// one command to the next (resp.Reader), so the target and its replicas
// read batch after batch into the same memory.
const keyBatchBytes = 192 << 10

// appendKeyEntry encodes one key and its value straight into b.
func appendKeyEntry(b []byte, key string, expireAt int64, v rdb.Value) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(key)))
	b = append(b, key...)
	b = binary.BigEndian.AppendUint64(b, uint64(max(expireAt, 0)))
	at := len(b)
	b = append(b, 0, 0, 0, 0) // the payload's length, known once written
	b = rdb.AppendDump(b, v)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

var errBadKeyBatch = errors.New("bad SYNCSLOTS KEYS batch")

// eachKeyEntry walks a batch; a malformed one stops with errBadKeyBatch.
func eachKeyEntry(b []byte, fn func(key []byte, expireAt int64, payload []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return errBadKeyBatch
		}
		kl := int(binary.BigEndian.Uint32(b))
		b = b[4:]
		if kl > len(b) || len(b)-kl < 12 {
			return errBadKeyBatch
		}
		key := b[:kl]
		at := int64(binary.BigEndian.Uint64(b[kl:]))
		pl := int(binary.BigEndian.Uint32(b[kl+8:]))
		b = b[kl+12:]
		if pl > len(b) {
			return errBadKeyBatch
		}
		if err := fn(key, at, b[:pl]); err != nil {
			return err
		}
		b = b[pl:]
	}
	return nil
}

// decodedKey is one entry of a batch, decoded and built into the store's
// form.
type decodedKey struct {
	key      []byte
	expireAt int64
	value    store.Prepared
}

// decodeKeyBatch decodes a batch's payloads and builds their values
// without DB.Mu: for a big value (a 1M-field hash) this is nearly all of
// the work, and clients of other slots do not wait for it. It appends to
// out.
func (s *Server) decodeKeyBatch(out []decodedKey, batch []byte) ([]decodedKey, error) {
	s.DB.Mu.Lock()
	lim := *s.DB.Limits()
	s.DB.Mu.Unlock()
	err := eachKeyEntry(batch, func(key []byte, at int64, payload []byte) error {
		v, err := decodePayload(payload)
		if err != nil {
			return err
		}
		out = append(out, decodedKey{key: key, expireAt: at, value: store.Prepare(v, &lim)})
		return nil
	})
	return out, err
}

// decodedKeyLists recycles the lists of decoded keys: a batch holds about
// a thousand keys, and a new list grown for every batch cost as much as
// decoding the keys (fresh, zeroed memory each time).
var decodedKeyLists = sync.Pool{New: func() any { l := make([]decodedKey, 0, 1024); return &l }}

// decodePayload decodes one DUMP payload of a batch. A string, the common
// case, is decoded in place: the store copies a short one into the key's
// record when the batch is stored, before the batch's memory is reused;
// a long one, which the store would keep, is copied here.
func decodePayload(payload []byte) (rdb.Value, error) {
	if len(payload) == 0 || payload[0] != rdb.TypeString {
		return rdb.DecodeDump(payload)
	}
	v, err := rdb.DecodeDumpView(payload)
	if err == nil && v.Kind == rdb.KindString && len(v.Str) > store.InlineStringMax {
		v.Str = bytes.Clone(v.Str)
	}
	return v, err
}

// storeKeyBatch stores decoded keys, replacing existing ones, and feeds
// the batch as it came to the replicas and the AOF (DB.Mu held). It
// returns how many keys it stored.
func (s *Server) storeKeyBatch(keys []decodedKey, batch []byte) int {
	db := s.DB
	now := db.Now()
	n := 0
	for _, k := range keys {
		if k.expireAt > 0 && k.expireAt <= now {
			db.Delete(k.key)
			continue
		}
		db.ImportPrepared(k.key, k.value)
		if k.expireAt > 0 {
			db.SetExpire(k.key, k.expireAt)
		}
		if db.Accounting() {
			db.Resize(k.key)
		}
		n++
	}
	s.persist.dirty.Add(int64(n))
	s.feedKeyBatch(batch)
	return n
}

// feedKeyBatch gives the replicas and the AOF the batch as one CLUSTER
// SYNCSLOTS KEYS command, in pieces, sparing a copy of the batch (DB.Mu
// held). It is no write to a key, so no export captures it.
func (s *Server) feedKeyBatch(batch []byte) {
	head := strconv.AppendInt(append([]byte(nil), keysHead...), int64(len(batch)), 10)
	head = append(head, '\r', '\n')
	if r := &s.repl; r.backlog != nil && !r.following {
		s.replFeed(head)
		s.replFeedRaw(batch)
		s.replFeedRaw(crlf)
	}
	s.aofFeedFunc(func(b []byte) []byte { return append(append(append(b, head...), batch...), crlf...) })
}

var (
	keysHead = []byte("*4\r\n$7\r\nCLUSTER\r\n$9\r\nSYNCSLOTS\r\n$4\r\nKEYS\r\n$") // then the batch's length
	crlf     = []byte("\r\n")
)

// applyKeyBatch decodes then stores a batch (without DB.Mu held).
func (s *Server) applyKeyBatch(batch []byte) (int, error) {
	list := decodedKeyLists.Get().(*[]decodedKey)
	defer func() {
		clear(*list) // the keys point into batch, which its reader reuses
		*list = (*list)[:0]
		decodedKeyLists.Put(list)
	}()
	keys, err := s.decodeKeyBatch((*list)[:0], batch)
	*list = keys
	if err != nil {
		return 0, err
	}
	s.DB.Mu.Lock()
	defer s.DB.Mu.Unlock()
	return s.storeKeyBatch(keys, batch), nil
}
