package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/engine/rdb"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// DefaultImportPipeline is how many keys one SCAN / DUMP / RESTORE round handles.
const DefaultImportPipeline = 1000

// ImportOptions say where the data comes from and how it is written.
type ImportOptions struct {
	From     string // source host:port (a standalone Redis, not a cluster node)
	Copy     bool   // keep the keys on the source
	Replace  bool   // overwrite keys that already exist in the cluster
	Pipeline int    // keys per round trip, default DefaultImportPipeline
}

// ImportPlan is the checked import, ready to run: the cluster's masters by
// slot and the source's key count.
type ImportPlan struct {
	Seed       string              `json:"seed"`
	From       string              `json:"from"`
	SourceKeys int64               `json:"source_keys"` // DBSIZE of the source's DB 0 when planned
	Masters    []string            `json:"masters"`     // the masters that will receive keys
	Copy       bool                `json:"copy"`
	Replace    bool                `json:"replace"`
	Pipeline   int                 `json:"pipeline"`
	owners     [slots.Count]string // slot -> owner host:port
	replicas   map[string]int      // owner host:port -> its reachable replicas
}

// replicaWait bounds the WAIT after each batch of RESTOREs: a key leaves
// the source only once the owner's replicas hold it too, or a failover of
// the owner right after would lose it (asynchronous replication).
const replicaWait = 5 * time.Second

// ImportResult counts what happened to every key the source listed.
type ImportResult struct {
	Scanned  int64           `json:"scanned"`
	Imported int64           `json:"imported"` // restored in the cluster
	Skipped  int64           `json:"skipped"`  // already in the cluster, left as is (no --replace)
	skipSeen map[string]bool // keys already counted as skipped
	Vanished int64           `json:"vanished"`               // gone from the source before it could be read
	Failed   int64           `json:"failed"`                 // could not be restored
	Deleted  int64           `json:"deleted"`                // removed from the source after import (no --copy)
	Changed  int64           `json:"changed"`                // written on the source during the import: kept there
	Errors   []string        `json:"errors,omitempty"`       // the first few failures
	Skips    []string        `json:"skipped_keys,omitempty"` // the first few skipped keys
}

const maxListed = 10

// OK reports an import where no key failed.
func (r *ImportResult) OK() bool { return r.Failed == 0 }

// PlanImport checks that the cluster is healthy enough to receive keys
// (every slot served, none open, all masters reachable) and that the source
// is a standalone node, and returns the plan. src reaches the source (its
// own credentials and TLS); pool reaches the cluster.
func PlanImport(ctx context.Context, pool, src *conn.Pool, seed string, o ImportOptions) (*ImportPlan, error) {
	from, err := conn.NormalizeAddr(o.From)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	c, err := topology.Load(ctx, pool, seed)
	if err != nil {
		return nil, err
	}
	if err := readyForWrites(c); err != nil {
		return nil, err
	}
	p := &ImportPlan{Seed: seed, From: from, Copy: o.Copy, Replace: o.Replace, Pipeline: o.Pipeline, replicas: map[string]int{}}
	if p.Pipeline <= 0 {
		p.Pipeline = DefaultImportPipeline
	}
	for _, m := range c.Masters() {
		if m.Slots.Len() == 0 {
			continue
		}
		p.Masters = append(p.Masters, m.Addr())
		p.replicas[m.Addr()] = len(c.ReplicasOf(m.ID))
		for _, s := range m.Slots.Slots() {
			p.owners[s] = m.Addr()
		}
	}
	if c.ByAddr(from) != nil {
		return nil, fmt.Errorf("--from %s is a node of this cluster", from)
	}
	sc := src.Get(from)
	info, err := sc.Info(ctx, "cluster").Result()
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOAUTH") {
			return nil, fmt.Errorf("source %s: authentication required: pass --from-pass (and --from-user for an ACL user)", from)
		}
		return nil, conn.NodeError(from, "INFO", err)
	}
	if strings.Contains(info, "cluster_enabled:1") {
		return nil, fmt.Errorf("source %s is a cluster node: import reads a standalone Redis (use reshard to move slots between clusters' nodes)", from)
	}
	if p.SourceKeys, err = sc.DBSize(ctx).Result(); err != nil {
		return nil, conn.NodeError(from, "DBSIZE", err)
	}
	return p, nil
}

// readyForWrites refuses clusters where writes to the owner could be
// redirected or lost: unreachable nodes, disagreement, open or uncovered slots.
func readyForWrites(c *topology.Cluster) error {
	if len(c.Unreachable) > 0 {
		u := c.Unreachable[0]
		return fmt.Errorf("node %s is unreachable (%v): fix the cluster first", u.Node.Addr(), u.Err)
	}
	if !topology.Consistent(c) {
		return errors.New("nodes don't agree about the slots configuration: wait for the cluster to settle or run gocluster fix")
	}
	if open := c.OpenSlots(); len(open) > 0 {
		return fmt.Errorf("slots %s are open (migrating/importing): run gocluster fix first", joinSlots(open))
	}
	if n := c.Covered().Len(); n != slots.Count {
		return fmt.Errorf("only %d of %d slots are covered: run gocluster fix first", n, slots.Count)
	}
	return nil
}

func joinSlots(ss []int) string {
	parts := make([]string, 0, min(len(ss), 20))
	for i, s := range ss {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("... (%d in all)", len(ss)))
			break
		}
		parts = append(parts, strconv.Itoa(s))
	}
	return strings.Join(parts, ",")
}

// compareAndDelete removes a source key only if it still holds the value
// that was imported, so a write that raced the import is never lost.
var compareAndDelete = redis.NewScript(`if redis.call('DUMP', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// dumped is one source key read for import.
type dumped struct {
	key     string
	slot    int
	payload string
	ttl     int64 // ms, 0 for none
}

// ApplyImport SCANs the source and writes every key to the master owning
// its slot: DUMP with PTTL from the source (pipelined), RESTORE on the owner
// (pipelined, one pipeline per owner in parallel), then, unless Copy, the
// imported keys are removed from the source. It keeps going after per-key
// failures and counts them; a connection failure stops it. When ctx is
// cancelled it finishes the batch in flight and returns ctx.Err(): a
// second run finds the keys already copied (same value in the cluster) and
// treats them as imported.
func ApplyImport(ctx context.Context, pool, src *conn.Pool, p *ImportPlan, rep Reporter) (*ImportResult, error) {
	res := &ImportResult{}
	sc := src.Get(p.From)
	cursor := uint64(0)
	batchCtx := context.WithoutCancel(ctx)
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		keys, next, err := sc.Scan(ctx, cursor, "", int64(p.Pipeline)).Result()
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			return res, conn.NodeError(p.From, "SCAN", err)
		}
		if len(keys) > 0 {
			res.Scanned += int64(len(keys))
			if err := importBatch(batchCtx, pool, sc, p, keys, res); err != nil {
				return res, err
			}
			rep.Report(Event{Kind: EventKeysMoved, Node: p.From, Keys: len(keys), Total: int(p.SourceKeys)})
		}
		if cursor = next; cursor == 0 {
			return res, nil
		}
	}
}

func importBatch(ctx context.Context, pool *conn.Pool, sc *redis.Client, p *ImportPlan, keys []string, res *ImportResult) error {
	pipe := sc.Pipeline()
	dumps := make([]*redis.Cmd, len(keys))
	ttls := make([]*redis.Cmd, len(keys))
	for i, k := range keys {
		dumps[i] = pipe.Do(ctx, "DUMP", k)
		ttls[i] = pipe.Do(ctx, "PTTL", k)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isReplyErr(err) {
		return conn.NodeError(p.From, "DUMP", err)
	}
	byOwner := map[string][]dumped{}
	for i, k := range keys {
		payload, err := dumps[i].Text()
		ttl, terr := ttls[i].Int64()
		switch {
		case errors.Is(err, redis.Nil) || (terr == nil && ttl == -2):
			res.Vanished++
			continue
		case err != nil || terr != nil:
			res.fail(fmt.Sprintf("%s: DUMP on source %s: %v", k, p.From, errors.Join(err, terr)))
			continue
		}
		d := dumped{key: k, slot: slots.Slot(k), payload: payload, ttl: max(ttl, 0)}
		byOwner[p.owners[d.slot]] = append(byOwner[p.owners[d.slot]], d)
	}
	var mu sync.Mutex
	var restored []dumped
	errs := make(chan error, len(byOwner))
	var wg sync.WaitGroup
	for owner, ds := range byOwner {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := restoreOn(ctx, pool, owner, p.replicas[owner], ds, p.Replace, res, &mu)
			mu.Lock()
			restored = append(restored, ok...)
			mu.Unlock()
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	if p.Copy || len(restored) == 0 {
		return nil
	}
	pipe = sc.Pipeline()
	dels := make([]*redis.Cmd, len(restored))
	for i, d := range restored {
		dels[i] = compareAndDelete.Eval(ctx, pipe, []string{d.key}, d.payload)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isReplyErr(err) {
		return conn.NodeError(p.From, "EVAL (delete imported keys)", err)
	}
	for i, d := range restored {
		n, err := dels[i].Int64()
		switch {
		case err != nil:
			res.fail(fmt.Sprintf("%s: imported but not deleted from source %s: %v", d.key, p.From, err))
		case n == 1:
			res.Deleted++
		default:
			res.Changed++
		}
	}
	return nil
}

// restoreOn RESTOREs ds on owner in one pipeline and returns the keys that
// are now in the cluster with the source's value. BUSYKEY without replace
// counts as skipped, unless the cluster's copy holds the same value (an
// earlier, interrupted import): that key counts as imported.
//
// When the owner has replicas the batch ends with WAIT: if they do not all
// confirm it within replicaWait, no key of the batch counts as imported,
// so none is deleted from the source and the next run imports them.
func restoreOn(ctx context.Context, pool *conn.Pool, owner string, replicas int, ds []dumped, replace bool, res *ImportResult, mu *sync.Mutex) ([]dumped, error) {
	pipe := pool.Get(owner).Pipeline()
	cmds := make([]*redis.StatusCmd, len(ds))
	for i, d := range ds {
		args := []any{"RESTORE", d.key, d.ttl, d.payload}
		if replace {
			args = append(args, "REPLACE")
		}
		cmds[i] = redis.NewStatusCmd(ctx, args...)
		_ = pipe.Process(ctx, cmds[i])
	}
	if _, err := pipe.Exec(ctx); err != nil && !isReplyErr(err) {
		return nil, conn.NodeError(owner, "RESTORE", err)
	}
	if replicas > 0 {
		wctx, cancel := context.WithTimeout(ctx, replicaWait+5*time.Second)
		acked, err := pool.Get(owner).Do(wctx, "WAIT", replicas, replicaWait.Milliseconds()).Int()
		cancel()
		if err != nil || acked < replicas {
			why := fmt.Sprintf("%d of its %d replica(s) confirmed it within %s", acked, replicas, replicaWait)
			if err != nil {
				why = conn.NodeError(owner, "WAIT", err).Error()
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range ds {
				res.fail(fmt.Sprintf("%s: restored on %s, but %s: kept on the source", d.key, owner, why))
			}
			return nil, nil
		}
	}
	var busy []dumped
	for i, d := range ds {
		if err := cmds[i].Err(); err != nil && strings.HasPrefix(err.Error(), "BUSYKEY") {
			busy = append(busy, d)
		}
	}
	same, err := sameInCluster(ctx, pool, owner, busy)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	var ok []dumped
	for i, d := range ds {
		err := cmds[i].Err()
		switch {
		case err == nil, same[d.key]:
			res.Imported++
			ok = append(ok, d)
		case strings.HasPrefix(err.Error(), "BUSYKEY"):
			// SCAN may return a key twice (the source rehashes while keys
			// leave it): a skipped key stays in the source, so count it once.
			if res.skipSeen == nil {
				res.skipSeen = map[string]bool{}
			}
			if res.skipSeen[d.key] {
				continue
			}
			res.skipSeen[d.key] = true
			res.Skipped++
			if len(res.Skips) < maxListed {
				res.Skips = append(res.Skips, d.key)
			}
		default:
			res.fail(fmt.Sprintf("%s: RESTORE on %s: %v", d.key, owner, err))
		}
	}
	return ok, nil
}

// sameInCluster returns which of ds the owner already holds with the
// source's value (DUMP payloads compared as values).
func sameInCluster(ctx context.Context, pool *conn.Pool, owner string, ds []dumped) (map[string]bool, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	pipe := pool.Get(owner).Pipeline()
	dumps := make([]*redis.StringCmd, len(ds))
	for i, d := range ds {
		dumps[i] = pipe.Dump(ctx, d.key)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isReplyErr(err) && !errors.Is(err, redis.Nil) {
		return nil, conn.NodeError(owner, "DUMP", err)
	}
	same := map[string]bool{}
	for i, d := range ds {
		if v, err := dumps[i].Result(); err == nil && rdb.SameDumps([]byte(d.payload), []byte(v)) {
			same[d.key] = true
		}
	}
	return same, nil
}

func (r *ImportResult) fail(msg string) {
	r.Failed++
	if len(r.Errors) < maxListed {
		r.Errors = append(r.Errors, msg)
	}
}

// isReplyErr tells a per-command error reply (which the caller inspects
// command by command) from a connection failure.
func isReplyErr(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}
