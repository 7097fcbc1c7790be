// Package redistest starts real redis-server (or valkey-server) processes for tests.
//
// Servers bind to loopback only, pick free ports, and are stopped (by PID)
// when the test ends. A missing redis-server is a test failure, never a skip:
// run scripts/setup.sh (make test does) to install it.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options describe one redis-server to start.
type Options struct {
	Host     string   // loopback address to bind, default 127.0.0.1
	Cluster  bool     // cluster-enabled yes
	Password string   // requirepass (and masterauth)
	Args     []string // extra "--name value" arguments
	// TLS, when set, makes the server speak TLS only (clients, cluster bus
	// and replication) on its port; make the files with MakeTLS.
	TLS *TLSFiles
	// Flavor pins the server family ("redis" or "valkey") for a test
	// about one of them; empty follows FlavorEnv.
	Flavor string
	// NoConfigFile starts the server from command-line options only, as
	// docker images do: CONFIG REWRITE then fails.
	NoConfigFile bool
}

// Server is a running redis-server started by a test.
type Server struct {
	Host string
	Port int
	Dir  string
	bin  string // the server program, for Restart
	cmd  *exec.Cmd
	mu   sync.Mutex
	done chan struct{}
	opts Options
	tb   testing.TB
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// FlavorEnv names the environment variable that picks the server family
// the tests run against: "redis" (the default: redis-server, redis-cli) or
// "valkey" (valkey-server, valkey-cli). `make test` runs the cluster
// suites once with each.
const FlavorEnv = "GOCLUSTER_TEST_SERVER"

// Flavor is the server family chosen by FlavorEnv: "redis" or "valkey".
func Flavor() string {
	if strings.EqualFold(os.Getenv(FlavorEnv), "valkey") {
		return "valkey"
	}
	return "redis"
}

// pick is the flavour a test pinned, or the chosen one.
func pick(pinned []string) string {
	if len(pinned) > 0 && pinned[0] != "" {
		return pinned[0]
	}
	return Flavor()
}

// ServerBinary is the server program (redis-server or valkey-server) of
// the pinned flavour, if one is given, else of the chosen one; or fails
// the test.
func ServerBinary(tb testing.TB, pinned ...string) string { return Binary(tb, pick(pinned)+"-server") }

// CLIBinary is the command-line client (redis-cli or valkey-cli) of the
// pinned flavour, if one is given, else of the chosen one; or fails the
// test.
func CLIBinary(tb testing.TB, pinned ...string) string { return Binary(tb, pick(pinned)+"-cli") }

// Binary returns the path of a program from the redis or valkey packages
// or fails the test.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s not found in PATH: run scripts/setup.sh (as root it installs redis-server, redis-tools, valkey-server and valkey-tools)", name)
	}
	return p
}

// FreePort returns a port p on host such that p and p+10000 (the cluster bus)
// are both free right now.
func FreePort(tb testing.TB, host string) int {
	tb.Helper()
	for range 200 {
		// Below the kernel's ephemeral range (32768+), which outgoing
		// connections draw from, bus port (+10000) included.
		p := 12000 + rand.IntN(10700)
		if portFree(host, p) && portFree(host, p+10000) {
			return p
		}
	}
	tb.Fatalf("no free port pair found on %s", host)
	return 0
}

func portFree(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// Start launches a redis-server and waits until it answers PING.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	bin := ServerBinary(tb, opts.Flavor)
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	dir := tb.TempDir()
	var lastErr error
	for range 5 { // a port picked as free can be taken by a parallel test; retry
		s := &Server{Host: opts.Host, Port: FreePort(tb, opts.Host), Dir: dir, bin: bin, opts: opts, tb: tb}
		if lastErr = s.launch(bin); lastErr == nil {
			tb.Cleanup(s.Stop)
			tb.Cleanup(s.keepLogIfFailed) // runs first: the log is still there
			return s
		}
	}
	tb.Fatalf("start %s: %v", filepath.Base(bin), lastErr)
	return nil
}

func (s *Server) launch(bin string) error {
	os.Remove(filepath.Join(s.Dir, "nodes.conf"))
	if err := s.spawn(bin); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s on %s exited: %s", filepath.Base(s.bin), s.Addr(), s.logTail())
		default:
		}
		if s.ping() == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("%s on %s did not answer PING in 10s: %s", filepath.Base(s.bin), s.Addr(), s.logTail())
}

func (s *Server) args() []string {
	// A config file, as production nodes have, so CONFIG REWRITE works.
	var args []string
	if !s.opts.NoConfigFile {
		conf := filepath.Join(s.Dir, "redis.conf")
		if _, err := os.Stat(conf); err != nil {
			os.WriteFile(conf, nil, 0o644)
		}
		args = []string{conf}
	}
	args = append(args,
		"--port", strconv.Itoa(s.Port), "--bind", s.Host, "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--logfile", filepath.Join(s.Dir, "redis.log"), "--protected-mode", "no",
		"--repl-diskless-sync-delay", "0", // replicas sync at once, not after 5 s
	)
	if s.opts.Cluster {
		args = append(args, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(s.Dir, "nodes.conf"),
			"--cluster-node-timeout", "5000")
		if s.Host != "127.0.0.1" {
			args = append(args, "--cluster-announce-ip", s.Host)
		}
	}
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password, "--masterauth", s.opts.Password)
	}
	if s.opts.TLS != nil {
		args = append(args, s.opts.TLS.serverArgs(s.Port)...)
	}
	return append(args, s.opts.Args...)
}

// spawn starts the process and a waiter that closes done when it exits.
func (s *Server) spawn(bin string) error {
	cmd := exec.Command(bin, s.args()...)
	DieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	go func() { cmd.Wait(); close(done) }()
	return nil
}

func (s *Server) ping() error {
	c := s.Client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	return c.Ping(ctx).Err()
}

// KeepLogsEnv names a directory where a failed test's servers leave
// their logs (<dir>/<test>/<port>.log), to read what the servers did.
const KeepLogsEnv = "GOCLUSTER_KEEP_LOGS"

func (s *Server) keepLogIfFailed() { KeepLogIfFailed(s.tb, filepath.Join(s.Dir, "redis.log"), s.Port) }

// KeepLogIfFailed copies a server's log to <$GOCLUSTER_KEEP_LOGS>/<test>/
// <port>.log when the test failed and the variable is set.
func KeepLogIfFailed(tb testing.TB, logPath string, port int) {
	root := os.Getenv(KeepLogsEnv)
	if root == "" || !tb.Failed() {
		return
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		return
	}
	dir := filepath.Join(root, strings.ReplaceAll(tb.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err == nil {
		os.WriteFile(filepath.Join(dir, strconv.Itoa(port)+".log"), data, 0o644)
	}
}

func (s *Server) logTail() string {
	f, err := os.Open(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	var last []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		last = append(last, sc.Text())
		if len(last) > 5 {
			last = last[1:]
		}
	}
	return strings.Join(last, " | ")
}

// Client returns a new go-redis client for this server (the caller closes it).
func (s *Server) Client() *redis.Client {
	o := &redis.Options{Addr: s.Addr(), Password: s.opts.Password,
		DialTimeout: time.Second, ReadTimeout: 5 * time.Second, MaxRetries: -1}
	if s.opts.TLS != nil {
		o.TLSConfig = s.opts.TLS.ClientConfig()
	}
	return redis.NewClient(o)
}

// Signal sends sig to the server process (SIGSTOP/SIGCONT freeze and
// thaw it, as a stalled host would).
func (s *Server) Signal(sig os.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return fmt.Errorf("%s is not running", s.Addr())
	}
	return s.cmd.Process.Signal(sig)
}

// Alive reports whether the server process is still running.
func (s *Server) Alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return false
	default:
		return s.cmd != nil
	}
}

// LogTail is the last lines of the server's log, for failure messages.
func (s *Server) LogTail() string { return s.logTail() }

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() { s.kill() }

func (s *Server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.done
}

// Stop ends the server; it is registered as test cleanup by Start.
func (s *Server) Stop() { s.kill() }

// Restart starts the server again on the same port and dir, keeping nodes.conf.
func (s *Server) Restart() error {
	s.kill()
	if err := s.spawn(s.bin); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.ping() == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s on %s did not come back: %s", filepath.Base(s.bin), s.Addr(), s.logTail())
}

// StartNodes starts n empty cluster-enabled servers. Hosts, when given, are
// used round-robin (e.g. 127.0.0.1, 127.0.0.2, 127.0.0.3 to imitate hosts).
func StartNodes(tb testing.TB, n int, opts Options, hosts ...string) []*Server {
	tb.Helper()
	opts.Cluster = true
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1"}
	}
	out := make([]*Server, n)
	for i := range n {
		o := opts
		o.Host = hosts[i%len(hosts)]
		out[i] = Start(tb, o)
	}
	return out
}
