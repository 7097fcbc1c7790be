package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interruptible cancels ctx on the first SIGINT or SIGTERM, so that the
// command can stop cleanly (a migration finishes the slot in flight). A
// command blocked on a node that does not answer only notices after
// --command-timeout, so a second signal exits at once.
func interruptible(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "gocluster: interrupted twice: exiting without waiting for the step in flight; run gocluster check to see the cluster's state")
			os.Exit(ExitSignal)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// survivePipeClose keeps gocluster running when whoever reads its output
// goes away (`gocluster reshard ... | head`): by default Go exits on the
// first write to a closed standard output, which could stop a migration
// between two steps. Writes then fail quietly and the command finishes.
func survivePipeClose() { signal.Ignore(syscall.SIGPIPE) }
