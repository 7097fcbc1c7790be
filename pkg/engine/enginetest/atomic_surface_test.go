package enginetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestAtomicSurfaceKnob: the hidden engine-atomic-surface presents only
// one family's atomic slot migration commands: the other's answer as
// unknown subcommands and leave COMMAND INFO, LIST and DOCS, while the
// server still says it is redis_version 7.0.15 and CONFIG GET * does not
// show the knob.
func TestAtomicSurfaceKnob(t *testing.T) {
	nodes := startClusterNodes(t, 1, "--engine-atomic-surface", "redis84")
	c := client(t, nodes[0].Addr())
	ctx := context.Background()
	listed := func(name string) bool {
		info, err := c.Do(ctx, "COMMAND", "INFO", name).Slice()
		if err != nil || len(info) != 1 {
			t.Fatalf("COMMAND INFO %s: %v, %v", name, info, err)
		}
		return info[0] != nil
	}
	inList := func(name string) bool {
		names, err := c.Do(ctx, "COMMAND", "LIST").StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(names, name)
	}
	unknown := func(sub string, args ...any) {
		t.Helper()
		err := c.Do(ctx, append([]any{"CLUSTER", sub}, args...)...).Err()
		want := "ERR unknown subcommand '" + sub + "'"
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("CLUSTER %s: %v, want %q...", sub, err, want)
		}
	}
	for _, name := range []string{"cluster|migrateslots", "cluster|getslotmigrations", "cluster|cancelslotmigrations"} {
		if listed(name) || inList(name) {
			t.Fatalf("%s is listed with engine-atomic-surface redis84", name)
		}
	}
	if !listed("cluster|migration") || !inList("cluster|migration") || !listed("cluster|syncslots") {
		t.Fatal("cluster|migration or cluster|syncslots is not listed with engine-atomic-surface redis84")
	}
	unknown("migrateslots", "SLOTSRANGE", 0, 10, "NODE", strings.Repeat("a", 40))
	unknown("getslotmigrations")
	unknown("cancelslotmigrations")
	if tasks, err := c.Do(ctx, "CLUSTER", "MIGRATION", "STATUS", "ALL").Slice(); err != nil || len(tasks) != 0 {
		t.Fatalf("CLUSTER MIGRATION STATUS ALL: %v, %v", tasks, err)
	}
	docs, err := c.Do(ctx, "COMMAND", "DOCS", "cluster").Result()
	if err != nil || strings.Contains(strings.ToLower(fmt.Sprint(docs)), "migrateslots") || !strings.Contains(fmt.Sprint(docs), "IMPORT") {
		t.Fatalf("COMMAND DOCS cluster lists migrateslots or lacks MIGRATION IMPORT: %v", err)
	}
	if info := c.Info(ctx, "server").Val(); !strings.Contains(info, "redis_version:7.0.15") {
		t.Fatalf("INFO server changed: %s", info)
	}
	all, err := c.ConfigGet(ctx, "*").Result()
	if _, shown := all["engine-atomic-surface"]; err != nil || shown {
		t.Fatalf("CONFIG GET * shows the hidden knob (%v)", err)
	}
	if v := c.ConfigGet(ctx, "engine-atomic-surface").Val(); v["engine-atomic-surface"] != "redis84" {
		t.Fatalf("CONFIG GET engine-atomic-surface: %v", v)
	}

	if err := c.ConfigSet(ctx, "engine-atomic-surface", "valkey").Err(); err != nil {
		t.Fatal(err)
	}
	if !listed("cluster|migrateslots") || listed("cluster|migration") || inList("cluster|migration") {
		t.Fatal("engine-atomic-surface valkey does not present only Valkey's commands")
	}
	unknown("migration", "STATUS", "ALL")
	if _, err := c.Do(ctx, "CLUSTER", "GETSLOTMIGRATIONS").Slice(); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "engine-atomic-surface", "both").Err(); err != nil {
		t.Fatal(err)
	}
	if !listed("cluster|migrateslots") || !listed("cluster|migration") {
		t.Fatal("engine-atomic-surface both does not present both families")
	}
	if err := c.ConfigSet(ctx, "engine-atomic-surface", "redis").Err(); err == nil {
		t.Fatal("CONFIG SET engine-atomic-surface redis was accepted")
	}
}
