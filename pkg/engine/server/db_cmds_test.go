package server

import (
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestMoveSwapDBLolwutMatchRedisServer: with one database, as the engine
// serves, MOVE and SWAPDB answer redis-server's replies and errors, and
// LOLWUT its plain version line.
func TestMoveSwapDBLolwutMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{Flavor: "redis", Args: []string{"--databases", "1"}}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareArgs(t, real, eng, [][]string{
		{"SET", "k", "v"},
		{"MOVE", "k", "0"}, {"MOVE", "k", "1"}, {"MOVE", "k", "-1"}, {"MOVE", "k", "x"}, {"MOVE", "nope", "0"},
		{"MOVE", "k"},
		{"SWAPDB", "0", "0"}, {"SWAPDB", "0", "1"}, {"SWAPDB", "x", "0"}, {"SWAPDB", "0", "x"}, {"SWAPDB", "1", "1"},
		{"GET", "k"},
		{"LOLWUT"}, {"LOLWUT", "VERSION", "7"}, {"LOLWUT", "VERSION", "x"},
	})
}
