package redistest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServerDiesWithItsTest: a test process that dies without running its
// cleanups (a panic in another test does that) takes the redis-server it
// started with it.
func TestServerDiesWithItsTest(t *testing.T) {
	if os.Getenv("REDISTEST_ORPHAN_CHILD") == "1" {
		s := Start(t, Options{Flavor: "redis"})
		fmt.Printf("pid %d\n", s.cmd.Process.Pid)
		os.Exit(3) // no cleanup runs
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestServerDiesWithItsTest$")
	cmd.Env = append(os.Environ(), "REDISTEST_ORPHAN_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, _ = strconv.Atoi(f)
		}
	}
	cmd.Wait()
	if pid == 0 {
		t.Fatal("the child test printed no server pid")
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("redis-server %d outlived the test process that started it", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive: the process exists and is not a zombie (an orphan's zombie
// lingers until whoever inherited it reaps it).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}
