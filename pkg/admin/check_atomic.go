package admin

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/migrate"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// nodeMigrations is what one master says of its atomic slot migrations:
// Valkey's jobs (CLUSTER GETSLOTMIGRATIONS) or, on a node without them,
// Redis 8.4's tasks (CLUSTER MIGRATION STATUS ALL).
type nodeMigrations struct {
	jobs  []migrate.SlotMigration
	tasks []migrate.MigrationTask
}

// atomicMigrationProblems lists the atomic slot migrations in progress on
// every reachable master whose server may have them, one problem per
// migration: a Valkey job named by its source, a Redis 8.4 task by its
// destination (each is where the migration is driven and cancelled). A
// migration is normally over in seconds: one that check keeps seeing is
// stuck, and fix cancels it (the source keeps its slots and keys).
func atomicMigrationProblems(ctx context.Context, pool *conn.Pool, c *topology.Cluster) []topology.Problem {
	masters := c.Masters()
	found := make([]nodeMigrations, len(masters))
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Go(func() {
			srv, err := pool.Server(ctx, m.Addr())
			if err != nil || !srv.MayMigrateSlotsAtomically() {
				return
			}
			cl := pool.Get(m.Addr())
			if jobs, err := migrate.SlotMigrations(ctx, cl); err == nil {
				found[i].jobs = jobs
				return
			}
			// A server without either command has nothing in progress.
			found[i].tasks, _ = migrate.MigrationTasks(ctx, cl, "ALL")
		})
	}
	wg.Wait()
	addrOf := func(id string) string {
		if n := c.ByID(id); n != nil {
			return n.Addr()
		}
		return id
	}
	var out []topology.Problem
	for i, m := range masters {
		// Exports only: the target's entry mirrors the source's.
		for _, j := range found[i].jobs {
			if !j.InProgress() || !j.Export() {
				continue
			}
			out = append(out, topology.Problem{Kind: topology.KindAtomicMigration, Severity: topology.SevWarning,
				Node: m.Addr(), Slots: rangeSlots(j.SlotRanges),
				Message: fmt.Sprintf("Node %s has an atomic slot migration in progress: slots %s to %s (state %s).",
					m.Addr(), j.SlotRanges, addrOf(j.TargetNode), j.State)})
		}
		// Imports only: the source's entry mirrors the destination's.
		for _, t := range found[i].tasks {
			if !t.Pending() || !t.Import() {
				continue
			}
			state := t.State
			if t.State == "failed" {
				state = fmt.Sprintf("failed %d times, started again every second; last error: %s", t.Retries+1, t.LastError)
			}
			out = append(out, topology.Problem{Kind: topology.KindAtomicImport, Severity: topology.SevWarning,
				Node: m.Addr(), Slots: rangeSlots(t.Slots),
				Message: fmt.Sprintf("Node %s has an atomic slot import in progress: slots %s from %s (task %s, state %s).",
					m.Addr(), t.Slots, addrOf(t.Source), t.ID, state)})
		}
	}
	return out
}

// rangeSlots reads "0-99 200-299" (GETSLOTMIGRATIONS, MIGRATION STATUS).
func rangeSlots(text string) []int {
	set := slots.SetOf()
	for _, f := range strings.Fields(text) {
		if r, err := slots.ParseRange(f); err == nil {
			set.AddRange(r)
		}
	}
	return set.Slots()
}

// planAtomicMigrations cancels, first, every atomic migration check found
// in progress: one CANCELSLOTMIGRATIONS per Valkey source, one CLUSTER
// MIGRATION CANCEL ALL per Redis 8.4 destination.
func planAtomicMigrations(plan *FixPlan, s *FixSurvey) {
	if s.Check == nil {
		return
	}
	ops := map[string]string{topology.KindAtomicMigration: OpCancelAtomic, topology.KindAtomicImport: OpCancelAtomicImport}
	steps := map[string]int{}
	for _, pr := range s.Check.Report.Problems {
		op, ok := ops[pr.Kind]
		if !ok {
			continue
		}
		key := pr.Kind + " " + pr.Node
		if i, ok := steps[key]; ok {
			st := &plan.Steps[i]
			st.Slots = append(st.Slots, pr.Slots...)
			st.Actions[0].Slots = st.Slots
			st.Message += " " + pr.Message
			continue
		}
		id := ""
		if n := s.Cluster.ByAddr(pr.Node); n != nil {
			id = n.ID
		}
		steps[key] = len(plan.Steps)
		plan.Steps = append(plan.Steps, FixStep{Kind: pr.Kind, Slots: pr.Slots, Message: pr.Message,
			Actions: []FixAction{{Op: op, Node: pr.Node, NodeID: id, Slots: pr.Slots}}})
	}
}
