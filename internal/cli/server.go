package cli

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/gocluster/gocluster/pkg/engine"
	"github.com/gocluster/gocluster/pkg/engine/config"
	"github.com/spf13/cobra"
)

// newServerCmd is `gocluster server`: the embedded Redis-Cluster-compatible
// node, configured like redis-server (a config file and/or --name value).
func newServerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "server [config-file] [--name value ...]",
		Short: "Run an embedded Redis-Cluster-compatible node (like redis-server)",
		Long: `server runs gocluster's own cluster node engine. It takes redis-server options, from a
redis.conf-style file and/or as --name value arguments (the arguments win):
port, bind, dir, requirepass, masterauth, cluster-enabled, cluster-config-file,
cluster-node-timeout, cluster-require-full-coverage, cluster-announce-ip,
cluster-announce-port, cluster-announce-bus-port, loglevel, logfile, save,
dbfilename, appendonly, appendfsync, appenddirname and the other persistence
options. Data persists in redis-server's own formats: an RDB snapshot in
dir/dbfilename (SAVE, BGSAVE, save points such as "save 60 1000", at shutdown
when save points are set) and, with appendonly yes, an append-only file in
dir/appenddirname (manifest, base and incremental files; BGREWRITEAOF and the
automatic rewrite). What was persisted loads at start. nodes.conf keeps the
cluster identity, slots and peers. It runs until SIGINT, SIGTERM or SHUTDOWN.`,
		Example: `  gocluster server --port 7000 --cluster-enabled yes --cluster-config-file nodes-7000.conf
  gocluster server /etc/redis/7000.conf --bind 127.0.0.1 --requirepass secret
  gocluster server --port 6380          # a plain, non-cluster node
  gocluster server --port 6380 --dir /var/lib/gocluster --save "60 1"   # snapshots to disk
  gocluster server --port 6380 --dir /var/lib/gocluster --appendonly yes --appendfsync always`,
		Args:               cobra.ArbitraryArgs,
		DisableFlagParsing: true, // options pass through to the redis.conf parser
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if a == "-h" || a == "--help" {
					return cmd.Help()
				}
			}
			file := ""
			if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
				file, args = args[0], args[1:]
			}
			cfg, err := config.Load(file, args)
			if err != nil {
				return usageErr(err)
			}
			oneCoreUnlessTold()
			if err := engine.Run(cmd.Context(), cfg); err != nil {
				return fmt.Errorf("server: %w", err)
			}
			return nil
		},
	}
}

// oneCoreUnlessTold runs a server process's goroutines on one core, as
// redis-server runs its commands on one thread: measured with redis-benchmark
// on the same 2-core host, one core gave 0.87x redis-server at -P 1 and
// 1.0-1.35x at -P 16, against 0.74x and 0.66-0.8x with two (the scheduler
// moved connections between threads that the client also needed). The
// GOMAXPROCS environment variable still decides when it is set.
func oneCoreUnlessTold() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
