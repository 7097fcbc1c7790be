package conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options are the connection settings shared by every node connection.
type Options struct {
	Username string
	Password string

	TLS      bool
	CACert   string // PEM file
	Cert     string // client certificate PEM file
	Key      string // client key PEM file
	SNI      string
	Insecure bool // skip certificate verification

	DialTimeout    time.Duration
	CommandTimeout time.Duration
	PoolSize       int
}

// Defaults fills zero values with gocluster's defaults.
func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 3 * time.Second
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 10 * time.Second
	}
	if o.PoolSize <= 0 {
		o.PoolSize = 16
	}
	return o
}

// TLSConfig builds the TLS configuration, or nil when TLS is off.
func (o Options) TLSConfig() (*tls.Config, error) {
	if !o.TLS {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: o.Insecure, ServerName: o.SNI, MinVersion: tls.VersionTLS12}
	if o.CACert != "" {
		pem, err := os.ReadFile(o.CACert)
		if err != nil {
			return nil, fmt.Errorf("read --cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s holds no PEM certificate", o.CACert)
		}
		cfg.RootCAs = pool
	}
	if o.Cert != "" || o.Key != "" {
		if o.Cert == "" || o.Key == "" {
			return nil, errors.New("--cert and --key go together")
		}
		pair, err := tls.LoadX509KeyPair(o.Cert, o.Key)
		if err != nil {
			return nil, fmt.Errorf("load --cert/--key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func init() { redis.SetLogger(quietLogger{}) }

// quietLogger drops go-redis' internal log lines: every failure reaches the
// caller as an error that names the node, so the logs only repeat it.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// Pool hands out one client per node address, built from the same options.
type Pool struct {
	opts    Options
	tls     *tls.Config
	mu      sync.Mutex
	clients map[string]*redis.Client
	servers serverCache
}

// NewPool validates the options (TLS files are read once here).
func NewPool(o Options) (*Pool, error) {
	o = o.withDefaults()
	t, err := o.TLSConfig()
	if err != nil {
		return nil, err
	}
	return &Pool{opts: o, tls: t, clients: map[string]*redis.Client{}}, nil
}

// Options returns the pool's effective options.
func (p *Pool) Options() Options { return p.opts }

// Get returns the client for addr (host:port), creating it on first use.
func (p *Pool) Get(addr string) *redis.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[addr]; ok {
		return c
	}
	c := redis.NewClient(p.clientOptions(addr))
	p.clients[addr] = c
	return c
}

// New returns a fresh client for addr that the caller owns and closes;
// for work that needs its own connections (long MIGRATEs, blocking reads).
func (p *Pool) New(addr string) *redis.Client { return redis.NewClient(p.clientOptions(addr)) }

// NewWide is New with room for conns connections at once, for work that
// spreads over many connections to one node.
func (p *Pool) NewWide(addr string, conns int) *redis.Client {
	o := p.clientOptions(addr)
	o.PoolSize = max(o.PoolSize, conns)
	return redis.NewClient(o)
}

func (p *Pool) clientOptions(addr string) *redis.Options {
	var t *tls.Config
	if p.tls != nil {
		t = p.tls.Clone()
		if t.ServerName == "" {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				t.ServerName = host
			}
		}
	}
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	if t != nil {
		dial = p.dialTLS(t)
	}
	var onConnect func(ctx context.Context, cn *redis.Conn) error
	if p.opts.Password != "" && p.opts.Username == "" {
		// go-redis authenticates with HELLO ... AUTH default <password>,
		// which a node without a password accepts whatever the password:
		// the one-argument AUTH redis-cli sends refuses it, so a wrong -a
		// is an error here too rather than silently ignored.
		onConnect = func(ctx context.Context, cn *redis.Conn) error {
			return cn.Auth(ctx, p.opts.Password).Err()
		}
	}
	return &redis.Options{
		Addr:            addr,
		OnConnect:       onConnect,
		Username:        p.opts.Username,
		Password:        p.opts.Password,
		Dialer:          dial,
		DialTimeout:     p.opts.DialTimeout,
		ReadTimeout:     p.opts.CommandTimeout,
		WriteTimeout:    p.opts.CommandTimeout,
		PoolSize:        p.opts.PoolSize,
		MaxRetries:      -1, // admin commands are not blindly retried
		DialerRetries:   1,  // a refused or unresolvable node fails at once
		Protocol:        2,
		DisableIdentity: true,
	}
}

// dialTLS connects, then runs the TLS handshake within the dial timeout,
// so that a failed handshake is told apart from an unreachable node: a
// plain node never answers a ClientHello, which otherwise shows as a
// bare timeout.
func (p *Pool) dialTLS(cfg *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{Timeout: p.opts.DialTimeout}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		hctx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
		defer cancel()
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(hctx); err != nil {
			raw.Close()
			return nil, &HandshakeError{Err: err}
		}
		return tc, nil
	}
}

// HandshakeError is a TLS handshake that failed after the TCP connection
// was made.
type HandshakeError struct{ Err error }

func (e *HandshakeError) Error() string { return "TLS handshake: " + e.Err.Error() }
func (e *HandshakeError) Unwrap() error { return e.Err }

// Close closes every client.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for a, c := range p.clients {
		c.Close()
		delete(p.clients, a)
	}
}

// Ping checks that addr answers, returning an error that names the node
// and explains the cause in operator terms.
func (p *Pool) Ping(ctx context.Context, addr string) error {
	return NodeError(addr, "PING", p.Get(addr).Ping(ctx).Err())
}

// NodeError wraps err with the node and command, and rewrites low-level
// causes into what an operator can act on. Nil stays nil.
func NodeError(addr, cmd string, err error) error {
	if err == nil {
		return nil
	}
	var ne *Error
	if errors.As(err, &ne) {
		return err
	}
	return &Error{Addr: addr, Cmd: cmd, Err: err, Hint: hint(err)}
}

// Error is a failure on one node.
type Error struct {
	Addr string
	Cmd  string
	Err  error
	Hint string
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Err.Error())
	if e.Hint != "" {
		msg = e.Hint
	}
	if e.Cmd == "" || e.Cmd == "PING" || e.connectionLevel() {
		return fmt.Sprintf("node %s: %s", e.Addr, msg)
	}
	return fmt.Sprintf("node %s: %s: %s", e.Addr, e.Cmd, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// connectionLevel reports failures to reach the node at all, where naming
// the command would only distract.
func (e *Error) connectionLevel() bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	return errors.Is(e.Err, syscall.ECONNREFUSED) || errors.As(e.Err, &dnsErr) || errors.As(e.Err, &opErr) || isTimeout(e.Err)
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

func hint(err error) string {
	var dnsErr *net.DNSError
	var hsErr *HandshakeError
	msg := err.Error()
	switch {
	case errors.As(err, &hsErr) && (isTimeout(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		return "no answer to the TLS handshake: is TLS enabled on that port? (" + msg + ")"
	case errors.As(err, &hsErr):
		return "TLS handshake failed: " + hsErr.Err.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (nothing listening on that port?)"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve host %q", dnsErr.Name)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "timed out (host unreachable or node busy?)"
	case strings.HasPrefix(msg, "WRONGPASS"), strings.Contains(msg, "invalid password"), strings.Contains(msg, "invalid username-password"):
		return "authentication failed: wrong password or user (" + msg + ")"
	case strings.HasPrefix(msg, "NOAUTH"):
		return "authentication required: pass -a/--pass or set REDISCLI_AUTH"
	case strings.Contains(msg, "without any password configured"):
		return "authentication failed: the node's default user has no password (name an ACL user with --user, or drop -a)"
	case strings.HasPrefix(msg, "redis: can't parse"), strings.Contains(msg, "invalid reply"):
		return "reply is not valid RESP (is this a Redis node?): " + msg
	case strings.Contains(msg, "tls: "), strings.Contains(msg, "x509:"):
		return "TLS handshake failed: " + msg
	case errors.Is(err, syscall.ECONNRESET), msg == "EOF", strings.HasSuffix(msg, ": EOF"):
		return "connection closed by the node (stopped or restarted? TLS required? not a Redis node?)"
	}
	return ""
}
