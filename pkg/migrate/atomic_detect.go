package migrate

import (
	"context"
	"fmt"
	"strings"

	"github.com/gocluster/gocluster/pkg/conn"
)

// AtomicSurfaces says which family of atomic slot migration commands a
// node serves.
type AtomicSurfaces struct {
	// Valkey: Valkey 9.0's CLUSTER MIGRATESLOTS (on the source),
	// GETSLOTMIGRATIONS and CANCELSLOTMIGRATIONS.
	Valkey bool
	// Redis84: Redis 8.4's CLUSTER MIGRATION IMPORT (on the destination),
	// STATUS and CANCEL.
	Redis84 bool
}

// Any reports whether the node serves either family.
func (s AtomicSurfaces) Any() bool { return s.Valkey || s.Redis84 }

// AtomicSupport tells which atomic slot migration commands addr serves.
// The version must allow them (Valkey 9.0+, Redis 8.4+, the gocluster
// engine); then what the node serves decides, not what it is: COMMAND
// INFO must list cluster|migrateslots (Valkey's) or cluster|migration
// with an IMPORT argument in its COMMAND DOCS (Redis 8.4's). why explains
// a node that serves neither, for an operator.
func AtomicSupport(ctx context.Context, pool *conn.Pool, addr string) (s AtomicSurfaces, why string, err error) {
	srv, err := pool.Server(ctx, addr)
	if err != nil {
		return s, "", err
	}
	if !srv.MayMigrateSlotsAtomically() {
		return s, fmt.Sprintf("%s runs %s, which has no atomic slot migration (Valkey 9.0+, Redis 8.4+ or the gocluster engine)", addr, srv), nil
	}
	cl := pool.Get(addr)
	info, err := cl.Do(ctx, "COMMAND", "INFO", "cluster|migrateslots", "cluster|migration").Slice()
	if err != nil {
		return s, "", conn.NodeError(addr, "COMMAND INFO cluster|migrateslots cluster|migration", err)
	}
	s.Valkey = len(info) == 2 && info[0] != nil
	if len(info) == 2 && info[1] != nil {
		docs, err := cl.Do(ctx, "COMMAND", "DOCS", "cluster|migration").Result()
		if err != nil {
			return s, "", conn.NodeError(addr, "COMMAND DOCS cluster|migration", err)
		}
		s.Redis84 = mentionsWord(docs, "import")
	}
	if !s.Any() {
		why = fmt.Sprintf("%s (%s) lists neither CLUSTER MIGRATESLOTS nor CLUSTER MIGRATION IMPORT in COMMAND INFO/DOCS", addr, srv)
	}
	return s, why, nil
}

// mentionsWord reports whether a reply holds word (any case) as one of
// its strings, at any depth: COMMAND DOCS' argument names and tokens.
func mentionsWord(v any, word string) bool {
	switch v := v.(type) {
	case string:
		return strings.EqualFold(v, word)
	case []any:
		for _, e := range v {
			if mentionsWord(e, word) {
				return true
			}
		}
	case map[any]any:
		for k, e := range v {
			if mentionsWord(k, word) || mentionsWord(e, word) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if mentionsWord(e, word) {
				return true
			}
		}
	}
	return false
}

// ChooseMover decides, before anything changes, how the job's slots will
// move under mode: MoverAtomic when every source and target serves
// Valkey's commands, else MoverAtomic84 when every one serves Redis 8.4's,
// else MoverMigrate; with AtomicAlways that last case is an error naming
// a node that lacks both (or saying that the nodes share neither).
func ChooseMover(ctx context.Context, pool *conn.Pool, job Job, mode AtomicMode) (string, error) {
	if mode == AtomicNever || len(job.Moves) == 0 {
		return MoverMigrate, nil
	}
	all := AtomicSurfaces{Valkey: true, Redis84: true}
	whyNot := ""
	seen := map[string]bool{}
	for _, m := range job.Moves {
		for _, addr := range []string{m.Source.Addr, m.Target.Addr} {
			if seen[addr] {
				continue
			}
			seen[addr] = true
			s, why, err := AtomicSupport(ctx, pool, addr)
			if err != nil {
				return "", err
			}
			all.Valkey = all.Valkey && s.Valkey
			all.Redis84 = all.Redis84 && s.Redis84
			if !s.Any() {
				whyNot = why
				break
			}
		}
		if whyNot != "" {
			break
		}
	}
	switch {
	case whyNot == "" && all.Valkey:
		return MoverAtomic, nil
	case whyNot == "" && all.Redis84:
		return MoverAtomic84, nil
	case mode != AtomicAlways:
		return MoverMigrate, nil
	}
	if whyNot == "" {
		whyNot = "the nodes share no atomic slot migration: some serve only Valkey 9.0's CLUSTER MIGRATESLOTS, others only Redis 8.4's CLUSTER MIGRATION"
	}
	return "", fmt.Errorf("--atomic always: %s; nothing was changed (use --atomic auto to fall back to MIGRATE)", whyNot)
}
