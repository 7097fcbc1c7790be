package conn

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Server says which server program a node runs and which version; the
// migration engine drives each flavour the way it supports.
type Server struct {
	Flavor  string // "redis" or "valkey"
	Version string // "7.0.15", "8.0.1", ...
	Engine  bool   // gocluster's own engine (INFO server says engine:gocluster)
}

// String is what an operator would call it: "valkey 8.0.1".
func (s Server) String() string { return s.Flavor + " " + s.Version }

// MayMigrateSlotsAtomically reports whether the server's version may
// have atomic slot migration: Valkey 9.0's (CLUSTER MIGRATESLOTS) or
// Redis 8.4's (CLUSTER MIGRATION IMPORT); the engine may serve either.
// The command table has the last word on which (migrate.AtomicSupport).
func (s Server) MayMigrateSlotsAtomically() bool {
	return s.Engine || s.Flavor == "valkey" && s.AtLeast(9, 0) || s.Flavor == "redis" && s.AtLeast(8, 4)
}

// AtLeast reports whether the version is major.minor or newer.
func (s Server) AtLeast(major, minor int) bool {
	parts := strings.SplitN(s.Version, ".", 3)
	maj, _ := strconv.Atoi(parts[0])
	mnr := 0
	if len(parts) > 1 {
		mnr, _ = strconv.Atoi(parts[1])
	}
	return maj > major || maj == major && mnr >= minor
}

// ReplicatesSetslot reports whether CLUSTER SETSLOT is first replicated
// to the node's replicas and answered only once they acknowledge it
// (Valkey 8.0+). Such a SETSLOT blocks its caller, so it must never be
// sent inside MULTI/EXEC (Valkey 8.0 aborts on it), and it takes the
// TIMEOUT option.
func (s Server) ReplicatesSetslot() bool { return s.Flavor == "valkey" && s.AtLeast(8, 0) }

// RDBVersion is the RDB format version of the server's DUMP payloads, or
// 0 when this version of gocluster does not know it. A server refuses a
// RESTORE (and so a MIGRATE) of a payload newer than its own.
func (s Server) RDBVersion() int {
	switch {
	case s.Flavor == "valkey" && !s.AtLeast(8, 1):
		return 11 // Valkey 7.2 and 8.0
	case s.Flavor == "valkey":
		return 0
	case s.AtLeast(8, 6): // later Redis bumps it again (13, 14 on unstable's 255.255.255)
		return 0
	case s.AtLeast(7, 4):
		return 12
	case s.AtLeast(7, 2):
		return 11
	case s.AtLeast(7, 0):
		return 10
	case s.AtLeast(5, 0):
		return 9
	}
	return 0
}

// ParseServer reads the flavour and version from INFO server text.
// Valkey reports valkey_version (and a redis_version of 7.2.4 for
// clients that check it), so valkey_version wins.
func ParseServer(info string) (Server, error) {
	var redisVersion, valkeyVersion string
	engine := false
	for line := range strings.SplitSeq(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "redis_version":
			redisVersion = v
		case "valkey_version":
			valkeyVersion = v
		case "engine":
			engine = strings.HasPrefix(v, "gocluster")
		}
	}
	switch {
	case valkeyVersion != "":
		return Server{Flavor: "valkey", Version: valkeyVersion}, nil
	case redisVersion != "":
		return Server{Flavor: "redis", Version: redisVersion, Engine: engine}, nil
	}
	return Server{}, fmt.Errorf("INFO server names no redis_version or valkey_version (is this a Redis node?)")
}

// serverCache remembers each node's Server for the pool's lifetime: a
// node does not change program under one gocluster run.
type serverCache struct {
	mu   sync.Mutex
	seen map[string]Server
}

// Server returns what addr runs, asking it (INFO server) once per pool.
func (p *Pool) Server(ctx context.Context, addr string) (Server, error) {
	p.servers.mu.Lock()
	s, ok := p.servers.seen[addr]
	p.servers.mu.Unlock()
	if ok {
		return s, nil
	}
	info, err := p.Get(addr).Info(ctx, "server").Result()
	if err != nil {
		return Server{}, NodeError(addr, "INFO server", err)
	}
	s, err = ParseServer(info)
	if err != nil {
		return Server{}, NodeError(addr, "INFO server", err)
	}
	p.servers.mu.Lock()
	if p.servers.seen == nil {
		p.servers.seen = map[string]Server{}
	}
	p.servers.seen[addr] = s
	p.servers.mu.Unlock()
	return s, nil
}

// Servers asks every address in parallel and returns what each runs.
func (p *Pool) Servers(ctx context.Context, addrs []string) (map[string]Server, error) {
	out := make(map[string]Server, len(addrs))
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for _, a := range addrs {
		wg.Go(func() {
			s, err := p.Server(ctx, a)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			out[a] = s
		})
	}
	wg.Wait()
	return out, firstErr
}
