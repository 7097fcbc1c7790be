package migrate

import (
	"context"
	"errors"
	"strings"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/redis/go-redis/v9"
)

// deleteCopies deletes the keys given as arguments. A transaction may
// touch one slot only; a script flagged allow-cross-slot-keys inside it
// may touch several, so one MULTI/EXEC deletes a whole group's keys.
const deleteCopies = "#!lua flags=allow-cross-slot-keys\nfor _, k in ipairs(ARGV) do redis.call('DEL', k) end\nreturn #ARGV"

// copyGroup moves the listed keys of several slots at once: one pipeline
// of WATCH and MIGRATE COPY per slot, one fence, then one MULTI/EXEC
// running deleteCopies, followed by each slot's next listing. It returns
// the keys moved per slot, and the slots left for drainSafe: those whose
// WATCH or MIGRATE failed, those with keys left, or all of them when a
// client wrote a watched key meanwhile (EXEC does not say which). An
// error means the fence failed: nothing was deleted.
func (d *drainer) copyGroup(ctx context.Context, c *redis.Conn, group []slotKeys) (map[int]int, []slotKeys, error) {
	timeout := d.opts.Timeout
	watches := make([]*redis.Cmd, len(group))
	copies := make([]*redis.Cmd, len(group))
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, g := range group {
			watches[i] = p.Do(ctx, withKeys([]any{"WATCH"}, g.keys)...)
			copies[i] = p.Do(ctx, d.migrateArgs(g.keys, timeout, true, d.opts.Replace)...)
		}
		return nil
	})
	var reply redis.Error
	if err != nil && !errors.As(err, &reply) {
		// The connection failed, not a command: nothing was deleted, and
		// the connection is of no more use.
		return nil, nil, conn.NodeError(d.source, "WATCH/MIGRATE COPY", err)
	}
	var rest, copied []slotKeys
	for i, g := range group {
		err := watches[i].Err()
		if err == nil {
			if err = copies[i].Err(); err != nil && strings.HasPrefix(err.Error(), "NOKEY") {
				err = nil
			}
		}
		if err != nil {
			rest = append(rest, slotKeys{slot: g.slot}) // drainSafe lists it again and handles the error
			continue
		}
		g.copied = make(map[string]bool, len(g.keys))
		for _, k := range g.keys {
			g.copied[k] = true
		}
		copied = append(copied, g)
	}
	if len(copied) == 0 {
		unwatch(ctx, c)
		return nil, rest, nil
	}
	var all []string
	slotsCopied := make([]int, len(copied))
	for i, g := range copied {
		all = append(all, g.keys...)
		slotsCopied[i] = g.slot
	}
	exec, lists, err := d.fenceThenDelete(ctx, c, withKeys([]any{"EVAL", deleteCopies, 0}, all), slotsCopied, d.opts.Pipeline)
	if err != nil {
		return nil, nil, err
	}
	deleted, refused, err := execOutcome(exec)
	if err != nil {
		return nil, nil, conn.NodeError(d.source, "EXEC (delete of the copied keys)", err)
	}
	if refused {
		d.refuseGroups()
	}
	moved := map[int]int{}
	for i, g := range copied {
		listed := lists[i]
		if !deleted {
			rest = append(rest, slotKeys{slot: g.slot, keys: listed, copied: g.copied})
			continue
		}
		moved[g.slot] = len(g.keys)
		d.reportKeys(g.slot, len(g.keys))
		if len(listed) > 0 {
			rest = append(rest, slotKeys{slot: g.slot, keys: listed, copied: g.copied})
		}
	}
	if deleted {
		d.clearRefused()
	}
	return moved, rest, nil
}

// execOutcome reads copyGroup's EXEC: whether the keys were deleted. A
// watched key written meanwhile (EXEC's nil) deletes nothing, nor does a
// script the server refused (refused: no shebang flags before Redis 7.0,
// an ACL without EVAL).
func execOutcome(exec *redis.Cmd) (deleted, refused bool, err error) {
	switch err := exec.Err(); {
	case errors.Is(err, redis.Nil), err != nil && strings.Contains(err.Error(), "EXECABORT"):
		return false, false, nil
	case err != nil:
		return false, false, err
	}
	replies, _ := exec.Val().([]any)
	if len(replies) == 1 {
		if _, failed := replies[0].(error); !failed {
			return true, false, nil
		}
	}
	return false, true, nil
}

// withKeys appends keys to a command's leading arguments.
func withKeys(prefix []any, keys []string) []any {
	args := make([]any, 0, len(prefix)+len(keys))
	args = append(args, prefix...)
	for _, k := range keys {
		args = append(args, k)
	}
	return args
}
