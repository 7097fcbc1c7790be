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

// atomicMigrationProblems lists the atomic slot migrations in progress
// (CLUSTER GETSLOTMIGRATIONS) on every reachable master whose server has
// them, one problem per migration, named by its source. A migration is
// normally over in seconds: one that check keeps seeing is stuck, and fix
// cancels it (the source keeps its slots and keys).
func atomicMigrationProblems(ctx context.Context, pool *conn.Pool, c *topology.Cluster) []topology.Problem {
	masters := c.Masters()
	found := make([][]migrate.SlotMigration, len(masters))
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv, err := pool.Server(ctx, m.Addr())
			if err != nil || !srv.MayMigrateSlotsAtomically() {
				return
			}
			jobs, err := migrate.SlotMigrations(ctx, pool.Get(m.Addr()))
			if err != nil {
				return // a server without the command: nothing in progress there
			}
			found[i] = jobs
		}()
	}
	wg.Wait()
	// Exports only: the source drives a migration and is where it is
	// cancelled; the target's entry mirrors it and ends with the link.
	var out []topology.Problem
	for i, m := range masters {
		for _, j := range found[i] {
			if !j.InProgress() || !j.Export() {
				continue
			}
			target := j.TargetNode
			if n := c.ByID(j.TargetNode); n != nil {
				target = n.Addr()
			}
			out = append(out, topology.Problem{Kind: topology.KindAtomicMigration, Severity: topology.SevWarning,
				Node: m.Addr(), Slots: rangeSlots(j.SlotRanges),
				Message: fmt.Sprintf("Node %s has an atomic slot migration in progress: slots %s to %s (state %s).",
					m.Addr(), j.SlotRanges, target, j.State)})
		}
	}
	return out
}

// rangeSlots reads GETSLOTMIGRATIONS' "0-99 200-299".
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
// in progress: one CANCELSLOTMIGRATIONS per source.
func planAtomicMigrations(plan *FixPlan, s *FixSurvey) {
	if s.Check == nil {
		return
	}
	steps := map[string]int{}
	for _, pr := range s.Check.Report.Problems {
		if pr.Kind != topology.KindAtomicMigration {
			continue
		}
		if i, ok := steps[pr.Node]; ok {
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
		steps[pr.Node] = len(plan.Steps)
		plan.Steps = append(plan.Steps, FixStep{Kind: topology.KindAtomicMigration, Slots: pr.Slots, Message: pr.Message,
			Actions: []FixAction{{Op: OpCancelAtomic, Node: pr.Node, NodeID: id, Slots: pr.Slots}}})
	}
}
