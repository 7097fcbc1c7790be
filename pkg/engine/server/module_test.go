package server

import (
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// TestModuleMatchesRedisServer: MODULE is refused by default as Redis
// refuses it; allowed, it lists nothing and loads nothing.
func TestModuleMatchesRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareArgs(t, real, eng, scriptLines(`
MODULE
MODULE LIST
MODULE LOAD /nonexistent/module.so
`))
	real = dial(t, redistest.Start(t, redistest.Options{Args: []string{"--enable-module-command", "yes"}}).Addr())
	eng = dial(t, startServerArgs(t, "--enable-module-command", "yes").Addr().String())
	compareArgs(t, real, eng, scriptLines(`
MODULE LIST
MODULE LOAD /nonexistent/module.so
MODULE UNLOAD nosuch
MODULE NOSUCH
`))
}
