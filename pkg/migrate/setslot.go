package migrate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/redis/go-redis/v9"
)

// replicatedSetslotTimeout is the TIMEOUT given to a SETSLOT that a
// Valkey 8+ primary replicates before answering: longer than Valkey's 2 s
// default, since replicas busy applying MIGRATE traffic ack later, and a
// SETSLOT that times out has reached the replicas but not the primary.
const replicatedSetslotTimeout = 5 * time.Second

// replicatedSetslotLanes is how many connections share a batch of
// SETSLOTs on a server that answers each only once its replicas
// acknowledge it. One connection waits a replication round trip (and the
// replica's nodes.conf fsync) per slot; replicas acknowledge an offset,
// not a command, so one round releases the SETSLOT waiting on every lane.
const replicatedSetslotLanes = 64

// wideClient is addr's client for replicated SETSLOTs: room for every
// lane, and a read timeout long enough for a few slow acknowledgements.
func (r *runner) wideClient(addr string) *redis.Client {
	r.wideMu.Lock()
	defer r.wideMu.Unlock()
	cl := r.wide[addr]
	if cl == nil {
		cl = r.pool.NewWide(addr, replicatedSetslotLanes)
		r.wide[addr] = cl
	}
	return cl.WithTimeout(max(r.pool.Options().CommandTimeout, 6*replicatedSetslotTimeout))
}

func (r *runner) closeWide() {
	for _, cl := range r.wide {
		cl.Close()
	}
}

// SetslotArgs builds CLUSTER SETSLOT <slot> <state> [id] [TIMEOUT ms] for
// the server that will run it.
func SetslotArgs(srv conn.Server, slot int, state, id string) []any {
	args := []any{"CLUSTER", "SETSLOT", slot, state}
	if id != "" {
		args = append(args, id)
	}
	if srv.ReplicatesSetslot() {
		args = append(args, "TIMEOUT", replicatedSetslotTimeout.Milliseconds())
	}
	return args
}

// setSlots sends CLUSTER SETSLOT <slot> <state> [id] for every slot on one
// pipeline and returns each slot's error. On a server that waits for its
// replicas before answering each one, the slots are spread over several
// pipelines, with a read timeout long enough for a few slow
// acknowledgements.
func (r *runner) setSlots(ctx context.Context, addr string, slotList []int, state, id string) map[int]error {
	errs := r.setSlotsOnce(ctx, addr, slotList, state, id)
	// Valkey 8 answers NOREPLICAS when its replicas did not acknowledge a
	// replicated SETSLOT within its TIMEOUT (a replica still syncing after
	// a restart): they have it, the primary did not run it. Sent again, it
	// goes through once they catch up.
	for try := 0; try < setslotNoReplicasRetries && ctx.Err() == nil; try++ {
		var again []int
		for _, s := range slotList {
			if err := errs[s]; err != nil && strings.Contains(err.Error(), "NOREPLICAS") {
				again = append(again, s)
			}
		}
		if len(again) == 0 {
			break
		}
		r.opts.Report(Event{Kind: EventWarning, Source: addr, Message: fmt.Sprintf("%s: replicas did not acknowledge CLUSTER SETSLOT %s for %d slot(s) in time; sending again", addr, state, len(again))})
		retried := r.setSlotsOnce(ctx, addr, again, state, id)
		for _, s := range again {
			if err := retried[s]; err != nil {
				errs[s] = err
			} else {
				delete(errs, s)
			}
		}
	}
	return errs
}

// setslotNoReplicasRetries bounds how often a SETSLOT refused with
// NOREPLICAS is sent again (each waits up to replicatedSetslotTimeout).
const setslotNoReplicasRetries = 3

func (r *runner) setSlotsOnce(ctx context.Context, addr string, slotList []int, state, id string) map[int]error {
	srv := r.servers[addr]
	cl := r.pool.Get(addr)
	lanes := 1
	if srv.ReplicatesSetslot() {
		cl = r.wideClient(addr)
		lanes = min(replicatedSetslotLanes, len(slotList))
	}
	cmds := make([]*redis.Cmd, len(slotList))
	var wg sync.WaitGroup
	for lane := range lanes {
		lo, hi := lane*len(slotList)/lanes, (lane+1)*len(slotList)/lanes
		wg.Go(func() {
			pipe := cl.Pipeline()
			for i := lo; i < hi; i++ {
				cmds[i] = pipe.Do(ctx, SetslotArgs(srv, slotList[i], state, id)...)
			}
			_, _ = pipe.Exec(ctx) // read per command
		})
	}
	wg.Wait()
	errs := map[int]error{}
	for i, s := range slotList {
		if err := cmds[i].Err(); err != nil {
			what := fmt.Sprintf("CLUSTER SETSLOT %d %s", s, strings.TrimSpace(state+" "+id))
			errs[s] = conn.NodeError(addr, what, err)
		}
	}
	return errs
}
