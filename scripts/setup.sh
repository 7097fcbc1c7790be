#!/usr/bin/env bash
# Installs what gocluster's tests and `make run` need: Go modules, and the
# real redis-server / redis-cli (Debian's redis-server and redis-tools) plus
# python3-redis for the client-compatibility tests. Installs through apt only
# when something is missing and we are root; otherwise says exactly what to do.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
/usr/bin/python3 -c 'import redis' >/dev/null 2>&1 || need+=(python3-redis)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # Debian may start a system redis on 6379; the tests never use it.
  else
    echo "setup: missing ${need[*]}; install them (e.g. 'sudo apt-get install ${need[*]}') and run again" >&2
    exit 1
  fi
fi

for bin in redis-server redis-cli; do
  command -v "$bin" >/dev/null 2>&1 || { echo "setup: $bin still missing after install" >&2; exit 1; }
done
go mod download
