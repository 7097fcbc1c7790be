package cli

import (
	"os"
	"path/filepath"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/spf13/cobra"
)

func init() { register(newBackupCmd) }

func newBackupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "backup host:port directory",
		Short: "Save every master's RDB (through replication, like redis-cli --rdb) and the topology as nodes.json",
		Long: `backup fetches each master's data as an RDB file through the replication stream
(SYNC, as redis-cli --rdb does), so nothing is written on the nodes' disks by
the tool, and saves nodes.json describing the topology: node IDs, addresses,
roles, slots and open slots. Files are named redis-node-<host>-<port>-<id>.rdb
like redis-cli's. A file restored into a fresh redis-server (--dir and
--dbfilename pointing at it) holds that master's keys. The directory is
created when missing.`,
		Example: `  gocluster backup 127.0.0.1:7000 /var/backups/redis
  gocluster backup 127.0.0.1:7000 ./backup -a secret --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			seed, err := seedArg(args[0])
			if err != nil {
				return err
			}
			dir := args[1]
			if dir == "" {
				return usagef("the backup directory is an empty string")
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return usagef("backup directory: %v", err)
			}
			pool, err := g.pool()
			if err != nil {
				return usageErr(err)
			}
			defer pool.Close()
			p := g.printer()
			var rep admin.Reporter = admin.Discard
			if !g.json {
				rep = newEventRenderer(g, 0)
			}
			res, err := admin.Backup(cmd.Context(), pool, seed, dir, rep)
			if err != nil {
				if res != nil && g.json { // incomplete: say what was saved
					writeJSON(g.stdout, res)
				} else if !g.json {
					p.Err("[ERR] Failed to back cluster!") // redis-cli's words, which scripts grep
				}
				return err
			}
			if g.json {
				return writeJSON(g.stdout, res)
			}
			p.Info("Saving cluster configuration to: %s", filepath.Join(dir, "nodes.json"))
			if !(topology.Report{Problems: res.Problems}).OK() {
				for _, pr := range res.Problems {
					if pr.Fails() {
						p.Warn("[WARNING] %s", pr.Message)
					}
				}
				p.Warn("*** Cluster seems to have some problems, please be aware of it if you're going to restore this backup.")
			}
			p.OK("[OK] Backup created into: %s", dir)
			return nil
		},
	}
}
