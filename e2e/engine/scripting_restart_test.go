package engine

import (
	"context"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestFunctionsSurviveRestart: libraries loaded with FUNCTION LOAD are in
// the node's RDB (SAVE) and back after a restart, callable.
func TestFunctionsSurviveRestart(t *testing.T) {
	n := Start(t, Options{})
	ctx := context.Background()
	c := client(t, n)
	if err := c.FunctionLoad(ctx, counterLib).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	n.Signal(syscall.SIGKILL) // no save at exit: the libraries must come from SAVE
	n.Restart()
	c = client(t, n)
	libs, err := c.FunctionList(ctx, redis.FunctionListQuery{WithCode: true}).Result()
	if err != nil || len(libs) != 1 || libs[0].Code != counterLib {
		t.Fatalf("functions after restart: %+v, %v", libs, err)
	}
	if v, err := c.FCall(ctx, "bump", []string{"k"}, 3).Int(); err != nil || v != 3 {
		t.Fatalf("FCALL after restart: %d, %v", v, err)
	}
}
