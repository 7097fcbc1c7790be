package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/redis/go-redis/v9"
)

// valkeySurface is Valkey 9.0's atomic slot migration: CLUSTER
// MIGRATESLOTS on the source starts a job, which CLUSTER
// GETSLOTMIGRATIONS on the source follows and CLUSTER
// CANCELSLOTMIGRATIONS stops.
type valkeySurface struct{ pool *conn.Pool }

// valkeyJob is a MIGRATESLOTS job, known by what it moves until its name
// is seen (MIGRATESLOTS answers only OK).
type valkeyJob struct {
	src   *redis.Client
	p     *pair
	want  string          // its slot_ranges
	known map[string]bool // jobs listed before it started
	name  string
}

func (v valkeySurface) start(ctx context.Context, p *pair, ranges []slots.Range) (atomicTask, error) {
	work := context.WithoutCancel(ctx)
	src := v.pool.Get(p.source.Addr)
	before, err := SlotMigrations(work, src)
	if err != nil {
		return nil, fmt.Errorf("%s: CLUSTER GETSLOTMIGRATIONS: %w", p.source.Addr, err)
	}
	j := &valkeyJob{src: src, p: p, want: rangesText(ranges), known: map[string]bool{}}
	for _, m := range before {
		j.known[m.Name] = true
	}
	args := []any{"CLUSTER", "MIGRATESLOTS", "SLOTSRANGE"}
	for _, r := range ranges {
		args = append(args, r.Start, r.End)
	}
	args = append(args, "NODE", p.target.ID)
	if err := src.Do(work, args...).Err(); err != nil {
		return nil, fmt.Errorf("%s: CLUSTER MIGRATESLOTS %s NODE %s: %w", p.source.Addr, j.want, p.target.ID, err)
	}
	return j, nil
}

func (j *valkeyJob) poll(ctx context.Context) (taskState, string, error) {
	jobs, err := SlotMigrations(ctx, j.src)
	if err != nil {
		return 0, "", fmt.Errorf("%s: CLUSTER GETSLOTMIGRATIONS: %w", j.p.source.Addr, err)
	}
	i := slices.IndexFunc(jobs, func(m SlotMigration) bool {
		if j.name != "" {
			return m.Name == j.name
		}
		return !j.known[m.Name] && m.Export() && m.SlotRanges == j.want && m.TargetNode == j.p.target.ID
	})
	if i < 0 {
		return 0, "", fmt.Errorf("%s: the migration of %s does not appear in CLUSTER GETSLOTMIGRATIONS", j.p.source.Addr, j.want)
	}
	m := jobs[i]
	j.name = m.Name
	switch m.State {
	case "success":
		return taskDone, "", nil
	case "cancelled":
		return taskCancelled, "", nil
	case "failed":
		return taskFailed, m.Message, nil
	}
	return taskRunning, "", nil
}

func (j *valkeyJob) cancel(ctx context.Context) error {
	err := j.src.Do(ctx, "CLUSTER", "CANCELSLOTMIGRATIONS").Err()
	if err != nil && !strings.Contains(err.Error(), "No migrations ongoing") {
		return fmt.Errorf("%s: CLUSTER CANCELSLOTMIGRATIONS: %w", j.p.source.Addr, err)
	}
	return nil
}

// SlotMigration is one entry of CLUSTER GETSLOTMIGRATIONS.
type SlotMigration struct {
	Name       string
	Operation  string // EXPORT or IMPORT
	SlotRanges string // "0-99 200-299"
	SourceNode string
	TargetNode string
	State      string
	Message    string
}

// Export reports whether this node is the source of the migration.
func (m SlotMigration) Export() bool { return strings.EqualFold(m.Operation, "export") }

// InProgress reports whether the migration has not finished.
func (m SlotMigration) InProgress() bool {
	switch m.State {
	case "success", "failed", "cancelled":
		return false
	}
	return true
}

// SlotMigrations reads CLUSTER GETSLOTMIGRATIONS (RESP2 or RESP3 maps).
func SlotMigrations(ctx context.Context, c *redis.Client) ([]SlotMigration, error) {
	v, err := c.Do(ctx, "CLUSTER", "GETSLOTMIGRATIONS").Slice()
	if err != nil {
		return nil, err
	}
	var out []SlotMigration
	for _, f := range replyMaps(v) {
		out = append(out, SlotMigration{Name: f["name"], Operation: f["operation"], SlotRanges: f["slot_ranges"],
			SourceNode: f["source_node"], TargetNode: f["target_node"], State: f["state"], Message: f["message"]})
	}
	return out, nil
}
