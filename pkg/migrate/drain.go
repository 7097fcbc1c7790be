package migrate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/redis/go-redis/v9"
)

// DrainSlot moves every key of slot from source to target (both
// "host:port") with CLUSTER GETKEYSINSLOT and MIGRATE ... KEYS until the
// source reports none left, and returns how many keys it moved. The slot
// must be open on the source (MIGRATING, or IMPORTING during a fix) so
// that it runs MIGRATE for the slot, and the target must accept the keys
// (IMPORTING, or its owner).
//
// MIGRATE uses REPLACE only with opts.Replace; keys that exist on both
// nodes with identical values are replaced anyway, different values give a
// *BusyKeyError listing them: at once, or with opts.KeepConflicts after
// every other key has moved (those keys stay on the source). I/O errors
// and timeouts are retried opts.Retries times with a longer timeout;
// CLUSTERDOWN and TRYAGAIN are waited out for a while. The slot is never
// assigned: that is the caller's job (CLUSTER SETSLOT ... NODE).
//
// When the target has replicas, keys are deleted from the source only
// once they confirm the copies (see drain_safe.go).
func DrainSlot(ctx context.Context, pool *conn.Pool, slot int, source, target string, opts Options) (int, error) {
	d, err := newDrainer(pool, source, target, opts.withDefaults())
	if err != nil {
		return 0, err
	}
	keys, err := pool.Get(source).ClusterGetKeysInSlot(ctx, slot, d.opts.Pipeline).Result()
	if err != nil {
		return 0, conn.NodeError(source, "CLUSTER GETKEYSINSLOT", err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	fenced, err := d.fenced(ctx)
	if err != nil {
		return 0, err
	}
	if fenced {
		w := &safeConn{client: pool.Get(source)}
		defer w.close()
		return d.drainSafe(ctx, w, slot, keys, nil)
	}
	return d.drainOne(ctx, slot, d.opts.Timeout)
}

// drainer moves keys from one source to one target.
type drainer struct {
	pool           *conn.Pool
	source, target string
	targetHost     string
	targetPort     string
	opts           Options

	mu sync.Mutex // guards the fields below: safe drains run slots in parallel
	// fence waits for the target's replicas; nil when it has none (read
	// once, fenceRead).
	fence     *replicaFence
	fenceRead bool
	// groupsOff is set once the source refused copyGroup's delete script:
	// slots then go one by one.
	groupsOff bool
	warned    bool // warnOnce spoke
	// refusedSince is when the cluster began answering CLUSTERDOWN or
	// TRYAGAIN without a MIGRATE succeeding since: the settleWait budget
	// is the drainer's, not each slot's, or a batch of slots against a
	// target that stays down would wait settleWait once per slot.
	refusedSince time.Time
	// gaveUp is the error of a slot whose MIGRATE timed out through every
	// retry: the pair's later slots fail with it at once, rather than each
	// paying the timeout and its retries against a node that is gone.
	gaveUp error
}

func newDrainer(pool *conn.Pool, source, target string, opts Options) (*drainer, error) {
	a, err := conn.ParseAddr(target)
	if err != nil {
		return nil, fmt.Errorf("migrate target: %w", err)
	}
	if _, err := conn.ParseAddr(source); err != nil {
		return nil, fmt.Errorf("migrate source: %w", err)
	}
	return &drainer{pool: pool, source: source, target: target,
		targetHost: a.Host, targetPort: strconv.Itoa(a.Port), opts: opts}, nil
}

// client returns the source's shared client with a read timeout longer
// than MIGRATE's own timeout; when a pipeline of MIGRATEs exceeds it, the
// slots are retried one by one with longer timeouts.
func (d *drainer) client(timeout time.Duration) *redis.Client {
	return d.pool.Get(d.source).WithTimeout(timeout + 30*time.Second)
}

// migrateArgs builds MIGRATE host port "" 0 timeout [COPY] [REPLACE] [AUTH...] KEYS k...
func (d *drainer) migrateArgs(keys []string, timeout time.Duration, keepSource, replace bool) []any {
	args := make([]any, 0, len(keys)+13)
	args = append(args, "MIGRATE", d.targetHost, d.targetPort, "", 0, max(timeout.Milliseconds(), 1))
	if keepSource {
		args = append(args, "COPY")
	}
	if replace {
		args = append(args, "REPLACE")
	}
	if o := d.pool.Options(); o.Password != "" {
		if o.Username != "" {
			args = append(args, "AUTH2", o.Username, o.Password)
		} else {
			args = append(args, "AUTH", o.Password)
		}
	}
	args = append(args, "KEYS")
	for _, k := range keys {
		args = append(args, k)
	}
	return args
}

// getKeys runs GETKEYSINSLOT for every slot on one pipeline.
func (d *drainer) getKeys(ctx context.Context, slotList []int) (map[int][]string, error) {
	pipe := d.pool.Get(d.source).Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(slotList))
	for i, s := range slotList {
		cmds[i] = pipe.ClusterGetKeysInSlot(ctx, s, d.opts.Pipeline)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, conn.NodeError(d.source, "CLUSTER GETKEYSINSLOT", err)
	}
	out := make(map[int][]string, len(slotList))
	for i, s := range slotList {
		out[s] = cmds[i].Val()
	}
	return out, nil
}

// errorClass sorts MIGRATE failures.
type errorClass int

const (
	errNone      errorClass = iota
	errBusy                 // BUSYKEY: key exists on the target
	errRetryable            // IOERR or a timeout: retry with a longer timeout
	errSettle               // CLUSTERDOWN or TRYAGAIN: the cluster is settling, retry shortly
	errFatal
)

// settleWait bounds how long a drain waits for a cluster answering
// CLUSTERDOWN or TRYAGAIN (e.g. right after a fix reassigned slots).
var settleWait = 15 * time.Second // a var for tests

func classify(err error) errorClass {
	if err == nil {
		return errNone
	}
	msg := err.Error()
	var ne net.Error
	switch {
	case strings.Contains(msg, "BUSYKEY"):
		return errBusy
	case strings.HasPrefix(msg, "CLUSTERDOWN"), strings.HasPrefix(msg, "TRYAGAIN"),
		// The target refused the RESTORE-ASKING the same way (a target that
		// just failed over or restarted stays in state fail for a while).
		strings.Contains(msg, "Target instance replied with error: CLUSTERDOWN"),
		strings.Contains(msg, "Target instance replied with error: TRYAGAIN"):
		return errSettle
	case strings.Contains(msg, "IOERR"), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout(), strings.Contains(msg, "i/o timeout"):
		return errRetryable
	}
	return errFatal
}

// drainOne empties one slot, retrying I/O errors with longer timeouts.
// With KeepConflicts, keys that differ on the target are skipped and
// returned together at the end.
func (d *drainer) drainOne(ctx context.Context, slot int, timeout time.Duration) (int, error) {
	moved, retries := 0, 0
	var lastFirst *string // first key of the last successful MIGRATE
	var conflicts []string
	skip := map[string]bool{}
	for {
		keys, err := d.pool.Get(d.source).ClusterGetKeysInSlot(ctx, slot, d.opts.Pipeline+len(skip)).Result()
		if err != nil {
			return moved, conn.NodeError(d.source, "CLUSTER GETKEYSINSLOT", err)
		}
		keys = slices.DeleteFunc(keys, func(k string) bool { return skip[k] })
		if len(keys) == 0 {
			if len(conflicts) > 0 {
				return moved, &BusyKeyError{Slot: slot, Source: d.source, Target: d.target, Keys: conflicts}
			}
			return moved, nil
		}
		if lastFirst != nil && keys[0] == *lastFirst {
			return moved, stuckError(d.source, slot, keys[0])
		}
		err = d.client(timeout).Do(ctx, d.migrateArgs(keys, timeout, false, d.opts.Replace)...).Err()
		switch classify(err) {
		case errNone:
			moved += len(keys)
			lastFirst = &keys[0]
			d.clearRefused()
			d.reportKeys(slot, len(keys))
		case errBusy:
			differ, err := d.resolveBusy(ctx, slot, keys, timeout)
			if err != nil {
				return moved, err
			}
			moved += len(keys) - len(differ)
			d.reportKeys(slot, len(keys)-len(differ))
			for _, k := range differ {
				skip[k] = true
			}
			conflicts = append(conflicts, differ...)
		default:
			if err := d.waitOrRetry(ctx, slot, err, &retries, &timeout); err != nil {
				return moved, err
			}
		}
	}
}

// waitOrRetry handles a MIGRATE that failed other than with BUSYKEY: it
// waits out CLUSTERDOWN and TRYAGAIN, lengthens the timeout after an I/O
// error or a timeout, or returns the error that ends the slot.
func (d *drainer) waitOrRetry(ctx context.Context, slot int, err error, retries *int, timeout *time.Duration) error {
	switch classify(err) {
	case errSettle:
		return d.waitSettle(ctx, slot, err)
	case errRetryable:
		t, err := d.retryLonger(slot, err, retries, *timeout)
		*timeout = t
		return err
	}
	return conn.NodeError(d.source, "MIGRATE", fmt.Errorf("slot %d: %w", slot, err))
}

// retryLonger counts one more retry of slot's MIGRATE after an I/O error
// or a timeout and returns the longer timeout to use, or the pair's
// give-up error once d.opts.Retries are spent.
func (d *drainer) retryLonger(slot int, err error, retries *int, timeout time.Duration) (time.Duration, error) {
	if *retries >= d.opts.Retries {
		return timeout, d.giveUp(conn.NodeError(d.source, "MIGRATE", fmt.Errorf("slot %d: %w (after %d retries, last timeout %s)", slot, err, *retries, timeout)))
	}
	*retries++
	timeout = retryTimeout(timeout)
	d.warnRetry(slot, err, timeout)
	return timeout, nil
}

func (d *drainer) warnRetry(slot int, err error, timeout time.Duration) {
	d.opts.Report(Event{Kind: EventWarning, Source: d.source, Target: d.target, Slot: slot,
		Message: fmt.Sprintf("MIGRATE of slot %d from %s to %s: %v; retrying with timeout %s", slot, d.source, d.target, err, timeout)})
}

// waitSettle pauses after a CLUSTERDOWN or TRYAGAIN, or returns the
// error once the cluster has refused for longer than settleWait.
func (d *drainer) waitSettle(ctx context.Context, slot int, refusal error) error {
	d.mu.Lock()
	if d.refusedSince.IsZero() {
		d.refusedSince = time.Now()
	}
	since := d.refusedSince
	d.mu.Unlock()
	if time.Since(since) > settleWait {
		return conn.NodeError(d.source, "MIGRATE", fmt.Errorf("slot %d: %w (for %s)", slot, refusal, settleWait))
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}

func (d *drainer) clearRefused() {
	d.mu.Lock()
	d.refusedSince = time.Time{}
	d.mu.Unlock()
}

// giveUp records err as the pair's: its later slots fail with it at once.
func (d *drainer) giveUp(err error) error {
	d.mu.Lock()
	d.gaveUp = err
	d.mu.Unlock()
	return err
}

func (d *drainer) gaveUpErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gaveUp
}

func (d *drainer) reportKeys(slot int, n int) {
	if n > 0 {
		d.opts.Report(Event{Kind: EventKeysMoved, Source: d.source, Target: d.target, Slot: slot, Keys: n})
	}
}

// drainMany empties the slots with pipelined GETKEYSINSLOT and MIGRATE,
// InFlight slots at a time. Each round trip sends, per slot still holding
// keys, its MIGRATE followed by a GETKEYSINSLOT that both confirms the
// drain and lists the next keys; the first round of a chunk also fetches
// the next chunk's keys, so the source never waits for a separate round
// trip. Slots whose MIGRATE needs special handling (busy keys, timeouts)
// fall back to drainOne. It returns the keys moved per slot and the slots
// that failed.
func (d *drainer) drainMany(ctx context.Context, slotList []int) (map[int]int, map[int]error) {
	fenced, err := d.fenced(ctx)
	if err != nil {
		failed := map[int]error{}
		for _, s := range slotList {
			failed[s] = err
		}
		return nil, failed
	}
	if fenced {
		return d.drainManySafe(ctx, slotList)
	}
	moved := map[int]int{}
	failed := map[int]error{}
	var prefetched map[int]*redis.StringSliceCmd
	for start := 0; start < len(slotList); start += d.opts.InFlight {
		chunk := slotList[start:min(start+d.opts.InFlight, len(slotList))]
		if err := d.gaveUpErr(); err != nil {
			for _, s := range chunk {
				failed[s] = err
			}
			continue
		}
		next := slotList[min(start+d.opts.InFlight, len(slotList)):min(start+2*d.opts.InFlight, len(slotList))]
		keys, err := d.chunkKeys(ctx, chunk, prefetched)
		prefetched = nil
		if err != nil {
			for _, s := range chunk {
				failed[s] = err
			}
			continue
		}
		for {
			withKeys := make([]int, 0, len(chunk))
			for _, s := range chunk {
				if len(keys[s]) > 0 {
					withKeys = append(withKeys, s)
				}
			}
			if len(withKeys) == 0 {
				break
			}
			pipe := d.client(d.opts.Timeout).Pipeline()
			migrates := make([]*redis.Cmd, len(withKeys))
			confirms := make([]*redis.StringSliceCmd, len(withKeys))
			for i, s := range withKeys {
				migrates[i] = pipe.Do(ctx, d.migrateArgs(keys[s], d.opts.Timeout, false, d.opts.Replace)...)
				confirms[i] = pipe.ClusterGetKeysInSlot(ctx, s, d.opts.Pipeline)
			}
			if prefetched == nil && len(next) > 0 {
				prefetched = make(map[int]*redis.StringSliceCmd, len(next))
				for _, s := range next {
					prefetched[s] = pipe.ClusterGetKeysInSlot(ctx, s, d.opts.Pipeline)
				}
			}
			_, _ = pipe.Exec(ctx) // errors are read per command below
			for i, s := range withKeys {
				sent, first := len(keys[s]), keys[s][0]
				keys[s] = nil
				err := migrates[i].Err()
				class := classify(err)
				switch class {
				case errNone:
					moved[s] += sent
					d.clearRefused()
					left, err := confirms[i].Result()
					switch {
					case err != nil:
						failed[s] = conn.NodeError(d.source, "CLUSTER GETKEYSINSLOT", err)
					case len(left) > 0 && left[0] == first:
						failed[s] = stuckError(d.source, s, first)
					default:
						keys[s] = left
					}
					continue
				case errFatal:
					failed[s] = conn.NodeError(d.source, "MIGRATE", fmt.Errorf("slot %d: %w", s, err))
					continue
				}
				// Busy or timed out: handle this slot on its own.
				if gaveUp := d.gaveUpErr(); class == errRetryable && gaveUp != nil {
					failed[s] = gaveUp
					continue
				}
				timeout := d.opts.Timeout
				if class == errRetryable {
					timeout = retryTimeout(timeout)
					d.warnRetry(s, err, timeout)
				}
				n, err := d.drainOne(ctx, s, timeout)
				moved[s] += n
				if err != nil {
					failed[s] = err
				}
			}
		}
	}
	return moved, failed
}

// chunkKeys returns the first keys of each slot of a chunk: from the
// GETKEYSINSLOT commands sent ahead with the previous chunk when they
// succeeded, from a new pipeline otherwise.
func (d *drainer) chunkKeys(ctx context.Context, chunk []int, prefetched map[int]*redis.StringSliceCmd) (map[int][]string, error) {
	if prefetched != nil {
		keys := make(map[int][]string, len(chunk))
		ok := true
		for _, s := range chunk {
			cmd := prefetched[s]
			if cmd == nil || cmd.Err() != nil {
				ok = false
				break
			}
			keys[s] = cmd.Val()
		}
		if ok {
			return keys, nil
		}
	}
	return d.getKeys(ctx, chunk)
}

// stuckError reports a key still on the source after MIGRATE said OK: it
// cannot come back under the cluster protocol, so the node misbehaves and
// looping would never end.
func stuckError(source string, slot int, key string) error {
	return conn.NodeError(source, "MIGRATE", fmt.Errorf("slot %d: key %q is still on the source after a successful MIGRATE", slot, key))
}

// resolveBusy handles BUSYKEY for keys of slot. Keys on both nodes with
// the same value (a copy left by an earlier interrupted MIGRATE) are
// migrated with REPLACE, as is everything with Replace. Keys whose values
// differ give a *BusyKeyError, or with KeepConflicts stay on the source
// and are returned.
func (d *drainer) resolveBusy(ctx context.Context, slot int, keys []string, timeout time.Duration) ([]string, error) {
	var differ []string
	if !d.opts.Replace {
		var err error
		if differ, err = d.differentKeys(ctx, keys); err != nil {
			return nil, err
		}
		if len(differ) > 0 && !d.opts.KeepConflicts {
			return nil, &BusyKeyError{Slot: slot, Source: d.source, Target: d.target, Keys: differ}
		}
		keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return slices.Contains(differ, k) })
		if len(keys) == 0 {
			return differ, nil
		}
		d.opts.Report(Event{Kind: EventWarning, Source: d.source, Target: d.target, Slot: slot,
			Message: fmt.Sprintf("slot %d: keys already on target %s hold the same values; replacing them", slot, d.target)})
	}
	err := d.client(timeout).Do(ctx, d.migrateArgs(keys, timeout, false, true)...).Err()
	if err != nil {
		return nil, conn.NodeError(d.source, "MIGRATE", fmt.Errorf("slot %d: %w", slot, err))
	}
	return differ, nil
}

// differentKeys returns the keys that exist on the target with a value
// different from the source's (DUMP payloads compared as values).
func (d *drainer) differentKeys(ctx context.Context, keys []string) ([]string, error) {
	src := d.pool.Get(d.source).Pipeline()
	dst := d.pool.Get(d.target).Pipeline()
	srcDumps := make([]*redis.StringCmd, len(keys))
	dstDumps := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		// A node serves a slot it is importing only after ASKING: the
		// target always, the source during a fix.
		src.Do(ctx, "ASKING")
		srcDumps[i] = src.Dump(ctx, k)
		dst.Do(ctx, "ASKING")
		dstDumps[i] = dst.Dump(ctx, k)
	}
	_, _ = src.Exec(ctx) // errors are read per command below
	_, _ = dst.Exec(ctx)
	var differ []string
	for i, k := range keys {
		sv, serr := srcDumps[i].Result()
		tv, terr := dstDumps[i].Result()
		if absent(serr) || absent(terr) {
			continue // not on both nodes: not busy
		}
		if serr != nil {
			return nil, conn.NodeError(d.source, "DUMP", serr)
		}
		if terr != nil {
			return nil, conn.NodeError(d.target, "DUMP", terr)
		}
		if !rdb.SameDumps([]byte(sv), []byte(tv)) {
			differ = append(differ, k)
		}
	}
	return differ, nil
}

// absent reports a DUMP error that means the key is not on that node: nil,
// or an ASK redirect from a migrating source that no longer has it.
func absent(err error) bool {
	return errors.Is(err, redis.Nil) || err != nil && strings.HasPrefix(err.Error(), "ASK ")
}
