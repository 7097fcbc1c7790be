package server

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// scriptedConn feeds one command per Read (the rest of it on the next
// Reads when it does not fit), as a redis-benchmark client without
// pipelining sends it, n commands, then io.EOF; replies are dropped.
type scriptedConn struct {
	net.Conn // nil: only what serve touches is implemented
	next     func(i int) []byte
	i, n     int
	rest     []byte
}

func (c *scriptedConn) Read(p []byte) (int, error) {
	if len(c.rest) == 0 {
		if c.i == c.n {
			return 0, io.EOF
		}
		c.i++
		c.rest = c.next(c.i)
	}
	k := copy(p, c.rest)
	c.rest = c.rest[k:]
	return k, nil
}

func (c *scriptedConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *scriptedConn) Close() error                     { return nil }
func (c *scriptedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *scriptedConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *scriptedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(time.Time) error { return nil }
func (c *scriptedConn) SetDeadline(time.Time) error      { return nil }

func encodeCommand(args ...string) []byte {
	b := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b
}

// benchServe runs b.N commands through one client's serve loop (parse,
// dispatch, reply, flush) with no network under it.
func benchServe(b *testing.B, fill [][]string, next func(i int) []byte) {
	cfg := config.Default()
	s := New(cfg, store.New(), nil)
	for _, args := range fill {
		c := s.newClient(&scriptedConn{next: func(int) []byte { return encodeCommand(args...) }, n: 1})
		c.serve()
	}
	if s.DB.DBSize() == 0 && len(fill) > 0 {
		b.Fatal("the fill left the keyspace empty")
	}
	c := s.newClient(&scriptedConn{next: next, n: b.N})
	b.ReportAllocs()
	b.ResetTimer()
	c.serve()
}

// BenchmarkServeZPopMin: ZPOPMIN on a 100k-member sorted set, as
// redis-benchmark's ZPOPMIN test after its ZADD fill.
func BenchmarkServeZPopMin(b *testing.B) {
	const members = 100_000
	var fill [][]string
	for i := 0; i < members; i += 1000 {
		args := []string{"ZADD", "myzset"}
		for j := i; j < i+1000; j++ {
			args = append(args, strconv.Itoa(j%977), "element:"+strconv.Itoa(j))
		}
		fill = append(fill, args)
	}
	cmd := encodeCommand("ZPOPMIN", "myzset")
	add := encodeCommand("ZADD", "myzset", "0", "element:000000")
	benchServe(b, fill, func(i int) []byte {
		if i%2 == 0 { // keep the set from emptying: every other command adds one back
			return add
		}
		return cmd
	})
}

// BenchmarkServeLPush: LPUSH onto one growing list, as redis-benchmark's
// LPUSH test and the fill of its LRANGE tests.
func BenchmarkServeLPush(b *testing.B) {
	cmd := encodeCommand("LPUSH", "mylist", "xxx")
	benchServe(b, nil, func(int) []byte { return cmd })
}

// BenchmarkServeRPush: RPUSH onto one growing list.
func BenchmarkServeRPush(b *testing.B) {
	cmd := encodeCommand("RPUSH", "mylist", "xxx")
	benchServe(b, nil, func(int) []byte { return cmd })
}

// BenchmarkServeGet: a read, for the per-command overhead every command shares.
func BenchmarkServeGet(b *testing.B) {
	cmd := encodeCommand("GET", "key:000000012345")
	benchServe(b, [][]string{{"SET", "key:000000012345", "xxx"}}, func(int) []byte { return cmd })
}

// BenchmarkServeNewSmallCollections: the small hashes, sets and sorted sets
// BenchmarkSmallCollectionsMemory (e2e/bench/engine) loads, one new key per
// command; allocs/op shows the garbage a bulk load leaves among live data.
func BenchmarkServeNewSmallCollections(b *testing.B) {
	for _, c := range []struct {
		name    string
		command func(i int) []string
	}{
		{"hash", func(i int) []string {
			return []string{"HSET", "key:" + strconv.Itoa(i), "name", "user:" + strconv.Itoa(i), "age", strconv.Itoa(i % 100),
				"city", "c" + strconv.Itoa(i%50), "visits", strconv.Itoa(i)}
		}},
		{"set", func(i int) []string {
			return []string{"SADD", "key:" + strconv.Itoa(i), strconv.Itoa(i), strconv.Itoa(i + 1), strconv.Itoa(i + 2),
				strconv.Itoa(i + 3), strconv.Itoa(i + 4)}
		}},
		{"zset", func(i int) []string {
			return []string{"ZADD", "key:" + strconv.Itoa(i), "1", "a", "2", "b", strconv.Itoa(i), "c", "4", "d", "5.5", "e"}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			benchServe(b, nil, func(i int) []byte { return encodeCommand(c.command(i)...) })
		})
	}
}
