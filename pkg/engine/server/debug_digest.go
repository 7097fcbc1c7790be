package server

import (
	"crypto/sha1"
	"encoding/binary"
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// DEBUG DIGEST and DIGEST-VALUE compute redis-server's dataset digest, so
// the same data gives the same 40 hex digits on both servers. Two ways of
// adding bytes to a 20-byte digest are combined:
//   - xor in SHA1(bytes): order-free, for the members of sets, hashes and
//     sorted sets and for the keys of the keyspace;
//   - "mix": xor in SHA1(bytes), then replace the digest by its own SHA1,
//     so the order counts (list elements, stream entries, a key's parts).

type digest [20]byte

func (d *digest) xor(b []byte) {
	h := sha1.Sum(b)
	for i := range d {
		d[i] ^= h[i]
	}
}

func (d *digest) mix(b []byte) {
	d.xor(b)
	*d = sha1.Sum(d[:])
}

// Redis's type codes (OBJ_STRING ...), which the digest includes.
func redisTypeCode(k rdb.Kind) uint32 {
	switch k {
	case rdb.KindList:
		return 1
	case rdb.KindSet:
		return 2
	case rdb.KindZSet:
		return 3
	case rdb.KindHash:
		return 4
	case rdb.KindStream:
		return 6
	}
	return 0
}

// addValue adds one value, and whether it has a TTL, to d.
func (d *digest) addValue(v rdb.Value, hasTTL bool) {
	var code [4]byte
	binary.BigEndian.PutUint32(code[:], redisTypeCode(v.Kind))
	d.mix(code[:])
	switch v.Kind {
	case rdb.KindString:
		d.mix(v.Str)
	case rdb.KindList:
		for _, it := range v.List {
			d.mix(it)
		}
	case rdb.KindSet:
		for _, m := range v.Set {
			d.xor(m)
		}
	case rdb.KindZSet:
		var buf []byte
		for _, m := range v.ZSet {
			var el digest
			el.mix(m.Member)
			buf = resp.AppendFloat(buf[:0], m.Score) // %.17g, as Redis prints it here
			el.mix(buf)
			d.xor(el[:])
		}
	case rdb.KindHash:
		for _, f := range v.Hash {
			var el digest
			el.mix(f.Name)
			el.mix(f.Value)
			d.xor(el[:])
		}
	case rdb.KindStream:
		d.addStreamEntries(v.Stream)
	}
	if hasTTL {
		d.xor([]byte("!!expire!!"))
	}
}

// addStreamEntries mixes in each live entry's "ms.seq" ID and its fields
// and values, in ID order; consumer groups are not part of the digest.
func (d *digest) addStreamEntries(s *rdb.Stream) {
	if s == nil {
		return
	}
	var id []byte
	for _, n := range s.Nodes {
		for _, e := range n.Entries {
			if e.Deleted {
				continue
			}
			id = strconv.AppendUint(id[:0], e.ID.Ms, 10)
			id = append(id, '.')
			id = strconv.AppendUint(id, e.ID.Seq, 10)
			d.mix(id)
			for _, f := range e.Fields {
				d.mix(f)
			}
		}
	}
}

// datasetDigest is DEBUG DIGEST: all zeros for an empty keyspace, else the
// database number mixed in, then each key's digest xored in. Keys whose
// TTL passed but are still stored count, as in Redis. Called under the
// store lock.
func (s *Server) datasetDigest() [20]byte {
	var final digest
	if s.DB.DBSize() == 0 {
		return final
	}
	final.mix([]byte{0, 0, 0, 0}) // database 0
	s.DB.EachStoredEntry(func(key string, v rdb.Value, hasTTL bool) {
		var d digest
		d.mix([]byte(key))
		d.addValue(v, hasTTL)
		final.xor(d[:])
	})
	return final
}

// keyValueDigest is one key's value digest (DEBUG DIGEST-VALUE), zeros for
// a missing key. Called under the store lock.
func (s *Server) keyValueDigest(key []byte) [20]byte {
	var d digest
	if v, hasTTL, ok := s.DB.StoredEntry(key); ok {
		d.addValue(v, hasTTL)
	}
	return d
}
