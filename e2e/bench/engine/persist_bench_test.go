package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	enginee2e "github.com/gocluster/gocluster/e2e/engine"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// snapshotServer is what the SAVE benchmark needs of either server: where
// it keeps dump.rdb and how to crash and restart it on the same directory.
type snapshotServer struct {
	name    string
	addr    string
	dir     string
	restart func() // SIGKILL (no shutdown save), start again, wait for PING
	logPath string
}

// loadedLine is the line both servers log after loading dump.rdb.
var loadedLine = regexp.MustCompile(`DB loaded from disk: ([0-9.]+) seconds`)

// loggedLoadMillis is the last load time a server logged, in milliseconds.
func loggedLoadMillis(b *testing.B, s snapshotServer) float64 {
	log, err := os.ReadFile(s.logPath)
	if err != nil {
		b.Fatal(err)
	}
	m := loadedLine.FindAllStringSubmatch(string(log), -1)
	if m == nil {
		b.Fatalf("%s logged no %q line", s.name, "DB loaded from disk")
	}
	v, _ := strconv.ParseFloat(m[len(m)-1][1], 64)
	return v * 1000
}

// BenchmarkSaveMillionKeys: 1M small string keys on an engine process and
// on redis-server in the same run; SAVE time (best of 3) and dump.rdb size,
// then the time from a restart after SIGKILL until the node answers with
// every key loaded (process start included, polled every 20 ms).
func BenchmarkSaveMillionKeys(b *testing.B) {
	eng := enginee2e.Start(b, enginee2e.Options{})
	rs := redistest.Start(b, redistest.Options{Flavor: "redis"})
	servers := []snapshotServer{
		{"engine", eng.Addr(), eng.Dir, func() { eng.Signal(syscall.SIGKILL); eng.Restart() },
			eng.LogPath()},
		{"redis-server", rs.Addr(), rs.Dir, func() {
			if err := rs.Restart(); err != nil {
				b.Fatal(err)
			}
		}, filepath.Join(rs.Dir, "redis.log")},
	}
	for range b.N {
		var save, load [2]time.Duration
		var size [2]int64
		var logged [2]float64
		for i, s := range servers {
			c := redis.NewClient(&redis.Options{Addr: s.addr, ReadTimeout: time.Minute})
			fillMillionKeys(b, c)
			for range 3 {
				start := time.Now()
				if err := c.Save(context.Background()).Err(); err != nil {
					b.Fatalf("SAVE on %s: %v", s.name, err)
				}
				if d := time.Since(start); save[i] == 0 || d < save[i] {
					save[i] = d
				}
			}
			c.Close()
			st, err := os.Stat(filepath.Join(s.dir, "dump.rdb"))
			if err != nil {
				b.Fatalf("%s wrote no dump.rdb: %v", s.name, err)
			}
			size[i] = st.Size()

			start := time.Now()
			s.restart()
			c = redis.NewClient(&redis.Options{Addr: s.addr, ReadTimeout: time.Minute})
			n, err := c.DBSize(context.Background()).Result()
			load[i] = time.Since(start)
			logged[i] = loggedLoadMillis(b, s)
			c.FlushAll(context.Background())
			c.Close()
			if err != nil || n != 1_000_000 {
				b.Fatalf("%s after restart holds %d keys (%v), want 1000000", s.name, n, err)
			}
		}
		for i, s := range servers {
			fmt.Printf("1M keys  %-12s SAVE %6.0f ms   dump.rdb %6.1f MB   load (logged) %6.0f ms   restart+load %6.0f ms\n",
				s.name, ms(save[i]), float64(size[i])/1e6, logged[i], ms(load[i]))
		}
		fmt.Printf("1M keys  engine/redis-server: SAVE time %.2fx, file size %.2fx, load %.2fx, restart+load %.2fx\n",
			ms(save[0])/ms(save[1]), float64(size[0])/float64(size[1]), logged[0]/logged[1], ms(load[0])/ms(load[1]))
		b.ReportMetric(ms(save[0])/ms(save[1]), "SAVE-1M-time-ratio")
		b.ReportMetric(float64(size[0])/float64(size[1]), "SAVE-1M-size-ratio")
		b.ReportMetric(logged[0]/logged[1], "load-1M-time-ratio")
		b.ReportMetric(ms(load[0])/ms(load[1]), "restart-1M-time-ratio")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fillMillionKeys writes 1M string keys ("key:N" -> "value:N").
func fillMillionKeys(b *testing.B, c *redis.Client) {
	fillMillion(b, c, func(p redis.Pipeliner, key string, i int) {
		p.Set(context.Background(), key, "value:"+strconv.Itoa(i), 0)
	})
}

// fillMillion empties the server and writes 1M keys "key:N", each with
// add, pipelined.
func fillMillion(b *testing.B, c *redis.Client, add func(p redis.Pipeliner, key string, i int)) {
	b.Helper()
	ctx := context.Background()
	if err := c.FlushAll(ctx).Err(); err != nil {
		b.Fatalf("FLUSHALL: %v", err)
	}
	for from := 0; from < 1_000_000; from += 10_000 {
		p := c.Pipeline()
		for i := from; i < from+10_000; i++ {
			add(p, "key:"+strconv.Itoa(i), i)
		}
		if _, err := p.Exec(ctx); err != nil {
			b.Fatalf("load: %v", err)
		}
	}
	if n := c.DBSize(ctx).Val(); n != 1_000_000 {
		b.Fatalf("holds %d keys after loading 1M", n)
	}
}
