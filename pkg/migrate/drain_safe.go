package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/redis/go-redis/v9"
)

// Keys leave the source only once the target's replicas hold them.
//
// MIGRATE deletes a key from the source as soon as the target master has
// restored it; if the target then fails over before its replica received
// the key, the key is gone from both sides. So when the target has
// replicas, a batch of keys is WATCHed on the source, copied with MIGRATE
// ... COPY, and deleted from the source in MULTI/EXEC only after the
// replicaFence: EXEC refuses the delete when a client wrote one of the
// keys meanwhile (the target's copy is then stale), and the batch is
// copied again, smaller. Each worker keeps its own connection, since WATCH
// lives on one; workers share the fence's rounds.

// safeWorkers is how many connections of one pair move keys at once, so
// that the source keeps working while batches wait for the target's
// replicas.
const safeWorkers = 8

// groupSlots is how many slots copyGroup moves at once.
const groupSlots = 8

// hotKeyTries is how often a single key whose delete was refused (it kept
// being written) is copied again before it is moved with a plain MIGRATE.
const hotKeyTries = 4

// fenced reports whether keys must wait for the target's replicas, making
// the fence on first use.
func (d *drainer) fenced(ctx context.Context) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.fenceRead {
		f, err := sharedFence(ctx, d.pool, d.target, d.opts.ReplicaWait)
		if err != nil {
			return false, err
		}
		if f != nil && !d.mayTransact(ctx) {
			f = nil
		}
		d.fence, d.fenceRead = f, true
	}
	return d.fence != nil, nil
}

// transactRefused holds the (pool, source) pairs whose source refused
// MULTI: fix makes a drainer per slot, and one warning is enough.
var transactRefused sync.Map

type sourceKey struct {
	pool   *conn.Pool
	source string
}

// mayTransact checks that the source lets this user open a transaction
// and WATCH: were MULTI refused, the DEL sent after it would run at once,
// unguarded by the WATCH; were WATCH refused, every slot would find out on
// its own and fall back one by one. Called with d.mu held.
func (d *drainer) mayTransact(ctx context.Context) bool {
	key := sourceKey{d.pool, d.source}
	if _, refused := transactRefused.Load(key); refused {
		d.warned = true
		return false
	}
	c := d.pool.Get(d.source).Conn()
	defer c.Close()
	var multi, watch *redis.Cmd
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		multi = p.Do(ctx, "MULTI")
		p.Do(ctx, "DISCARD")
		// ACL is checked before the key's slot: any key tells (a MOVED
		// means WATCH is allowed).
		watch = p.Do(ctx, "WATCH", "gocluster:watch-probe")
		p.Do(ctx, "UNWATCH")
		return nil
	})
	if !refusedCommand(multi.Err(), "multi") && !refusedCommand(watch.Err(), "watch") {
		return true
	}
	transactRefused.Store(key, true)
	d.warned = true
	d.opts.Report(Event{Kind: EventWarning, Source: d.source, Target: d.target, Message: noWatchWarning})
	return false
}

// refusedCommand reports an ACL refusal of the command itself (not of a
// key: an ACL key pattern may leave out the probe's key).
func refusedCommand(err error, name string) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOPERM") && strings.Contains(err.Error(), "'"+name+"'")
}

// noWatchWarning says what moving keys without WATCH or MULTI costs.
const noWatchWarning = "the ACL user may not run WATCH or MULTI, so keys move with plain MIGRATE: a failover of the target right after a move could lose them (allow WATCH, MULTI, EXEC and EVAL to close that window)"

// warnOnce reports msg once per drainer.
func (d *drainer) warnOnce(msg string) {
	d.mu.Lock()
	said := d.warned
	d.warned = true
	d.mu.Unlock()
	if !said {
		d.opts.Report(Event{Kind: EventWarning, Source: d.source, Target: d.target, Message: msg})
	}
}

func (d *drainer) refuseGroups() {
	d.mu.Lock()
	d.groupsOff = true
	d.mu.Unlock()
}

func (d *drainer) groupsRefused() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.groupsOff
}

// drainManySafe drains the slots: their first keys are listed InFlight
// slots per pipeline, then safeWorkers connections move groupSlots slots
// at a time with drainGroup.
func (d *drainer) drainManySafe(ctx context.Context, slotList []int) (map[int]int, map[int]error) {
	moved := map[int]int{}
	failed := map[int]error{}
	workers := min(safeWorkers, len(slotList))
	cl := d.pool.NewWide(d.source, workers+1)
	defer cl.Close()
	next := make(chan []slotKeys, workers)
	var mu sync.Mutex
	record := func(s, n int, err error) {
		mu.Lock()
		defer mu.Unlock()
		moved[s] += n
		if err != nil {
			failed[s] = err
		}
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			w := &safeConn{client: cl}
			defer w.close()
			for group := range next {
				d.drainGroup(ctx, w, group, record)
			}
		})
	}
	for start := 0; start < len(slotList); start += d.opts.InFlight {
		chunk := slotList[start:min(start+d.opts.InFlight, len(slotList))]
		keys, err := d.getKeys(ctx, chunk)
		if err == nil {
			err = d.gaveUpErr()
		}
		var group []slotKeys
		for _, s := range chunk {
			switch {
			case err != nil:
				record(s, 0, err)
			case len(keys[s]) == 0:
				record(s, 0, nil)
			default:
				group = append(group, slotKeys{slot: s, keys: keys[s]})
			}
			if len(group) == groupSlots {
				next <- group
				group = nil
			}
		}
		if len(group) > 0 {
			next <- group
		}
	}
	close(next)
	wg.Wait()
	return moved, failed
}

// slotKeys is a slot, keys of it listed on the source, and those of them
// this drain has copied to the target (so copying again may REPLACE).
type slotKeys struct {
	slot   int
	keys   []string
	copied map[string]bool
}

// drainGroup moves a group's listed keys with copyGroup, then finishes
// each slot that still holds keys, or that the group could not move, with
// drainSafe.
func (d *drainer) drainGroup(ctx context.Context, w *safeConn, group []slotKeys, record func(slot, n int, err error)) {
	rest := group
	if len(group) > 1 && !d.groupsRefused() {
		var moved map[int]int
		var err error
		moved, rest, err = d.copyGroup(ctx, w.get(d.opts.Timeout), group)
		if err != nil {
			w.close()
			for _, g := range group {
				record(g.slot, moved[g.slot], err)
			}
			return
		}
		for s, n := range moved {
			record(s, n, nil)
		}
	}
	for _, g := range rest {
		n, err := d.drainSafe(ctx, w, g.slot, g.keys, g.copied)
		if err != nil {
			w.close() // it may hold a WATCH or half a reply
		}
		record(g.slot, n, err)
	}
}

// safeConn is one worker's connection to the source, opened again with a
// longer read timeout when MIGRATE needs one.
type safeConn struct {
	client  *redis.Client
	conn    *redis.Conn
	timeout time.Duration
}

func (w *safeConn) get(timeout time.Duration) *redis.Conn {
	if w.conn == nil || w.timeout != timeout {
		w.close()
		w.conn, w.timeout = w.client.WithTimeout(timeout+30*time.Second).Conn(), timeout
	}
	return w.conn
}

func (w *safeConn) close() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// drainSafe empties one slot: batches of keys are copied under WATCH,
// fenced, then deleted, until the source lists none. listed, when not
// nil, is the slot's first listing. Errors are handled as drainOne does;
// busy keys with the same value on both nodes are copied with REPLACE,
// different ones are conflicts.
func (d *drainer) drainSafe(ctx context.Context, w *safeConn, slot int, listed []string, copied map[string]bool) (int, error) {
	moved, retries, batch, hot := 0, 0, d.opts.Pipeline, 0
	timeout := d.opts.Timeout
	var lastFirst *string
	var conflicts []string
	skip := map[string]bool{}
	if copied == nil {
		copied = map[string]bool{} // on the target as this drain copied them: REPLACE is safe
	}
	for {
		c := w.get(timeout)
		keys := listed
		if keys == nil {
			var err error
			if keys, err = c.ClusterGetKeysInSlot(ctx, slot, batch+len(skip)).Result(); err != nil {
				return moved, conn.NodeError(d.source, "CLUSTER GETKEYSINSLOT", err)
			}
		}
		listed = nil
		keys = slices.DeleteFunc(keys, func(k string) bool { return skip[k] })
		keys = keys[:min(len(keys), batch)]
		if len(keys) == 0 {
			if len(conflicts) > 0 {
				return moved, &BusyKeyError{Slot: slot, Source: d.source, Target: d.target, Keys: conflicts}
			}
			return moved, nil
		}
		if lastFirst != nil && keys[0] == *lastFirst {
			return moved, stuckError(d.source, slot, keys[0])
		}
		var outcome copyOutcome
		var err error
		if len(keys) == 1 && hot >= hotKeyTries {
			// Written faster than a copy can be confirmed: move it as
			// MIGRATE does, with its short window, rather than never.
			d.opts.Report(Event{Kind: EventWarning, Source: d.source, Target: d.target, Slot: slot,
				Message: fmt.Sprintf("slot %d: key %q changed during each of %d copies; moving it with a plain MIGRATE", slot, keys[0], hot)})
			outcome, err = copyDone, c.Do(ctx, d.migrateArgs(keys, timeout, false, d.opts.Replace || copied[keys[0]])...).Err()
			if err != nil {
				outcome = copyFailed
			}
		} else {
			outcome, listed, err = d.copyFenceDelete(ctx, c, slot, keys, copied, timeout, batch*2+len(skip))
		}
		switch outcome {
		case copyDone:
			moved += len(keys)
			lastFirst = &keys[0]
			d.clearRefused()
			d.reportKeys(slot, len(keys))
			batch, hot = min(batch*2, d.opts.Pipeline), 0
		case copyChanged:
			// A client wrote one of the keys (or deleted it) meanwhile.
			if batch == 1 {
				hot++
			}
			batch = max(batch/2, 1)
		case copyUnsafe:
			n, err := d.drainOne(ctx, slot, timeout)
			return moved + n, err
		case copyFatal:
			return moved, err
		case copyFailed:
			switch classify(err) {
			case errBusy:
				differ, err := d.differentKeys(ctx, keys)
				if err != nil {
					return moved, err
				}
				if len(differ) > 0 && !d.opts.KeepConflicts {
					return moved, &BusyKeyError{Slot: slot, Source: d.source, Target: d.target, Keys: differ}
				}
				for _, k := range keys {
					if slices.Contains(differ, k) {
						skip[k] = true
					} else {
						copied[k] = true // the same value on both: replacing loses nothing
					}
				}
				conflicts = append(conflicts, differ...)
				if len(differ) < len(keys) {
					d.opts.Report(Event{Kind: EventWarning, Source: d.source, Target: d.target, Slot: slot,
						Message: fmt.Sprintf("slot %d: keys already on target %s hold the same values; replacing them", slot, d.target)})
				}
			default:
				if err := d.waitOrRetry(ctx, slot, err, &retries, &timeout); err != nil {
					return moved, err
				}
			}
		}
	}
}

type copyOutcome int

const (
	copyDone    copyOutcome = iota // copied, confirmed by the replicas, deleted from the source
	copyChanged                    // a key changed meanwhile: nothing deleted
	copyUnsafe                     // the source redirects or refuses WATCH: drain the slot with plain MIGRATE
	copyFailed                     // MIGRATE failed: the caller classifies the error
	copyFatal                      // anything else failed: the slot fails
)

// copyFenceDelete moves keys of slot that all exist on the source: WATCH,
// MIGRATE COPY (REPLACE for keys this drain copied before), the fence,
// then the delete in MULTI/EXEC, followed by the slot's next listing of up
// to count keys (nil when none was read). Whatever fails, the keys are
// still on the source.
func (d *drainer) copyFenceDelete(ctx context.Context, c *redis.Conn, slot int, keys []string, copied map[string]bool, timeout time.Duration, count int) (copyOutcome, []string, error) {
	again, fresh := splitCopied(keys, copied)
	var watch *redis.Cmd
	var migrates []*redis.Cmd
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		watch = p.Do(ctx, withKeys([]any{"WATCH"}, keys)...)
		if len(again) > 0 {
			migrates = append(migrates, p.Do(ctx, d.migrateArgs(again, timeout, true, true)...))
		}
		if len(fresh) > 0 {
			migrates = append(migrates, p.Do(ctx, d.migrateArgs(fresh, timeout, true, d.opts.Replace)...))
		}
		return nil
	})
	if err := watch.Err(); err != nil {
		unwatch(ctx, c)
		msg := err.Error()
		switch {
		case strings.HasPrefix(msg, "MOVED "):
			return copyUnsafe, nil, nil
		case strings.HasPrefix(msg, "NOPERM"):
			d.warnOnce(noWatchWarning)
			return copyUnsafe, nil, nil
		case strings.HasPrefix(msg, "ASK "), strings.HasPrefix(msg, "TRYAGAIN"):
			return copyChanged, nil, nil // a key was deleted since it was listed
		}
		return copyFatal, nil, conn.NodeError(d.source, "WATCH", err)
	}
	for _, m := range migrates {
		if err := m.Err(); err != nil && !strings.HasPrefix(err.Error(), "NOKEY") {
			unwatch(ctx, c)
			return copyFailed, nil, err
		}
	}
	for _, k := range keys {
		copied[k] = true
	}
	exec, lists, err := d.fenceThenDelete(ctx, c, withKeys([]any{"DEL"}, keys), []int{slot}, count)
	if err != nil {
		return copyFatal, nil, err
	}
	listed := lists[0]
	switch err := exec.Err(); {
	case err == nil:
		return copyDone, listed, nil
	case errors.Is(err, redis.Nil), strings.Contains(err.Error(), "EXECABORT"):
		// A watched key was written or deleted (EXEC's nil), or a key
		// vanished before DEL was queued (its TRYAGAIN or ASK).
		return copyChanged, listed, nil
	default:
		return copyFatal, nil, conn.NodeError(d.source, "EXEC (delete of the copied keys)", err)
	}
}

// fenceThenDelete waits for the target's replicas to hold the keys copied
// under WATCH on c, then runs del in MULTI/EXEC and lists up to count keys
// of each slot of listSlots (a nil listing when it failed). An error means
// the fence failed: nothing was deleted.
func (d *drainer) fenceThenDelete(ctx context.Context, c *redis.Conn, del []any, listSlots []int, count int) (*redis.Cmd, [][]string, error) {
	if err := d.fence.wait(ctx); err != nil {
		unwatch(ctx, c)
		return nil, nil, fmt.Errorf("keys copied to %s stay on the source until its replicas confirm them: %w", d.target, err)
	}
	var exec *redis.Cmd
	next := make([]*redis.StringSliceCmd, len(listSlots))
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "MULTI")
		p.Do(ctx, del...) // QUEUED
		exec = p.Do(ctx, "EXEC")
		for i, slot := range listSlots {
			next[i] = p.ClusterGetKeysInSlot(ctx, slot, count)
		}
		return nil
	})
	lists := make([][]string, len(listSlots))
	for i, cmd := range next {
		if cmd.Err() == nil {
			lists[i] = cmd.Val()
		}
	}
	return exec, lists, nil
}

// splitCopied separates keys this drain already copied from the others.
func splitCopied(keys []string, copied map[string]bool) (again, fresh []string) {
	for _, k := range keys {
		if copied[k] {
			again = append(again, k)
		} else {
			fresh = append(fresh, k)
		}
	}
	return again, fresh
}

func unwatch(ctx context.Context, c *redis.Conn) { _ = c.Do(ctx, "UNWATCH").Err() }
