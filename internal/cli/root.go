// Package cli is gocluster's command line: cobra commands, one file each,
// that parse flags, call pkg/admin and render results. No cluster logic here.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "dev"

// Exit codes, decided in one place.
const (
	ExitOK      = 0
	ExitProblem = 1 // the cluster has a problem or an operation failed
	ExitUsage   = 2 // bad arguments
	ExitSignal  = 130
)

// globals are the flags every command shares.
type globals struct {
	password       string
	user           string
	tls            bool
	cacert         string
	cert           string
	key            string
	sni            string
	insecure       bool
	connectTimeout time.Duration
	commandTimeout time.Duration
	json           bool
	yes            bool
	noColor        bool
	verbose        bool

	stdout, stderr io.Writer
	stdin          io.Reader
	answers        *bufio.Reader // stdin, once a non-terminal prompt has read from it
}

// pool builds the connection pool from the global flags.
func (g *globals) pool() (*conn.Pool, error) {
	return conn.NewPool(g.connOptions())
}

func (g *globals) connOptions() conn.Options {
	return conn.Options{
		Username: g.user, Password: g.password,
		TLS: g.tls || g.cacert != "" || g.cert != "", CACert: g.cacert, Cert: g.cert, Key: g.key,
		SNI: g.sni, Insecure: g.insecure,
		DialTimeout: g.connectTimeout, CommandTimeout: g.commandTimeout,
	}
}

// commandBuilders lists every subcommand; each file adds its constructor here.
var commandBuilders []func(*globals) *cobra.Command

func register(b func(*globals) *cobra.Command) { commandBuilders = append(commandBuilders, b) }

// The embedded node takes redis-server options, not gocluster's globals.
func init() { register(func(*globals) *cobra.Command { return newServerCmd() }) }

// NewRoot builds the command tree writing to the given streams.
func NewRoot(stdin io.Reader, stdout, stderr io.Writer) (*cobra.Command, *globals) {
	g := &globals{stdout: stdout, stderr: stderr, stdin: stdin}
	root := &cobra.Command{
		Use:   "gocluster",
		Short: "Administer Redis Cluster and Valkey: everything redis-cli --cluster does, faster and safer",
		Long: `gocluster creates, checks, fixes, reshards and rebalances Redis Cluster and Valkey
deployments. Commands, arguments and options follow redis-cli --cluster; every
--cluster-NAME option is also accepted as --NAME.`,
		Example: `  gocluster check 127.0.0.1:7000
  gocluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 --replicas 0 --yes
  gocluster call 127.0.0.1:7000 INFO server --only-masters`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErr(flagError(err)) })
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return validateDurations(cmd) }
	pf := root.PersistentFlags()
	pf.StringVarP(&g.password, "pass", "a", os.Getenv("REDISCLI_AUTH"), "password for every node (or REDISCLI_AUTH)")
	pf.StringVar(&g.user, "user", "", "ACL user name (with -a)")
	pf.BoolVar(&g.tls, "tls", false, "connect with TLS")
	pf.StringVar(&g.cacert, "cacert", "", "CA certificate file to verify nodes")
	pf.StringVar(&g.cert, "cert", "", "client certificate file")
	pf.StringVar(&g.key, "key", "", "client private key file")
	pf.StringVar(&g.sni, "sni", "", "server name for TLS SNI and verification")
	pf.BoolVar(&g.insecure, "insecure", false, "do not verify node certificates")
	pf.DurationVar(&g.connectTimeout, "connect-timeout", 3*time.Second, "timeout to connect to a node")
	pf.DurationVar(&g.commandTimeout, "command-timeout", 10*time.Second, "timeout for one command to a node")
	pf.BoolVar(&g.json, "json", false, "print a JSON document instead of text")
	pf.BoolVarP(&g.yes, "yes", "y", envBool("REDISCLI_CLUSTER_YES"), "answer yes to every prompt (or REDISCLI_CLUSTER_YES)")
	pf.BoolVar(&g.noColor, "no-color", os.Getenv("NO_COLOR") != "", "no colors in output (or NO_COLOR)")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "print more detail")
	// redis-cli's flag; gocluster never warns about -a on the command line.
	pf.Bool("no-auth-warning", false, "accepted for redis-cli compatibility")
	pf.MarkHidden("no-auth-warning")
	for _, b := range commandBuilders {
		root.AddCommand(b(g))
	}
	for _, c := range root.Commands() {
		if c.Args == nil {
			continue
		}
		orig := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := orig(cmd, args); err != nil {
				return usagef("%s: %v (usage: %s)", cmd.Name(), err, strings.TrimSuffix(cmd.UseLine(), " [flags]"))
			}
			return nil
		}
	}
	return root, g
}

func envBool(name string) bool {
	v := strings.ToLower(os.Getenv(name))
	return v != "" && v != "0" && v != "false" && v != "no"
}

// Main runs gocluster with args and returns the process exit code.
func Main(args []string) int {
	survivePipeClose()
	return Run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr)
}

// Run is Main with explicit streams, for tests.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := interruptible(ctx, stderr)
	defer stop()
	root, g := NewRoot(stdin, stdout, stderr)
	root.SetArgs(normalizeArgs(args))
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if err != nil && ctx.Err() != nil {
		code = ExitSignal // whatever the interrupted step reported
		if !errors.Is(err, context.Canceled) && !isSilent(err) {
			err = fmt.Errorf("interrupted: %w", err)
		}
	}
	if err != nil && !isSilent(err) {
		if line := redisCLILine(err); line != "" && !g.json {
			fmt.Fprintln(stdout, line)
		}
		fmt.Fprintf(stderr, "gocluster: %s\n", oneLine(err.Error()))
		var ne *conn.Error
		if g.verbose && errors.As(err, &ne) && ne.Hint != "" {
			fmt.Fprintf(stderr, "gocluster: cause: %s\n", oneLine(ne.Err.Error()))
		}
		if code == ExitUsage {
			fmt.Fprintln(stderr, "Run 'gocluster --help' or 'gocluster COMMAND --help' for usage.")
		}
	}
	return code
}

// redisCLILine is the line redis-cli prints for the refusal err, if it has
// one, so that scripts grepping redis-cli's output keep working.
func redisCLILine(err error) string {
	if r, ok := admin.RedisCLILine(err); ok {
		return r.Line
	}
	var ne *conn.Error
	if errors.Is(err, topology.ErrNotCluster) && errors.As(err, &ne) {
		return "[ERR] Node " + ne.Addr + " is not configured as a cluster node."
	}
	return ""
}

// normalizeArgs accepts redis-cli spellings: "--cluster SUB", wherever it
// stands among the options (redis-cli takes `-a pass --cluster check ...`
// and `--cluster-yes --cluster create ...`), puts SUB first, and every
// "--cluster-NAME" option becomes "--NAME". The server command is left
// alone: its options are redis-server's own, where --cluster-enabled and
// --cluster-port mean what they say.
func normalizeArgs(args []string) []string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if a == "--cluster" && i+1 < len(args) && i > 0 {
			moved := append([]string{"--cluster", args[i+1]}, args[:i]...)
			args = append(moved, args[i+2:]...)
			break
		}
	}
	out := make([]string, 0, len(args))
	positional := 0
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			positional++
			if positional == 1 && a == "server" {
				return append(out, args[i:]...)
			}
		}
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case a == "--cluster" && len(out) == 0:
			continue
		case strings.HasPrefix(a, "--cluster-"):
			out = append(out, valkeySpelling("--"+strings.TrimPrefix(a, "--cluster-")))
		case strings.HasPrefix(a, "--"):
			out = append(out, valkeySpelling(a))
		default:
			out = append(out, a)
		}
	}
	return out
}

// valkeySpelling maps valkey-cli's words for an option onto gocluster's
// (valkey-cli says primary where redis-cli says master), keeping a
// "=value" part.
func valkeySpelling(opt string) string {
	name, value, hasValue := strings.Cut(opt, "=")
	switch name {
	case "--only-primaries":
		name = "--only-masters"
	case "--primary-id":
		name = "--master-id"
	case "--use-empty-primaries":
		name = "--use-empty-masters"
	case "--fix-with-unreachable-primaries":
		name = "--fix-with-unreachable-masters"
	}
	if hasValue {
		return name + "=" + value
	}
	return name
}

// usageError marks bad arguments (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErr(err error) error { return usageError{err} }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError ends the command with a code after the output already said why.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func isSilent(err error) bool {
	var e exitError
	return errors.As(err, &e)
}

func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	if errors.Is(err, context.Canceled) {
		return ExitSignal
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument"} {
		if strings.HasPrefix(msg, p) {
			return ExitUsage
		}
	}
	return ExitProblem
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
