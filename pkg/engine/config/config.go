// Package config parses redis-server style configuration: a redis.conf file
// and/or "--name value" arguments, with the same option names and value
// syntax (yes/no booleans, plain integers, quoted strings).
package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/gocluster/pkg/engine/persist"
)

type kind int

const (
	kindString kind = iota
	kindInt
	kindBool
	kindEnum
	kindList   // any number of words, kept joined by spaces (bind, save)
	kindMemory // 100mb style sizes, stored as bytes
)

// option is one known directive.
type option struct {
	name      string
	kind      kind
	def       string
	min, max  int64
	enum      []string
	immutable bool // cannot change with CONFIG SET
	hidden    bool // left out of CONFIG GET patterns, shown only when named exactly
	validate  func(string) error
	canon     func(string) (string, error) // validates and returns the form to keep
	display   func(string) string          // what CONFIG GET shows, when not the kept form
	merge     func(old, v string) string   // a new value that updates part of the old one
}

// store keeps v as o's value (c.mu held).
func (c *Config) store(o *option, v string) {
	if o.merge != nil {
		v = o.merge(c.values[o.name], v)
	}
	c.values[o.name] = v
}

var options = []option{
	{name: "port", kind: kindInt, def: "6379", min: 0, max: 65535},
	{name: "bind", kind: kindList, def: "* -::*"},
	{name: "dir", kind: kindString, def: ".", immutable: true},
	{name: "requirepass", kind: kindString, def: ""},
	{name: "masterauth", kind: kindString, def: ""},
	{name: "masteruser", kind: kindString, def: ""},
	{name: "cluster-enabled", kind: kindBool, def: "no", immutable: true},
	{name: "cluster-config-file", kind: kindString, def: "nodes.conf", immutable: true},
	{name: "cluster-node-timeout", kind: kindInt, def: "15000", min: 1, max: 1 << 40},
	{name: "cluster-require-full-coverage", kind: kindBool, def: "yes"},
	{name: "cluster-announce-ip", kind: kindString, def: ""},
	{name: "cluster-announce-port", kind: kindInt, def: "0", min: 0, max: 65535},
	{name: "cluster-announce-bus-port", kind: kindInt, def: "0", min: 0, max: 65535},
	{name: "cluster-port", kind: kindInt, def: "0", min: 0, max: 65535, immutable: true},
	{name: "cluster-allow-reads-when-down", kind: kindBool, def: "no"},
	{name: "cluster-replica-validity-factor", kind: kindInt, def: "10", min: 0, max: 1 << 31},
	{name: "cluster-migration-barrier", kind: kindInt, def: "1", min: 0, max: 1 << 31},
	{name: "cluster-allow-replica-migration", kind: kindBool, def: "yes"},
	{name: "cluster-replica-no-failover", kind: kindBool, def: "no"},
	{name: "loglevel", kind: kindEnum, def: "notice", enum: []string{"debug", "verbose", "notice", "warning", "nothing"}},
	{name: "logfile", kind: kindString, def: "", immutable: true},
	{name: "daemonize", kind: kindBool, def: "no", immutable: true, validate: func(v string) error {
		if v == "yes" {
			return fmt.Errorf("daemonize yes is not supported: run gocluster server under a supervisor or with &")
		}
		return nil
	}},
	{name: "protected-mode", kind: kindBool, def: "yes"},
	{name: "pidfile", kind: kindString, def: "", immutable: true},
	{name: "timeout", kind: kindInt, def: "0", min: 0, max: 1 << 31},
	{name: "tcp-keepalive", kind: kindInt, def: "300", min: 0, max: 1 << 31},
	{name: "tcp-backlog", kind: kindInt, def: "511", min: 0, max: 1 << 31, immutable: true},
	{name: "databases", kind: kindInt, def: "1", min: 1, max: 1 << 31, immutable: true},
	{name: "hz", kind: kindInt, def: "10", min: 1, max: 500},
	{name: "io-threads", kind: kindInt, def: "1", min: 1, max: 128, immutable: true},
	{name: "maxclients", kind: kindInt, def: "10000", min: 1, max: 1 << 31},
	{name: "maxmemory", kind: kindMemory, def: "0"},
	{name: "maxmemory-policy", kind: kindEnum, def: "noeviction", enum: []string{"volatile-lru", "volatile-lfu",
		"volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"}},
	{name: "maxmemory-samples", kind: kindInt, def: "5", min: 1, max: 64},
	{name: "maxmemory-eviction-tenacity", kind: kindInt, def: "10", min: 0, max: 100},
	{name: "lfu-log-factor", kind: kindInt, def: "10", min: 0, max: math.MaxInt32},
	{name: "lfu-decay-time", kind: kindInt, def: "1", min: 0, max: math.MaxInt32},
	{name: "replica-ignore-maxmemory", kind: kindBool, def: "yes"},
	{name: "lazyfree-lazy-eviction", kind: kindBool, def: "no"},
	{name: "min-replicas-to-write", kind: kindInt, def: "0", min: 0, max: math.MaxInt32},
	{name: "min-replicas-max-lag", kind: kindInt, def: "10", min: 0, max: math.MaxInt32},
	{name: "proto-max-bulk-len", kind: kindMemory, def: "536870912"},
	{name: "hll-sparse-max-bytes", kind: kindMemory, def: "3000"},
	{name: "notify-keyspace-events", kind: kindString, def: "", canon: canonicalKeyspaceEvents, display: displayKeyspaceEvents},
	// persistence: RDB snapshots (save points, SAVE, BGSAVE) in dir/dbfilename
	{name: "save", kind: kindList, def: "", validate: func(v string) error {
		_, err := persist.ParseSavePoints(v)
		return err
	}},
	// and the append-only file (appendonly yes) in dir/appenddirname
	{name: "appendonly", kind: kindBool, def: "no"},
	{name: "appendfilename", kind: kindString, def: "appendonly.aof", immutable: true, validate: plainFileName},
	{name: "appenddirname", kind: kindString, def: "appendonlydir", immutable: true, validate: plainFileName},
	{name: "appendfsync", kind: kindEnum, def: "everysec", enum: []string{"always", "everysec", "no"}},
	{name: "aof-load-truncated", kind: kindBool, def: "yes"},
	{name: "aof-use-rdb-preamble", kind: kindBool, def: "yes"},
	{name: "aof-timestamp-enabled", kind: kindBool, def: "no"},
	{name: "aof-rewrite-incremental-fsync", kind: kindBool, def: "yes"},
	{name: "no-appendfsync-on-rewrite", kind: kindBool, def: "no"},
	{name: "auto-aof-rewrite-percentage", kind: kindInt, def: "100", min: 0, max: 1 << 31},
	{name: "auto-aof-rewrite-min-size", kind: kindMemory, def: "67108864"},
	{name: "dbfilename", kind: kindString, def: "dump.rdb"},
	{name: "always-show-logo", kind: kindBool, def: "no", immutable: true},
	{name: "enable-debug-command", kind: kindEnum, def: "no", enum: []string{"yes", "no", "local"}, immutable: true},
	{name: "repl-diskless-sync", kind: kindBool, def: "yes"},
	{name: "repl-backlog-size", kind: kindMemory, def: "1048576"},
	{name: "repl-ping-replica-period", kind: kindInt, def: "10", min: 1, max: 1 << 31},
	{name: "repl-timeout", kind: kindInt, def: "60", min: 1, max: 1 << 31},
	{name: "replica-priority", kind: kindInt, def: "100", min: 0, max: 1 << 31},
	{name: "replica-read-only", kind: kindBool, def: "yes"},
	{name: "replica-serve-stale-data", kind: kindBool, def: "yes"},
	{name: "slowlog-log-slower-than", kind: kindInt, def: "10000", min: -1, max: 1 << 40},
	{name: "slowlog-max-len", kind: kindInt, def: "128", min: 0, max: 1 << 31},
	{name: "lazyfree-lazy-user-del", kind: kindBool, def: "no"},
	{name: "tracking-table-max-keys", kind: kindInt, def: "1000000", min: 0, max: math.MaxInt64},
	{name: "busy-reply-threshold", kind: kindInt, def: "5000", min: 0, max: 1 << 40},
	// Compact-encoding thresholds: they decide what OBJECT ENCODING reports.
	{name: "hash-max-listpack-entries", kind: kindInt, def: "512", min: 0, max: 1 << 40},
	{name: "hash-max-listpack-value", kind: kindMemory, def: "64"},
	{name: "set-max-intset-entries", kind: kindInt, def: "512", min: 0, max: 1 << 40},
	{name: "zset-max-listpack-entries", kind: kindInt, def: "128", min: 0, max: 1 << 40},
	{name: "zset-max-listpack-value", kind: kindMemory, def: "64"},
	// Quicklist node layout: accepted with Redis' ranges, but the engine's
	// lists are not made of listpack nodes, so nothing a client sees changes
	// (docs/engine.md).
	{name: "list-max-listpack-size", kind: kindInt, def: "-2", min: math.MinInt32, max: math.MaxInt32},
	{name: "stream-node-max-bytes", kind: kindMemory, def: "4096"},
	{name: "stream-node-max-entries", kind: kindInt, def: "100", min: 0, max: math.MaxInt64},
	{name: "list-compress-depth", kind: kindInt, def: "0", min: 0, max: math.MaxInt32},
	// The engine's own test knob: which atomic slot migration commands it
	// serves (Valkey 9.0's, Redis 8.4's or both), hidden from CONFIG GET
	// patterns as Redis hides its debugging knobs.
	{name: "engine-atomic-surface", kind: kindEnum, def: "both", enum: []string{"both", "valkey", "redis84"}, hidden: true},
}

// aliases map old or alternative names to the canonical one, as Redis does.
var aliases = map[string]string{"cluster-slave-validity-factor": "cluster-replica-validity-factor",
	"slave-read-only": "replica-read-only", "slave-priority": "replica-priority", "repl-ping-slave-period": "repl-ping-replica-period", "cluster-slave-no-failover": "cluster-replica-no-failover", "lua-time-limit": "busy-reply-threshold",
	"hash-max-ziplist-entries": "hash-max-listpack-entries", "hash-max-ziplist-value": "hash-max-listpack-value",
	"zset-max-ziplist-entries": "zset-max-listpack-entries", "zset-max-ziplist-value": "zset-max-listpack-value",
	"list-max-ziplist-size": "list-max-listpack-size",
	"min-slaves-to-write":   "min-replicas-to-write", "min-slaves-max-lag": "min-replicas-max-lag",
	"slave-ignore-maxmemory": "replica-ignore-maxmemory", "slave-serve-stale-data": "replica-serve-stale-data"}

// Canonical is an option's own name for name, which may be an alias
// (min-slaves-to-write is min-replicas-to-write).
func Canonical(name string) string {
	name = strings.ToLower(name)
	if a, ok := aliases[name]; ok {
		return a
	}
	return name
}

func lookup(name string) *option {
	name = strings.ToLower(name)
	if a, ok := aliases[name]; ok {
		name = a
	}
	for i := range options {
		if options[i].name == name {
			return &options[i]
		}
	}
	return nil
}

// Config is a parsed configuration. It is safe for concurrent use (CONFIG
// SET from one client while another reads).
type Config struct {
	mu     sync.RWMutex
	values map[string]string
	// File is the config file it was loaded from ("" if none), for CONFIG REWRITE.
	File string
	// users are the "user <name> <rules...>" directives, in order: ACL
	// users to create at startup (not a CONFIG GET parameter, as in Redis).
	users [][]string
	// UserLines, when set, gives CONFIG REWRITE the "user <name> <rules>"
	// lines standing for the ACL users now (none when an aclfile keeps them).
	UserLines func() []string
}

// Users returns the "user" directives' words (name first).
func (c *Config) Users() [][]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([][]string(nil), c.users...)
}

// Default returns the configuration redis-server uses with no options.
func Default() *Config {
	c := &Config{values: map[string]string{}}
	for _, o := range options {
		c.values[o.name] = o.def
	}
	c.values["dir"] = absDir(c.values["dir"])
	return c
}

// absDir is dir as an absolute path: redis-server changes into its dir
// and reports the working directory, so CONFIG GET dir is absolute.
func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// Load reads an optional config file, then applies "--name value ..." args
// on top, as `redis-server [file] [--name value ...]` does.
func Load(file string, args []string) (*Config, error) {
	c := Default()
	if file != "" {
		text, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read config file: %w", err)
		}
		if err := c.parse(string(text), "config file "+file); err != nil {
			return nil, err
		}
		if abs, err := filepath.Abs(file); err == nil {
			c.File = abs
		}
	}
	if err := c.ParseArgs(args); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseArgs applies "--name value [value...]" arguments.
func (c *Config) ParseArgs(args []string) error {
	for i := 0; i < len(args); {
		name, ok := strings.CutPrefix(args[i], "--")
		if !ok || name == "" {
			return fmt.Errorf("argument %q: expected an option name starting with --", args[i])
		}
		j := i + 1
		for j < len(args) && !(strings.HasPrefix(args[j], "--") && len(args[j]) > 2) {
			j++
		}
		if err := c.Set(name, args[i+1:j]); err != nil {
			return fmt.Errorf("option --%s: %v", name, err)
		}
		i = j
	}
	return nil
}

func (c *Config) parse(text, source string) error {
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		words, err := SplitArgs(line)
		if err != nil {
			return fmt.Errorf("%s line %d: '%s': %v", source, n+1, line, err)
		}
		if len(words) == 0 {
			continue
		}
		if err := c.Set(words[0], words[1:]); err != nil {
			return fmt.Errorf("%s line %d: '%s': %v", source, n+1, line, err)
		}
	}
	return nil
}

// Set validates and stores one option from its words.
func (c *Config) Set(name string, words []string) error {
	if strings.EqualFold(name, "user") {
		if len(words) == 0 {
			return fmt.Errorf("Bad directive or wrong number of arguments")
		}
		c.mu.Lock()
		c.users = append(c.users, append([]string(nil), words...))
		c.mu.Unlock()
		return nil
	}
	o := lookup(name)
	if o == nil {
		return fmt.Errorf("Bad directive or wrong number of arguments")
	}
	v, err := o.normalize(words)
	if err != nil {
		return err
	}
	if o.name == "dir" {
		v = absDir(v)
	}
	c.mu.Lock()
	c.store(o, v)
	c.mu.Unlock()
	return nil
}

// SetRuntime is CONFIG SET: like Set but refuses immutable options.
func (c *Config) SetRuntime(name, value string) error {
	o := lookup(name)
	if o == nil {
		return fmt.Errorf("Unknown option or number of arguments for CONFIG SET - '%s'", name)
	}
	if o.immutable {
		return fmt.Errorf("CONFIG SET failed (possibly related to argument '%s') - can't set immutable config", o.name)
	}
	words := []string{value}
	if o.kind == kindList {
		words = strings.Fields(value)
	}
	v, err := o.normalize(words)
	if err != nil {
		return fmt.Errorf("CONFIG SET failed (possibly related to argument '%s') - %v", o.name, err)
	}
	c.mu.Lock()
	c.store(o, v)
	c.mu.Unlock()
	return nil
}

func (o *option) normalize(words []string) (string, error) {
	if o.kind == kindList {
		v := strings.Join(words, " ")
		if o.name == "bind" && len(words) == 0 {
			return "", fmt.Errorf("Bad directive or wrong number of arguments")
		}
		if o.validate != nil {
			if err := o.validate(v); err != nil {
				return "", err
			}
		}
		if o.canon != nil {
			return o.canon(v)
		}
		return v, nil
	}
	if len(words) != 1 {
		return "", fmt.Errorf("Bad directive or wrong number of arguments")
	}
	v := words[0]
	switch o.kind {
	case kindInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", fmt.Errorf("argument couldn't be parsed into an integer")
		}
		if n < o.min || n > o.max {
			return "", fmt.Errorf("argument must be between %d and %d inclusive", o.min, o.max)
		}
		v = strconv.FormatInt(n, 10)
	case kindBool:
		switch strings.ToLower(v) {
		case "yes":
			v = "yes"
		case "no":
			v = "no"
		default:
			return "", fmt.Errorf("argument must be 'yes' or 'no'")
		}
	case kindEnum:
		if !slices.Contains(o.enum, strings.ToLower(v)) {
			return "", fmt.Errorf("argument(s) must be one of the following: %s", strings.Join(o.enum, ", "))
		}
		v = strings.ToLower(v)
	case kindMemory:
		n, err := ParseMemory(v)
		if err != nil {
			return "", err
		}
		v = strconv.FormatInt(n, 10)
	}
	if o.validate != nil {
		if err := o.validate(v); err != nil {
			return "", err
		}
	}
	if o.canon != nil {
		return o.canon(v)
	}
	return v, nil
}

// ParseMemory parses sizes like 100, 1k, 5mb, 2gb (k=1000, kb=1024, as Redis).
func ParseMemory(s string) (int64, error) {
	l := strings.ToLower(s)
	mul := int64(1)
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"kb", 1024}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000}, {"b", 1}} {
		if strings.HasSuffix(l, u.suffix) {
			l, mul = strings.TrimSuffix(l, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(l, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("argument must be a memory value")
	}
	return n * mul, nil
}

// Get returns an option's value ("" for unknown names).
func (c *Config) Get(name string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if a, ok := aliases[strings.ToLower(name)]; ok {
		name = a
	}
	return c.values[strings.ToLower(name)]
}

// Int returns an integer option.
func (c *Config) Int(name string) int {
	n, _ := strconv.Atoi(c.Get(name))
	return n
}

// Bool returns a yes/no option.
func (c *Config) Bool(name string) bool { return c.Get(name) == "yes" }

// Port, Bind and friends are typed accessors for what the engine uses.
func (c *Config) Port() int                 { return c.Int("port") }
func (c *Config) Bind() []string            { return strings.Fields(c.Get("bind")) }
func (c *Config) Dir() string               { return c.Get("dir") }
func (c *Config) ClusterEnabled() bool      { return c.Bool("cluster-enabled") }
func (c *Config) RequirePass() string       { return c.Get("requirepass") }
func (c *Config) MasterAuth() string        { return c.Get("masterauth") }
func (c *Config) ClusterConfigFile() string { return c.Get("cluster-config-file") }
func (c *Config) NodeTimeout() time.Duration {
	return time.Duration(c.Int("cluster-node-timeout")) * time.Millisecond
}

// Matching returns name/value pairs of options whose names match any of the
// glob patterns, sorted by name, for CONFIG GET. An old name (alias) that
// matches is listed under that name too, as Redis 7 does.
func (c *Config) Matching(patterns []string, match func(pattern, name string) bool) [][2]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	byName := map[string]option{}
	for _, o := range options {
		byName[o.name] = o
	}
	var out [][2]string
	add := func(name string, o option) {
		for _, p := range patterns {
			if o.hidden && !strings.EqualFold(p, name) {
				continue
			}
			if match(strings.ToLower(p), name) {
				v := c.values[o.name]
				if o.display != nil {
					v = o.display(v)
				}
				out = append(out, [2]string{name, v})
				return
			}
		}
	}
	for _, o := range options {
		add(o.name, o)
	}
	for alias, name := range aliases {
		add(alias, byName[name])
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Rewrite writes the current non-default options to the config file it was
// loaded from (CONFIG REWRITE), atomically via a temporary file.
func (c *Config) Rewrite() error {
	if c.File == "" {
		return fmt.Errorf("The server is running without a config file")
	}
	old, err := os.ReadFile(c.File)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var users []string
	if c.UserLines != nil { // before c.mu: the ACL reads the config under its own lock
		users = c.UserLines()
	}
	c.mu.RLock()
	text := c.rewriteText(string(old), users)
	c.mu.RUnlock()
	tmp := c.File + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, c.File)
}

// rewriteText does what Redis's CONFIG REWRITE does to a file: comments,
// blank lines and lines it does not manage stay as they are; a known option
// keeps its place and gets its current value (later repeats are dropped);
// options changed from their default that the file lacked are appended
// after a "# Generated by CONFIG REWRITE" line (mu held). users replace
// the file's "user" lines in order (extra old ones go, extra new ones
// are appended last), as Redis rewrites its ACL users.
func (c *Config) rewriteText(old string, users []string) string {
	var b strings.Builder
	written := map[string]bool{}
	for _, line := range strings.Split(strings.TrimRight(old, "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' {
			b.WriteString(line + "\n")
			continue
		}
		name := strings.ToLower(strings.Fields(trimmed)[0])
		if name == "user" && c.UserLines != nil {
			if len(users) > 0 {
				b.WriteString(users[0] + "\n")
				users = users[1:]
			}
			continue
		}
		if lookup(name) == nil {
			b.WriteString(line + "\n")
			continue
		}
		if written[name] {
			continue
		}
		written[name] = true
		b.WriteString(name + " " + Quote(c.values[name]) + "\n")
	}
	marker := false
	for _, o := range options {
		v := c.values[o.name]
		if written[o.name] || (v == o.def && o.name != "port") {
			continue
		}
		if !marker && !strings.Contains(old, "# Generated by CONFIG REWRITE") {
			b.WriteString("# Generated by CONFIG REWRITE\n")
		}
		marker = true
		b.WriteString(o.name + " " + Quote(v) + "\n")
	}
	for _, u := range users {
		if !marker && !strings.Contains(old, "# Generated by CONFIG REWRITE") {
			b.WriteString("# Generated by CONFIG REWRITE\n")
		}
		marker = true
		b.WriteString(u + "\n")
	}
	return b.String()
}

// Quote renders a value so SplitArgs reads it back unchanged.
func Quote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\"'\\\r\n") {
		return v
	}
	return strconv.Quote(v)
}

// Known reports whether name is an option (or alias) this package accepts.
func Known(name string) bool { return lookup(name) != nil }

// plainFileName refuses paths where Redis wants a file name in dir.
func plainFileName(v string) error {
	if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\\") {
		return fmt.Errorf("%q must be a file name without a path", v)
	}
	return nil
}
