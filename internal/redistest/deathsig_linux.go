package redistest

import (
	"os/exec"
	"syscall"
)

// DieWithTest makes the server cmd starts get SIGKILL when the test
// process dies, so that a test binary that panics (which skips every
// other test's cleanup) or is killed leaves no server behind.
func DieWithTest(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
