// Command gocluster administers Redis Cluster and Valkey deployments.
package main

import (
	"os"

	"github.com/gocluster/gocluster/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
