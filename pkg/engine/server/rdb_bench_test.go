package server

import (
	"strconv"
	"testing"

	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// millionKeyServer holds 1M small string keys, as the SAVE benchmark in
// e2e/bench/engine does.
func millionKeyServer() *Server {
	s := New(config.Default(), store.New(), nil)
	for i := range 1_000_000 {
		s.DB.SetString([]byte("key:"+strconv.Itoa(i)), []byte("value:"+strconv.Itoa(i)), false)
	}
	return s
}

// BenchmarkEncodeRDB is the part of SAVE/BGSAVE done under the store lock.
func BenchmarkEncodeRDB(b *testing.B) {
	s := millionKeyServer()
	b.ResetTimer()
	for range b.N {
		s.encodeRDB()
	}
}

// BenchmarkLoadRDB is the load of that snapshot into an empty server.
func BenchmarkLoadRDB(b *testing.B) {
	data := millionKeyServer().encodeRDB()
	b.ResetTimer()
	for range b.N {
		s := New(config.Default(), store.New(), nil)
		if _, err := s.loadRDBBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}
