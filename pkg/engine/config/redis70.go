package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The rest of redis-server 7.0's parameters. The engine has no switch for
// most of them (TLS files, CPU lists, defrag, syslog...): they are checked
// as Redis checks them (type, range, enum), kept and reported, so that
// configuration files and tools written for Redis work unchanged.
// docs/engine.md says which ones steer the engine.
var redis70Options = []option{
	{name: "acl-pubsub-default", kind: kindEnum, def: "resetchannels", enum: []string{"allchannels", "resetchannels"}},
	{name: "aclfile", kind: kindString, def: "", immutable: true},
	{name: "acllog-max-len", kind: kindInt, def: "128", min: 0, max: math.MaxInt64},
	{name: "active-defrag-cycle-max", kind: kindInt, def: "25", min: 1, max: 99},
	{name: "active-defrag-cycle-min", kind: kindInt, def: "1", min: 1, max: 99},
	{name: "active-defrag-ignore-bytes", kind: kindMemory, def: "104857600"},
	{name: "active-defrag-max-scan-fields", kind: kindInt, def: "1000", min: 1, max: math.MaxInt64},
	{name: "active-defrag-threshold-lower", kind: kindInt, def: "10", min: 0, max: 1000},
	{name: "active-defrag-threshold-upper", kind: kindInt, def: "100", min: 0, max: 1000},
	{name: "active-expire-effort", kind: kindInt, def: "1", min: 1, max: 10},
	{name: "activedefrag", kind: kindBool, def: "no"},
	{name: "activerehashing", kind: kindBool, def: "yes"},
	{name: "aof-disable-auto-gc", kind: kindBool, def: "no"},
	{name: "aof_rewrite_cpulist", kind: kindString, def: "", immutable: true},
	{name: "bgsave_cpulist", kind: kindString, def: "", immutable: true},
	{name: "bind-source-addr", kind: kindString, def: ""},
	{name: "bio_cpulist", kind: kindString, def: "", immutable: true},
	{name: "client-output-buffer-limit", kind: kindList, def: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		canon: canonicalOutputBufferLimits, merge: mergeOutputBufferLimits},
	{name: "client-query-buffer-limit", kind: kindMemory, def: "1073741824", validate: memoryAtLeast(1024 * 1024)},
	{name: "cluster-allow-pubsubshard-when-down", kind: kindBool, def: "yes"},
	{name: "cluster-announce-hostname", kind: kindString, def: ""},
	{name: "cluster-announce-tls-port", kind: kindInt, def: "0", min: 0, max: 65535},
	{name: "cluster-link-sendbuf-limit", kind: kindMemory, def: "0"},
	{name: "cluster-preferred-endpoint-type", kind: kindEnum, def: "ip", enum: []string{"ip", "hostname", "unknown-endpoint"}},
	{name: "crash-log-enabled", kind: kindBool, def: "yes"},
	{name: "crash-memcheck-enabled", kind: kindBool, def: "yes"},
	{name: "disable-thp", kind: kindBool, def: "yes", immutable: true},
	{name: "dynamic-hz", kind: kindBool, def: "yes"},
	{name: "enable-module-command", kind: kindEnum, def: "no", enum: []string{"yes", "no", "local"}, immutable: true},
	{name: "enable-protected-configs", kind: kindEnum, def: "no", enum: []string{"yes", "no", "local"}, immutable: true},
	{name: "ignore-warnings", kind: kindString, def: ""},
	{name: "io-threads-do-reads", kind: kindBool, def: "no", immutable: true},
	{name: "jemalloc-bg-thread", kind: kindBool, def: "yes"},
	{name: "latency-monitor-threshold", kind: kindInt, def: "0", min: 0, max: math.MaxInt64},
	// Redis's hidden test and debugging knobs: accepted and kept, no effect.
	{name: "use-exit-on-panic", kind: kindBool, def: "no", hidden: true},
	{name: "rdb-key-save-delay", kind: kindInt, def: "0", min: math.MinInt32, max: math.MaxInt32, hidden: true},
	{name: "key-load-delay", kind: kindInt, def: "0", min: math.MinInt32, max: math.MaxInt32, hidden: true},
	{name: "watchdog-period", kind: kindInt, def: "0", min: 0, max: math.MaxInt32, hidden: true},
	{name: "loading-process-events-interval-bytes", kind: kindInt, def: "2097152", min: 1024, max: math.MaxInt32, hidden: true},
	{name: "latency-tracking", kind: kindBool, def: "yes"},
	{name: "latency-tracking-info-percentiles", kind: kindList, def: "50 99 99.9", canon: canonicalPercentiles},
	{name: "lazyfree-lazy-expire", kind: kindBool, def: "no"},
	{name: "lazyfree-lazy-server-del", kind: kindBool, def: "no"},
	{name: "lazyfree-lazy-user-flush", kind: kindBool, def: "no"},
	{name: "maxmemory-clients", kind: kindString, def: "0", canon: canonicalMemoryOrPercent},
	{name: "oom-score-adj", kind: kindEnum, def: "no", enum: []string{"no", "yes", "relative", "absolute"},
		canon: func(v string) (string, error) { // relative is yes's other name
			if v == "relative" {
				v = "yes"
			}
			return v, nil
		}},
	{name: "oom-score-adj-values", kind: kindList, def: "0 200 800", canon: canonicalOOMScores},
	{name: "proc-title-template", kind: kindString, def: "{title} {listen-addr} {server-mode}"},
	{name: "propagation-error-behavior", kind: kindEnum, def: "ignore", enum: []string{"ignore", "panic", "panic-on-replicas"}},
	{name: "rdb-del-sync-files", kind: kindBool, def: "no"},
	{name: "rdb-save-incremental-fsync", kind: kindBool, def: "yes"},
	{name: "rdbchecksum", kind: kindBool, def: "yes", immutable: true},
	{name: "rdbcompression", kind: kindBool, def: "yes"},
	{name: "repl-backlog-ttl", kind: kindInt, def: "3600", min: 0, max: math.MaxInt64},
	{name: "repl-disable-tcp-nodelay", kind: kindBool, def: "no"},
	{name: "repl-diskless-load", kind: kindEnum, def: "disabled", enum: []string{"disabled", "on-empty-db", "swapdb"}},
	{name: "repl-diskless-sync-delay", kind: kindInt, def: "5", min: 0, max: math.MaxInt32},
	{name: "repl-diskless-sync-max-replicas", kind: kindInt, def: "0", min: 0, max: math.MaxInt32},
	{name: "replica-announce-ip", kind: kindString, def: ""},
	{name: "replica-announce-port", kind: kindInt, def: "0", min: 0, max: 65535},
	{name: "replica-announced", kind: kindBool, def: "yes"},
	{name: "replica-ignore-disk-write-errors", kind: kindBool, def: "no"},
	{name: "replica-lazy-flush", kind: kindBool, def: "no"},
	{name: "replicaof", kind: kindList, def: "", immutable: true},
	{name: "sanitize-dump-payload", kind: kindEnum, def: "no", enum: []string{"no", "yes", "clients"}},
	{name: "server_cpulist", kind: kindString, def: "", immutable: true},
	{name: "set-proc-title", kind: kindBool, def: "yes", immutable: true},
	{name: "shutdown-on-sigint", kind: kindList, def: "default", canon: canonicalShutdownFlags},
	{name: "shutdown-on-sigterm", kind: kindList, def: "default", canon: canonicalShutdownFlags},
	{name: "shutdown-timeout", kind: kindInt, def: "10", min: 0, max: math.MaxInt32},
	{name: "socket-mark-id", kind: kindInt, def: "0", min: 0, max: math.MaxUint32, immutable: true},
	{name: "stop-writes-on-bgsave-error", kind: kindBool, def: "yes"},
	{name: "supervised", kind: kindEnum, def: "no", enum: []string{"upstart", "systemd", "auto", "no"}, immutable: true},
	{name: "syslog-enabled", kind: kindBool, def: "no", immutable: true},
	{name: "syslog-facility", kind: kindEnum, def: "local0", enum: []string{"user", "local0", "local1", "local2", "local3",
		"local4", "local5", "local6", "local7"}, immutable: true},
	{name: "syslog-ident", kind: kindString, def: "redis", immutable: true},
	{name: "tls-auth-clients", kind: kindEnum, def: "yes", enum: []string{"no", "yes", "optional"}},
	{name: "tls-ca-cert-dir", kind: kindString, def: ""},
	{name: "tls-ca-cert-file", kind: kindString, def: ""},
	{name: "tls-cert-file", kind: kindString, def: ""},
	{name: "tls-ciphers", kind: kindString, def: ""},
	{name: "tls-ciphersuites", kind: kindString, def: ""},
	{name: "tls-client-cert-file", kind: kindString, def: ""},
	{name: "tls-client-key-file", kind: kindString, def: ""},
	{name: "tls-client-key-file-pass", kind: kindString, def: ""},
	{name: "tls-cluster", kind: kindBool, def: "no"},
	{name: "tls-dh-params-file", kind: kindString, def: ""},
	{name: "tls-key-file", kind: kindString, def: ""},
	{name: "tls-key-file-pass", kind: kindString, def: ""},
	{name: "tls-port", kind: kindInt, def: "0", min: 0, max: 65535},
	{name: "tls-prefer-server-ciphers", kind: kindBool, def: "no"},
	{name: "tls-protocols", kind: kindString, def: ""},
	{name: "tls-replication", kind: kindBool, def: "no"},
	{name: "tls-session-cache-size", kind: kindInt, def: "20480", min: 0, max: math.MaxInt32},
	{name: "tls-session-cache-timeout", kind: kindInt, def: "300", min: 0, max: math.MaxInt32},
	{name: "tls-session-caching", kind: kindBool, def: "yes"},
	{name: "unixsocket", kind: kindString, def: "", immutable: true},
	{name: "unixsocketperm", kind: kindString, def: "0", immutable: true, canon: canonicalOctalPerm},
}

func init() {
	options = append(options, redis70Options...)
	aliases["slave-announce-ip"] = "replica-announce-ip"
	aliases["slave-announce-port"] = "replica-announce-port"
	aliases["slave-lazy-flush"] = "replica-lazy-flush"
	aliases["slaveof"] = "replicaof"
}

func memoryAtLeast(least int64) func(string) error {
	return func(v string) error {
		if n, _ := strconv.ParseInt(v, 10, 64); n < least {
			return fmt.Errorf("argument must be between %d and %d inclusive", least, int64(math.MaxInt64))
		}
		return nil
	}
}

// canonicalOutputBufferLimits checks "<class> <hard> <soft> <seconds>"
// groups (class normal, replica/slave or pubsub) and keeps them with
// Redis's class names; mergeOutputBufferLimits lays them over the old value.
func canonicalOutputBufferLimits(v string) (string, error) {
	words := strings.Fields(v)
	if len(words)%4 != 0 {
		return "", fmt.Errorf("Wrong number of arguments in buffer limit configuration.")
	}
	for i := 0; i < len(words); i += 4 {
		class := strings.ToLower(words[i])
		switch class {
		case "replica":
			class = "slave"
		case "normal", "slave", "pubsub":
		default:
			return "", fmt.Errorf("Invalid client class specified in buffer limit configuration.")
		}
		words[i] = class
		for j := 1; j <= 3; j++ {
			n, err := ParseMemory(words[i+j])
			if j == 3 {
				n, err = strconv.ParseInt(words[i+j], 10, 64)
			}
			if err != nil || n < 0 {
				return "", fmt.Errorf("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
			}
			words[i+j] = strconv.FormatInt(n, 10)
		}
	}
	return strings.Join(words, " "), nil
}

func mergeOutputBufferLimits(old, v string) string {
	limits := map[string][]string{}
	for _, s := range []string{old, v} {
		w := strings.Fields(s)
		for i := 0; i+3 < len(w); i += 4 {
			limits[w[i]] = w[i+1 : i+4]
		}
	}
	var out []string
	for _, class := range []string{"normal", "slave", "pubsub"} {
		out = append(out, class)
		out = append(out, limits[class]...)
	}
	return strings.Join(out, " ")
}

// canonicalPercentiles: latency-tracking-info-percentiles, numbers from 0
// to 100, shown as Redis prints them (%f trimmed).
func canonicalPercentiles(v string) (string, error) {
	var out []string
	for _, w := range strings.Fields(v) {
		f, err := strconv.ParseFloat(w, 64)
		if err != nil || math.IsNaN(f) {
			return "", fmt.Errorf("Invalid latency-tracking-info-percentiles parameters")
		}
		if f < 0 || f > 100 {
			return "", fmt.Errorf("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
		}
		out = append(out, strconv.FormatFloat(f, 'f', -1, 64))
	}
	return strings.Join(out, " "), nil
}

// canonicalMemoryOrPercent: maxmemory-clients, bytes or a percentage of
// maxmemory ("10%").
func canonicalMemoryOrPercent(v string) (string, error) {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 {
			return "", fmt.Errorf("argument must be a memory or percent value")
		}
		if n > 100 {
			return "", fmt.Errorf("percentage argument must be less or equal to 100")
		}
		return strconv.FormatInt(n, 10) + "%", nil
	}
	n, err := ParseMemory(v)
	if err != nil || n < 0 {
		return "", fmt.Errorf("argument must be a memory or percent value")
	}
	return strconv.FormatInt(n, 10), nil
}

func canonicalOOMScores(v string) (string, error) {
	words := strings.Fields(v)
	if len(words) != 3 {
		return "", fmt.Errorf("wrong number of arguments")
	}
	for i, w := range words {
		n, err := strconv.Atoi(w)
		if err != nil || n < -2000 || n > 2000 {
			return "", fmt.Errorf("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
		}
		words[i] = strconv.Itoa(n)
	}
	return strings.Join(words, " "), nil
}

// canonicalShutdownFlags: shutdown-on-sigint/sigterm, "default" or any of
// save, nosave, now, force (save and nosave exclusive).
func canonicalShutdownFlags(v string) (string, error) {
	words := strings.Fields(strings.ToLower(v))
	has := map[string]bool{}
	for _, w := range words {
		switch w {
		case "default", "save", "nosave", "now", "force":
			has[w] = true
		default:
			return "", fmt.Errorf("argument(s) must be one of the following: default, save, nosave, now, force")
		}
	}
	if has["save"] && has["nosave"] {
		return "", fmt.Errorf("shutdown options SAVE and NOSAVE can't be used simultaneously")
	}
	var out []string
	for _, f := range []string{"save", "nosave", "now", "force"} {
		if has[f] {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return "default", nil
	}
	return strings.Join(out, " "), nil
}

func canonicalOctalPerm(v string) (string, error) {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o777 {
		return "", fmt.Errorf("argument must be between 0 and 511 inclusive")
	}
	return strconv.FormatUint(n, 8), nil
}
