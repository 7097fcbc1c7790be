// Package engine holds end-to-end tests of `gocluster server` run as
// separate processes, the way operators run it, driven by real redis-cli,
// redis-server, go-redis and redis-py. Node is the process helper, shared
// with the benchmark in e2e/bench/engine.
package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/gocluster/e2e/harness"
	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// Options describe one engine process.
type Options struct {
	Host        string        // loopback address to bind, default 127.0.0.1
	ConfigFile  string        // a redis.conf-style file given before the options
	Cluster     bool          // cluster-enabled yes, nodes.conf in the node's dir
	NodeTimeout time.Duration // cluster-node-timeout, default 3 s
	Password    string        // requirepass and masterauth
	Args        []string      // extra "--name value" options
}

// Node is one `gocluster server` process started by a test. It keeps its
// directory and port, so Restart brings the same node back.
type Node struct {
	Host string
	Port int
	Dir  string
	opts Options
	tb   testing.TB

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
}

// Start launches an engine process on a free 127.0.0.1 port (and bus port)
// and waits until it answers PING; the test's cleanup kills it by PID.
func Start(tb testing.TB, opts Options) *Node {
	tb.Helper()
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	n := &Node{Host: opts.Host, Dir: tb.TempDir(), opts: opts, tb: tb}
	var err error
	for range 5 { // a port found free may be taken by a parallel test: retry
		n.Port = redistest.FreePort(tb, n.Host)
		if err = n.launch(); err == nil {
			// Cleanups run last first: the process ends, then its log is kept.
			tb.Cleanup(func() { redistest.KeepLogIfFailed(tb, n.LogPath(), n.Port) })
			tb.Cleanup(n.kill)
			return n
		}
	}
	tb.Fatalf("start gocluster server: %v", err)
	return nil
}

// StartN starts n nodes with the same options.
func StartN(tb testing.TB, n int, opts Options) []*Node {
	tb.Helper()
	nodes := make([]*Node, n)
	for i := range nodes {
		nodes[i] = Start(tb, opts)
	}
	return nodes
}

// Addr is host:port of the client port.
func (n *Node) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// PID of the running process, 0 if none.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Exited reports whether the current process has ended.
func (n *Node) Exited() bool {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// LogPath is where the process writes its log and its stdout/stderr.
func (n *Node) LogPath() string { return filepath.Join(n.Dir, "engine.log") }

// LogTail returns the last lines of the log, for failure messages.
func (n *Node) LogTail(lines int) string {
	f, err := os.Open(n.LogPath())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	var last []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		last = append(last, sc.Text())
		if len(last) > lines {
			last = last[1:]
		}
	}
	return strings.Join(last, "\n")
}

// Args are the command-line arguments after "gocluster".
func (n *Node) Args() []string {
	args := []string{"server"}
	if n.opts.ConfigFile != "" {
		args = append(args, n.opts.ConfigFile)
	}
	args = append(args, "--port", strconv.Itoa(n.Port), "--bind", n.Host, "--dir", n.Dir)
	if n.opts.Cluster {
		timeout := n.opts.NodeTimeout
		if timeout == 0 {
			timeout = 3 * time.Second
		}
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.FormatInt(timeout.Milliseconds(), 10))
	}
	if n.opts.Password != "" {
		args = append(args, "--requirepass", n.opts.Password, "--masterauth", n.opts.Password)
	}
	return append(args, n.opts.Args...)
}

func (n *Node) launch() error {
	log, err := os.OpenFile(n.LogPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.Command(harness.Binary(n.tb), n.Args()...)
	cmd.Stdout, cmd.Stderr = log, log
	redistest.DieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("gocluster server on %s exited: %s", n.Addr(), n.LogTail(5))
		default:
		}
		if n.ping() == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.kill()
	return fmt.Errorf("gocluster server on %s did not answer PING in 10s: %s", n.Addr(), n.LogTail(5))
}

func (n *Node) ping() error {
	c := n.Client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	return c.Ping(ctx).Err()
}

// Client returns a new go-redis client for this node (the caller closes it).
func (n *Node) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: n.Addr(), Password: n.opts.Password,
		DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, MaxRetries: -1})
}

// Signal sends sig to the process and waits up to 10 s for it to exit;
// it fails the test if the process outlives that.
func (n *Node) Signal(sig syscall.Signal) {
	n.tb.Helper()
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		n.tb.Fatalf("signal %v to %s: %v", sig, n.Addr(), err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		n.tb.Fatalf("gocluster server on %s did not exit within 10s of %v", n.Addr(), sig)
	}
}

// ExitCode of the last process, -1 while it runs or if killed by a signal.
func (n *Node) ExitCode() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.ProcessState == nil {
		return -1
	}
	return n.cmd.ProcessState.ExitCode()
}

// Restart starts the node again on the same port and directory after it
// has been stopped; a few attempts cover a slow release of the old
// listener by the kernel.
func (n *Node) Restart() {
	n.tb.Helper()
	if !n.Exited() {
		n.tb.Fatalf("Restart of %s while it still runs", n.Addr())
	}
	var err error
	for range 10 {
		if err = n.launch(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	n.tb.Fatalf("restart gocluster server on %s: %v", n.Addr(), err)
}

// kill ends the process by PID at test end.
func (n *Node) kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// RSS is the process's resident set size in bytes (VmRSS).
func (n *Node) RSS() (int64, error) { return ProcRSS(n.PID()) }

// ProcRSS reads VmRSS of a process from /proc.
func ProcRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// Addrs lists the nodes' addresses.
func Addrs(nodes []*Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr()
	}
	return out
}
