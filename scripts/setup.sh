#!/usr/bin/env bash
# Installs what gocluster's tests and `make run` need: Go modules, the real
# redis-server / redis-cli (Debian's redis-server and redis-tools), the real
# valkey-server / valkey-cli (valkey-server and valkey-tools, from
# bookworm-backports on Debian 12) and python3-redis for the
# client-compatibility tests. Installs through apt only when something is
# missing and we are root; otherwise says exactly what to do.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
/usr/bin/python3 -c 'import redis' >/dev/null 2>&1 || need+=(python3-redis)
valkey=()
command -v valkey-server >/dev/null 2>&1 || valkey+=(valkey-server)
command -v valkey-cli >/dev/null 2>&1 || valkey+=(valkey-tools)

# Debian 12 ships Valkey only in its backports suite, from the same archive.
add_backports() {
  local codename
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 0
  if ! grep -rqs -- "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "setup: adding Debian's ${codename}-backports suite for valkey" >&2
    cat > /etc/apt/sources.list.d/gocluster-backports.sources <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${codename}-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  echo "${codename}-backports"
}

if [ $((${#need[@]} + ${#valkey[@]})) -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    suite=""
    [ ${#valkey[@]} -gt 0 ] && suite=$(add_backports)
    echo "setup: installing ${need[*]} ${valkey[*]} with apt-get" >&2
    apt-get update -qq >/dev/null
    [ ${#need[@]} -gt 0 ] && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    if [ ${#valkey[@]} -gt 0 ]; then
      # From backports when the release itself has no valkey (Debian 12).
      if [ -n "$suite" ] && apt-cache madison valkey-server | grep -q "$suite"; then
        apt-get install -y -qq --no-install-recommends -t "$suite" "${valkey[@]}" >/dev/null
      else
        apt-get install -y -qq --no-install-recommends "${valkey[@]}" >/dev/null
      fi
    fi
    # Debian may start a system redis on 6379 (or valkey); the tests never use them.
  else
    echo "setup: missing ${need[*]} ${valkey[*]}; install them (e.g. 'sudo apt-get install ${need[*]} ${valkey[*]}'; on Debian 12 valkey comes from bookworm-backports: 'sudo apt-get install -t bookworm-backports ${valkey[*]}') and run again" >&2
    exit 1
  fi
fi

for bin in redis-server redis-cli valkey-server valkey-cli; do
  command -v "$bin" >/dev/null 2>&1 || { echo "setup: $bin still missing after install" >&2; exit 1; }
done
go mod download
